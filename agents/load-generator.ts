// Sends a test's requests to the target and records every outcome. The hot path is undici's
// Pool.dispatch with one small handler object per request: no promises, no body streams.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { classifyError, LatencyRecorder } from './latency-recorder';
import type { LatencyLog } from './latency-log';
import type { RequestPlan } from './request-plan';

export class LoadGenerator {
  readonly recorder: LatencyRecorder;
  /** performance.now() when the first request became due */
  startedAt = 0;
  /** Date.now() at the same moment, to turn performance.now() times into epoch times */
  startedAtEpoch = 0;
  finishedAt = 0;
  private readonly pool: Pool;
  private readonly dispatchOptions: Dispatcher.DispatchOptions;
  private next = 0;
  private inFlight = 0;
  private settled = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private resolveDone!: () => void;
  readonly done: Promise<void>;

  /** `latencyLog`, when given, receives every corrected latency (for exact offline percentiles). */
  constructor(
    private readonly plan: RequestPlan,
    private readonly latencyLog?: LatencyLog,
  ) {
    this.pool = new Pool(plan.url.origin, {
      connections: plan.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: plan.timeoutMs,
      bodyTimeout: plan.timeoutMs,
    });
    // One options object serves every request: undici copies what it needs.
    this.dispatchOptions = {
      origin: plan.url.origin,
      path: plan.url.pathname + plan.url.search,
      method: plan.method as Dispatcher.HttpMethod,
      // A flat [name, value, ...] array is the form undici walks with the least work per request.
      headers: Object.entries(plan.headers).flat(),
      body: plan.body ?? null,
      headersTimeout: plan.timeoutMs,
      bodyTimeout: plan.timeoutMs,
    };
    this.recorder = new LatencyRecorder(plan.intervalMs > 0);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Starts sending; `done` resolves when every request has been answered or has failed, or after stop(). */
  start(): Promise<void> {
    this.startedAt = performance.now();
    this.startedAtEpoch = Date.now();
    this.pump(this.startedAt);
    return this.done;
  }

  /** Sends nothing more; `done` resolves once the requests in flight settle. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.maybeFinish();
  }

  get wasStopped(): boolean {
    return this.stopped && this.settled < this.plan.count;
  }

  /** Epoch milliseconds of the first request sent, if any. */
  get firstSendEpoch(): number | undefined {
    const first = this.recorder.firstSentAt;
    return first === 0 ? undefined : Math.round(this.startedAtEpoch + (first - this.startedAt));
  }

  get elapsedMs(): number {
    return this.startedAt === 0 ? 0 : (this.finishedAt || performance.now()) - this.startedAt;
  }

  private readonly onTimer = (): void => this.pump();

  /** `now` may be passed by a caller that has just read the clock. */
  private pump = (now: number = performance.now()): void => {
    this.timer = undefined;
    const { count, intervalMs, maxInFlight } = this.plan;
    while (this.next < count && this.inFlight < maxInFlight && !this.stopped) {
      const dueAt = intervalMs > 0 ? this.startedAt + this.next * intervalMs : undefined;
      if (dueAt !== undefined && dueAt > now) {
        // Due times are absolute, so a late timer makes the next batch catch up instead of drifting.
        this.timer = setTimeout(this.onTimer, dueAt - now);
        return;
      }
      this.next++;
      this.send(dueAt, now);
    }
  };

  /**
   * Without a schedule (`scheduledAt` undefined) a request is due when it is sent, and the
   * pump's clock reading is exact enough. With one, the send time is read afresh: it is what
   * the send lag measures.
   */
  private send(scheduledAt: number | undefined, now: number): void {
    const sentAt = scheduledAt === undefined ? now : performance.now();
    const dueAt = scheduledAt ?? sentAt;
    this.inFlight++;
    this.recorder.recordSend(dueAt, sentAt);
    this.pool.dispatch(this.dispatchOptions, new ResponseHandler(this, dueAt, sentAt));
  }

  /** Called by a ResponseHandler exactly once per request. */
  settle(status: number, dueAt: number, sentAt: number, error?: Error): void {
    this.inFlight--;
    this.settled++;
    const endAt = performance.now();
    if (error) this.recorder.recordFailure(classifyError(error));
    else {
      this.recorder.recordResponse(status, dueAt, sentAt, endAt);
      this.latencyLog?.write(endAt - dueAt);
    }
    if (!this.maybeFinish() && this.timer === undefined) this.pump(endAt);
  }

  private maybeFinish(): boolean {
    const allSettled = this.settled >= this.plan.count;
    if (!(allSettled || (this.stopped && this.inFlight === 0))) return false;
    if (this.finishedAt === 0) {
      this.finishedAt = performance.now();
      this.pool.close().catch(() => {});
      this.latencyLog?.close();
      this.resolveDone();
    }
    return true;
  }

  /** Ends the connections at once, abandoning requests in flight (agent shutdown). */
  async destroy(): Promise<void> {
    this.stop();
    await this.pool.destroy().catch(() => {});
  }
}

/**
 * undici's core calls these (its "legacy" handler methods) directly. A handler written against
 * the newer onResponse* methods is wrapped per request and has every response's headers parsed
 * into an object; this driver never reads them, and skipping that work is several percent of
 * the driver's CPU per request (see BENCHMARKS.md). undici is pinned to 7.x in package.json.
 */
class ResponseHandler {
  private status = 0;
  private finished = false;

  constructor(
    private readonly generator: LoadGenerator,
    private readonly dueAt: number,
    private readonly sentAt: number,
  ) {}

  onConnect(): void {}

  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    return true;
  }

  onData(): boolean {
    return true;
  }

  onComplete(): void {
    if (this.finished) return;
    this.finished = true;
    this.generator.settle(this.status, this.dueAt, this.sentAt);
  }

  onError(error: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.generator.settle(this.status, this.dueAt, this.sentAt, error);
  }
}
