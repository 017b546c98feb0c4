// Pass or fail: a test's final figures against the limits its definition sets.
import type { AggregateStats, ServerMetrics, ThresholdCheck, ThresholdResult } from './result-model';
import type { Thresholds } from './loadtest-definition';

/** The error-rate limit of a test whose definition sets no thresholds at all. */
export const DEFAULT_ERROR_RATE = 0.01;

type Rule = { label: string; unit: string; read: (s: AggregateStats) => number | null; atLeast?: boolean };

const RULES: Record<Exclude<keyof Thresholds, 'server'>, Rule> = {
  mean_latency_ms: { label: 'mean latency', unit: ' ms', read: (s) => s.latency?.mean ?? null },
  median_latency_ms: { label: 'median latency', unit: ' ms', read: (s) => s.latency?.median ?? null },
  p90_latency_ms: { label: 'p90 latency', unit: ' ms', read: (s) => s.latency?.p90 ?? null },
  p95_latency_ms: { label: 'p95 latency', unit: ' ms', read: (s) => s.latency?.p95 ?? null },
  p99_latency_ms: { label: 'p99 latency', unit: ' ms', read: (s) => s.latency?.p99 ?? null },
  max_latency_ms: { label: 'max latency', unit: ' ms', read: (s) => s.latency?.max ?? null },
  error_rate: { label: 'error rate', unit: '', read: (s) => (s.requests_sent > 0 ? s.error_rate : null) },
  min_throughput: { label: 'throughput', unit: ' req/s', read: () => null, atLeast: true },
};

/**
 * `throughput` is responses per second over the whole test, which the caller computes. With no
 * thresholds, the default error-rate limit is the one check.
 */
export function evaluateThresholds(thresholds: Thresholds | undefined, stats: AggregateStats, throughput: number, server?: ServerMetrics): ThresholdResult {
  const checks: ThresholdCheck[] = [];
  const { server: serverLimits, ...clientLimits } = thresholds ?? {};
  const given = Object.entries(clientLimits) as [Exclude<keyof Thresholds, 'server'>, number][];
  if (given.length === 0) {
    const actual = stats.requests_sent > 0 ? stats.error_rate : null;
    const shown = actual === null ? 'no data' : `${Math.round(actual * 100_000) / 1000}%`;
    checks.push({ name: 'default_error_rate', limit: DEFAULT_ERROR_RATE, actual, passed: actual !== null && actual <= DEFAULT_ERROR_RATE, text: `error rate ${shown} <= ${DEFAULT_ERROR_RATE * 100}% (default limit: the test sets no thresholds)` });
  }
  for (const [name, limit] of given) {
    const rule = RULES[name];
    const actual = name === 'min_throughput' ? throughput : rule.read(stats);
    // No measurement at all (nothing answered) fails a limit: a test cannot pass on no evidence.
    const passed = actual !== null && (rule.atLeast ? actual >= limit : actual <= limit);
    const shown = actual === null ? 'no data' : `${Math.round(actual * 1000) / 1000}${rule.unit}`;
    checks.push({ name, limit, actual, passed, text: `${rule.label} ${shown} ${rule.atLeast ? '>=' : '<='} ${limit}${rule.unit}` });
  }
  checks.push(...serverChecks(serverLimits, server));
  return { passed: checks.every((c) => c.passed), checks };
}

const round = (n: number) => Math.round(n * 1000) / 1000;

/**
 * A server-side limit holds when every sample of its query stayed within it. Without samples
 * (Prometheus away, or the query never gave a number) it is not judged: the test's warnings say why.
 */
function serverChecks(limits: Thresholds['server'], server: ServerMetrics | undefined): ThresholdCheck[] {
  const checks: ThresholdCheck[] = [];
  for (const [name, limit] of Object.entries(limits ?? {})) {
    const q = server?.queries.find((s) => s.name === name);
    for (const [bound, value] of Object.entries(limit) as ['max' | 'min', number][]) {
      const actual = q && q.samples > 0 ? (bound === 'max' ? q.max : q.min) : null;
      const op = bound === 'max' ? '<=' : '>=';
      const label = `server ${name} (${bound === 'max' ? 'highest' : 'lowest'} sample)`;
      if (actual === null) {
        checks.push({ name: `server.${name}.${bound}`, limit: value, actual: null, passed: true, skipped: true, text: `${label} not judged: no data from Prometheus ${op} ${value}` });
        continue;
      }
      const passed = bound === 'max' ? actual <= value : actual >= value;
      checks.push({ name: `server.${name}.${bound}`, limit: value, actual, passed, text: `${label} ${round(actual)} ${op} ${value}` });
    }
  }
  return checks;
}
