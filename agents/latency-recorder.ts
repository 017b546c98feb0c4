// What one driver measured during one test: counters and two latency histograms. Memory is
// fixed whatever the request count: histograms, a status-code table and a few numbers.
import { createLatencyHistogram, encodeHistogram, latencyStats, type Histogram } from '../protocol/latency-histogram';
import type { MetricsMessage, RequestCounts, SendLag } from '../protocol/wire-protocol';
import { PhaseFigures } from './phase-figures';

// check_failed: a scenario step's response that its check refused (or that lacked a value to capture).
export const ERROR_KINDS = ['timeout', 'connection_refused', 'connection_reset', 'stream_reset', 'tls', 'http_4xx', 'http_5xx', 'check_failed', 'other'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/** every kind at zero, so that a report or a metric names each one whether or not it happened */
export const noErrors = (): Record<ErrorKind, number> => Object.fromEntries(ERROR_KINDS.map((k) => [k, 0])) as Record<ErrorKind, number>;

export type RecorderSnapshot = Pick<
  MetricsMessage,
  'metrics' | 'p90_latency' | 'p95_latency' | 'p99_latency' | 'histogram' | 'uncorrected' | 'send_lag_ms' | 'send_window_ms' | 'waited_for_connection' | 'per_request' | 'iterations'
> & { requests_sent: number; responses: number; errors: Record<string, number>; status_codes: Record<string, number> };

/** What a request's deadline aborts it with (the load generator's sweep, a step's handler). */
export class DeadlineExceeded extends Error {
  readonly code = 'LT_DEADLINE';
}

/** Maps an undici or socket error to the kind reported in metrics. */
export function classifyError(error: Error & { code?: string }): ErrorKind {
  switch (error.code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    case 'ECONNREFUSED':
      return 'connection_refused';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
    case 'LT_ERR_CLOSED':
    // HTTP/2 (Node's http2): a GOAWAY with an error code, or the stream ended with its session.
    case 'ERR_HTTP2_SESSION_ERROR':
    case 'ERR_HTTP2_STREAM_CANCEL':
    case 'ERR_HTTP2_GOAWAY_SESSION':
    case 'ERR_HTTP2_INVALID_SESSION':
      return 'connection_reset';
    // HTTP/2: the server reset this request's stream (RST_STREAM with an error code); the
    // connection and its other requests carried on.
    case 'ERR_HTTP2_STREAM_ERROR':
      return 'stream_reset';
    case 'UND_ERR_INFO':
      // undici gives a stream reset without an error code (CANCEL, NO_ERROR) only this code and a
      // message. A stream ended with no response at all ("HTTP/2: stream half-closed (remote)") is
      // what the first request sees of a server closing the connection.
      if (error.message.startsWith('HTTP/2: stream closed before the response')) return 'stream_reset';
      return error.message.startsWith('HTTP/2: stream half-closed') ? 'connection_reset' : 'other';
    default:
      // A certificate not trusted, expired or for another name: the same for every request.
      return /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_|ERR_SSL_)/.test(error.code ?? '') ? 'tls' : 'other';
  }
}

/** A scenario's iterations on one driver: started, and how each that ended did; how long they took. */
export interface IterationFigures {
  started: number;
  completed: number;
  failed: number;
  abandoned: number;
  /** µs from an iteration's start (its due time in an open model) to its last step's end; completed and failed ones */
  duration: Histogram;
}

export class LatencyRecorder {
  /**
   * `scheduled` is false when requests are due the moment they are sent (AVALANCHE without a
   * cap): corrected and uncorrected latencies are then the same numbers and the send lag is
   * always zero, so one histogram serves for both and the hot path records once.
   */
  constructor(
    private readonly scheduled = true,
    /** a mix's request names: their figures are kept apart too, by index */
    private readonly requestNames?: string[],
  ) {
    const n = requestNames?.length ?? 0;
    this.perRequest = Array.from({ length: n }, () => ({ sent: 0, responses: 0, errors: 0, errorKinds: {}, latency: createLatencyHistogram() }));
  }

  private readonly perRequest: { sent: number; responses: number; errors: number; errorKinds: Partial<Record<ErrorKind, number>>; latency: Histogram }[];

  /** a scenario's iterations (undefined for a test of single requests) */
  iterations: IterationFigures | undefined;

  /** requests attempted: sent, or given up as timeouts while they waited for a connection */
  requestsSent = 0;
  responses = 0;
  /** measured from the time each request was due (coordinated omission corrected) */
  readonly corrected: Histogram = createLatencyHistogram();
  /** measured from the time each request was actually sent */
  readonly uncorrected: Histogram = createLatencyHistogram();
  /** how late each request went out after its due time, in µs: the driver's own schedule error */
  readonly sendLag: Histogram = createLatencyHistogram();
  /** performance.now() of the first and the latest send */
  firstSentAt = 0;
  lastSentAt = 0;
  private readonly statusCounts = new Float64Array(600);
  private readonly errorCounts = noErrors();

  /** requests that were due while every connection was busy (open model) */
  waitedForConnection = 0;

  /**
   * The test's phases in the order they were first named; each request is recorded in the whole
   * test's figures and in its phase's (`phase`: an index here, -1 for none).
   */
  readonly phases: PhaseFigures[] = [];
  private readonly phaseIndex = new Map<string, number>();

  /** The index of a phase's figures, made the first time the phase is named. */
  phase(name: string): number {
    let index = this.phaseIndex.get(name);
    if (index === undefined) {
      index = this.phases.push(new PhaseFigures(name)) - 1;
      this.phaseIndex.set(name, index);
    }
    return index;
  }

  /** `waited`: it was due while every connection was busy. */
  recordSend(sentAt: number, waited: boolean, request = -1, phase = -1): void {
    this.requestsSent++;
    if (request >= 0) this.perRequest[request].sent++;
    if (this.firstSentAt === 0) this.firstSentAt = sentAt;
    this.lastSentAt = sentAt;
    if (waited) this.waitedForConnection++;
    if (phase >= 0) {
      const p = this.phases[phase];
      p.requestsSent++;
      if (waited) p.waitedForConnection++;
    }
  }

  /** How late a request reached the socket after its due time, in milliseconds. */
  recordSendLag(lagMs: number, phase = -1): void {
    const us = Math.max(0, Math.round(lagMs * 1000));
    this.sendLag.recordValue(us);
    if (phase >= 0) this.phases[phase].sendLag.recordValue(us);
  }

  /** A request that waited for a connection until its deadline passed: attempted, a timeout, never sent. */
  recordExpiredUnsent(request = -1, phase = -1): void {
    this.requestsSent++;
    if (request >= 0) {
      this.perRequest[request].sent++;
      this.countRequestError(request, 'timeout');
    }
    this.waitedForConnection++;
    this.errorCounts.timeout++;
    if (phase >= 0) {
      const p = this.phases[phase];
      p.requestsSent++;
      p.waitedForConnection++;
      p.addError('timeout');
    }
  }

  /**
   * Times in milliseconds from performance.now(); the histograms hold integer microseconds.
   * `statusJudged`: a scenario step's check judged the status, so a 4xx or 5xx is not an error of
   * its own kind (the check's verdict is recorded with recordFailure).
   */
  recordResponse(status: number, dueAt: number, sentAt: number, endAt: number, request = -1, phase = -1, statusJudged = false): void {
    this.responses++;
    if (status >= 100 && status < 600) this.statusCounts[status]++;
    const statusError: ErrorKind | undefined = statusJudged ? undefined : status >= 500 ? 'http_5xx' : status >= 400 ? 'http_4xx' : undefined;
    if (statusError) this.errorCounts[statusError]++;
    const correctedUs = Math.max(1, Math.round((endAt - dueAt) * 1000));
    this.corrected.recordValue(correctedUs);
    if (request >= 0) {
      const r = this.perRequest[request];
      r.responses++;
      if (statusError) this.countRequestError(request, statusError);
      r.latency.recordValue(correctedUs);
    }
    const uncorrectedUs = this.scheduled ? Math.max(1, Math.round((endAt - sentAt) * 1000)) : 0;
    if (this.scheduled) this.uncorrected.recordValue(uncorrectedUs);
    if (phase >= 0) {
      const p = this.phases[phase];
      p.responses++;
      if (statusError) p.addError(statusError);
      p.corrected.recordValue(correctedUs);
      if (this.scheduled) p.uncorrected.recordValue(uncorrectedUs);
    }
  }

  recordFailure(kind: ErrorKind, request = -1, phase = -1): void {
    this.errorCounts[kind]++;
    if (request >= 0) this.countRequestError(request, kind);
    if (phase >= 0) this.phases[phase].addError(kind);
  }

  private countRequestError(request: number, kind: ErrorKind): void {
    const r = this.perRequest[request];
    r.errors++;
    r.errorKinds[kind] = (r.errorKinds[kind] ?? 0) + 1;
  }

  /**
   * A scenario's iteration ended: `durationMs` from its start (its due time in an open model) to
   * its last step's end; none for one that never went out (its first step timed out waiting).
   */
  recordIteration(outcome: 'completed' | 'failed' | 'abandoned', durationMs?: number): void {
    const figures = (this.iterations ??= { started: 0, completed: 0, failed: 0, abandoned: 0, duration: createLatencyHistogram() });
    figures[outcome]++;
    if (outcome !== 'abandoned' && durationMs !== undefined) figures.duration.recordValue(Math.max(1, Math.round(durationMs * 1000)));
  }

  /** A scenario's iteration began. */
  recordIterationStart(): void {
    (this.iterations ??= { started: 0, completed: 0, failed: 0, abandoned: 0, duration: createLatencyHistogram() }).started++;
  }

  /** failures so far by kind (a copy) */
  errorsByKind(): Record<ErrorKind, number> {
    return { ...this.errorCounts };
  }

  get errorTotal(): number {
    let total = 0;
    for (const kind in this.errorCounts) total += this.errorCounts[kind as ErrorKind];
    return total;
  }

  snapshot(): RecorderSnapshot {
    const status_codes: Record<string, number> = {};
    for (let code = 100; code < 600; code++) if (this.statusCounts[code] > 0) status_codes[String(code)] = this.statusCounts[code];
    const errors: Record<string, number> = {};
    for (const [kind, count] of Object.entries(this.errorCounts)) if (count > 0) errors[kind] = count;
    const corrected = encodeHistogram(this.corrected);
    const uncorrected = this.scheduled ? this.uncorrected : this.corrected;
    const hasLatency = this.corrected.totalCount > 0;
    const { mean_latency, median_latency, min_latency, max_latency, p90_latency, p95_latency, p99_latency } = latencyStats(this.corrected);
    return {
      requests_sent: this.requestsSent,
      responses: this.responses,
      errors,
      status_codes,
      metrics: hasLatency ? { mean_latency, median_latency, min_latency, max_latency } : null,
      p90_latency: hasLatency ? p90_latency : undefined,
      p95_latency: hasLatency ? p95_latency : undefined,
      p99_latency: hasLatency ? p99_latency : undefined,
      histogram: corrected,
      uncorrected: hasLatency ? { ...latencyStats(uncorrected), histogram: this.scheduled ? encodeHistogram(uncorrected) : corrected } : undefined,
      send_lag_ms: this.sendLag.totalCount > 0
        ? { p50: this.sendLag.getValueAtPercentile(50) / 1000, p99: this.sendLag.getValueAtPercentile(99) / 1000, max: this.sendLag.maxValue / 1000 }
        : undefined,
      waited_for_connection: this.scheduled ? this.waitedForConnection : undefined,
      send_window_ms: this.requestsSent ? Math.round((this.lastSentAt - this.firstSentAt) * 1000) / 1000 : undefined,
      per_request: this.requestNames ? this.requestSnapshot() : undefined,
      iterations: this.iterations
        ? { started: this.iterations.started, completed: this.iterations.completed, failed: this.iterations.failed, abandoned: this.iterations.abandoned, histogram: this.iterations.duration.totalCount > 0 ? encodeHistogram(this.iterations.duration) : undefined }
        : undefined,
    };
  }

  private requestSnapshot(): Record<string, RequestCounts> {
    const out: Record<string, RequestCounts> = {};
    for (const [i, name] of this.requestNames!.entries()) {
      const r = this.perRequest[i];
      out[name] = {
        requests_sent: r.sent,
        responses: r.responses,
        errors: r.errors,
        ...(r.errors > 0 ? { errors_by_kind: { ...r.errorKinds } } : {}),
        histogram: r.latency.totalCount > 0 ? encodeHistogram(r.latency) : undefined,
      };
    }
    return out;
  }
}
