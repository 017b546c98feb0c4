// The capacity search on the dashboard: its steps as they are judged, and a chart of p50, p99 and
// the error rate against the offered rate, so where the system bends shows as it happens.
import uPlot from 'uplot';
import type { CapacityStep } from '../../orchestrator/capacity/capacity-search';
import type { CapacityView } from './dashboard-protocol';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const int = (n: number | null | undefined) => (n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US'));
const ms = (n: number | null | undefined) => (n === null || n === undefined ? '–' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toString());

export function capacityHtml(view: CapacityView): string {
  const r = view.result;
  const headline = r
    ? `<p class="reason ${r.capacity_rps === null ? 'fail' : 'pass'}" data-testid="capacity-summary">${escape(r.summary)}</p>`
    : `<p class="reason" data-testid="capacity-summary">Searching${view.current ? `: step ${view.current.step} offers ${int(view.current.rate)} req/s` : ''}…</p>`;
  const row = (s: CapacityStep) =>
    `<tr class="${s.drivers_limited ? 'warn' : s.pass ? 'pass' : 'fail'}"><td>${s.step}</td><td class="num">${int(s.rate)}</td><td class="num">${int(s.achieved_rate)}</td><td class="num">${ms(s.p50_ms)}</td><td class="num">${ms(s.p99_ms)}</td><td class="num">${(s.error_rate * 100).toFixed(2)}%</td><td>${escape(s.text)}</td></tr>`;
  return `<h2>Capacity search <span class="source">${escape(view.file)}</span></h2>${headline}
<div id="capacity-chart"></div>
<table><thead><tr><th>step</th><th class="num">offered req/s</th><th class="num">achieved req/s</th><th class="num">p50 ms</th><th class="num">p99 ms</th><th class="num">error rate</th><th>verdict</th></tr></thead>
<tbody data-testid="capacity-rows">${view.steps.map(row).join('')}</tbody></table>`;
}

/** p50 and p99 (ms, left axis) and the error rate (%, right axis) against the offered rate, steps sorted by rate. */
export function capacityChart(el: HTMLElement, view: CapacityView, colors: { p50: string; p99: string; errors: string; axis: string; grid: string }): uPlot {
  const steps = [...view.steps].filter((s) => !s.drivers_limited).sort((a, b) => a.rate - b.rate);
  const axis = { stroke: colors.axis, grid: { stroke: colors.grid, width: 1 }, ticks: { stroke: colors.grid } };
  return new uPlot(
    {
      width: Math.max(260, el.clientWidth),
      height: 220,
      scales: { x: { time: false }, ms: {}, pct: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [{ ...axis, label: 'offered req/s' }, { ...axis, scale: 'ms', label: 'ms' }, { ...axis, scale: 'pct', side: 1, label: 'errors %', grid: { show: false } }],
      series: [
        { label: 'offered req/s' },
        { label: 'p50 ms', scale: 'ms', stroke: colors.p50, width: 2, points: { show: true } },
        { label: 'p99 ms', scale: 'ms', stroke: colors.p99, width: 2, points: { show: true } },
        { label: 'errors %', scale: 'pct', stroke: colors.errors, width: 1, dash: [4, 3], points: { show: true } },
      ],
    },
    [steps.map((s) => s.rate), steps.map((s) => s.p50_ms), steps.map((s) => s.p99_ms), steps.map((s) => s.error_rate * 100)],
    el,
  );
}
