// Test results as CSV, for spreadsheets and for comparing runs side by side: one row per driver,
// one for all drivers, and for a mix one per request name (driver column "(request NAME)").
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
    rows.push(line([result.test_id, result.test_type, `(request ${r.name})`, result.status, r.requests_sent, r.responses, r.errors, r.error_rate, r.rate, ...latencyCells(r.latency), false]));
  }
  return [line(header), ...rows].join('\n') + '\n';
}
