// One phase's figures on one load generator (a stage's window, or the window a live control
// began): the requests DUE in it (an open model) or started in it (a closed one), however late
// they went out or were answered, so that a stage's latency is that of the load it planned.
import { createLatencyHistogram, decodeHistogram, encodeHistogram, mergeHistograms, type Histogram } from '../protocol/latency-histogram';
import type { PhaseCounts, SendLag } from '../protocol/wire-protocol';

export class PhaseFigures {
  requestsSent = 0;
  responses = 0;
  readonly errors: Record<string, number> = {};
  /** µs, from the due time (open) or the send (closed) */
  readonly corrected: Histogram = createLatencyHistogram();
  /** µs, from the send */
  readonly uncorrected: Histogram = createLatencyHistogram();
  /** µs, how late each request reached the socket */
  readonly sendLag: Histogram = createLatencyHistogram();
  waitedForConnection = 0;
  /** taken from the plan (sent, or expired unsent) and not settled yet */
  pending = 0;

  constructor(readonly name: string) {}

  addError(kind: string): void {
    this.errors[kind] = (this.errors[kind] ?? 0) + 1;
  }
}

/** Where a phase lies on this generator's run, and whether its figures are final. */
export interface PhaseTimes {
  started_at: number;
  ended_at?: number;
  settled: boolean;
}

export function sendLagOf(h: Histogram | null | undefined): SendLag | undefined {
  return h && h.totalCount > 0 ? { p50: h.getValueAtPercentile(50) / 1000, p99: h.getValueAtPercentile(99) / 1000, max: h.maxValue / 1000 } : undefined;
}

/** `scheduled` false: the closed model without a cap, where corrected and uncorrected are one. */
export function phaseCountsOf(f: PhaseFigures, times: PhaseTimes, scheduled: boolean): PhaseCounts & { send_lag_histogram?: string } {
  const has = f.corrected.totalCount > 0;
  const corrected = has ? encodeHistogram(f.corrected) : undefined;
  return {
    phase: f.name,
    ...times,
    requests_sent: f.requestsSent,
    responses: f.responses,
    errors: { ...f.errors },
    histogram: corrected,
    uncorrected_histogram: has ? (scheduled ? encodeHistogram(f.uncorrected) : corrected) : undefined,
    send_lag_ms: sendLagOf(f.sendLag),
    // Kept for merging worker threads' phases (merged-recorder.ts); dropped from the wire.
    send_lag_histogram: f.sendLag.totalCount > 0 ? encodeHistogram(f.sendLag) : undefined,
    waited_for_connection: scheduled ? f.waitedForConnection : undefined,
  };
}

/** A phase as one driver reports it: its worker threads' parts of it added up. */
export function mergePhaseCounts(parts: (PhaseCounts & { send_lag_histogram?: string })[]): PhaseCounts {
  const merge = (encoded: (string | undefined)[]): Histogram | undefined => {
    const present = encoded.filter((e): e is string => !!e);
    return present.length ? mergeHistograms(present.map(decodeHistogram)) : undefined;
  };
  const errors: Record<string, number> = {};
  for (const p of parts) for (const [k, v] of Object.entries(p.errors)) errors[k] = (errors[k] ?? 0) + v;
  const corrected = merge(parts.map((p) => p.histogram));
  const uncorrected = merge(parts.map((p) => p.uncorrected_histogram));
  const waited = parts.map((p) => p.waited_for_connection).filter((w): w is number => w !== undefined);
  const ended = parts.every((p) => p.ended_at !== undefined);
  return {
    phase: parts[0].phase,
    started_at: Math.min(...parts.map((p) => p.started_at)),
    ended_at: ended ? Math.max(...parts.map((p) => p.ended_at!)) : undefined,
    requests_sent: parts.reduce((a, p) => a + p.requests_sent, 0),
    responses: parts.reduce((a, p) => a + p.responses, 0),
    errors,
    histogram: corrected ? encodeHistogram(corrected) : undefined,
    uncorrected_histogram: uncorrected ? encodeHistogram(uncorrected) : undefined,
    settled: parts.every((p) => p.settled),
    send_lag_ms: sendLagOf(merge(parts.map((p) => p.send_lag_histogram))),
    waited_for_connection: waited.length ? waited.reduce((a, b) => a + b, 0) : undefined,
  };
}

/** The wire's form: without the merge-only field. */
export function wirePhase(p: PhaseCounts & { send_lag_histogram?: string }): PhaseCounts {
  const { send_lag_histogram: _, ...wire } = p;
  return wire;
}
