// Pass or fail: a test's final figures against the limits its definition sets. No limit passes on
// no evidence: a figure nobody measured fails its limit (a server limit may be marked optional),
// and a figure estimated rather than measured says so in its line.
import type { AggregateStats, RequestStats, ServerMetrics, StageStats, ThresholdCheck, ThresholdResult } from './result-model';
import type { Thresholds } from './loadtest-definition';

/** The error-rate limit of every test whose definition does not set `thresholds.error_rate` itself. */
export const DEFAULT_ERROR_RATE = 0.01;

type ClientLimit = Exclude<keyof Thresholds, 'server' | 'steps' | 'requests'>;
type Rule = { label: string; unit: string; read: (s: AggregateStats) => number | null; atLeast?: boolean; latency?: boolean };

const RULES: Record<ClientLimit, Rule> = {
  mean_latency_ms: { label: 'mean latency', unit: ' ms', read: (s) => s.latency?.mean ?? null, latency: true },
  median_latency_ms: { label: 'median latency', unit: ' ms', read: (s) => s.latency?.median ?? null, latency: true },
  p90_latency_ms: { label: 'p90 latency', unit: ' ms', read: (s) => s.latency?.p90 ?? null, latency: true },
  p95_latency_ms: { label: 'p95 latency', unit: ' ms', read: (s) => s.latency?.p95 ?? null, latency: true },
  p99_latency_ms: { label: 'p99 latency', unit: ' ms', read: (s) => s.latency?.p99 ?? null, latency: true },
  max_latency_ms: { label: 'max latency', unit: ' ms', read: (s) => s.latency?.max ?? null, latency: true },
  error_rate: { label: 'error rate', unit: '', read: (s) => s.error_rate },
  min_throughput: { label: 'throughput', unit: ' req/s', read: () => null, atLeast: true },
};

const round = (n: number) => Math.round(n * 1000) / 1000;
const percent = (n: number) => `${Math.round(n * 100_000) / 1000}%`;
const names = (ids: string[]) => (ids.length > 3 ? `${ids.slice(0, 3).join(', ')} and ${ids.length - 3} more` : ids.join(', '));

/**
 * `throughput` is responses per second over the whole test, which the caller computes. The error
 * rate is always judged: against the file's `error_rate`, or else the default limit.
 */
export function evaluateThresholds(thresholds: Thresholds | undefined, stats: AggregateStats, throughput: number, server?: ServerMetrics): ThresholdResult {
  const { server: serverLimits, steps: _steps, requests: _requests, ...clientLimits } = thresholds ?? {};
  const given = Object.entries(clientLimits) as [ClientLimit, number][];
  const checks: ThresholdCheck[] = [];
  if (clientLimits.error_rate === undefined) checks.push(errorRateCheck(DEFAULT_ERROR_RATE, stats, true));
  for (const [name, limit] of given) {
    if (name === 'error_rate') {
      checks.push(errorRateCheck(limit, stats, false));
      continue;
    }
    const rule = RULES[name];
    const actual = name === 'min_throughput' ? throughput : rule.read(stats);
    // No measurement at all (nothing answered) fails a limit: a test cannot pass on no evidence.
    const passed = actual !== null && (rule.atLeast ? actual >= limit : actual <= limit);
    // Latency known, this percentile not: a driver without a histogram did not send it either.
    const unknownPercentile = rule.latency && actual === null && stats.latency !== null;
    const shown = actual !== null ? `${round(actual)}${rule.unit}` : unknownPercentile ? `unknown (${names(stats.histogram_missing_from)} sent neither a histogram nor this percentile)` : 'no data';
    const estimated = rule.latency && actual !== null && stats.latency?.approximate ? approximateNote(stats) : '';
    checks.push({ name, limit, actual, passed, text: `${rule.label} ${shown} ${rule.atLeast ? '>=' : '<='} ${limit}${rule.unit}${estimated}`, ...(estimated ? { approximate: true } : {}) });
  }
  checks.push(...serverChecks(serverLimits, server));
  return { passed: checks.every((c) => c.passed), checks };
}

function approximateNote(stats: AggregateStats): string {
  const from = stats.histogram_missing_from;
  return ` (approximate: ${from.length ? `${names(from)} sent no histogram` : 'some drivers sent no histogram'}, so the percentile is estimated from their own figures)`;
}

/**
 * Errors are judged on the drivers that count them. A driver that sends no error counts is
 * unknown, not error-free: the line names it, and with no driver counting errors the limit fails.
 */
function errorRateCheck(limit: number, stats: AggregateStats, byDefault: boolean): ThresholdCheck {
  const unknown = stats.errors_unknown_from;
  const counted = stats.requests_sent - stats.requests_with_unknown_errors;
  const actual = counted > 0 && unknown.length < stats.drivers_reporting ? stats.error_rate : null;
  const shown = actual === null ? (unknown.length ? `unknown (${names(unknown)} sent no error counts)` : 'no data') : percent(actual);
  const partly = actual !== null && unknown.length ? ` (judged on the drivers that count errors; ${names(unknown)} sent none)` : '';
  const why = byDefault ? ' (default limit; set thresholds.error_rate to change it)' : '';
  return {
    name: byDefault ? 'default_error_rate' : 'error_rate',
    limit,
    actual,
    passed: actual !== null && actual <= limit,
    text: `error rate ${shown} <= ${percent(limit)}${why}${partly}`,
  };
}

/**
 * A server-side limit holds when every sample of its query stayed within it. Without samples
 * (Prometheus away, an empty answer, a misspelt metric) it fails, unless the file marks it
 * `optional`: then it is not judged, and said so.
 */
function serverChecks(limits: Thresholds['server'], server: ServerMetrics | undefined): ThresholdCheck[] {
  const checks: ThresholdCheck[] = [];
  for (const [name, limit] of Object.entries(limits ?? {})) {
    const q = server?.queries.find((s) => s.name === name);
    const bounds = (['max', 'min'] as const).filter((b) => limit[b] !== undefined);
    for (const bound of bounds) {
      const value = limit[bound]!;
      const actual = q && q.samples > 0 ? (bound === 'max' ? q.max : q.min) : null;
      const op = bound === 'max' ? '<=' : '>=';
      const label = `server ${name} (${bound === 'max' ? 'highest' : 'lowest'} sample)`;
      if (actual === null) {
        const why = !server ? 'no data from Prometheus' : !q ? 'no such query in prometheus.queries' : 'no sample from Prometheus (see the warnings)';
        checks.push(
          limit.optional
            ? { name: `server.${name}.${bound}`, limit: value, actual: null, passed: true, skipped: true, text: `${label} not judged (optional): ${why} ${op} ${value}` }
            : { name: `server.${name}.${bound}`, limit: value, actual: null, passed: false, text: `${label} ${why} ${op} ${value} (mark the limit "optional": true to let the test pass without it)` },
        );
        continue;
      }
      const passed = bound === 'max' ? actual <= value : actual >= value;
      checks.push({ name: `server.${name}.${bound}`, limit: value, actual, passed, text: `${label} ${round(actual)} ${op} ${value}` });
    }
  }
  return checks;
}

/**
 * A stage's own limits, judged on its window (stage-stats.ts) with the same rules as the test's:
 * each check carries the stage and its line names it. The default error-rate limit is the whole
 * test's; a stage judges only what it sets. A stage nobody reported fails its limits on no data.
 */
export function evaluateStageThresholds(thresholds: Thresholds, phase: string, stage: StageStats | undefined): ThresholdCheck[] {
  const latency = stage?.latency;
  const stats = partStats({
    reporting: stage?.per_driver.length ?? 0,
    requests_sent: stage?.requests_sent ?? 0,
    responses: stage?.responses ?? 0,
    errors: stage?.errors ?? 0,
    error_rate: stage?.error_rate ?? 0,
    rate: stage?.achieved_rate ?? 0,
    latency: latency ? { mean: latency.mean, median: latency.p50, min: latency.min, max: latency.max, p90: latency.p90, p95: latency.p95, p99: latency.p99, approximate: false, count: stage!.responses } : null,
    error_kinds: stage?.error_kinds ?? {},
  });
  const throughput = stage && stage.duration_s > 0 ? stage.responses / stage.duration_s : 0;
  const server: ServerMetrics | undefined = stage?.server
    ? { url: '', warnings: [], queries: Object.entries(stage.server).map(([name, w]) => ({ name, query: '', samples: w.samples, last: null, min: w.min, max: w.max, mean: w.mean })) }
    : undefined;
  const result = evaluateThresholds(thresholds, stats, throughput, server);
  return result.checks
    .filter((c) => c.name !== 'default_error_rate')
    .map((c) => ({ ...c, name: `${phase}.${c.name}`, stage: phase, text: `${phase}: ${c.text}` }));
}

/**
 * A scenario step's (or a mix request's) own limits, judged on its figures across drivers: its
 * latency, its error rate (every kind, check_failed included). Named `steps.NAME.FIELD`.
 */
export function evaluateNamedThresholds(limits: Record<string, Thresholds> | undefined, rows: RequestStats[] | undefined, kind: 'step' | 'request'): ThresholdCheck[] {
  return Object.entries(limits ?? {}).flatMap(([name, set]) => {
    const row = rows?.find((r) => r.name === name);
    const stats = partStats({
      reporting: row ? 1 : 0,
      requests_sent: row?.requests_sent ?? 0,
      responses: row?.responses ?? 0,
      errors: row?.errors ?? 0,
      error_rate: row?.error_rate ?? 0,
      rate: row?.rate ?? 0,
      latency: row?.latency ?? null,
      error_kinds: row?.errors_by_kind ?? {},
    });
    return evaluateThresholds(set, stats, row?.rate ?? 0)
      .checks.filter((c) => c.name !== 'default_error_rate')
      .map((c) => ({ ...c, name: `${kind}s.${name}.${c.name}`, text: `${kind} ${name}: ${c.text}` }));
  });
}

/** A part of a test (a stage's window, a step) as the figures its limits are judged on: what it measured, nothing unknown. */
function partStats(p: { reporting: number; requests_sent: number; responses: number; errors: number; error_rate: number; rate: number; latency: AggregateStats['latency']; error_kinds: Record<string, number> }): AggregateStats {
  return {
    drivers: p.reporting,
    drivers_reporting: p.reporting,
    requests_sent: p.requests_sent,
    responses: p.responses,
    errors: p.errors,
    error_rate: p.error_rate,
    errors_unknown_from: [],
    requests_with_unknown_errors: 0,
    histogram_missing_from: [],
    rate: p.rate,
    latency: p.latency,
    uncorrected: null,
    error_kinds: p.error_kinds,
    status_codes: {},
    warm_up: null,
  };
}
