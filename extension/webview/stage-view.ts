// The parts of the dashboard for load that changes over time: the table of stages (and of the
// windows live changes began), the log of those changes, and the controls that make them.
import type { ControlLogEntry, StageStats, TestSnapshot } from '../../orchestrator/result-model';
import { describeControl } from '../../orchestrator/stages/control-log';
import type { ChartMark } from '../../orchestrator/reports/chart-marks';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const int = (n: number | null | undefined) => (n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US'));
const ms = (n: number | null | undefined) => (n === null || n === undefined ? '–' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toString());
const num = (n: number | null | undefined) => (n === null || n === undefined ? '–' : Math.abs(n) >= 1000 ? Math.round(n).toLocaleString('en-US') : Number(n.toPrecision(4)).toString());

/** What a stage's planned figure counts: requests per second in an open model, requests in flight in a closed one. */
const plannedUnit = (t: TestSnapshot) => (t.test_type === 'TSUNAMI' ? 'req/s' : 'in flight');

export function stageTable(t: TestSnapshot): string {
  const stages = t.stages ?? [];
  if (stages.length === 0) return '';
  const queries = [...new Set(stages.flatMap((s) => Object.keys(s.server ?? {})))];
  const row = (s: StageStats) => `<tr data-phase="${escape(s.phase)}"${s.settled ? '' : ' class="unsettled" title="still running, or requests of it still in flight"'}>
<td>${escape(s.phase)}</td><td class="num">${num(s.duration_s)}</td><td class="num">${num(s.planned_rate)}</td><td class="num">${num(s.achieved_rate)}</td>
<td class="num">${ms(s.latency?.p50)}</td><td class="num">${ms(s.latency?.p90)}</td><td class="num">${ms(s.latency?.p99)}</td><td class="num">${ms(s.latency?.max)}</td>
<td class="num">${int(s.errors)}</td><td class="num">${(s.error_rate * 100).toFixed(2)}%</td>${queries.map((q) => `<td class="num">${num(s.server?.[q]?.mean)}</td>`).join('')}</tr>`;
  return `<h2>Stages <span class="source">each window's own figures, histograms merged over its drivers</span></h2>
<table><thead><tr><th>phase</th><th class="num">s</th><th class="num">planned ${plannedUnit(t)}</th><th class="num">achieved req/s</th><th class="num">p50 ms</th><th class="num">p90 ms</th><th class="num">p99 ms</th><th class="num">max ms</th><th class="num">errors</th><th class="num">error rate</th>${queries.map((q) => `<th class="num">${escape(q)}</th>`).join('')}</tr></thead>
<tbody data-testid="stage-rows">${stages.map(row).join('')}</tbody></table>`;
}

export function controlLog(entries: ControlLogEntry[] | undefined): string {
  if (!entries?.length) return '';
  return `<h2 id="control-log-title">Changes while it ran</h2><ul class="control-log" data-testid="control-log" aria-labelledby="control-log-title">${entries
    .map((e) => `<li class="${e.refused ? 'fail' : ''}">${escape(describeControl(e))}</li>`)
    .join('')}</ul>`;
}

/** What the pause button does next, and says: the one place both its first drawing and its relabelling read. */
export function pauseButton(paused: boolean | undefined): { action: 'pause' | 'resume'; label: string } {
  return paused ? { action: 'resume', label: 'Resume' } : { action: 'pause', label: 'Pause' };
}

/**
 * Pause or resume, and a field for the total rate (open model) or concurrency (closed model). A
 * form, so that Enter in the field sets it as the button does; the field is required, so that an
 * empty one sets nothing (it read as 0 and set the load to nothing).
 */
export function controlBar(t: TestSnapshot): string {
  if (t.status !== 'running') return '';
  const field = t.test_type === 'TSUNAMI' ? 'rate' : 'concurrency';
  // A scenario's rate and concurrency count iterations, as its plan does.
  const what = t.config.scenario ? 'iterations' : 'req';
  const unit = t.test_type === 'TSUNAMI' ? `${what}/s over all drivers` : `${t.config.scenario ? 'iterations ' : ''}in flight over all drivers`;
  const pause = pauseButton(t.paused);
  return `<form class="control-bar" data-testid="control-bar" aria-label="Live control">
<button type="button" id="pause-resume" class="secondary" data-action="${pause.action}">${pause.label}</button>
<label>${field} <input id="control-value" type="number" min="0" step="any" required placeholder="${unit}" aria-label="${field}, ${unit}"></label>
<button type="submit" id="control-set" class="secondary" aria-label="Set ${field}">Set</button>
</form>`;
}

/**
 * The marks of the charts: where each phase of the series begins (dashed), and each live change
 * (solid, at the moment it was made). A phase a change began is marked once, by the change.
 */
export function chartMarks(t: TestSnapshot | null, series: readonly { t: number; phase?: string }[]): ChartMark[] {
  if (!t) return [];
  const changes = t.control_log ?? [];
  const byChange = new Set(changes.map((c) => c.phase));
  const marks: ChartMark[] = [];
  let previous: string | undefined;
  for (const p of series) {
    if (p.phase && p.phase !== previous && previous !== undefined && !byChange.has(p.phase)) marks.push({ t: p.t, label: p.phase });
    if (p.phase) previous = p.phase;
  }
  for (const c of changes) marks.push({ t: c.t, label: c.refused ? `${c.action} refused` : c.action === 'set' ? `set ${int(c.value)}` : c.action, control: true });
  return marks;
}
