// Pass or fail: a test's final figures against the limits its definition sets.
import type { AggregateStats, ThresholdCheck, ThresholdResult } from './result-model';
import type { Thresholds } from './loadtest-definition';

/** The error-rate limit of a test whose definition sets no thresholds at all. */
export const DEFAULT_ERROR_RATE = 0.01;

type Rule = { label: string; unit: string; read: (s: AggregateStats) => number | null; atLeast?: boolean };

const RULES: Record<keyof Thresholds, Rule> = {
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
export function evaluateThresholds(thresholds: Thresholds | undefined, stats: AggregateStats, throughput: number): ThresholdResult {
  const checks: ThresholdCheck[] = [];
  const given = Object.entries(thresholds ?? {}) as [keyof Thresholds, number][];
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
  return { passed: checks.every((c) => c.passed), checks };
}
