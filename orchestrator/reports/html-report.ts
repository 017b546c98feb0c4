// A test's result as one HTML file, for people: attached to a CI run, mailed, opened months later.
// So it is self-contained and works offline: uPlot's script and stylesheet, the chart code and the
// series are inline, and its Content-Security-Policy lets the page load nothing at all (the two
// scripts are allowed by their hashes). Every string from the result is escaped: test, driver,
// request and stage names come from files and agents.
// It reads top-down as a review does: the verdict and the headline figures, the thresholds, the
// charts over time (rate with the plan, latency p50/p99, stage starts and live changes marked),
// then the tables (stages, drivers, requests, server), and, against a baseline, each figure's change
// coloured better, worse or within the noise. The figures are written as the CLI writes them
// (figure-text.ts), so the report, the terminal and the summary never disagree.
import { createHash } from 'node:crypto';
import type { Comparison, ScopeComparison } from '../compare/comparison-model';
import { engineText, errorKindsText, int, iterationsText, msText, num, percentText } from '../figure-text';
import type { DriverStats, LatencySummary, TestResult, TimePoint } from '../result-model';
import { describeControl } from '../stages/control-log';
import { describeEnding } from '../verdict';
import { changeText, figureValueText, JUDGEMENT_TEXT, noiseText } from './comparison-text';
import { labelRows, marksPlugin } from './chart-marks';
import { drawReportCharts, type ReportChartData, type ReportChartMark } from './html-report-charts';
import { uplotAssets } from './uplot-assets';

export interface HtmlReportInput {
  result: TestResult;
  /** the test's time series, one point a second (the store's timeseries) */
  series: TimePoint[];
  comparison?: Comparison;
}

/** For text and attribute values alike. */
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const utc = (ms: number) => `${new Date(ms).toISOString().replace('T', ' ').slice(0, 19)} UTC`;
const msUnit = (n: number | null | undefined) => (n === null || n === undefined ? '-' : `${msText(n)} ms`);

/** A table: header cells from `rightFrom` on are numbers (right-aligned); rows are lists of cell texts, escaped here. */
function table(testid: string, header: string[], rightFrom: number, rows: { cells: string[]; className?: string; key?: string }[]): string {
  const th = header.map((h, i) => `<th${i >= rightFrom ? ' class="num"' : ''}>${esc(h)}</th>`).join('');
  const tr = rows
    .map((r) => `<tr${r.className ? ` class="${esc(r.className)}"` : ''}${r.key === undefined ? '' : ` data-key="${esc(r.key)}"`}>${r.cells.map((c, i) => `<td${i >= rightFrom ? ' class="num"' : ''}>${esc(c)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table data-testid="${testid}"><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

function tile(testid: string, label: string, value: string, unit = ''): string {
  return `<div class="tile"><div class="label">${esc(label)}</div><div class="value"><span data-testid="${testid}">${esc(value)}</span>${unit ? `<span class="unit"> ${esc(unit)}</span>` : ''}</div></div>`;
}

const latencyCells = (l: LatencySummary | null) => (l ? [l.mean, l.median, l.p90, l.p95, l.p99, l.max].map(msText) : ['-', '-', '-', '-', '-', '-']);
const LATENCY_HEADER = ['mean ms', 'p50 ms', 'p90 ms', 'p95 ms', 'p99 ms', 'max ms'];

function summary(r: TestResult): string {
  const a = r.aggregate;
  const l = a.latency;
  const passed = r.verdict.passed;
  const requests = r.planned_requests > 0 ? `${int(a.requests_sent)} of ${int(r.planned_requests)}` : int(a.requests_sent);
  const started = r.triggered_at ?? r.created_at;
  const lines = [
    `<header>
<h1><span data-testid="test-name">${esc(r.name ?? r.test_id)}</span> <span class="verdict ${passed ? 'pass' : 'fail'}" data-testid="verdict">${passed ? 'PASSED' : 'FAILED'}</span></h1>
<p class="reason" data-testid="verdict-reason">${esc(r.verdict.reason)}</p>
<p class="meta">Test <span data-testid="test-id">${esc(r.test_id)}</span> · ${esc(r.test_type)} · <span data-testid="status">${esc(r.status)}</span> in ${r.elapsed_s.toFixed(1)} s on ${int(r.participants.length)} driver(s) · started ${utc(started)}</p>
</header>`,
    `<section class="tiles">${[
      tile('requests', 'requests sent', requests),
      tile('responses', 'responses', int(a.responses)),
      tile('errors', 'errors', `${int(a.errors)} (${percentText(a.error_rate)})`),
      tile('rate', 'average rate', int(r.throughput), 'req/s'),
    ].join('')}</section>`,
    `<section class="tiles"${l?.approximate ? ' title="approximate: a driver sent no histogram"' : ''}>${[
      tile('latency-mean', 'mean', msText(l?.mean), 'ms'),
      tile('latency-p50', 'p50', msText(l?.median), 'ms'),
      tile('latency-p90', 'p90', msText(l?.p90), 'ms'),
      tile('latency-p95', 'p95', msText(l?.p95), 'ms'),
      tile('latency-p99', 'p99', msText(l?.p99), 'ms'),
      tile('latency-max', 'max', msText(l?.max), 'ms'),
    ].join('')}</section>`,
    `<p class="note">Latency is measured from each request's due time (corrected for coordinated omission)${l?.approximate ? `; the percentiles are approximate: ${esc(a.histogram_missing_from.join(', '))} sent no histogram` : ''}.${
      a.uncorrected && l && a.uncorrected.p99 !== l.p99 ? ` From the socket write instead (uncorrected): p50 ${msUnit(a.uncorrected.median)}, p99 ${msUnit(a.uncorrected.p99)}, max ${msUnit(a.uncorrected.max)}.` : ''
    }</p>`,
  ];
  const errorKinds = Object.entries(a.error_kinds);
  const codes = Object.entries(a.status_codes);
  if (errorKinds.length || codes.length) {
    lines.push(`<p class="note">${[errorKinds.length ? `Errors: ${esc(errorKinds.map(([k, v]) => `${k} ${int(v)}`).join(', '))}` : '', codes.length ? `Status codes: ${esc(codes.map(([k, v]) => `${k} ${int(v)}`).join(', '))}` : ''].filter(Boolean).join('. ')}</p>`);
  }
  if (r.ending.length) lines.push(`<h2>Drivers whose part ended without a complete final report</h2><ul class="fail" data-testid="endings">${r.ending.map((e) => `<li>${esc(describeEnding(e))}</li>`).join('')}</ul>`);
  if (r.warnings.length) lines.push(`<h2>Warnings</h2><ul class="warnings" data-testid="warnings">${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`);
  return lines.join('\n');
}

function thresholds(r: TestResult): string {
  if (!r.thresholds.checks.length) return '';
  const rows = r.thresholds.checks.map((c) => ({
    cells: [c.skipped ? '– not judged' : c.passed ? '✓ pass' : '✗ fail', c.name, c.text],
    className: c.skipped ? 'skip' : c.passed ? 'pass' : 'fail',
    key: c.name,
  }));
  return `<h2>Thresholds</h2>\n${table('thresholds', ['', 'threshold', 'result'], 3, rows)}`;
}

/** Where each stage after the first began, and each live change, on the series' clock (seconds since the trigger). */
function chartMarks(r: TestResult): ReportChartMark[] {
  const t0 = r.triggered_at;
  const changes = r.control_log ?? [];
  // A window a live change began is marked once, by the change (as the dashboard marks it).
  const byChange = new Set(changes.map((c) => c.phase));
  const stages = t0 === undefined ? [] : (r.stages ?? []).slice(1).filter((s) => !byChange.has(s.phase)).map((s) => ({ t: (s.started_at - t0) / 1000, label: s.phase, control: false }));
  const controls = changes.map((c) => ({ t: c.t, label: c.refused ? `${c.action} refused` : c.action === 'set' ? `set ${int(c.value)}` : c.action, control: true }));
  return [...stages, ...controls];
}

function chartData(r: TestResult, series: TimePoint[]): ReportChartData {
  // The planned total is a rate only in an open model; a closed model's is requests in flight.
  const planned = r.test_type === 'TSUNAMI' && series.some((p) => p.planned !== undefined && p.planned !== null);
  return {
    t: series.map((p) => p.t),
    rate: series.map((p) => p.rate),
    planned: planned ? series.map((p) => p.planned ?? null) : null,
    p50: series.map((p) => p.latency?.p50 ?? null),
    p99: series.map((p) => p.latency?.p99 ?? null),
    marks: chartMarks(r),
  };
}

function charts(series: TimePoint[]): string {
  if (!series.length) return '<h2>Over time</h2><p class="note">No time series was recorded for this test.</p>';
  return `<h2>Over time</h2>
<div class="charts"><div><h3>Responses per second</h3><div id="rate-chart" data-testid="rate-chart"></div></div><div><h3>Latency per second (ms)</h3><div id="latency-chart" data-testid="latency-chart"></div></div></div>`;
}

function stages(r: TestResult): string {
  const all = r.stages ?? [];
  if (!all.length) return '';
  const queries = [...new Set(all.flatMap((s) => Object.keys(s.server ?? {})))];
  const planned = r.test_type === 'AVALANCHE' ? 'planned in flight' : 'planned req/s';
  const rows = all.map((s) => ({
    cells: [s.phase, num(s.duration_s), num(s.planned_rate), num(s.achieved_rate), msText(s.latency?.p50), msText(s.latency?.p90), msText(s.latency?.p99), msText(s.latency?.max), int(s.errors), percentText(s.error_rate), ...queries.map((q) => num(s.server?.[q]?.mean ?? null)), s.settled ? '' : 'not settled'],
    key: s.phase,
  }));
  const changes = r.control_log?.length ? `<h3>Changes while it ran</h3><ul data-testid="control-log">${r.control_log.map((e) => `<li${e.refused ? ' class="fail"' : ''}>${esc(describeControl(e))}</li>`).join('')}</ul>` : '';
  return `<h2>By phase <span class="note">all drivers; latency of the requests due in the phase</span></h2>
${table('stages', ['phase', 's', planned, 'achieved req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'errors', 'error rate', ...queries.map((q) => `${q} (mean)`), ''], 1, rows)}
${changes}`;
}

function drivers(r: TestResult): string {
  const row = (d: DriverStats) => ({ cells: [d.node_id, d.state.replace('_', ' '), int(d.requests_sent), int(d.responses), int(d.errors), int(d.average_rate), ...latencyCells(d.latency)], key: d.node_id });
  const a = r.aggregate;
  const all = { cells: ['all drivers', r.status, int(a.requests_sent), int(a.responses), int(a.errors), int(r.throughput), ...latencyCells(a.latency)], className: 'total' };
  const engine = engineText(r.per_driver);
  return `<h2>By driver <span class="note">req/s is responses per second over each driver's run</span></h2>
${table('drivers', ['driver', 'state', 'sent', 'responses', 'errors', 'req/s', ...LATENCY_HEADER], 2, [...r.per_driver.map(row), all])}${engine ? `<p class="note" data-testid="http-engine">${esc(engine)}</p>` : ''}`;
}

function requests(r: TestResult): string {
  if (!r.per_request?.length) return '';
  const rows = r.per_request.map((q) => ({ cells: [q.name, `${(q.share * 100).toFixed(0)}%`, int(q.requests_sent), int(q.responses), int(q.errors), percentText(q.error_rate), int(q.rate), ...latencyCells(q.latency)], key: q.name }));
  const kind = r.config.scenario ? 'step' : 'request';
  const kinds = r.per_request.filter((q) => q.errors > 0).map((q) => `<li>${esc(q.name)}: ${esc(errorKindsText(q.errors_by_kind))}</li>`);
  return `<h2>By ${kind} <span class="note">all drivers</span></h2>
${r.iterations ? `<p data-testid="iterations">${esc(iterationsText(r.iterations))}</p>` : ''}
${table('requests', [kind, 'share', 'sent', 'responses', 'errors', 'error rate', 'req/s', ...LATENCY_HEADER], 1, rows)}${kinds.length ? `<ul class="warnings">${kinds.join('')}</ul>` : ''}`;
}

function server(r: TestResult): string {
  if (!r.server) return '';
  const rows = r.server.queries.map((q) => ({ cells: [q.name, int(q.samples), num(q.last), num(q.min), num(q.mean), num(q.max)], key: q.name }));
  const warnings = r.server.warnings.length ? `<ul class="warnings">${r.server.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : '';
  return `<h2>Server side <span class="note">from Prometheus at ${esc(r.server.url)}, every second during the test</span></h2>
${table('server', ['query', 'samples', 'last', 'min', 'mean', 'max'], 1, rows)}${warnings}`;
}

function scopeTitle(s: ScopeComparison): string {
  return s.scope === 'test' ? 'Whole test' : `${s.scope === 'request' ? 'Request' : 'Phase'} ${s.name}`;
}

function comparisonSection(c: Comparison): string {
  const run = (label: string, x: Comparison['baseline']) => `${label} ${x.test_id}${x.name ? ` (${x.name})` : ''}, ${utc(x.created_at)}, ${x.status}, ${x.seconds.toFixed(0)} s measured`;
  const scopes = c.scopes.map(
    (s) => `<h3>${esc(scopeTitle(s))}</h3>
${table(
  `delta-${s.scope}`,
  ['figure', 'baseline', 'current', 'change', 'noise', 'judgement'],
  1,
  s.figures.map((d) => ({ cells: [d.label, figureValueText(d.unit, d.baseline), figureValueText(d.unit, d.current), changeText(d), noiseText(d), JUDGEMENT_TEXT[d.judgement]], className: d.judgement, key: `${s.name}:${d.figure}` })),
)}`,
  );
  const regression = c.regression?.checks.length
    ? `<h3>Regression limits</h3>\n${table('regression', ['', 'limit', 'result'], 3, c.regression.checks.map((x) => ({ cells: [x.passed ? '✓ pass' : '✗ fail', `${x.figure} ${x.limit}`, x.text], className: x.passed ? 'pass' : 'fail', key: x.figure })))}`
    : '';
  return `<section data-testid="comparison">
<h2>Against baseline ${esc(c.baseline.test_id)}</h2>
<p class="note">${esc(run('Baseline', c.baseline))}. ${esc(run('Current', c.current))}. <span class="better">Better</span>, <span class="worse">worse</span> and <span class="noise">within the noise</span> as the comparison judged each change.</p>
${scopes.join('\n')}
${regression}
<p class="note">${esc(c.method)}</p>
</section>`;
}

const STYLE = `
:root { color-scheme: light dark; --fg: #1f2328; --bg: #fff; --muted: #656d76; --grid: #d0d7de; --line: #d8dee4; --pass: #1a7f37; --fail: #cf222e; --skip: #9a6700;
  --rate: #0969da; --p50: #1a7f37; --p99: #cf222e; --mark: #8c959f; --control: #bc4c00; --better-bg: #dafbe1; --worse-bg: #ffebe9; --noise-bg: #f6f8fa; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #8d96a0; --grid: #30363d; --line: #30363d; --pass: #3fb950; --fail: #f85149; --skip: #d29922;
  --rate: #4493f8; --p50: #3fb950; --p99: #f85149; --mark: #6e7681; --control: #db6d28; --better-bg: #12261e; --worse-bg: #25171c; --noise-bg: #161b22; } }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); margin: 24px auto; max-width: 1200px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; } h3 { font-size: 14px; margin: 16px 0 6px; }
.verdict { font-size: 14px; padding: 2px 10px; border-radius: 12px; color: #fff; vertical-align: middle; }
.verdict.pass { background: var(--pass); } .verdict.fail { background: var(--fail); }
.reason { margin: 4px 0; font-weight: 500; } .meta, .note { color: var(--muted); } h2 .note { font-size: 12px; font-weight: normal; margin-left: 6px; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 110px; }
.tile .label { color: var(--muted); font-size: 12px; } .tile .value { font-size: 20px; font-variant-numeric: tabular-nums; } .tile .unit { font-size: 12px; color: var(--muted); }
table { border-collapse: collapse; margin: 6px 0; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; } th { font-weight: 600; } .num { text-align: right; }
tr.total td { font-weight: 600; }
tr.pass td:first-child { color: var(--pass); } tr.fail td:first-child, ul.fail, li.fail { color: var(--fail); } tr.skip td:first-child { color: var(--skip); }
tr.better, span.better { background: var(--better-bg); } tr.worse, span.worse { background: var(--worse-bg); } tr.noise, span.noise { background: var(--noise-bg); }
tr.better td:last-child { color: var(--pass); font-weight: 600; } tr.worse td:last-child { color: var(--fail); font-weight: 600; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
.warnings li { color: var(--skip); }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
`;

/** An inline script's hash for the Content-Security-Policy. */
const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Script text that cannot end its <script> element early. */
const scriptText = (js: string) => js.replace(/<\/(script)/gi, '<\\/$1');

/** The report: one HTML document, with nothing to fetch. */
export function htmlReport(input: HtmlReportInput): string {
  const { result: r, series, comparison } = input;
  const uplot = uplotAssets();
  const uplotScript = scriptText(uplot.script);
  // The marks' two functions as declarations, under the names the plugin's source calls them by.
  const chartScript = `${labelRows.toString()}\n(${drawReportCharts.toString()})(JSON.parse(document.getElementById('chart-data').textContent), uPlot, ${marksPlugin.toString()});`;
  // JSON inside <script type="application/json">: with every "<" escaped, no name can close the element.
  const data = JSON.stringify(chartData(r, series)).replace(/</g, '\\u003c');
  const scripts = series.length ? [uplotScript, chartScript] : [];
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src ${scripts.length ? scripts.map(sha256).join(' ') : "'none'"}`;
  const title = `${r.verdict.passed ? 'PASSED' : 'FAILED'}: ${r.name ?? r.test_id}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${uplot.css}</style>
<style>${STYLE}</style>
</head>
<body>
${summary(r)}
${thresholds(r)}
${charts(series)}
${stages(r)}
${drivers(r)}
${requests(r)}
${server(r)}
${comparison ? comparisonSection(comparison) : ''}
<footer>Load test report of ${esc(r.test_id)}, ended ${utc(r.ended_at)}. Latency in milliseconds; rates are responses per second.</footer>
<script type="application/json" id="chart-data">${data}</script>
${scripts.map((s) => `<script>${s}</script>`).join('\n')}
</body>
</html>
`;
}
