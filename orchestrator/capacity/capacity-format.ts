// The capacity search in the terminal: a progress line per step as it comes, the step table, and
// the final lines. The sentence of the ending is capacitySummary's, so every surface says the same.
import type { CapacityProgress } from './capacity-runner';
import type { CapacityResult, CapacityStep } from './capacity-search';

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number | null) => (n === null ? '-' : n < 10 ? n.toFixed(1) : int(n));
const percent = (n: number) => `${Number((n * 100).toPrecision(3))}%`;
const serverValue = (n: number | undefined) => (n === undefined ? '-' : Math.abs(n) >= 100 ? int(n) : `${Number(n.toPrecision(3))}`);
const verdict = (s: CapacityStep) => (s.drivers_limited ? 'DRIVERS' : s.pass ? 'pass' : 'FAIL');

/** One line per event of a running search, for a terminal that prints them as they come. */
export function formatCapacityProgress(p: CapacityProgress): string {
  switch (p.kind) {
    case 'started':
      return `capacity search: test ${p.testId} on ${p.drivers} driver${p.drivers === 1 ? '' : 's'}, starting at ${int(p.rate)} req/s`;
    case 'step_started':
      return `step ${p.step}: offering ${int(p.rate)} req/s…`;
    case 'step_judged': {
      const s = p.step;
      const figures = `achieved ${int(s.achieved_rate)} req/s, p50 ${ms(s.p50_ms)} ms, p99 ${ms(s.p99_ms)} ms, errors ${percent(s.error_rate)}`;
      const next = p.next === null ? '' : `; next ${int(p.next)} req/s`;
      return `step ${s.step}: ${int(s.rate)} req/s ${verdict(s)}: ${s.text} (${figures})${next}`;
    }
    case 'ended':
      return p.result.summary;
  }
}

/** The step table: planned and achieved rate, latency, errors, each server query, and the verdict. */
export function formatCapacityTable(result: Pick<CapacityResult, 'steps'>): string {
  const serverNames = [...new Set(result.steps.flatMap((s) => Object.keys(s.server)))].sort();
  const header = ['step', 'offered req/s', 'achieved req/s', 'p50 ms', 'p99 ms', 'errors', ...serverNames, 'verdict'];
  const rows = result.steps.map((s) => [
    String(s.step),
    int(s.rate),
    int(s.achieved_rate),
    ms(s.p50_ms),
    ms(s.p99_ms),
    percent(s.error_rate),
    ...serverNames.map((name) => serverValue(s.server[name])),
    `${verdict(s)}: ${s.text}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  // Figures right-aligned so the digits line up; the step number and the verdict read left to right.
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The table and the ending: what the CLI prints when the search is over. */
export function formatCapacityResult(result: CapacityResult): string {
  const table = result.steps.length ? `${formatCapacityTable(result)}\n\n` : '';
  return `${table}${result.summary}\n`;
}

/** `--json`: {"capacity_rps", "first_failure": {"rate", "limit", "text"}, "steps": […]} and the other fields of the result. */
export function capacityJson(result: CapacityResult): string {
  const { capacity_rps, first_failure, steps, ...rest } = result;
  return `${JSON.stringify({ capacity_rps, first_failure, steps, ...rest }, null, 2)}\n`;
}
