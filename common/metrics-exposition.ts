// Metrics for Prometheus, through prom-client: each process builds its own Registry (several
// targets or agents may share a test process), and latency that already lives in an HdrHistogram
// is exposed as a Prometheus histogram at scrape time, so the hot path records once, not twice.
import type { ServerResponse } from 'node:http';
import type { Histogram, JsHistogram } from 'hdr-histogram-js';
import { collectDefaultMetrics, Registry } from 'prom-client';

export { Counter, Gauge, Histogram as PromHistogram, Registry } from 'prom-client';

export const PROMETHEUS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** Latency buckets in seconds, from half a millisecond to ten seconds. */
export const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const processRegistries = new Map<string, Registry>();

/**
 * The process's own figures (CPU, memory, event-loop lag, handles) under `prefix`: one registry per
 * prefix and process, since each one starts its own event-loop and GC observers.
 */
export function processRegistry(prefix: string): Registry {
  let registry = processRegistries.get(prefix);
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix });
    processRegistries.set(prefix, registry);
  }
  return registry;
}

/** The exposition text of several registries (a component's own and its process's). */
export async function metricsText(registries: Registry[]): Promise<string> {
  return (await Promise.all(registries.map((r) => r.metrics()))).join('\n');
}

export interface LabelledHistogram {
  labels: Record<string, string>;
  /** values in integer microseconds, as latency-histogram.ts records them */
  histogram: Histogram;
}

/** Cumulative counts of values at or below each bound (µs), read in one pass over the recorded values. */
export function cumulativeCounts(histogram: Histogram, boundsUs: number[]): number[] {
  const counts = new Array<number>(boundsUs.length).fill(0);
  const iterator = (histogram as JsHistogram).recordedValuesIterator;
  iterator.reset();
  let bound = 0;
  while (iterator.hasNext()) {
    const step = iterator.next();
    while (bound < boundsUs.length && step.valueIteratedTo > boundsUs[bound]) {
      counts[bound] = step.totalCountToThisValue - step.countAtValueIteratedTo;
      bound++;
    }
  }
  for (; bound < boundsUs.length; bound++) counts[bound] = histogram.totalCount;
  return counts;
}

/**
 * Registers a Prometheus histogram (seconds) whose buckets are read from HdrHistograms when
 * Prometheus scrapes. `source` gives the histograms to show now, each with its labels.
 */
export function registerHdrHistogram(registry: Registry, name: string, help: string, source: () => LabelledHistogram[]): void {
  const boundsUs = LATENCY_BUCKETS_SECONDS.map((s) => Math.round(s * 1_000_000));
  registry.registerMetric({
    name,
    help,
    type: 'histogram',
    get: async () => ({
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      values: source().flatMap(({ labels, histogram }) => {
        const counts = cumulativeCounts(histogram, boundsUs);
        const total = histogram.totalCount;
        return [
          ...LATENCY_BUCKETS_SECONDS.map((le, i) => ({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: counts[i] })),
          { metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: total },
          { metricName: `${name}_sum`, labels, value: (histogram.mean * total) / 1_000_000 },
          { metricName: `${name}_count`, labels, value: total },
        ];
      }),
    }),
    reset: () => {},
  } as unknown as Parameters<Registry['registerMetric']>[0]);
}

/** Answers a scrape with the registries' text. */
export async function sendMetrics(res: ServerResponse, registries: Registry[]): Promise<void> {
  const text = await metricsText(registries);
  res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
