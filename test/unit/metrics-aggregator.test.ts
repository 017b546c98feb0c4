import assert from 'node:assert/strict';
import { aggregate, driverStats, intervalLatency, mergedHistogram } from '../../orchestrator/metrics-aggregator';
import { ReportAccumulator } from '../../orchestrator/report-accumulator';
import { createLatencyHistogram, encodeHistogram, latencyStats } from '../../protocol/latency-histogram';
import type { MetricsMessage } from '../../protocol/wire-protocol';

/** A driver's report as our agents send it: latencies in µs into a histogram. */
function reportFrom(nodeId: string, latenciesUs: number[], elapsedMs = 1000): MetricsMessage {
  const h = createLatencyHistogram();
  for (const v of latenciesUs) h.recordValue(v);
  return {
    node_id: nodeId,
    test_id: 't',
    report_id: `${nodeId}-1`,
    ...statsOf(h),
    histogram: encodeHistogram(h),
    test_status: 'complete',
    requests_sent: latenciesUs.length,
    responses: latenciesUs.length,
    errors: {},
    elapsed_ms: elapsedMs,
  };
}

/** The wire's figures of a histogram: the spec's four in `metrics`, our percentiles beside it. */
function statsOf(h: ReturnType<typeof createLatencyHistogram>) {
  const { mean_latency, median_latency, min_latency, max_latency, p90_latency, p95_latency, p99_latency } = latencyStats(h);
  return { metrics: { mean_latency, median_latency, min_latency, max_latency }, p90_latency, p95_latency, p99_latency };
}

/** Exact percentile of raw values (nearest rank), in ms. */
function exactPercentile(valuesUs: number[], p: number): number {
  const sorted = [...valuesUs].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] / 1000;
}

const range = (n: number, from: number, to: number) => Array.from({ length: n }, (_, i) => Math.round(from + ((to - from) * i) / (n - 1)));

function combine(messages: MetricsMessage[]) {
  return aggregate(messages.map((m) => {
    const report = new ReportAccumulator().add(m, Date.now());
    return { stats: driverStats(m.node_id, 'complete', report, undefined, 1), report };
  }));
}

describe('aggregation across drivers', () => {
  it('warm-ups add up apart from the figures, with how many drivers are still warming', () => {
    const a = { ...reportFrom('a', [1000, 2000]), warm_up: { requests_sent: 50, responses: 49, errors: 1, done: true } };
    const b = { ...reportFrom('b', []), requests_sent: 0, responses: 0, warm_up: { requests_sent: 20, responses: 20, errors: 0, done: false } };
    const result = combine([a, b, reportFrom('c', [1000])]);
    assert.deepEqual(result.warm_up, { requests_sent: 70, responses: 69, errors: 1, warming: 1 });
    assert.equal(result.requests_sent, 3, 'the warm-ups are in no figure');
    assert.equal(combine([reportFrom('c', [1000])]).warm_up, null, 'none reported: null');
  });

  it('global percentiles are those of all drivers’ latencies pooled, within the histogram’s precision', () => {
    const fastA = range(3000, 800, 2000); // 0.8–2 ms
    const fastB = range(3000, 900, 2500);
    const slow = range(3000, 40_000, 60_000); // 40–60 ms
    const result = combine([reportFrom('fast-a', fastA), reportFrom('fast-b', fastB), reportFrom('slow', slow)]);
    const pooled = [...fastA, ...fastB, ...slow];
    for (const [p, got] of [[50, result.latency!.median], [90, result.latency!.p90], [95, result.latency!.p95], [99, result.latency!.p99]] as const) {
      const want = exactPercentile(pooled, p);
      assert.ok(Math.abs(got! - want) <= want * 0.002 + 0.001, `p${p}: got ${got} ms, pooled ${want} ms`);
    }
    assert.equal(result.latency!.min, 0.8);
    assert.ok(Math.abs(result.latency!.max - 60) <= 60 * 0.001, `max ${result.latency!.max} is 60 ms within 0.1%`);
    assert.equal(result.latency!.approximate, false);
    assert.equal(result.latency!.count, 9000);
  });

  it('is not an average of the drivers’ medians', () => {
    const fast = range(1000, 1000, 2000);
    const slow = range(1000, 50_000, 51_000);
    const result = combine([reportFrom('a', fast), reportFrom('b', fast), reportFrom('c', slow)]);
    const meanOfMedians = (1.5 + 1.5 + 50.5) / 3;
    assert.ok(result.latency!.median < 2.1, `pooled median ${result.latency!.median} is a fast latency`);
    assert.ok(Math.abs(result.latency!.median - meanOfMedians) > 10);
    assert.ok(result.latency!.p90! >= 50, `pooled p90 ${result.latency!.p90} comes from the slow driver`);
  });

  it('a driver without a histogram is combined with a count-weighted mean and true extremes, marked approximate', () => {
    const ours = reportFrom('ours', range(300, 1000, 3000)); // mean 2 ms
    const theirs: MetricsMessage = {
      node_id: 'theirs',
      test_id: 't',
      report_id: 'x',
      metrics: { mean_latency: 10, median_latency: 9, min_latency: 0.5, max_latency: 80 },
      responses: 100,
    };
    const result = combine([ours, theirs]);
    assert.equal(result.latency!.approximate, true);
    assert.equal(result.latency!.min, 0.5);
    assert.equal(result.latency!.max, 80);
    const expectedMean = (ours.metrics!.mean_latency * 300 + 10 * 100) / 400;
    assert.ok(Math.abs(result.latency!.mean - expectedMean) < 0.01, `${result.latency!.mean} vs ${expectedMean}`);
    assert.equal(result.responses, 400);
  });

  it('totals requests, responses and errors, and the error rate', () => {
    const a = { ...reportFrom('a', range(90, 1000, 2000)), requests_sent: 100, errors: { timeout: 10 } };
    const b = { ...reportFrom('b', range(100, 1000, 2000)), errors: { http_5xx: 5 } };
    const result = combine([a, b]);
    assert.equal(result.requests_sent, 200);
    assert.equal(result.responses, 190);
    assert.equal(result.errors, 15);
    assert.equal(result.error_rate, 15 / 200);
    assert.deepEqual(result.error_kinds, { timeout: 10, http_5xx: 5 });
  });

  it('a driver’s rate comes from its last two cumulative reports', () => {
    const first = new ReportAccumulator().add({ ...reportFrom('a', [1000]), responses: 100, elapsed_ms: 1000 }, 0);
    const second = new ReportAccumulator().add({ ...reportFrom('a', [1000]), responses: 350, elapsed_ms: 2000 }, 0);
    assert.equal(driverStats('a', 'running', second, first, 2).rate, 250);
  });

  it('the latency of one interval is the merged histogram now less the one before', () => {
    const before = mergedHistogram([new ReportAccumulator().add(reportFrom('a', range(100, 1000, 1100)), 0)]);
    const after = mergedHistogram([new ReportAccumulator().add(reportFrom('a', [...range(100, 1000, 1100), ...range(100, 30_000, 31_000)]), 0)]);
    const interval = intervalLatency(after, before)!;
    assert.equal(interval.count, 100);
    assert.ok(interval.min >= 29.9 && interval.median > 30, `interval latencies are the new, slow ones: ${JSON.stringify(interval)}`);
  });
});
