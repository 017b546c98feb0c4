// The messages between the compare view's page and the extension host: one union per direction,
// imported by both sides (as dashboard-protocol.ts is for the dashboard). The host sends the
// comparison as the core made it and each run's curves as points; the page only draws and writes
// them (with the reports' text functions), it computes no figure.
import type { PercentilePoint } from '../../orchestrator/compare/percentile-curve';
import type { Comparison } from '../../orchestrator/compare/comparison-model';

/** One run's curves: its latency distribution and its rate and p99 over time. */
export interface RunCurves {
  test_id: string;
  /** how the run is named on the page: "lt-… (ping, 2 h ago)" */
  label: string;
  /** from its merged histogram; empty when the history kept none for it */
  percentiles: PercentilePoint[];
  /** seconds since its trigger, one entry per second of its time series */
  t: number[];
  /** responses per second */
  rate: number[];
  /** ms, of each second's responses */
  p99: (number | null)[];
}

export interface CompareView {
  comparison: Comparison;
  baseline: RunCurves;
  current: RunCurves;
}

export type HostToPage = { type: 'compare'; view: CompareView } | { type: 'error'; message: string };

/** What the page keeps across a window reload: the two runs it compares. */
export interface ComparePageState {
  baseline: string;
  current: string;
}

export type PageToHost =
  | { type: 'ready' }
  /** open one of the two runs in the dashboard */
  | { type: 'open'; testId: string };
