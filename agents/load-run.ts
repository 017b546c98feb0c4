// What the driver agent needs of a test's load, whether one load generator sends it on this
// thread or several on worker threads (threaded-load.ts).
import type { Histogram } from '../protocol/latency-histogram';
import type { ProfileChange } from '../protocol/load-profile';
import type { PhaseCounts } from '../protocol/wire-protocol';
import type { RecorderSnapshot } from './latency-recorder';

export interface RecorderView {
  readonly requestsSent: number;
  readonly responses: number;
  readonly errorTotal: number;
  errorsByKind(): Record<string, number>;
  /** corrected latency so far, in µs */
  readonly corrected: Histogram;
  snapshot(): RecorderSnapshot;
}

export interface LoadRun {
  readonly recorder: RecorderView;
  /** resolves when every request settled, or after stop() once those in flight did */
  readonly done: Promise<void>;
  start(): Promise<void>;
  stop(): void;
  destroy(): Promise<void>;
  readonly requestsInFlight: number;
  readonly wasStopped: boolean;
  /** a scenario with unique data: the driver's rows were used up, so it began no more iterations */
  readonly dataExhausted: boolean;
  readonly firstSendEpoch: number | undefined;
  readonly connectionLimit: number | undefined;
  readonly elapsedMs: number;
  /** ms on the test's clock (since its first measured request was due); undefined before that */
  readonly testClockMs: number | undefined;
  /** epoch ms of a time on the test's clock; undefined before the measured start */
  epochAt(testMs: number): number | undefined;
  /** false when the plan has nothing live control could change (a TSUNAMI without a schedule) */
  readonly controllable: boolean;
  /** A live change from `atMs` on the test's clock, on every thread of the driver at that same time. */
  apply(change: ProfileChange, atMs: number): void;
  /** ms the test has spent paused */
  readonly pausedMs: number;
  /** each phase reached so far, with its figures (cumulative) */
  phases(): PhaseCounts[];
}
