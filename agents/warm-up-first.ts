// A test with a warm-up: `warm_up_count_per_driver` requests at the test's pace, then the measured
// ones. The warm-up is a load of its own, run to its end and then closed, so none of its
// latencies, errors or connections reaches the test's figures; what it did is reported apart
// (`warm_up` in each report). Until the measured load starts, the test's figures are those of a
// load not started yet: nothing sent, no latency.
import type { ProfileChange } from '../protocol/load-profile';
import type { PhaseCounts, WarmUpCounts } from '../protocol/wire-protocol';
import type { LoadRun, RecorderView } from './load-run';

export class WarmUpFirst implements LoadRun {
  readonly done: Promise<void>;
  private phase: 'warm-up' | 'measured' | 'over' = 'warm-up';
  private stoppedInWarmUp = false;
  private resolveDone!: () => void;

  constructor(
    private readonly warmUp: LoadRun,
    private readonly measured: LoadRun,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  async start(): Promise<void> {
    await this.warmUp.start();
    await this.warmUp.destroy();
    if (this.stoppedInWarmUp) {
      this.phase = 'over';
    } else {
      this.phase = 'measured';
      await this.measured.start();
    }
    this.resolveDone();
  }

  /** Stopped during the warm-up, the measured requests never start. */
  stop(): void {
    if (this.phase === 'warm-up') {
      this.stoppedInWarmUp = true;
      this.warmUp.stop();
    } else {
      this.measured.stop();
    }
  }

  async destroy(): Promise<void> {
    // The warm-up was closed when it ended; on worker threads a second close would reach the
    // measured load, which runs on the same workers.
    if (this.phase === 'warm-up') await this.warmUp.destroy();
    await this.measured.destroy();
  }

  /** The warm-up's counts so far, for the reports. */
  get warmUpCounts(): WarmUpCounts {
    const r = this.warmUp.recorder;
    return { requests_sent: r.requestsSent, responses: r.responses, errors: r.errorTotal, done: this.phase !== 'warm-up' };
  }

  get recorder(): RecorderView {
    return this.measured.recorder;
  }

  get requestsInFlight(): number {
    return this.phase === 'warm-up' ? this.warmUp.requestsInFlight : this.measured.requestsInFlight;
  }

  get wasStopped(): boolean {
    return this.stoppedInWarmUp || this.measured.wasStopped;
  }

  get dataExhausted(): boolean {
    return this.measured.dataExhausted;
  }

  get firstSendEpoch(): number | undefined {
    return this.measured.firstSendEpoch;
  }

  get connectionLimit(): number | undefined {
    return this.measured.connectionLimit;
  }

  get elapsedMs(): number {
    return this.measured.elapsedMs;
  }

  /** Undefined through the warm-up: a change made then takes effect at the measured start. */
  get testClockMs(): number | undefined {
    return this.measured.testClockMs;
  }

  epochAt(testMs: number): number | undefined {
    return this.measured.epochAt(testMs);
  }

  get controllable(): boolean {
    return this.measured.controllable;
  }

  apply(change: ProfileChange, atMs: number): void {
    this.measured.apply(change, atMs);
  }

  get pausedMs(): number {
    return this.measured.pausedMs;
  }

  phases(): PhaseCounts[] {
    return this.measured.phases();
  }
}
