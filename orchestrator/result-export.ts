// Test results as CSV, for spreadsheets and for comparing runs side by side: one row per driver,
// one for all drivers, and for a mix one per request name (driver column "(request NAME)"). A test
// with phases (stages, live changes) has a stage table of its own (stagesToCsv), one row per phase.
import type { LatencySummary, TestResult } from './result-model';

function cell(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '';
  const text = String(value);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function line(values: (string | number | boolean | null | undefined)[]): string {
  return values.map(cell).join(',');
}

const LATENCY_COLUMNS = ['mean_ms', 'p50_ms', 'p90_ms', 'p95_ms', 'p99_ms', 'min_ms', 'max_ms'];

function latencyCells(l: LatencySummary | null): (number | null)[] {
  return l ? [l.mean, l.median, l.p90, l.p95, l.p99, l.min, l.max] : LATENCY_COLUMNS.map(() => null);
}

/** Columns: test, driver, state, counts, rate, latency (ms); the last row is all drivers. */
export function resultToCsv(result: TestResult): string {
  const header = ['test_id', 'test_type', 'driver', 'state', 'requests_sent', 'responses', 'errors', 'error_rate', 'req_per_s', ...LATENCY_COLUMNS, 'latency_approximate'];
  const rows = result.per_driver.map((d) =>
    line([
      result.test_id,
      result.test_type,
      d.node_id,
      d.state,
      d.requests_sent,
      d.responses,
      d.errors,
      d.error_rate,
      d.average_rate,
      ...latencyCells(d.latency),
      d.latency?.approximate ?? null,
    ]),
  );
  const a = result.aggregate;
  rows.push(line([result.test_id, result.test_type, '(all drivers)', result.status, a.requests_sent, a.responses, a.errors, a.error_rate, result.throughput, ...latencyCells(a.latency), a.latency?.approximate ?? null]));
  for (const r of result.per_request ?? []) {
    rows.push(line([result.test_id, result.test_type, `(${result.config.scenario ? 'step' : 'request'} ${r.name})`, result.status, r.requests_sent, r.responses, r.errors, r.error_rate, r.rate, ...latencyCells(r.latency), false]));
  }
  // A scenario's iterations: counted in iterations (sent = started, responses = completed, errors = failed), latency their duration.
  const it = result.iterations;
  if (it) rows.push(line([result.test_id, result.test_type, '(iterations)', result.status, it.started, it.completed, it.failed, it.started ? it.failed / it.started : 0, it.rate, ...latencyCells(it.duration), false]));
  return [line(header), ...rows].join('\n') + '\n';
}

/**
 * One row per phase (stages, and windows live changes began), all drivers: planned and achieved
 * rate, latency of the requests due in the phase, errors, and each server query's mean over the
 * window. Empty (header only) for a test without phases.
 */
export function stagesToCsv(result: TestResult): string {
  const stages = result.stages ?? [];
  const queries = [...new Set(stages.flatMap((s) => Object.keys(s.server ?? {})))];
  const header = ['test_id', 'phase', 'started_at', 'ended_at', 'duration_s', 'planned', 'achieved_req_per_s', 'requests_sent', 'responses', 'errors', 'error_rate', 'mean_ms', 'p50_ms', 'p90_ms', 'p99_ms', 'max_ms', 'uncorrected_p99_ms', 'send_lag_p99_ms', 'waited_for_connection', 'settled', ...queries.map((q) => `server_${q}_mean`)];
  const rows = stages.map((s) =>
    line([
      result.test_id,
      s.phase,
      new Date(s.started_at).toISOString(),
      s.ended_at === undefined ? null : new Date(s.ended_at).toISOString(),
      s.duration_s,
      s.planned_rate,
      s.achieved_rate,
      s.requests_sent,
      s.responses,
      s.errors,
      s.error_rate,
      s.latency?.mean,
      s.latency?.p50,
      s.latency?.p90,
      s.latency?.p99,
      s.latency?.max,
      s.uncorrected_p99,
      s.send_lag_p99,
      s.waited_for_connection,
      s.settled,
      ...queries.map((q) => s.server?.[q]?.mean ?? null),
    ]),
  );
  return [line(header), ...rows].join('\n') + '\n';
}
