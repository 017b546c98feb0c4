// The compare view's page, inside the webview: two stored runs, the baseline and the current one.
// Their latency distributions on one percentile plot (x = 1/(1−q) on a log axis, as HdrHistogram
// plots it), their rate and p99 over time overlaid, and the comparison's table for the whole test,
// each request name and each stage, coloured by its judgement, with the regression checks when the
// file sets limits. Everything comes from the host made; the figures are written by the reports'
// own text functions, so the page reads as `lt-orchestrator compare` and the HTML report do.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import './compare.css';
import type { Comparison, ComparedRun, ScopeComparison } from '../../orchestrator/compare/comparison-model';
import { changeText, figureValueText, JUDGEMENT_TEXT, noiseText } from '../../orchestrator/reports/comparison-text';
import type { ComparePageState, CompareView, HostToPage, PageToHost, RunCurves } from './compare-protocol';

declare function acquireVsCodeApi(): { postMessage(message: PageToHost): void; setState(state: ComparePageState): void; getState(): ComparePageState | undefined };
const vscode = acquireVsCodeApi();

const app = document.getElementById('compare-app')!;
let view: CompareView | undefined;
let charts: uPlot[] = [];

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const cssVar = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
const colors = () => ({
  baseline: cssVar('--vscode-charts-blue', '#3794ff'),
  current: cssVar('--vscode-charts-orange', '#d18616'),
  axis: cssVar('--vscode-descriptionForeground', '#888'),
  grid: cssVar('--vscode-panel-border', '#8884'),
});

/** The percentile at x = 1/(1−q), with as many decimals as the decade needs: 90%, 99%, 99.9%, 99.99%. */
function percentileLabel(x: number): string {
  const decimals = Math.max(0, Math.ceil(Math.log10(x)));
  return `${Number((100 - 100 / x).toFixed(decimals))}%`;
}

function runLine(role: 'baseline' | 'current', run: ComparedRun, curves: RunCurves): string {
  const verdict = run.passed === undefined ? '' : ` <span class="verdict ${run.passed ? 'pass' : 'fail'}">${run.passed ? 'PASSED' : 'FAILED'}</span>`;
  return `<li data-testid="run-${role}"><span class="swatch ${role}" aria-hidden="true"></span><span class="role">${role}</span> <a href="#" data-open="${escape(run.test_id)}" title="open it in the dashboard">${escape(curves.label)}</a> · ${escape(run.status)}${verdict} · ${run.seconds.toFixed(0)} s measured</li>`;
}

function scopeTitle(s: ScopeComparison): string {
  return s.scope === 'test' ? 'Whole test' : `${s.scope === 'request' ? 'Request' : 'Phase'} ${s.name}`;
}

function scopeTable(s: ScopeComparison): string {
  const title = scopeTitle(s);
  const rows = s.figures
    .map(
      (d) =>
        `<tr class="${d.judgement}" data-figure="${d.figure}"><td>${escape(d.label)}</td><td class="num">${figureValueText(d.unit, d.baseline)}</td><td class="num">${figureValueText(d.unit, d.current)}</td><td class="num">${escape(changeText(d))}</td><td class="num">${escape(noiseText(d))}</td><td class="judgement">${JUDGEMENT_TEXT[d.judgement]}</td></tr>`,
    )
    .join('');
  return `<h2>${escape(title)}</h2>
<table aria-label="${escape(title)}: baseline against current" data-scope="${s.scope}:${escape(s.name)}"><thead><tr><th>figure</th><th class="num">baseline</th><th class="num">current</th><th class="num">change</th><th class="num">noise</th><th>judgement</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function regressionTable(c: Comparison): string {
  const r = c.regression;
  if (!r?.checks.length) return '';
  const rows = r.checks.map((check) => `<tr class="${check.passed ? 'pass' : 'fail'}" data-figure="${check.figure}"><td>${check.passed ? '✓ pass' : '✗ fail'}</td><td>${escape(`${check.figure} ${check.limit}`)}</td><td>${escape(check.text)}</td></tr>`).join('');
  return `<h2>Regression limits <span class="source">${r.passed ? 'all within their limits' : 'broken'}</span></h2>
<table aria-label="Regression checks"><thead><tr><th></th><th>limit</th><th>result</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function chartBox(id: string, title: string, label: string, hasData: boolean): string {
  const c = colors();
  return `<div><h2>${title}</h2>${
    hasData ? `<div id="${id}" class="compare-chart" role="img" aria-label="${escape(label)}" data-baseline-color="${escape(c.baseline)}" data-current-color="${escape(c.current)}"></div>` : '<p class="empty">The history kept nothing to draw for these runs.</p>'
  }</div>`;
}

function render(v: CompareView): void {
  const c = v.comparison;
  const wholeTest = c.scopes.filter((s) => s.scope === 'test');
  const parts = c.scopes.filter((s) => s.scope !== 'test');
  const distributions = v.baseline.percentiles.length > 0 || v.current.percentiles.length > 0;
  const overTime = v.baseline.t.length > 0 || v.current.t.length > 0;
  app.innerHTML = `<div class="title"><h1>Compare runs</h1></div>
<ul class="runs">${runLine('baseline', c.baseline, v.baseline)}${runLine('current', c.current, v.current)}</ul>
${regressionTable(c)}
${wholeTest.map(scopeTable).join('')}
${chartBox('percentile-chart', 'Latency by percentile (ms)', 'Latency by percentile, baseline and current', distributions)}
<div class="charts">
${chartBox('rate-chart', 'Responses per second', 'Responses per second over time, baseline and current', overTime)}
${chartBox('p99-chart', 'p99 latency per second (ms)', 'p99 latency per second over time, baseline and current', overTime)}
</div>
${parts.map(scopeTable).join('')}
<p class="source" data-testid="method">${escape(c.method)}</p>`;
  for (const link of Array.from(app.querySelectorAll<HTMLAnchorElement>('a[data-open]'))) {
    link.addEventListener('click', (e) => {
      e.preventDefault();
      vscode.postMessage({ type: 'open', testId: link.dataset.open! });
    });
  }
  drawCharts(v);
}

function drawCharts(v: CompareView): void {
  for (const chart of charts) chart.destroy();
  charts = [];
  const c = colors();
  const axis = { stroke: c.axis, grid: { stroke: c.grid, width: 1 }, ticks: { stroke: c.grid } };
  const runs: uPlot.Series[] = [
    { label: 'baseline', stroke: c.baseline, width: 2, spanGaps: true },
    { label: 'current', stroke: c.current, width: 2, spanGaps: true },
  ];
  const make = (id: string, options: Omit<uPlot.Options, 'width' | 'height'>, data: uPlot.AlignedData) => {
    const el = document.getElementById(id);
    if (el) charts.push(new uPlot({ ...options, width: Math.max(300, el.clientWidth), height: 240 }, data, el));
  };
  const curve = (r: RunCurves): uPlot.AlignedData => [r.percentiles.map((p) => p.x), r.percentiles.map((p) => p.ms)];
  make(
    'percentile-chart',
    {
      // x = 1/(1−q) on a log scale: each decade is one more nine (90%, 99%, 99.9%…).
      scales: { x: { time: false, distr: 3, log: 10 } },
      axes: [
        { ...axis, label: 'percentile', splits: (_u, _i, min, max) => decades(min, max), values: (_u, splits) => splits.map(percentileLabel) },
        { ...axis, label: 'ms' },
      ],
      series: [{ label: 'percentile', value: (_u, x) => (x === null ? '–' : percentileLabel(x)) }, ...runs],
    },
    uPlot.join([curve(v.baseline), curve(v.current)]),
  );
  const overTime = { scales: { x: { time: false } }, axes: [{ ...axis, label: 's since start' }, axis], series: [{ label: 's' }, ...runs] };
  make('rate-chart', overTime, uPlot.join([[v.baseline.t, v.baseline.rate], [v.current.t, v.current.rate]]));
  make('p99-chart', overTime, uPlot.join([[v.baseline.t, v.baseline.p99], [v.current.t, v.current.p99]]));
}

/** The powers of ten from min to max: the percentile axis's ticks. */
function decades(min: number, max: number): number[] {
  const out: number[] = [];
  for (let p = Math.ceil(Math.log10(Math.max(1, min)) - 1e-9); 10 ** p <= max * (1 + 1e-9); p++) out.push(10 ** p);
  return out;
}

window.addEventListener('message', (event: MessageEvent<HostToPage>) => {
  const m = event.data;
  if (m.type === 'error') {
    view = undefined;
    app.innerHTML = `<p class="reason fail" data-testid="compare-error">${escape(m.message)}</p>`;
    return;
  }
  view = m.view;
  vscode.setState({ baseline: view.comparison.baseline.test_id, current: view.comparison.current.test_id });
  render(view);
});

// The charts read the theme's colours when made: make them again when it changes, and fit them to a new width.
new MutationObserver(() => view && render(view)).observe(document.body, { attributes: true, attributeFilter: ['class'] });
addEventListener('resize', () => {
  for (const chart of charts) chart.setSize({ width: Math.max(300, chart.root.parentElement?.clientWidth ?? 300), height: 240 });
});

vscode.postMessage({ type: 'ready' });
