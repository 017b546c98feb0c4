// A running test's changes, as the result and the charts show them: each a marked point on the
// time series and a line in the result ("rate set to 3,000/s at 12:03:04 UTC by REST").
import type { ControlAction } from '../../protocol/wire-protocol';

export interface ControlLogEntry {
  /** epoch ms when the orchestrator sent it */
  at: number;
  /** seconds since the test's trigger, as the time series counts */
  t: number;
  action: ControlAction;
  /** a set's total: requests per second (TSUNAMI) or requests in flight (AVALANCHE) */
  value?: number;
  /** who asked: "REST", "dashboard", "CLI", "capacity search" */
  by: string;
  /** e.g. "rate set to 3,000/s at 12:03:04 UTC by REST" */
  text: string;
  control_id: string;
  /** the window of the result that begins with it */
  phase: string;
  /** epoch ms when every participant had applied it */
  applied_at?: number;
  /** why it was refused as a whole: the first refusing driver and its reason */
  refused?: string;
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const int = (n: number) => Math.round(n).toLocaleString('en-US');

/** The line of the result for a change; `field` is what a set sets ("rate" or "concurrency"). */
export function controlText(action: ControlAction, value: number | undefined, field: 'rate' | 'concurrency', at: number, by: string): string {
  const when = `at ${clock(at)} UTC by ${by}`;
  if (action === 'pause') return `paused ${when}`;
  if (action === 'resume') return `resumed ${when}`;
  return field === 'rate' ? `rate set to ${int(value ?? 0)}/s ${when}` : `concurrency set to ${int(value ?? 0)} ${when}`;
}

/** The entry's line with its outcome, e.g. "… by REST: refused by d2 (no such thing)". */
export function describeControl(entry: ControlLogEntry): string {
  if (entry.refused) return `${entry.text}: refused (${entry.refused})`;
  return entry.applied_at === undefined ? `${entry.text} (not yet applied by every driver)` : entry.text;
}
