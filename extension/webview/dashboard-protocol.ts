// The messages between the dashboard webview and the extension host: one union per direction,
// imported by both sides so that neither can send what the other does not understand.
import type { ConnectionStatus } from '../../orchestrator/orchestrator-connection';
import type { DriverInfo, TestResult, TestSnapshot, TimePoint } from '../../orchestrator/result-model';
import type { CapacityResult, CapacityStep } from '../../orchestrator/capacity/capacity-search';

export interface ConnectionSummary {
  status: ConnectionStatus;
  brokers: string[];
  /** epoch ms when this status began (for `unreachable`: when the broker was last heard) */
  since: number;
  lastError?: string;
  restUrl?: string;
}

/**
 * `state` is the whole picture, sent when the page loads or becomes visible (the only time the
 * host reads the series from the store). Everything else is an increment: the page keeps the
 * series and appends each new point. `stored`: the test is a run of the history, shown read-only
 * (no increment follows for it).
 */
export type HostToPage =
  | { type: 'state'; connection: ConnectionSummary; drivers: DriverInfo[]; test: TestSnapshot | TestResult | null; series: TimePoint[]; capacity: CapacityView | null; stored: boolean }
  | { type: 'connection'; connection: ConnectionSummary }
  | { type: 'drivers'; drivers: DriverInfo[] }
  | { type: 'test'; test: TestSnapshot }
  | { type: 'update'; test: TestSnapshot; point: TimePoint }
  | { type: 'end'; result: TestResult }
  | { type: 'capacity'; capacity: CapacityView | null };

/** A capacity search as the dashboard shows it: the steps judged so far, the one running, the result at the end. */
export interface CapacityView {
  /** the definition's file, as the workspace names it */
  file: string;
  steps: CapacityStep[];
  current?: { step: number; rate: number };
  result?: CapacityResult;
}

/** What the page keeps across a window reload (VS Code's webview state). */
export interface PageState {
  testId: string | null;
}

export type PageToHost =
  | { type: 'ready' }
  | { type: 'stop'; testId: string }
  | { type: 'exportCsv'; testId: string }
  /** live control from the dashboard's buttons and field; `value` is the total rate or concurrency of a set */
  | { type: 'control'; testId: string; action: 'pause' | 'resume' | 'set'; value?: number };
