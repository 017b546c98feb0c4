// The messages between the dashboard webview and the extension host: one union per direction,
// imported by both sides so that neither can send what the other does not understand.
import type { ConnectionStatus } from '../../orchestrator/orchestrator-connection';
import type { DriverInfo, TestResult, TestSnapshot, TimePoint } from '../../orchestrator/result-model';

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
 * series and appends each new point.
 */
export type HostToPage =
  | { type: 'state'; connection: ConnectionSummary; drivers: DriverInfo[]; test: TestSnapshot | TestResult | null; series: TimePoint[] }
  | { type: 'connection'; connection: ConnectionSummary }
  | { type: 'drivers'; drivers: DriverInfo[] }
  | { type: 'test'; test: TestSnapshot }
  | { type: 'update'; test: TestSnapshot; point: TimePoint }
  | { type: 'end'; result: TestResult };

/** What the page keeps across a window reload (VS Code's webview state). */
export interface PageState {
  testId: string | null;
}

export type PageToHost = { type: 'ready' } | { type: 'stop'; testId: string } | { type: 'exportCsv'; testId: string };
