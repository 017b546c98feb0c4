// How a test looks in a terminal: one progress line per second, and the final table.
import type { BusHealth } from '../../protocol/message-bus';
import type { LatencySummary, TestResult, TestSnapshot } from '../result-model';
import { describeEnding } from '../verdict';
import { describeControl } from '../stages/control-log';
import { engineText, errorKindsText, int, iterationsText, msText, num, percentText } from '../figure-text';

/** The phase under way (the latest that has not ended on every driver), with its planned and achieved rate. */
function currentPhase(s: TestSnapshot): string {
  const now = s.stages?.filter((p) => p.ended_at === undefined).at(-1);
  if (!now) return '';
  const unit = s.test_type === 'AVALANCHE' ? ' in flight' : '/s';
  return `${now.phase}: planned ${now.planned_rate === null ? '-' : int(now.planned_rate)}${unit}, sent ${now.achieved_rate === null ? '-' : int(now.achieved_rate)}/s`;
}

/** `kafka`, when given and unreachable, is said at the end: the figures are then as of the outage. */
export function progressLine(s: TestSnapshot, kafka?: BusHealth): string {
  const a = s.aggregate;
  const running = s.per_driver.filter((d) => d.state === 'running').length;
  const lat = a.latency;
  return [
    `${s.elapsed_s.toFixed(0).padStart(4)}s`,
    a.warm_up?.warming ? `warming up on ${a.warm_up.warming}: ${int(a.warm_up.requests_sent)} sent, not counted` : '',
    `drivers ${running}/${s.participants.length} running`,
    s.planned_s !== undefined && !s.planned_requests ? `planned ${int(s.planned_s)} s` : `planned ${int(s.planned_requests)}`,
    s.paused ? 'PAUSED' : '',
    currentPhase(s),
    `sent ${int(a.requests_sent).padStart(9)}`,
    `resp ${int(a.responses).padStart(9)}`,
    `err ${int(a.errors)}`,
    `rate ${int(a.rate).padStart(7)}/s`,
    lat ? `p50 ${msText(lat.median)} ms  p99 ${msText(lat.p99)} ms${lat.approximate ? ' (approx.)' : ''}` : a.drivers_reporting === 0 ? 'waiting for the first reports' : 'no responses yet',
    kafka && !kafka.reachable ? `Kafka unreachable since ${new Date(kafka.since).toISOString().slice(11, 19)} UTC: no driver is judged until it answers` : '',
  ]
    .filter(Boolean)
    .join('  ');
}

export function table(rows: string[][], rightAlignFrom: number): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c >= rightAlignFrom ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ')).join('\n');
}

function latencyCells(l: LatencySummary | null): string[] {
  return l ? [msText(l.mean), msText(l.median), msText(l.p90), msText(l.p95), msText(l.p99), msText(l.max)] : ['-', '-', '-', '-', '-', '-'];
}

/** A mix's figures by request name, or a scenario's by step, over all drivers. */
function requestTable(r: TestResult): string[] {
  const steps = r.config.scenario !== undefined;
  const rows = [[steps ? 'step' : 'request', 'share', 'sent', 'responses', 'errors', 'mean', 'p50', 'p90', 'p95', 'p99', 'max']];
  for (const q of r.per_request!) rows.push([q.name, `${(q.share * 100).toFixed(0)}%`, int(q.requests_sent), int(q.responses), int(q.errors), ...latencyCells(q.latency)]);
  const kinds = r.per_request!.filter((q) => q.errors > 0).map((q) => `  ${q.name}: ${errorKindsText(q.errors_by_kind)}`);
  return [
    steps ? 'By step (all drivers; latency in milliseconds, each step from when it was due):' : 'By request (all drivers; latency in milliseconds):',
    '',
    table(rows, 1),
    ...(kinds.length ? ['Errors by ' + (steps ? 'step' : 'request') + ':', ...kinds] : []),
    ...(r.iterations ? [`Scenario ${iterationsText(r.iterations)}`] : []),
  ];
}

/** The server-side queries beside the drivers' table: what the server went through meanwhile. */
function serverTable(r: TestResult): string[] {
  const rows = [['server (Prometheus)', 'samples', 'last', 'min', 'mean', 'max']];
  for (const q of r.server!.queries) rows.push([q.name, int(q.samples), num(q.last), num(q.min), num(q.mean), num(q.max)]);
  return [`Server side, from Prometheus at ${r.server!.url}, every second during the test:`, '', table(rows, 1)];
}

/**
 * Each phase's own figures: the stages, and the windows live changes began. The planned column is
 * requests per second for TSUNAMI and requests in flight for AVALANCHE; server columns are each
 * query's mean over the phase's window.
 */
export function stageTable(r: TestSnapshot): string[] {
  const stages = r.stages ?? [];
  if (!stages.length) return [];
  const queries = [...new Set(stages.flatMap((s) => Object.keys(s.server ?? {})))];
  const planned = r.test_type === 'AVALANCHE' ? 'planned in flight' : 'planned req/s';
  const rows = [['phase', planned, 'achieved req/s', 'p50', 'p90', 'p99', 'max', 'errors', 'error rate', ...queries.map((q) => `${q} (mean)`), '']];
  for (const s of stages) {
    const l = s.latency;
    rows.push([
      s.phase,
      num(s.planned_rate),
      num(s.achieved_rate),
      msText(l?.p50),
      msText(l?.p90),
      msText(l?.p99),
      msText(l?.max),
      int(s.errors),
      percentText(s.error_rate),
      ...queries.map((q) => num(s.server?.[q]?.mean ?? null)),
      s.settled ? '' : 'not settled',
    ]);
  }
  return ['By phase (all drivers; latency in milliseconds, of the requests due in the phase):', '', table(rows, 1)];
}

/** The live changes, one line each with its outcome. */
export function controlLines(r: TestSnapshot): string[] {
  if (!r.control_log?.length) return [];
  return ['Live changes:', ...r.control_log.map((e) => `  ${describeControl(e)}`)];
}

export function summaryTable(r: TestResult): string {
  const header = ['driver', 'state', 'sent', 'responses', 'errors', 'req/s', 'mean', 'p50', 'p90', 'p95', 'p99', 'max'];
  const rows = [header];
  for (const d of r.per_driver) {
    rows.push([d.node_id, d.state, int(d.requests_sent), int(d.responses), int(d.errors), int(d.average_rate), ...latencyCells(d.latency)]);
  }
  const a = r.aggregate;
  rows.push(['all drivers', r.status, int(a.requests_sent), int(a.responses), int(a.errors), int(r.throughput), ...latencyCells(a.latency)]);
  const lines = [
    '',
    `Test ${r.test_id}${r.name ? ` (${r.name})` : ''}: ${r.test_type}, ${r.status} in ${r.elapsed_s.toFixed(1)} s on ${r.participants.length} driver(s)`,
    '',
    table(rows, 2),
    '          latency in milliseconds; req/s is responses per second over each driver’s run' + (a.latency?.approximate ? '; global percentiles are approximate (a driver sent no histogram)' : ''),
  ];
  const engine = engineText(r.per_driver);
  if (engine) lines.push(engine);
  if (a.uncorrected && a.latency && a.uncorrected.p99 !== a.latency.p99) {
    lines.push(`Measured from the socket write instead of the due time (uncorrected): p50 ${msText(a.uncorrected.median)} ms, p99 ${msText(a.uncorrected.p99)} ms, max ${msText(a.uncorrected.max)} ms`);
  }
  const warmUp = r.config.warm_up_count_per_driver;
  if (warmUp) {
    const w = a.warm_up ?? { requests_sent: 0, responses: 0, errors: 0 };
    lines.push(`Warm-up first, in none of these figures: ${int(warmUp)} requests per driver at the test's pace (${int(w.requests_sent)} sent, ${int(w.responses)} responses, ${int(w.errors)} errors)`);
  }
  const byPhase = stageTable(r);
  if (byPhase.length) lines.push('', ...byPhase);
  const changes = controlLines(r);
  if (changes.length) lines.push('', ...changes);
  if (r.per_request?.length) lines.push('', ...requestTable(r));
  if (r.server) lines.push('', ...serverTable(r));
  if (r.warnings.length) {
    lines.push('', 'Warnings:');
    for (const w of r.warnings) lines.push(`  ${w}`);
  }
  if (Object.keys(a.error_kinds).length) lines.push(`Errors: ${Object.entries(a.error_kinds).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  if (Object.keys(a.status_codes).length) lines.push(`Status codes: ${Object.entries(a.status_codes).map(([k, v]) => `${k} ${int(v)}`).join(', ')}`);
  if (r.ending.length) {
    lines.push('', `Drivers whose part ended without a complete final report:`);
    for (const e of r.ending) lines.push(`  ${describeEnding(e)}`);
  }
  if (r.thresholds.checks.length) {
    lines.push('', 'Thresholds:');
    for (const c of r.thresholds.checks) lines.push(`  ${c.skipped ? 'SKIP' : c.passed ? 'PASS' : 'FAIL'}  ${c.text}`);
  }
  lines.push('', `Result: ${r.verdict.reason}`);
  return lines.join('\n') + '\n';
}
