// The HTML report's charts: the one piece of it that runs in the browser. The report inlines this
// function's own source text (`drawReportCharts.toString()`) beside uPlot's script, so the file
// needs no bundle of its own and works wherever it is opened. That is why the function is
// self-contained: it may use its arguments and the browser's globals, nothing imported or defined
// elsewhere in this module (a reference outside it would be undefined in the page).
import type uPlot from 'uplot';
import type { marksPlugin as chartMarksPlugin } from './chart-marks';

/** A vertical mark: where a stage began (dashed) or the test was changed while it ran (solid). */
export interface ReportChartMark {
  /** seconds since the trigger, as the series' t */
  t: number;
  label: string;
  control: boolean;
}

/** What the charts draw, columns of the time series; null where a second has no value. */
export interface ReportChartData {
  /** seconds since the trigger */
  t: number[];
  /** responses per second */
  rate: number[];
  /** the planned requests per second, when the plan has a rate over time (an open model by duration or stages) */
  planned: (number | null)[] | null;
  /** ms, of the responses of each second */
  p50: (number | null)[];
  p99: (number | null)[];
  marks: ReportChartMark[];
}

/**
 * Draws the rate chart into #rate-chart and the latency chart into #latency-chart, with the marks
 * of the dashboard's charts (chart-marks.ts, given as an argument: inlined beside this in the page).
 */
export function drawReportCharts(data: ReportChartData, UPlot: typeof uPlot, marksPlugin: typeof chartMarksPlugin): void {
  const style = getComputedStyle(document.documentElement);
  const color = (name: string) => style.getPropertyValue(name).trim();
  const marks = marksPlugin(() => data.marks, { stage: color('--mark'), control: color('--control'), text: color('--muted') });
  const axis = { stroke: color('--muted'), grid: { stroke: color('--grid'), width: 1 }, ticks: { stroke: color('--grid') } };
  const make = (id: string, series: { label: string; stroke: string; dash?: number[] }[], columns: uPlot.AlignedData) => {
    const el = document.getElementById(id)!;
    const chart = new UPlot(
      {
        width: Math.max(320, el.clientWidth),
        height: 240,
        scales: { x: { time: false } },
        axes: [{ ...axis, label: 's' }, axis],
        series: [{ label: 't' }, ...series.map((s) => ({ label: s.label, stroke: s.stroke, width: 2, spanGaps: true, dash: s.dash }))],
        plugins: [marks],
      },
      columns,
      el,
    );
    addEventListener('resize', () => chart.setSize({ width: Math.max(320, el.clientWidth), height: 240 }));
  };
  const rate = { label: 'responses/s', stroke: color('--rate') };
  if (data.planned) make('rate-chart', [rate, { label: 'planned req/s', stroke: color('--muted'), dash: [6, 4] }], [data.t, data.rate, data.planned]);
  else make('rate-chart', [rate], [data.t, data.rate]);
  make(
    'latency-chart',
    [
      { label: 'p50 ms', stroke: color('--p50') },
      { label: 'p99 ms', stroke: color('--p99') },
    ],
    [data.t, data.p50, data.p99],
  );
}
