// The dashboard page, running inside the webview. It keeps the test's series itself: the host sends
// the whole state once (on load or when shown) and then increments (a new time point, changed
// drivers). The figures are redrawn as text; the charts are made once per test and fed with setData.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import type { DriverInfo, DriverStats, LatencySummary, TestResult, TestSnapshot, TimePoint } from '../../orchestrator/result-model';
import { connectionText } from './connection-text';
import { errorKindsText, iterationsText } from '../../orchestrator/figure-text';
import type { CapacityView, ConnectionSummary, HostToPage, PageState, PageToHost } from './dashboard-protocol';
import { driversToShow, TOP_DRIVERS } from './driver-ranking';
import { marksPlugin } from '../../orchestrator/reports/chart-marks';
import { chartMarks, controlBar, controlLog, pauseButton, stageTable } from './stage-view';
import { capacityChart, capacityHtml } from './capacity-view';

declare function acquireVsCodeApi(): { postMessage(message: PageToHost): void; setState(state: PageState): void; getState(): PageState | undefined };
const vscode = acquireVsCodeApi();

let connection: ConnectionSummary | undefined;
let drivers: DriverInfo[] = [];
let test: TestSnapshot | TestResult | null = null;
let series: TimePoint[] = [];
let charts: { testId: string; planned: boolean; rate: uPlot; latency: uPlot } | undefined;
/** one small chart per server-side query, made when the queries are known */
let serverCharts: { key: string; charts: Map<string, uPlot> } | undefined;
let capacity: CapacityView | null = null;
let capacityPlot: uPlot | undefined;
/** the test is a run of the history, shown read-only */
let stored = false;

const app = document.getElementById('app')!;
app.innerHTML = '<div id="figures"></div><div id="control"></div><div id="figures-more"></div><div class="charts" id="charts" hidden><div><h2>Requests per second</h2><div id="rate-chart"></div></div><div><h2>Latency per second (ms)</h2><div id="latency-chart"></div></div></div><div id="server" hidden></div><div id="capacity" hidden></div><div id="drivers"></div>';
const figures = document.getElementById('figures')!;
const controlBox = document.getElementById('control')!;
const figuresMore = document.getElementById('figures-more')!;
const chartsBox = document.getElementById('charts')!;
const driversBox = document.getElementById('drivers')!;
const serverBox = document.getElementById('server')!;
const capacityBox = document.getElementById('capacity')!;

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const int = (n: number | null | undefined) => (n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US'));
const ms = (n: number | null | undefined) => (n === null || n === undefined ? '–' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toString());
const cssVar = (name: string, fallback: string) => getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;

/** The warm-up (warm_up_count_per_driver): under way, or what it did, apart from the figures. */
function warmUpLine(t: TestSnapshot): string {
  const perDriver = t.config.warm_up_count_per_driver;
  if (!perDriver) return '';
  const w = t.aggregate.warm_up ?? { requests_sent: 0, responses: 0, errors: 0, warming: 0 };
  const warming = w.warming > 0 && t.status === 'running';
  return `<p class="reason" data-testid="warm-up">${warming ? 'Warming up' : 'Warm-up first, in none of these figures'}: ${int(perDriver)} requests per driver at the test’s pace (${int(w.requests_sent)} sent, ${int(w.responses)} responses, ${int(w.errors)} errors)${warming ? ', not counted' : ''}</p>`;
}

function tile(id: string, label: string, value: string, unit = ''): string {
  return `<div class="tile"><div class="label">${label}</div><div class="value" data-testid="${id}">${value}${unit ? `<span class="unit"> ${unit}</span>` : ''}</div></div>`;
}

function latencyTiles(l: LatencySummary | null): string {
  const note = l?.approximate ? ' title="approximate: a driver sent no histogram"' : '';
  return `<div class="tiles"${note}>${[
    tile('latency-mean', 'mean', ms(l?.mean), 'ms'),
    tile('latency-p50', 'p50', ms(l?.median), 'ms'),
    tile('latency-p90', 'p90', ms(l?.p90), 'ms'),
    tile('latency-p95', 'p95', ms(l?.p95), 'ms'),
    tile('latency-p99', 'p99', ms(l?.p99), 'ms'),
    tile('latency-min', 'min', ms(l?.min), 'ms'),
    tile('latency-max', 'max', ms(l?.max), 'ms'),
  ].join('')}</div>`;
}

/** A running driver's rate now; once its part is over, what it averaged over its run (as the CLI prints). */
const driverRate = (d: DriverStats): number | null => (d.state === 'running' ? d.rate : d.average_rate);

function driverRows(all: DriverStats[]): string {
  const { shown: rows, rest } = driversToShow(all);
  const sum = (pick: (d: DriverStats) => number | null | undefined) => rest.reduce((a, d) => a + (pick(d) ?? 0), 0);
  const states = [...new Set(rest.map((d) => d.state.replace('_', ' ')))].join(', ');
  const restRow = rest.length
    ? `<tr class="rest" data-testid="driver-rest"><td>… ${int(rest.length)} more</td><td>${escape(states)}</td><td class="num">${int(sum((d) => d.requests_sent))}</td><td class="num">${int(sum((d) => d.responses))}</td><td class="num">${int(sum((d) => d.errors))}</td><td class="num">${int(sum(driverRate))}</td><td class="num"></td><td class="num">≤ ${ms(Math.max(0, ...rest.map((d) => d.latency?.p99 ?? 0)))}</td><td class="num"></td></tr>`
    : '';
  return rows
    .map(
      (d) => `<tr data-driver="${escape(d.node_id)}"><td>${escape(d.node_id)}</td><td>${d.state.replace('_', ' ')}</td><td class="num">${int(d.requests_sent)}</td><td class="num">${int(d.responses)}</td><td class="num">${int(d.errors)}</td><td class="num">${int(driverRate(d))}</td><td class="num">${ms(d.latency?.median)}</td><td class="num">${ms(d.latency?.p99)}</td><td class="num">${ms(d.latency?.max)}</td></tr>`,
    )
    .join('') + restRow;
}

function header(): string {
  const c = connection;
  const text = c && connectionText(c);
  const status = !c || !text ? '' : `<span data-testid="kafka-status" title="${escape(text.detail)}">${escape(text.short)}</span>${c.status === 'connected' && c.restUrl ? ` · REST ${escape(c.restUrl)}` : ''}${c.status === 'connecting' && c.lastError ? ` (${escape(c.lastError)})` : ''}`;
  const alive = drivers.filter((d) => d.health === 'alive').length;
  return `<div class="connection ${c?.status ?? ''}" data-testid="connection">${status} · <span data-testid="drivers-alive">${alive}</span> driver(s) alive</div>`;
}

/**
 * The live-control bar of the running test. The figures around it are redrawn on every message
 * (several a second); the bar is made once per running test and then changed in place. Redrawn
 * with the figures, it lost a click whose press and release straddled a redraw (the press on the
 * old button, the release on the new one: no click at all), and the keyboard focus of its buttons.
 */
function renderControlBar(t: TestSnapshot | TestResult | null): void {
  const runningId = t?.status === 'running' ? t.test_id : '';
  if (controlBox.dataset.testId !== runningId) {
    controlBox.dataset.testId = runningId;
    controlBox.innerHTML = t && runningId ? controlBar(t) : '';
    if (runningId) listenToControlBar(runningId);
  }
  const button = document.getElementById('pause-resume');
  const next = pauseButton(t?.paused);
  if (button && button.dataset.action !== next.action) {
    button.dataset.action = next.action;
    button.textContent = next.label;
  }
}

function listenToControlBar(testId: string): void {
  const pauseResume = document.getElementById('pause-resume')!;
  pauseResume.addEventListener('click', () => vscode.postMessage({ type: 'control', testId, action: pauseResume.dataset.action === 'resume' ? 'resume' : 'pause' }));
  // The Set button and Enter in the field both submit; the browser refuses an empty or negative field first.
  controlBox.querySelector('form')!.addEventListener('submit', (event) => {
    event.preventDefault();
    const field = document.getElementById('control-value') as HTMLInputElement;
    const value = Number(field.value);
    if (field.value.trim() !== '' && Number.isFinite(value) && value >= 0) vscode.postMessage({ type: 'control', testId, action: 'set', value });
  });
}

function renderFigures(): void {
  renderControlBar(test);
  if (!test) {
    figures.innerHTML = `${header()}<p class="empty">No test yet. Open a <code>.loadtest.json</code> file and choose <b>Run load test</b>, or run <b>Load Test: Start Load Test</b> from the command palette.</p>`;
    figuresMore.innerHTML = '';
    driversBox.innerHTML = '';
    return;
  }
  const t = test;
  const a = t.aggregate;
  const running = t.status === 'running';
  const result = 'verdict' in t ? (t as TestResult) : undefined;
  const verdict = result ? `<span class="verdict ${result.verdict.passed ? 'pass' : 'fail'}" data-testid="verdict" title="${escape(result.verdict.reason)}">${result.verdict.passed ? 'PASSED' : 'FAILED'}</span>` : '';
  figures.innerHTML = `${header()}
<div class="title">
  <h1><span data-testid="test-id">${escape(t.test_id)}</span>${t.name ? ` <span class="name">${escape(t.name)}</span>` : ''}</h1>
  <span class="badge">${t.test_type}</span>
  <span class="badge status-${t.status}" data-testid="test-status">${t.status}</span>
  <span data-testid="elapsed">${t.elapsed_s.toFixed(0)} s</span>
  ${verdict}
  ${stored ? '<span class="badge" data-testid="stored" title="a run of the history: its stored result and series">from the history · read-only</span>' : ''}
  <span class="actions">${running ? '<button id="stop">Stop</button>' : ''}${!running && t.status !== 'created' ? '<button id="csv" class="secondary">Export CSV</button>' : ''}</span>
</div>
${result ? `<p class="reason" data-testid="verdict-reason">${escape(result.verdict.reason)}</p>` : ''}
${warmUpLine(t)}
${t.warnings?.length ? `<ul class="warnings" data-testid="warnings">${t.warnings.map((w) => `<li>⚠ ${escape(w)}</li>`).join('')}</ul>` : ''}
<div class="tiles">${[
    tile('requests-sent', `requests sent of ${int(t.planned_requests)}`, int(a.requests_sent)),
    tile('responses', 'responses', int(a.responses)),
    tile('errors', 'errors', `${int(a.errors)} (${(a.error_rate * 100).toFixed(2)}%)`),
    tile('rate', running ? 'rate now' : 'average rate', int(running ? a.rate : t.throughput), 'req/s'),
  ].join('')}</div>`;
  figuresMore.innerHTML = `${latencyTiles(a.latency)}
${result?.thresholds.checks.length ? `<ul class="checks">${result.thresholds.checks.map((c) => `<li class="${c.passed ? 'pass' : 'fail'}">${c.passed ? '✓' : '✗'} ${escape(c.text)}</li>`).join('')}</ul>` : ''}
${stageTable(t)}
${controlLog(t.control_log)}`;
  const steps = t.config.scenario !== undefined;
  const mix = t.per_request?.length
    ? `<h2>${steps ? 'Steps' : 'Requests'}</h2>${t.iterations ? `<p data-testid="iterations">${escape(iterationsText(t.iterations))}</p>` : ''}
<table><thead><tr><th>${steps ? 'step' : 'request'}</th><th class="num">share</th><th class="num">sent</th><th class="num">responses</th><th class="num">errors</th><th class="num">p50 ms</th><th class="num">p99 ms</th><th class="num">max ms</th></tr></thead>
<tbody data-testid="request-rows">${t.per_request.map((r) => `<tr><td>${escape(r.name)}</td><td class="num">${(r.share * 100).toFixed(0)}%</td><td class="num">${int(r.requests_sent)}</td><td class="num">${int(r.responses)}</td><td class="num" title="${escape(errorKindsText(r.errors_by_kind))}">${int(r.errors)}</td><td class="num">${ms(r.latency?.median)}</td><td class="num">${ms(r.latency?.p99)}</td><td class="num">${ms(r.latency?.max)}</td></tr>`).join('')}</tbody></table>`
    : '';
  const many = t.per_driver.length > TOP_DRIVERS ? ` <span class="source">the ${TOP_DRIVERS} to look at first, of ${int(t.per_driver.length)}</span>` : '';
  driversBox.innerHTML = `${mix}<h2>Drivers${many}</h2>
<table><thead><tr><th>driver</th><th>state</th><th class="num">sent</th><th class="num">responses</th><th class="num">errors</th><th class="num" title="a running driver's rate now; a finished one's average over its run">req/s</th><th class="num">p50 ms</th><th class="num">p99 ms</th><th class="num">max ms</th></tr></thead>
<tbody data-testid="driver-rows">${driverRows(t.per_driver)}</tbody></table>`;
  document.getElementById('stop')?.addEventListener('click', () => vscode.postMessage({ type: 'stop', testId: t.test_id }));
  document.getElementById('csv')?.addEventListener('click', () => vscode.postMessage({ type: 'exportCsv', testId: t.test_id }));
}

const num = (n: number | null) => (n === null ? '–' : Math.abs(n) >= 1000 ? Math.round(n).toLocaleString('en-US') : Number(n.toPrecision(4)).toString());

/** What the server went through, from Prometheus: a table of each query and a chart of its series. */
function drawServer(): void {
  const server = test?.server;
  serverBox.hidden = !server;
  if (!server) {
    serverCharts?.charts.forEach((c) => c.destroy());
    serverCharts = undefined;
    return;
  }
  const key = `${test!.test_id}:${server.queries.map((q) => q.name).join(',')}`;
  if (serverCharts?.key !== key) {
    serverCharts?.charts.forEach((c) => c.destroy());
    serverBox.innerHTML = `<h2>Server side <span class="source">from Prometheus at ${escape(server.url)}</span></h2>
<table><thead><tr><th>query</th><th class="num">samples</th><th class="num">last</th><th class="num">min</th><th class="num">mean</th><th class="num">max</th></tr></thead><tbody data-testid="server-rows"></tbody></table>
<div class="server-charts">${server.queries.map((q) => `<div><h3 title="${escape(q.query)}">${escape(q.name)}</h3><div id="server-chart-${escape(q.name)}"></div></div>`).join('')}</div>`;
    serverCharts = { key, charts: new Map() };
    for (const q of server.queries) {
      const el = document.getElementById(`server-chart-${q.name}`)!;
      serverCharts.charts.set(q.name, new uPlot({ ...chartOptions(el, [{ label: q.name, color: cssVar('--vscode-charts-purple', '#b180d7') }]), height: 140 }, [[], []], el));
    }
  }
  serverBox.querySelector('tbody')!.innerHTML = server.queries
    .map((q) => `<tr><td title="${escape(q.query)}">${escape(q.name)}</td><td class="num">${int(q.samples)}</td><td class="num">${num(q.last)}</td><td class="num">${num(q.min)}</td><td class="num">${num(q.mean)}</td><td class="num">${num(q.max)}</td></tr>`)
    .join('');
  const t = series.map((p) => p.t);
  for (const [name, chart] of serverCharts.charts) chart.setData([t, series.map((p) => p.server?.[name] ?? null)]);
}

const marks = () => chartMarks(test, series);
const markColors = () => ({ stage: cssVar('--vscode-descriptionForeground', '#888'), control: cssVar('--vscode-charts-orange', '#d18616'), text: cssVar('--vscode-descriptionForeground', '#888') });

function chartOptions(el: HTMLElement, seriesDefs: { label: string; color: string; dash?: number[] }[], withMarks = false): uPlot.Options {
  const axis = { stroke: cssVar('--vscode-descriptionForeground', '#888'), grid: { stroke: cssVar('--vscode-panel-border', '#8884'), width: 1 }, ticks: { stroke: cssVar('--vscode-panel-border', '#8884') } };
  return {
    width: Math.max(260, el.clientWidth),
    height: 200,
    scales: { x: { time: false } },
    axes: [{ ...axis, label: 's' }, axis],
    series: [{ label: 't' }, ...seriesDefs.map((s) => ({ label: s.label, stroke: s.color, width: 2, spanGaps: true, dash: s.dash }))],
    plugins: withMarks ? [marksPlugin(marks, markColors())] : [],
  };
}

function chartData(): { rate: uPlot.AlignedData; latency: uPlot.AlignedData } {
  const t = series.map((p) => p.t);
  return {
    rate: hasPlan() ? [t, series.map((p) => p.rate), series.map((p) => p.planned ?? null)] : [t, series.map((p) => p.rate)],
    latency: [t, series.map((p) => p.latency?.p50 ?? null), series.map((p) => p.latency?.p90 ?? null), series.map((p) => p.latency?.p99 ?? null)],
  };
}

/** A test by duration or stages has a planned rate to draw beside the achieved one (an open model's). */
const hasPlan = () => test?.test_type === 'TSUNAMI' && test.planned_s !== undefined;

/** Makes the charts for a test (or again, for a theme change); otherwise only feeds them the series. */
function drawCharts(remake = false): void {
  chartsBox.hidden = !test;
  if (!test) return;
  const data = chartData();
  if (charts && charts.testId === test.test_id && charts.planned === hasPlan() && !remake) {
    charts.rate.setData(data.rate);
    charts.latency.setData(data.latency);
    return;
  }
  charts?.rate.destroy();
  charts?.latency.destroy();
  const rateEl = document.getElementById('rate-chart')!;
  const latencyEl = document.getElementById('latency-chart')!;
  const rateSeries = [{ label: 'req/s', color: cssVar('--vscode-charts-blue', '#3794ff') }];
  if (hasPlan()) rateSeries.push({ label: 'planned', color: cssVar('--vscode-descriptionForeground', '#888'), dash: [6, 4] } as (typeof rateSeries)[number]);
  charts = {
    testId: test.test_id,
    planned: hasPlan(),
    rate: new uPlot(chartOptions(rateEl, rateSeries, true), data.rate, rateEl),
    latency: new uPlot(
      chartOptions(
        latencyEl,
        [
          { label: 'p50', color: cssVar('--vscode-charts-green', '#89d185') },
          { label: 'p90', color: cssVar('--vscode-charts-yellow', '#cca700') },
          { label: 'p99', color: cssVar('--vscode-charts-red', '#f14c4c') },
        ],
        true,
      ),
      data.latency,
      latencyEl,
    ),
  };
}

/** The capacity search's steps and chart, made again when a step is judged (a few times a minute at most). */
function drawCapacity(): void {
  capacityPlot?.destroy();
  capacityPlot = undefined;
  capacityBox.hidden = !capacity;
  if (!capacity) return;
  capacityBox.innerHTML = capacityHtml(capacity);
  const el = document.getElementById('capacity-chart')!;
  capacityPlot = capacityChart(el, capacity, {
    p50: cssVar('--vscode-charts-green', '#89d185'),
    p99: cssVar('--vscode-charts-red', '#f14c4c'),
    errors: cssVar('--vscode-charts-orange', '#d18616'),
    axis: cssVar('--vscode-descriptionForeground', '#888'),
    grid: cssVar('--vscode-panel-border', '#8884'),
  });
}

function showTest(next: TestSnapshot | TestResult): void {
  if (test?.test_id !== next.test_id) series = [];
  test = next;
  vscode.setState({ testId: next.test_id });
}

window.addEventListener('message', (event: MessageEvent<HostToPage>) => {
  const m = event.data;
  switch (m.type) {
    case 'state':
      connection = m.connection;
      drivers = m.drivers;
      test = m.test;
      series = m.series;
      capacity = m.capacity;
      stored = m.stored;
      drawCapacity();
      if (test) vscode.setState({ testId: test.test_id });
      break;
    case 'capacity':
      capacity = m.capacity;
      drawCapacity();
      break;
    case 'connection':
      connection = m.connection;
      break;
    case 'drivers':
      drivers = m.drivers;
      break;
    case 'test':
      showTest(m.test);
      break;
    case 'update':
      showTest(m.test);
      series.push(m.point);
      break;
    case 'end':
      showTest(m.result);
      break;
  }
  renderFigures();
  if (m.type !== 'connection' && m.type !== 'drivers' && m.type !== 'capacity') {
    drawCharts();
    drawServer();
  }
});

// VS Code swaps the body's theme class (vscode-light, vscode-dark, …) when the theme changes; the
// charts read their colours when made, so make them again.
new MutationObserver(() => {
  drawCharts(true);
  serverCharts?.charts.forEach((c) => c.destroy());
  serverCharts = undefined;
  drawServer();
  drawCapacity();
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });

vscode.postMessage({ type: 'ready' });
