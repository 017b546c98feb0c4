// Sends a test's requests to the target and records every outcome. The hot path is undici's
// Client.dispatch with one small handler object per request: no promises, no body streams.
//
// Each request goes to an idle connection or a new one (connection-pool.ts), so none waits in
// undici's queues, where the wait would be invisible and counted as server latency. A request
// that cannot go out when due waits here instead, and that wait is measured (send lag) and counted.
//
// Pacing policy, a schedule and a token bucket:
// - open (TSUNAMI): request k is due at start + k × interval. Sent on time, each takes a token
//   that refills at CATCH_UP_FACTOR × the planned rate, so after a stall of this process (a long
//   garbage collection, a busy core) or a wait for a connection the backlog goes out at no more
//   than twice the planned rate, in bursts of at most BURST_MS of schedule (or two requests),
//   never all at once.
//   Each late request is still measured from its due time.
// - closed with a cap (AVALANCHE + target_throughput): the same schedule gives each request the
//   earliest time it may go, so the cap is a ceiling, and the same bucket paces a catch-up after
//   a stall. The schedule never lags more than MAX_BEHIND_MS: a concurrency too small to reach
//   the cap shows as a lower achieved rate, not as a backlog sent later above the cap. Latency is
//   what each request took: a closed model promises no schedule to be late for.
// - closed without a cap: as fast as `concurrency` requests in flight allow.
//
// One deadline per request: its due time (or its dispatch, in a closed model) + timeout_ms,
// covering the wait for a connection, connect and response. A sweep aborts what passed it, and
// a request still waiting here when its deadline passes is a timeout without being sent.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Client, Dispatcher } from 'undici';
import { ConnectionPool } from './connection-pool';
import { classifyError, LatencyRecorder, type ErrorKind } from './latency-recorder';
import type { LatencyLog } from './latency-log';
import type { RequestPlan } from './request-plan';
import { MAX_TIMER_MS } from '../protocol/test-config-limits';

export const CATCH_UP_FACTOR = 2;
export const BURST_MS = 10;
export const MAX_BEHIND_MS = 100;

export class LoadGenerator {
  readonly recorder: LatencyRecorder;
  /** performance.now() when the first request became due */
  startedAt = 0;
  /** Date.now() at the same moment, to turn performance.now() times into epoch times */
  startedAtEpoch = 0;
  finishedAt = 0;
  private readonly pool: ConnectionPool;
  private readonly dispatchOptions: Dispatcher.DispatchOptions;
  private readonly phaseMs: number;
  /** a mix's requests' options, one per request of the mix (templated ones are copied per request) */
  private readonly mixOptions: Dispatcher.DispatchOptions[] | undefined;
  private next = 0;
  private inFlight = 0;
  private settled = 0;
  private stopped = false;
  /** the pending pump: a timer for the next due time, then the immediate it hands over to */
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  /** Requests in flight by slot, for the deadline sweep; a slot is free when undefined. */
  private readonly slots: (ResponseHandler | undefined)[];
  private readonly freeSlots: number[];
  /** Token bucket (see the policy above); `bucketRate` is 0 when nothing paces the sends. */
  private readonly bucketRate: number;
  private readonly bucketSize: number;
  private tokens = 0;
  private refilledAt = 0;
  /** how far a closed model's schedule has been moved on, having lagged more than MAX_BEHIND_MS */
  private scheduleShift = 0;
  /** true while due requests wait because every connection is busy (open model) */
  private waitingForConnection = false;
  private resolveDone!: () => void;
  readonly done: Promise<void>;

  /** `latencyLog`, when given, receives every corrected latency (for exact offline percentiles). */
  constructor(
    private readonly plan: RequestPlan,
    private readonly latencyLog?: LatencyLog,
  ) {
    if (!Number.isInteger(plan.maxInFlight) || plan.maxInFlight < 1) throw new Error(`the in-flight limit must be a whole number of at least 1 (got ${plan.maxInFlight})`);
    this.pool = new ConnectionPool(plan.url.origin, plan.maxInFlight, { connectTimeoutMs: plan.timeoutMs, tls: plan.tls });
    this.dispatchOptions = dispatchOptionsFor(plan);
    this.phaseMs = plan.phaseMs ?? 0;
    this.mixOptions = plan.mix?.requests.map((r) => ({
      ...this.dispatchOptions,
      path: r.path(0),
      method: r.method as Dispatcher.HttpMethod,
      headers: Object.entries(r.headers).flat(),
      body: r.body?.(0) ?? null,
    }));
    this.slots = new Array(plan.maxInFlight).fill(undefined);
    this.freeSlots = Array.from({ length: plan.maxInFlight }, (_, i) => plan.maxInFlight - 1 - i);
    this.bucketRate = plan.intervalMs > 0 ? CATCH_UP_FACTOR / plan.intervalMs : 0;
    // Two at least, so that a timer firing late (they do, by a millisecond or more) still catches up.
    this.bucketSize = plan.intervalMs > 0 ? Math.max(2, BURST_MS / plan.intervalMs) : 0;
    this.recorder = new LatencyRecorder(plan.open, plan.mix?.requests.map((r) => r.name));
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Starts sending; `done` resolves when every request has been answered or has failed, or after stop(). */
  start(): Promise<void> {
    this.startedAt = performance.now();
    this.startedAtEpoch = Date.now();
    this.tokens = this.bucketSize;
    this.refilledAt = this.startedAt;
    const sweepMs = Math.min(100, Math.max(5, this.plan.timeoutMs / 20));
    this.sweeper = setInterval(this.sweep, sweepMs);
    this.pump(this.startedAt);
    return this.done;
  }

  /** Sends nothing more; `done` resolves once the requests in flight settle. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelPump();
    this.maybeFinish();
  }

  /** requests sent and not answered yet */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  get wasStopped(): boolean {
    return this.stopped && this.settled < this.plan.count;
  }

  /** Epoch milliseconds of the first request sent, if any. */
  get firstSendEpoch(): number | undefined {
    const first = this.recorder.firstSentAt;
    return first === 0 ? undefined : Math.round(this.startedAtEpoch + (first - this.startedAt));
  }

  /** Epoch milliseconds of the latest request sent, if any. */
  get lastSendEpoch(): number | undefined {
    const last = this.recorder.lastSentAt;
    return last === 0 ? undefined : Math.round(this.startedAtEpoch + (last - this.startedAt));
  }

  /** The most connections an open test opens; undefined for a closed one (its concurrency). */
  get connectionLimit(): number | undefined {
    return this.plan.open ? this.plan.maxInFlight : undefined;
  }

  get elapsedMs(): number {
    return this.startedAt === 0 ? 0 : (this.finishedAt || performance.now()) - this.startedAt;
  }

  /**
   * A timer pumps after this turn's I/O (setImmediate runs after the poll phase): responses that
   * arrived meanwhile free their connections first, so due requests reuse them instead of each
   * opening a new one (about a millisecond of CPU apiece) while an answer waits unread.
   */
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.immediate = setImmediate(this.onImmediate);
  };

  private readonly onImmediate = (): void => this.pump();

  /** `now` may be passed by a caller that has just read the clock. */
  private pump = (now: number = performance.now()): void => {
    this.timer = undefined;
    this.immediate = undefined;
    const { count, intervalMs, open, maxInFlight, timeoutMs } = this.plan;
    const paced = intervalMs > 0;
    while (this.next < count && !this.stopped) {
      let dueAt = now;
      if (paced) {
        dueAt = this.startedAt + this.phaseMs + this.scheduleShift + this.next * intervalMs;
        if (!open && now - dueAt > MAX_BEHIND_MS) {
          this.scheduleShift += now - dueAt - MAX_BEHIND_MS;
          dueAt = now - MAX_BEHIND_MS;
        }
        if (dueAt > now) {
          // On schedule again: whatever waited has gone out.
          this.waitingForConnection = false;
          // A longer wait would be cut to 1 ms by Node; the pump re-arms until the due time.
          this.timer = setTimeout(this.onTimer, Math.min(dueAt - now, MAX_TIMER_MS));
          return;
        }
      }
      if (this.inFlight >= maxInFlight) {
        // A settling request pumps again.
        if (open) this.waitingForConnection = true;
        return;
      }
      if (paced) {
        this.tokens = Math.min(this.bucketSize, this.tokens + (now - this.refilledAt) * this.bucketRate);
        this.refilledAt = now;
        if (this.tokens < 1) {
          this.timer = setTimeout(this.onTimer, Math.min((1 - this.tokens) / this.bucketRate, MAX_TIMER_MS));
          return;
        }
        this.tokens -= 1;
      }
      this.next++;
      // A closed model's deadline runs from the send; an open one's from the due time.
      if (!open) this.send(now, now);
      else if (dueAt + timeoutMs <= now) this.expireUnsent();
      else this.send(dueAt, now);
    }
  };

  private send(dueAt: number, now: number): void {
    // In flight never exceeds the limit, so a connection is free or can be opened.
    const client = this.pool.acquire()!;
    const slot = this.freeSlots.pop()!;
    const mix = this.plan.mix;
    let options = this.dispatchOptions;
    let kind = -1;
    let timeoutMs = this.plan.timeoutMs;
    if (mix) {
      const seq = this.seqOfLatest();
      kind = mix.cycle[seq % mix.cycle.length];
      const request = mix.requests[kind];
      options = this.mixOptions![kind];
      if (request.templated) options = { ...options, path: request.path(seq), body: request.body ? request.body(seq) : null };
      timeoutMs = request.timeoutMs;
    }
    const handler = new ResponseHandler(this, client, dueAt, now, slot, kind, dueAt + timeoutMs);
    this.slots[slot] = handler;
    this.inFlight++;
    this.recorder.recordSend(now, this.waitingForConnection, kind);
    client.dispatch(options, handler);
  }

  /** A request whose deadline passed while it waited for a connection: a timeout, never sent. */
  private expireUnsent(): void {
    const mix = this.plan.mix;
    this.recorder.recordExpiredUnsent(mix ? mix.cycle[this.seqOfLatest() % mix.cycle.length] : -1);
    this.settled++;
    this.maybeFinish();
  }

  /** The driver's number (`{seq}`) of the request just taken from the plan. */
  private seqOfLatest(): number {
    return (this.plan.firstSeq ?? 0) + (this.next - 1) * (this.plan.seqStride ?? 1) + (this.plan.seqOffset ?? 0);
  }

  /** Called by a handler when undici writes its request to the socket. */
  written(handler: ResponseHandler): void {
    if (this.plan.open) this.recorder.recordSendLag(handler.writtenAt - handler.dueAt);
  }

  /** Called exactly once per request sent, by its handler or (`expired`) by the deadline sweep. */
  settle(handler: ResponseHandler, status: number, failure?: ErrorKind, expired = false): void {
    this.inFlight--;
    this.settled++;
    this.slots[handler.slot] = undefined;
    this.freeSlots.push(handler.slot);
    // A request that failed (refused, reset, past its deadline: connecting, written or half
    // answered) takes its connection with it; undici is still unwinding it, so it must not be
    // handed the next request. An answered request leaves it for the next one.
    if (failure) this.pool.discard(handler.client, expired ? new DeadlineExceeded('request deadline passed') : undefined);
    else this.pool.release(handler.client);
    const endAt = performance.now();
    if (failure) this.recorder.recordFailure(failure, handler.kind);
    else {
      // Sent is when the request reached the socket; a request that never did (an error
      // before connecting) has no latency to record.
      const sentAt = handler.writtenAt || handler.dispatchedAt;
      const correctedFrom = this.plan.open ? handler.dueAt : sentAt;
      this.recorder.recordResponse(status, correctedFrom, sentAt, endAt, handler.kind);
      this.latencyLog?.write(endAt - correctedFrom);
    }
    if (!this.maybeFinish() && !this.pumpPending) this.pump(endAt);
  }

  /** Aborts every request in flight past its deadline. */
  private readonly sweep = (): void => {
    const now = performance.now();
    for (let i = 0; i < this.slots.length; i++) {
      const handler = this.slots[i];
      if (handler !== undefined && handler.deadline <= now) handler.expire();
    }
  };

  private get pumpPending(): boolean {
    return this.timer !== undefined || this.immediate !== undefined;
  }

  private cancelPump(): void {
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private maybeFinish(): boolean {
    const allSettled = this.settled >= this.plan.count;
    if (!(allSettled || (this.stopped && this.inFlight === 0))) return false;
    if (this.finishedAt === 0) {
      this.finishedAt = performance.now();
      this.cancelPump();
      clearInterval(this.sweeper);
      this.pool.close().catch(() => {});
      this.latencyLog?.close();
      this.resolveDone();
    }
    return true;
  }

  /** Ends the connections at once, abandoning requests in flight (agent shutdown). */
  async destroy(): Promise<void> {
    this.stop();
    clearInterval(this.sweeper);
    await this.pool.destroy().catch(() => {});
  }
}

/**
 * undici's options for a plan's request. One object serves every request (undici copies what it
 * needs); the benchmark's "undici alone" sends the same ones.
 */
export function dispatchOptionsFor(plan: Pick<RequestPlan, 'url' | 'method' | 'headers' | 'body'>): Dispatcher.DispatchOptions {
  return {
    origin: plan.url.origin,
    path: plan.url.pathname + plan.url.search,
    method: plan.method as Dispatcher.HttpMethod,
    // A flat [name, value, ...] array is the form undici walks with the least work per request.
    headers: Object.entries(plan.headers).flat(),
    body: plan.body ?? null,
    headersTimeout: 0,
    bodyTimeout: 0,
    // "Blocking" holds back pipelined requests until this one's headers arrive, at the cost of
    // an extra pass through undici's queue per response; a connection here never carries two.
    blocking: false,
  };
}

/**
 * Runs a thousand requests against a throwaway server on loopback, so that the first test does
 * not pay for compiling the HTTP parser and optimising the code paths (tens of milliseconds,
 * during which an open schedule's first requests would go out late). No request reaches any target.
 */
export async function warmUpHttpClient(): Promise<void> {
  const server = createServer((_req, res) => res.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    // Enough requests, on enough connections, for V8 to optimise the paths a test runs hot.
    await new LoadGenerator({ url: new URL(`http://127.0.0.1:${port}/`), method: 'GET', headers: {}, timeoutMs: 2000, count: 500, intervalMs: 0, open: false, maxInFlight: 16 }).start();
    await new LoadGenerator({ url: new URL(`http://127.0.0.1:${port}/`), method: 'GET', headers: {}, timeoutMs: 2000, count: 500, intervalMs: 0.02, open: true, maxInFlight: 16 }).start();
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

class DeadlineExceeded extends Error {
  readonly code = 'LT_DEADLINE';
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
  /** performance.now() when undici wrote the request to the socket; 0 until then */
  writtenAt = 0;

  constructor(
    private readonly generator: LoadGenerator,
    readonly client: Client,
    readonly dueAt: number,
    readonly dispatchedAt: number,
    readonly slot: number,
    /** the mix's request index, or -1 without a mix */
    readonly kind: number,
    /** performance.now() past which the request is a timeout */
    readonly deadline: number,
  ) {}

  /** undici calls this just before it writes the request to the socket. */
  onConnect(abort: (error: Error) => void): void {
    if (this.finished) {
      abort(new DeadlineExceeded('deadline passed before the request was written'));
      return;
    }
    this.writtenAt = performance.now();
    this.generator.written(this);
  }

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
    this.generator.settle(this, this.status);
  }

  onError(error: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.generator.settle(this, this.status, classifyError(error));
  }

  /** The deadline passed: the request is a timeout, and its connection is closed. */
  expire(): void {
    if (this.finished) return;
    this.finished = true;
    this.generator.settle(this, this.status, 'timeout', true);
  }
}
