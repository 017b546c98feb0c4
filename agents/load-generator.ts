// Sends a test's requests to the target and records every outcome. The hot path is a
// connection's dispatch (the lean HTTP/1.1 engine's, the HTTP/2 engine's, or undici's for
// scenarios: http-engine/http-connection.ts) with one small handler object per request: no promises, no
// body streams.
//
// Each request goes to a connection with a free stream (one per connection over HTTP/1.1,
// max_streams over HTTP/2) or a new one (connection-pool.ts), so none waits in undici's queues,
// where the wait would be invisible and counted as server latency. A request that cannot go out
// when due waits here instead, and that wait is measured (send lag) and counted.
//
// Pacing policy, a schedule and a token bucket:
// - open (TSUNAMI): the driver's request j is due at start + profile.dueAt(j), where the integral
//   of its share of the rate reaches j (k × interval on a flat test); a worker thread w of W
//   takes the driver's requests j = m × W + w, so the threads' parts interleave exactly through a
//   ramp. Sent on time, each takes a token that refills at CATCH_UP_FACTOR × the rate of the
//   moment, so after a stall of this process (a long garbage collection, a busy core) or a wait
//   for a connection the backlog goes out at no more than twice the planned rate, in bursts of at
//   most BURST_MS of schedule (or two requests), never all at once, across stage boundaries too.
//   Each late request is still measured from its due time. Requests are due only strictly
//   before the plan's end; the test ends when its time does (the count only bounds it).
// - closed with a cap (AVALANCHE + target_throughput): the same schedule gives each request the
//   earliest time it may go, so the cap is a ceiling, and the same bucket paces a catch-up after
//   a stall. The schedule never lags more than MAX_BEHIND_MS: a concurrency too small to reach
//   the cap shows as a lower achieved rate, not as a backlog sent later above the cap. Latency is
//   what each request took: a closed model promises no schedule to be late for.
// - closed without a cap: as fast as its share of the concurrency of the moment allows (the
//   profile's total, split by driver and then by worker). A lower limit starts no new request
//   until those in flight drop below it; slots and connections are held for the profile's peak.
//
// Live control (apply) changes the profile from a time on the test's clock, the same for every
// worker thread of the driver; a pause sends nothing new and extends the plan by its length.
//
// One deadline per request: its due time (or its dispatch, in a closed model) + timeout_ms,
// covering the wait for a connection, connect and response. A sweep aborts what passed it, and
// a request still waiting here when its deadline passes is a timeout without being sent.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { ConnectionPool, type PooledConnection } from './connection-pool';
import { chooseEngine, type EngineChoice } from './http-engine/http-connection';
import { classifyError, DeadlineExceeded, LatencyRecorder, type ErrorKind } from './latency-recorder';
import type { LatencyLog } from './latency-log';
import { connectionsOf, type RequestPlan } from './request-plan';
import { MAX_TIMER_MS } from '../protocol/test-config-limits';
import { LoadProfile, type ProfileChange } from '../protocol/load-profile';
import type { PhaseCounts } from '../protocol/wire-protocol';
import { closedCapacity, concurrencyShare, type DriverShare } from './plan-profile';
import { phaseCountsOf, wirePhase, type PhaseFigures } from './phase-figures';
import { ScenarioIteration, type IterationHost, type StepHandler } from './scenario-iteration';

export const CATCH_UP_FACTOR = 2;
export const BURST_MS = 10;
export const MAX_BEHIND_MS = 100;
/** How often a closed model whose limit is below its slots looks again (a ramp raises it with time). */
export const LIMIT_POLL_MS = 5;

export class LoadGenerator implements IterationHost {
  readonly recorder: LatencyRecorder;
  /** performance.now() when the first request became due */
  startedAt = 0;
  /** Date.now() at the same moment, to turn performance.now() times into epoch times */
  startedAtEpoch = 0;
  finishedAt = 0;
  private readonly pool: ConnectionPool;
  /** which engine carries the requests, and why (shown in the test's result) */
  readonly engine: EngineChoice;
  /** the load over time (request-plan.ts); replaced by live control */
  private profile: LoadProfile | undefined;
  private readonly driverShare: DriverShare;
  /** this generator's place among the driver's worker threads */
  private readonly workerShare: DriverShare;
  /** requests this generator may take in all: the plan's count, or fewer once its time ended */
  private count: number;
  /** a test by time (duration or stages): its end, not its count, is what ends it */
  private readonly timeBound: boolean;
  /** slots and connections held; a live `set` of a closed test may raise it */
  private capacity: number;
  /** the pending timer only looks at a closed model's limit again: a settle may pump at once */
  private limitPoll = false;
  private readonly settledPhases = new Map<string, PhaseCounts & { send_lag_histogram?: string }>();
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
  /** Requests in flight by slot, for the deadline sweep; undefined when free (or a scenario's iteration thinks). */
  private readonly slots: (ResponseHandler | StepHandler | undefined)[];
  /** a scenario's iterations in progress, by slot */
  private readonly iterations: (ScenarioIteration | undefined)[] = [];
  /** a scenario with unique data: this generator's rows are used up, so it began no more iterations */
  dataExhausted = false;
  private readonly freeSlots: number[];
  /** Token bucket (see the policy above); `bucketRate` is 0 when nothing paces the sends. */
  private readonly bucketRate: number;
  private readonly bucketSize: number;
  private tokens = 0;
  private refilledAt = 0;
  /** the open model's cumulative requests (profile.cumulativeAt) at refilledAt, kept so each send reads the profile once for it */
  private refilledRequests = 0;
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
    this.engine = chooseEngine(plan);
    this.pool = new ConnectionPool(plan.url.origin, plan.maxInFlight, {
      connectTimeoutMs: plan.timeoutMs,
      tls: plan.tls,
      engine: this.engine.engine,
      streams: plan.maxStreams,
      // TSUNAMI's max_connections holds whatever protocol the server picks; AVALANCHE's concurrency is its requests in flight.
      maxConnections: plan.open ? connectionsOf(plan) : undefined,
    });
    // A plan made without a profile (tests, the benchmark) is paced as a flat one: the driver's rate, the workers' interval × their number.
    this.profile = plan.profile ?? (plan.open && plan.intervalMs > 0 ? LoadProfile.constant((1000 * (plan.seqStride ?? 1)) / plan.intervalMs) : undefined);
    this.driverShare = plan.driverShare ?? { index: 0, of: 1 };
    this.workerShare = { index: plan.seqOffset ?? 0, of: plan.seqStride ?? 1 };
    this.count = plan.count;
    this.timeBound = Number.isFinite(this.profile?.endMs ?? Infinity);
    this.capacity = plan.maxInFlight;
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
    // The closed model's cap; the open model's bucket follows its profile (openBucketSize).
    this.bucketRate = plan.intervalMs > 0 ? CATCH_UP_FACTOR / plan.intervalMs : 0;
    // Two at least, so that a timer firing late (they do, by a millisecond or more) still catches up.
    this.bucketSize = plan.intervalMs > 0 ? Math.max(2, BURST_MS / plan.intervalMs) : 0;
    this.recorder = new LatencyRecorder(plan.open, plan.mix?.requests.map((r) => r.name) ?? plan.scenario?.steps.map((s) => s.name));
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /** Starts sending; `done` resolves when every request has been answered or has failed, or after stop(). */
  start(): Promise<void> {
    this.startedAt = performance.now();
    this.startedAtEpoch = Date.now();
    this.tokens = this.plan.open && this.profile ? this.openBucketSize(0) : this.bucketSize;
    this.refilledAt = this.startedAt;
    this.refilledRequests = 0;
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
    // An iteration waiting out a think time ends now; one with a step in flight ends when it settles.
    for (const iteration of this.iterations) if (iteration?.thinking) iteration.abandon();
    this.maybeFinish();
  }

  /** IterationHost: the generator was stopped */
  get stopping(): boolean {
    return this.stopped;
  }

  get open(): boolean {
    return this.plan.open;
  }

  get baseOptions(): Dispatcher.DispatchOptions {
    return this.dispatchOptions;
  }

  /** requests sent and not answered yet */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  get wasStopped(): boolean {
    return this.stopped && this.settled < this.count;
  }

  /** ms on the test's clock (since the first request was due); undefined before the start */
  get testClockMs(): number | undefined {
    return this.startedAt === 0 ? undefined : (this.finishedAt || performance.now()) - this.startedAt;
  }

  /** Epoch ms of a time on the test's clock; undefined before the start. */
  epochAt(testMs: number): number | undefined {
    return this.startedAt === 0 ? undefined : Math.round(this.startedAtEpoch + testMs);
  }

  /** false for a plan without a profile (a TSUNAMI without a schedule): nothing to pause or set */
  get controllable(): boolean {
    return this.profile !== undefined;
  }

  /**
   * A live change from `atMs` on the test's clock (before the start: from the start). Every
   * worker thread of a driver is given the same time, so their parts of the plan stay exact.
   */
  apply(change: ProfileChange, atMs: number): void {
    if (!this.profile || this.finishedAt !== 0) return;
    this.profile = this.profile.apply(change, Math.max(0, atMs));
    // A test by time was sent with its planned count as a bound; a change makes another plan,
    // which only its time bounds (a set above the planned rate must not end the test early).
    if (this.timeBound) this.count = Infinity;
    // The plan before the change is kept, so this is the same number unless the change began before the last refill.
    if (this.startedAt !== 0) this.refilledRequests = this.profile.cumulativeAt(this.refilledAt - this.startedAt);
    if (!this.plan.open) this.growCapacity(closedCapacity(this.profile, this.driverShare, this.workerShare));
    if (this.startedAt !== 0 && !this.stopped) {
      this.cancelPump();
      this.pump();
    }
  }

  /** ms paused so far on the test's clock */
  get pausedMs(): number {
    const clock = this.testClockMs;
    if (!this.profile || clock === undefined) return 0;
    let paused = 0;
    for (const s of this.profile.segments) if (s.paused) paused += Math.max(0, Math.min(s.endMs, clock) - s.startMs);
    return paused;
  }

  /** More slots and connections for a higher concurrency (never more than MAX_CONCURRENCY, closedCapacity). */
  private growCapacity(to: number): void {
    if (to <= this.capacity) return;
    for (let slot = this.capacity; slot < to; slot++) {
      this.slots.push(undefined);
      this.freeSlots.push(slot);
    }
    this.capacity = to;
    this.pool.raiseLimit(to);
  }

  /**
   * Each phase this generator's run has reached, with its figures: a phase is settled once its
   * time ended and every request due in it was taken from the plan and has settled.
   */
  phaseCounts(): (PhaseCounts & { send_lag_histogram?: string })[] {
    const clock = this.testClockMs;
    const profile = this.profile;
    if (!profile || clock === undefined) return [];
    const over = this.finishedAt !== 0;
    const windows = new Map<string, { startMs: number; endMs: number }>();
    for (const s of profile.segments) {
      const w = windows.get(s.phase);
      if (w) w.endMs = s.endMs;
      else windows.set(s.phase, { startMs: s.startMs, endMs: s.endMs });
    }
    const out: (PhaseCounts & { send_lag_histogram?: string })[] = [];
    for (const [name, w] of windows) {
      const index = this.recorder.phase(name);
      const figures: PhaseFigures = this.recorder.phases[index];
      // Not begun yet, or cut to nothing by a change at its start (one made before the measured start).
      if ((w.startMs > clock || w.endMs <= w.startMs) && figures.requestsSent === 0) continue;
      const cached = this.settledPhases.get(name);
      if (cached) {
        out.push(cached);
        continue;
      }
      const ended = over || w.endMs <= clock;
      const endedAt = ended ? this.epochAt(Math.min(w.endMs, clock)) : undefined;
      const settled = ended && figures.pending === 0 && this.allTakenBefore(w.endMs);
      const counts = phaseCountsOf(figures, { started_at: this.epochAt(w.startMs)!, ended_at: endedAt, settled }, this.plan.open || this.plan.intervalMs > 0);
      // A settled phase's figures are final: encoded once, however many reports carry it.
      if (settled) this.settledPhases.set(name, counts);
      out.push(counts);
    }
    return out;
  }

  phases(): PhaseCounts[] {
    return this.phaseCounts().map(wirePhase);
  }

  /** Every request due before `endMs` on the test's clock has been taken from the plan. */
  private allTakenBefore(endMs: number): boolean {
    if (this.finishedAt !== 0 || this.stopped || this.next >= this.count) return true;
    return !this.plan.open || this.dueOfNext() >= endMs;
  }

  /** When the next request of this generator is due, on the test's clock (Infinity: not before a change). */
  private dueOfNext(): number {
    return this.profile!.dueAt(this.next * this.workerShare.of + this.workerShare.index);
  }

  /** The open model's burst: BURST_MS of this generator's share of the rate of the moment, two requests at least. */
  private openBucketSize(clock: number): number {
    return Math.max(2, (BURST_MS * this.profile!.valueAt(clock)) / 1000 / this.workerShare.of);
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
    return this.plan.open ? connectionsOf(this.plan) : undefined;
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
    this.limitPoll = false;
    const { intervalMs, open, timeoutMs } = this.plan;
    const profile = this.profile;
    const capped = !open && intervalMs > 0;
    while (this.next < this.count && !this.stopped) {
      const clock = now - this.startedAt;
      let dueAt = now;
      let phaseName: string | undefined;
      if (open && profile) {
        const due = this.dueOfNext();
        if (!(due < profile.endMs)) {
          // Nothing more due before the plan's end, or a pause holds it: a control pumps again.
          this.waitingForConnection = false;
          this.endWhenTimeEnds(clock);
          return;
        }
        dueAt = this.startedAt + due;
        phaseName = profile.phaseAt(due);
        if (dueAt > now) {
          // On schedule again: whatever waited has gone out.
          this.waitingForConnection = false;
          // A longer wait would be cut to 1 ms by Node; the pump re-arms until the due time.
          this.timer = setTimeout(this.onTimer, Math.min(dueAt - now, MAX_TIMER_MS));
          return;
        }
      } else if (profile) {
        if (clock >= profile.endMs) {
          this.endWhenTimeEnds(clock);
          return;
        }
        const limit = concurrencyShare(profile.valueAt(clock), this.driverShare, this.workerShare);
        if (this.inFlight >= limit || this.inFlight >= this.capacity || this.pool.full) {
          // A settle pumps again; a ramp or the plan's end needs a look with time.
          if (limit < this.capacity || Number.isFinite(profile.endMs)) this.pollLimit(clock, profile.endMs);
          return;
        }
        phaseName = profile.phaseAt(clock);
      }
      if (capped) {
        dueAt = this.startedAt + this.phaseMs + this.scheduleShift + this.next * intervalMs;
        if (now - dueAt > MAX_BEHIND_MS) {
          this.scheduleShift += now - dueAt - MAX_BEHIND_MS;
          dueAt = now - MAX_BEHIND_MS;
        }
        if (dueAt > now) {
          this.timer = setTimeout(this.onTimer, Math.min(dueAt - now, MAX_TIMER_MS));
          return;
        }
      }
      // Full: every stream of every connection it may open is busy (over HTTP/1.1, once the
      // server declined HTTP/2, TSUNAMI's max_connections carry one request each).
      if (this.inFlight >= this.capacity || this.pool.full) {
        // A settling request pumps again.
        if (open) this.waitingForConnection = true;
        return;
      }
      if (open && profile) {
        // Refilled by the requests the plan made due meanwhile: the rate of each moment, through ramps and stage boundaries.
        const requests = profile.cumulativeAt(clock);
        let refill = (CATCH_UP_FACTOR * (requests - this.refilledRequests)) / this.workerShare.of;
        // While the rate is 0 (a pause, a stage at 0) nothing becomes due, but a backlog due before
        // still goes out: at the catch-up pace of the rate it was due at (one at once if that was 0).
        // Past the plan's end nothing becomes due either (valueAt there holds the last stage's
        // value, but the integral has stopped): a backlog left at the end drains the same way.
        const rateNow = clock < profile.endMs ? profile.valueAt(clock) : 0;
        const backlogRate = rateNow > 0 ? rateNow : profile.valueAt(dueAt - this.startedAt);
        if (rateNow <= 0) refill += backlogRate > 0 ? (CATCH_UP_FACTOR * backlogRate * (now - this.refilledAt)) / 1000 / this.workerShare.of : 1;
        this.tokens = Math.min(this.openBucketSize(clock), this.tokens + refill);
        this.refilledAt = now;
        this.refilledRequests = requests;
        if (this.tokens < 1) {
          const perMs = (CATCH_UP_FACTOR * backlogRate) / 1000 / this.workerShare.of;
          this.timer = setTimeout(this.onTimer, perMs > 0 ? Math.min((1 - this.tokens) / perMs, MAX_TIMER_MS) : BURST_MS);
          return;
        }
        this.tokens -= 1;
      } else if (capped) {
        this.tokens = Math.min(this.bucketSize, this.tokens + (now - this.refilledAt) * this.bucketRate);
        this.refilledAt = now;
        if (this.tokens < 1) {
          this.timer = setTimeout(this.onTimer, Math.min((1 - this.tokens) / this.bucketRate, MAX_TIMER_MS));
          return;
        }
        this.tokens -= 1;
      }
      if (this.plan.scenario?.data && !this.plan.scenario.data.hasRow(this.seqOf(this.next) - (this.plan.firstSeq ?? 0))) {
        // unique data used up: no more iterations here, and the report says why.
        this.dataExhausted = true;
        this.count = this.next;
        this.maybeFinish();
        return;
      }
      this.next++;
      const phase = phaseName === undefined ? -1 : this.recorder.phase(phaseName);
      if (phase >= 0) this.recorder.phases[phase].pending++;
      // A closed model's deadline runs from the send; an open one's from the due time.
      if (!open) this.send(now, now, phase);
      else if (dueAt + timeoutMs <= now) this.expireUnsent(phase);
      else this.send(dueAt, now, phase);
    }
  };

  /**
   * No request is due before the plan's end: once its time has passed the plan is over (the
   * requests in flight still settle); until then a timer waits for it, or a live change.
   */
  private endWhenTimeEnds(clock: number): void {
    const endMs = this.profile!.endMs;
    if (!Number.isFinite(endMs)) return;
    if (clock >= endMs) {
      this.count = this.next;
      this.maybeFinish();
      return;
    }
    this.timer = setTimeout(this.onTimer, Math.min(endMs - clock, MAX_TIMER_MS));
  }

  private pollLimit(clock: number, endMs: number): void {
    this.limitPoll = true;
    this.timer = setTimeout(this.onTimer, Math.max(0, Math.min(LIMIT_POLL_MS, endMs - clock)));
  }

  private send(dueAt: number, now: number, phase: number): void {
    if (this.plan.scenario) return this.startIteration(dueAt, now, phase);
    // The pump checked that a stream is free or a connection can be opened.
    const client = this.pool.acquire();
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
    const handler = new ResponseHandler(this, client, dueAt, now, slot, kind, dueAt + timeoutMs, phase);
    this.slots[slot] = handler;
    this.inFlight++;
    this.recorder.recordSend(now, this.waitingForConnection, kind, phase);
    client.dispatch(options, handler);
  }

  /**
   * A scenario's iteration takes a slot for all its steps; each step takes a connection only
   * while in flight. The data row is the driver's iteration number's (scenario-plan.ts).
   */
  private startIteration(dueAt: number, now: number, phase: number): void {
    const scenario = this.plan.scenario!;
    const slot = this.freeSlots.pop()!;
    this.inFlight++;
    const seq = this.seqOfLatest();
    const row = scenario.data?.rowFor(seq - (this.plan.firstSeq ?? 0)) ?? {};
    const iteration = new ScenarioIteration(this, scenario, slot, seq, { ...row }, dueAt, phase, this.waitingForConnection);
    this.iterations[slot] = iteration;
    // In an open model the first step's deadline runs from the iteration's due time, as a request's does.
    const firstTimeout = scenario.steps[0].timeoutMs;
    iteration.begin(now, (this.plan.open ? dueAt : now) + firstTimeout);
  }

  acquireConnection(): PooledConnection {
    // Iterations in flight never exceed the streams of the connections the pool may open, and each holds at most one.
    return this.pool.acquire();
  }

  releaseConnection(client: PooledConnection, failure: ErrorKind | undefined, error: Error | undefined, expired: boolean, answeredAtSend: number): void {
    if (failure) this.pool.failed(client, failure, expired, error, answeredAtSend);
    else this.pool.release(client);
  }

  holdSlot(slot: number, step: StepHandler | undefined): void {
    this.slots[slot] = step;
  }

  firstStepWritten(step: StepHandler): void {
    if (this.plan.open) this.recorder.recordSendLag(step.writtenAt - step.dueAt, step.phase);
  }

  iterationEnded(iteration: ScenarioIteration, _outcome: 'completed' | 'failed' | 'abandoned', endAt: number): void {
    this.inFlight--;
    this.settled++;
    this.iterations[iteration.slot] = undefined;
    this.slots[iteration.slot] = undefined;
    this.freeSlots.push(iteration.slot);
    if (iteration.phase >= 0) this.recorder.phases[iteration.phase].pending--;
    if (this.maybeFinish()) return;
    if (this.limitPoll) this.cancelPump();
    if (!this.pumpPending) this.pump(endAt);
  }

  /** A request whose deadline passed while it waited for a connection: a timeout, never sent. */
  private expireUnsent(phase: number): void {
    const mix = this.plan.mix;
    if (this.plan.scenario) {
      // The iteration's first step never went out: the iteration began and failed.
      this.recorder.recordIterationStart();
      this.recorder.recordIteration('failed');
    }
    this.recorder.recordExpiredUnsent(mix ? mix.cycle[this.seqOfLatest() % mix.cycle.length] : this.plan.scenario ? 0 : -1, phase);
    if (phase >= 0) this.recorder.phases[phase].pending--;
    this.settled++;
    this.maybeFinish();
  }

  /** The driver's number (`{seq}`) of the request just taken from the plan. */
  private seqOfLatest(): number {
    return this.seqOf(this.next - 1);
  }

  /** The driver's number (`{seq}`) of this generator's request `n`. */
  private seqOf(n: number): number {
    return (this.plan.firstSeq ?? 0) + n * (this.plan.seqStride ?? 1) + (this.plan.seqOffset ?? 0);
  }

  /** Called by a handler when undici writes its request to the socket. */
  written(handler: ResponseHandler): void {
    if (this.plan.open) this.recorder.recordSendLag(handler.writtenAt - handler.dueAt, handler.phase);
  }

  /** Called exactly once per request sent, by its handler or (`expired`) by the deadline sweep; `error` is what failed it. */
  settle(handler: ResponseHandler, status: number, failure?: ErrorKind, error?: Error, expired = false): void {
    this.inFlight--;
    this.settled++;
    this.slots[handler.slot] = undefined;
    this.freeSlots.push(handler.slot);
    // A request that failed (refused, reset, past its deadline: connecting, written or half
    // answered) takes its connection with it over HTTP/1.1, and only its stream over HTTP/2
    // unless the connection itself failed (connection-pool.ts). An answered request leaves its
    // connection, or stream, for the next one.
    if (failure) this.pool.failed(handler.client, failure, expired, error, handler.answeredAtSend);
    else this.pool.release(handler.client);
    const endAt = performance.now();
    if (handler.phase >= 0) this.recorder.phases[handler.phase].pending--;
    if (failure) this.recorder.recordFailure(failure, handler.kind, handler.phase);
    else {
      // Sent is when the request reached the socket; a request that never did (an error
      // before connecting) has no latency to record.
      const sentAt = handler.writtenAt || handler.dispatchedAt;
      const correctedFrom = this.plan.open ? handler.dueAt : sentAt;
      this.recorder.recordResponse(status, correctedFrom, sentAt, endAt, handler.kind, handler.phase);
      this.latencyLog?.write(endAt - correctedFrom);
    }
    if (this.maybeFinish()) return;
    // A freed slot is taken now, not at the limit's next look.
    if (this.limitPoll) this.cancelPump();
    if (!this.pumpPending) this.pump(endAt);
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
    this.limitPoll = false;
    clearTimeout(this.timer);
    clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  private maybeFinish(): boolean {
    const allSettled = this.settled >= this.count;
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
export function dispatchOptionsFor(plan: Pick<RequestPlan, 'url' | 'method' | 'headers' | 'body' | 'maxStreams'>): Dispatcher.DispatchOptions {
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
    // an extra pass through undici's queue per response; an HTTP/1.1 connection here never carries two.
    blocking: false,
    // Over HTTP/2 undici holds a request it takes for non-idempotent (anything but GET and HEAD)
    // until the connection's other streams end, to be free to retry it; nothing here retries, and
    // a POST must share the connection as a GET does.
    ...((plan.maxStreams ?? 1) > 1 ? { idempotent: true } : {}),
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


/**
 * undici's core calls these (its "legacy" handler methods) directly. A handler written against
 * the newer onResponse* methods is wrapped per request and has every response's headers parsed
 * into an object; this driver never reads them, and skipping that work is several percent of
 * the driver's CPU per request (see BENCHMARKS.md). undici is pinned to 7.x in package.json.
 */
class ResponseHandler {
  private status = 0;
  private finished = false;
  /** the engine's to fail this request: over HTTP/2 it cancels the stream alone */
  private abort: ((error: Error) => void) | undefined;
  /** performance.now() when the engine wrote the request to the socket; 0 until then */
  writtenAt = 0;
  /** the connection's answers when this request was sent: none since, at its deadline, and the connection looks stuck */
  readonly answeredAtSend: number;

  constructor(
    private readonly generator: LoadGenerator,
    readonly client: PooledConnection,
    readonly dueAt: number,
    readonly dispatchedAt: number,
    readonly slot: number,
    /** the mix's request index, or -1 without a mix */
    readonly kind: number,
    /** performance.now() past which the request is a timeout */
    readonly deadline: number,
    /** the recorder's index of the request's phase, -1 for none */
    readonly phase: number,
  ) {
    this.answeredAtSend = client.answered;
  }

  /** undici calls this just before it writes the request to the socket. */
  onConnect(abort: (error: Error) => void): void {
    if (this.finished) {
      abort(new DeadlineExceeded('deadline passed before the request was written'));
      return;
    }
    this.abort = abort;
    this.writtenAt = performance.now();
    this.generator.written(this);
  }

  /** only the status is read: an engine may skip building the headers list and handing over the body */
  get readsResponse(): boolean {
    return false;
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
    this.generator.settle(this, this.status, classifyError(error), error);
  }

  /**
   * The deadline passed: the request is a timeout. Over HTTP/2 its stream is cancelled here and
   * its siblings carry on; over HTTP/1.1 the pool closes its connection.
   */
  expire(): void {
    if (this.finished) return;
    this.finished = true;
    const error = new DeadlineExceeded('request deadline passed');
    if (this.client.multiplexed) this.abort?.(error);
    this.generator.settle(this, this.status, 'timeout', error, true);
  }
}
