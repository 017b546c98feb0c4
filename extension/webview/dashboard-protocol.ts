// The messages between the dashboard webview and the extension host: one union per direction,
// imported by both sides so that neither can send what the other does not understand.
import type { DriverInfo, TestResult, TestSnapshot, TimePoint } from '../../orchestrator/result-model';

export interface ConnectionSummary {
  status: 'connecting' | 'connected' | 'stopped';
  brokers: string[];
  lastError?: string;
  restUrl?: string;
}

export type HostToPage =
  | { type: 'state'; connection: ConnectionSummary; drivers: DriverInfo[]; test: TestSnapshot | TestResult | null; series: TimePoint[] }
  | { type: 'update'; test: TestSnapshot; point: TimePoint | null; drivers: DriverInfo[] }
  | { type: 'end'; result: TestResult };

export type PageToHost = { type: 'ready' } | { type: 'stop'; testId: string } | { type: 'exportCsv'; testId: string };
