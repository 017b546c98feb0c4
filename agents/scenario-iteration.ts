// One iteration of a scenario: its steps in order, each a request on a connection of the
// generator's pool (held only while the step is in flight, not during think time), its response
// judged (scenario-plan.ts) and its captures kept for the next steps.
//
// Latency of a step: the first from the iteration's due time in an open model (an arrival starts
// an iteration, so the schedule's correction holds), each later one from when it was issued (the
// previous step's end plus think time). The iteration's own duration runs from its due time to
// its last step's end. A stop lets a step in flight settle; the iteration then ends abandoned.
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import type { PooledConnection } from './connection-pool';
import type { Variables } from '../protocol/request-mix';
import { MAX_CHECKED_BODY_BYTES } from '../protocol/scenario';
import { classifyError, DeadlineExceeded, type ErrorKind, type LatencyRecorder } from './latency-recorder';
import type { PlannedScenario, PlannedStep } from './scenario-plan';

/** What an iteration needs of the generator that runs it. */
export interface IterationHost {
  readonly recorder: LatencyRecorder;
  /** an open model: the first step's latency runs from the iteration's due time */
  readonly open: boolean;
  /** the generator was stopped: no further step begins */
  readonly stopping: boolean;
  /** options every request shares (origin, timeouts off: the generator's deadline rules) */
  readonly baseOptions: Dispatcher.DispatchOptions;
  acquireConnection(): PooledConnection;
  /** an answered request's connection (or stream) is reused; a failed one's, `failure`, is dealt with by the pool's rules (`expired`: its deadline passed) */
  releaseConnection(client: PooledConnection, failure: ErrorKind | undefined, error: Error | undefined, expired: boolean, answeredAtSend: number): void;
  /** the step in flight in `slot`, for the deadline sweep (undefined while the iteration thinks) */
  holdSlot(slot: number, step: StepHandler | undefined): void;
  /** the first step reached the socket: the schedule's send lag */
  firstStepWritten(step: StepHandler): void;
  iterationEnded(iteration: ScenarioIteration, outcome: 'completed' | 'failed' | 'abandoned', endAt: number): void;
}

export class ScenarioIteration {
  private stepIndex = 0;
  private failed = false;
  private thinkTimer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly host: IterationHost,
    private readonly scenario: PlannedScenario,
    readonly slot: number,
    /** the driver's number of this iteration ({seq}) */
    private readonly seq: number,
    private readonly variables: Variables,
    /** performance.now() when the iteration was due */
    readonly dueAt: number,
    /** the recorder's phase index of the iteration's arrival, -1 for none */
    readonly phase: number,
    /** true when its arrival waited for a connection (open model) */
    private readonly waited: boolean,
  ) {}

  /** Sends the first step; `deadline` is the generator's for it (the due time + its timeout, in an open model). */
  begin(now: number, deadline: number): void {
    this.host.recorder.recordIterationStart();
    this.send(0, this.dueAt, now, deadline);
  }

  /** true while the iteration waits out a think time */
  get thinking(): boolean {
    return this.thinkTimer !== undefined;
  }

  /** The generator stopped while this iteration thought: it ends here, abandoned. */
  abandon(): void {
    if (this.ended) return;
    clearTimeout(this.thinkTimer);
    this.thinkTimer = undefined;
    this.end('abandoned', performance.now());
  }

  private send(index: number, issuedAt: number, now: number, deadline: number): void {
    this.stepIndex = index;
    const step = this.scenario.steps[index];
    const client = this.host.acquireConnection();
    const handler = new StepHandler(this, client, step, index, issuedAt, now, deadline);
    this.host.holdSlot(this.slot, handler);
    this.host.recorder.recordSend(now, index === 0 && this.waited, index, this.phase);
    const options: Dispatcher.DispatchOptions = {
      ...this.host.baseOptions,
      method: step.method as Dispatcher.HttpMethod,
      path: step.path(this.seq, this.variables),
      headers: step.headers(this.seq, this.variables),
      body: step.body ? step.body(this.seq, this.variables) : null,
    };
    client.dispatch(options, handler);
  }

  /** Called once per step, by its handler or by the deadline sweep (`expired`). */
  settled(handler: StepHandler, status: number, failure: ErrorKind | undefined, error: Error | undefined, expired: boolean): void {
    const endAt = performance.now();
    this.host.holdSlot(this.slot, undefined);
    this.host.releaseConnection(handler.client, failure, error, expired, handler.answeredAtSend);
    const recorder = this.host.recorder;
    const step = handler.step;
    let stepFailed = false;
    if (failure) {
      recorder.recordFailure(failure, handler.index, this.phase);
      stepFailed = true;
    } else {
      const judgement = step.judge({ status, headers: handler.headers, body: handler.body(), truncated: handler.truncated }, this.seq, this.variables);
      const sentAt = handler.writtenAt || handler.dispatchedAt;
      recorder.recordResponse(status, handler.issuedAt, sentAt, endAt, handler.index, this.phase, judgement.statusJudged);
      if (judgement.failure === 'check_failed') recorder.recordFailure('check_failed', handler.index, this.phase);
      if (judgement.failure) stepFailed = true;
      Object.assign(this.variables, judgement.captured);
    }
    if (stepFailed) this.failed = true;
    const last = handler.index === this.scenario.steps.length - 1;
    if (last || (stepFailed && step.stopOnFailure)) return this.end(this.failed ? 'failed' : 'completed', endAt);
    if (this.host.stopping) return this.end('abandoned', endAt);
    const next = handler.index + 1;
    const go = () => {
      this.thinkTimer = undefined;
      if (this.host.stopping) return this.end('abandoned', performance.now());
      const at = performance.now();
      this.send(next, at, at, at + this.scenario.steps[next].timeoutMs);
    };
    if (step.thinkMs > 0) this.thinkTimer = setTimeout(go, step.thinkMs);
    else go();
  }

  /** for the generator: a step of the first request reached the socket */
  written(handler: StepHandler): void {
    if (handler.index === 0) this.host.firstStepWritten(handler);
  }

  private end(outcome: 'completed' | 'failed' | 'abandoned', endAt: number): void {
    if (this.ended) return;
    this.ended = true;
    this.host.recorder.recordIteration(outcome, endAt - this.dueAt);
    this.host.iterationEnded(this, outcome, endAt);
  }

  /** the step in flight or last sent (for logs and tests) */
  get currentStep(): number {
    return this.stepIndex;
  }
}

/**
 * undici's legacy handler for one step (see load-generator.ts's ResponseHandler for why the
 * legacy methods). Reads the headers and the body only when the step's captures or checks need them.
 */
export class StepHandler {
  private status = 0;
  private finished = false;
  /** to fail this step: over HTTP/2 it cancels the stream alone */
  private abort: ((error: Error) => void) | undefined;
  writtenAt = 0;
  /** the connection's answers when this step was sent (connection-pool.ts: a connection that answered none since, at the deadline, looks stuck) */
  readonly answeredAtSend: number;
  headers: Map<string, string> | undefined;
  private chunks: Buffer[] | undefined;
  private bodyBytes = 0;
  truncated = false;

  constructor(
    private readonly iteration: ScenarioIteration,
    readonly client: PooledConnection,
    readonly step: PlannedStep,
    readonly index: number,
    /** performance.now() the step's latency runs from */
    readonly issuedAt: number,
    readonly dispatchedAt: number,
    readonly deadline: number,
  ) {
    if (step.readsBody) this.chunks = [];
    this.answeredAtSend = client.answered;
  }

  /** the schedule's due time, for the send lag of a first step */
  get dueAt(): number {
    return this.issuedAt;
  }

  get phase(): number {
    return this.iteration.phase;
  }

  onConnect(abort: (error: Error) => void): void {
    if (this.finished) {
      abort(new DeadlineExceeded('deadline passed before the request was written'));
      return;
    }
    this.abort = abort;
    this.writtenAt = performance.now();
    this.iteration.written(this);
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    this.status = statusCode;
    if (this.step.readsHeaders && statusCode >= 200) {
      this.headers = new Map();
      for (let i = 0; i + 1 < rawHeaders.length; i += 2) this.headers.set(rawHeaders[i].toString('latin1').toLowerCase(), rawHeaders[i + 1].toString('latin1'));
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.chunks && !this.truncated) {
      const room = MAX_CHECKED_BODY_BYTES - this.bodyBytes;
      if (chunk.length > room) this.truncated = true;
      const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
      this.chunks.push(kept);
      this.bodyBytes += kept.length;
    }
    return true;
  }

  body(): string | undefined {
    return this.chunks ? Buffer.concat(this.chunks).toString('utf8') : undefined;
  }

  onComplete(): void {
    if (this.finished) return;
    this.finished = true;
    this.iteration.settled(this, this.status, undefined, undefined, false);
  }

  onError(error: Error): void {
    if (this.finished) return;
    this.finished = true;
    this.iteration.settled(this, this.status, classifyError(error), error, false);
  }

  /** The deadline passed: the step is a timeout; its stream is cancelled over HTTP/2, its connection closed over HTTP/1.1. */
  expire(): void {
    if (this.finished) return;
    this.finished = true;
    const error = new DeadlineExceeded('request deadline passed');
    if (this.client.multiplexed) this.abort?.(error);
    this.iteration.settled(this, this.status, 'timeout', error, true);
  }
}
