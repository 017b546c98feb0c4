// What the driver agent needs of a test's load, whether one load generator sends it on this
// thread or several on worker threads (threaded-load.ts).
import type { Histogram } from '../protocol/latency-histogram';
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
  readonly firstSendEpoch: number | undefined;
  readonly connectionLimit: number | undefined;
  readonly elapsedMs: number;
}
