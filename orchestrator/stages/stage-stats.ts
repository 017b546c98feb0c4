// Per-phase figures: each stage's window, and each window a live change began, over all drivers.
// The drivers report every phase cumulatively (PhaseCounts); the latest of each driver per phase
// is kept, and a phase's figures merge them: counts added, histograms MERGED (a p99 of the pooled
// latencies, never an average of the drivers' p99s), the window from the first driver's start to
// the last driver's end.
import { decodeHistogram, latencyStats, mergeHistograms, type Histogram } from '../../protocol/latency-histogram';
import type { PhaseCounts } from '../../protocol/wire-protocol';

/** A server-side query over a window: its samples' mean, lowest and highest. */
export interface ServerWindow {
  samples: number;
  mean: number | null;
  min: number | null;
  max: number | null;
}

export interface StageDriverShare {
  node_id: string;
  /** epoch ms when the phase began on this driver (its own clock reads the plan from there) */
  started_at: number;
  requests_sent: number;
  /** requests sent per second over the phase's window on this driver */
  rate: number | null;
}

export interface StageStats {
  phase: string;
  /** epoch ms: the first driver's start of the phase, the last driver's end (absent while it runs) */
  started_at: number;
  ended_at?: number;
  /** the window's length so far, in seconds */
  duration_s: number;
  /** the plan's average total over the window: requests per second (TSUNAMI) or requests in flight (AVALANCHE) */
  planned_rate: number | null;
  /** requests sent per second over the window, all drivers */
  achieved_rate: number | null;
  requests_sent: number;
  responses: number;
  errors: number;
  error_kinds: Record<string, number>;
  /** errors ÷ requests sent; 0 before any */
  error_rate: number;
  /** corrected latency (from the due time) of the requests due in the phase, ms */
  latency: { mean: number; min: number; p50: number; p90: number; p95: number; p99: number; max: number } | null;
  /** p99 measured from the socket write instead, ms */
  uncorrected_p99: number | null;
  /** the worst driver's send lag p99, ms */
  send_lag_p99: number | null;
  /** requests that waited for a free connection, all drivers */
  waited_for_connection: number;
  /** every participant reported the phase settled: its figures are final */
  settled: boolean;
  per_driver: StageDriverShare[];
  /** the server-side queries over the window (their mean is what the stage table shows) */
  server?: Record<string, ServerWindow>;
}

/** A phase's corrected histogram over its drivers, merged; null when none sent one. */
export function phaseHistogram(drivers: Map<string, DriverPhase>): Histogram | null {
  const histograms = [...drivers.values()].map((d) => d.histogram).filter((h): h is Histogram => h !== null);
  return histograms.length ? mergeHistograms(histograms) : null;
}

/** One driver's latest figures of one phase, with its histograms decoded once. */
interface DriverPhase {
  counts: PhaseCounts;
  histogram: Histogram | null;
  uncorrected: Histogram | null;
}

function decode(base64: string | undefined, before: DriverPhase | undefined, pick: 'histogram' | 'uncorrected'): Histogram | null {
  if (!base64) return null;
  const previousText = pick === 'histogram' ? before?.counts.histogram : before?.counts.uncorrected_histogram;
  if (before && previousText === base64) return before[pick];
  try {
    return decodeHistogram(base64);
  } catch {
    return null; // a damaged histogram is a missing one; the counts still count
  }
}

/** The latest PhaseCounts per driver per phase. */
export class PhaseBook {
  private readonly byDriver = new Map<string, Map<string, DriverPhase>>();

  add(nodeId: string, phases: readonly PhaseCounts[] | undefined): void {
    if (!phases?.length) return;
    let mine = this.byDriver.get(nodeId);
    if (!mine) this.byDriver.set(nodeId, (mine = new Map()));
    for (const counts of phases) {
      const before = mine.get(counts.phase);
      // Cumulative: a settled phase stays settled, and a late report of fewer requests adds nothing.
      if (before && (before.counts.settled || counts.requests_sent + counts.responses < before.counts.requests_sent + before.counts.responses)) continue;
      mine.set(counts.phase, { counts, histogram: decode(counts.histogram, before, 'histogram'), uncorrected: decode(counts.uncorrected_histogram, before, 'uncorrected') });
    }
  }

  /** Every phase any driver reported, in the order they began. */
  phases(): string[] {
    const first = new Map<string, number>();
    for (const mine of this.byDriver.values()) for (const [phase, p] of mine) first.set(phase, Math.min(first.get(phase) ?? Infinity, p.counts.started_at));
    return [...first.entries()].sort((a, b) => a[1] - b[1]).map(([phase]) => phase);
  }

  /** Each driver's latest figures of `phase`. */
  of(phase: string): Map<string, DriverPhase> {
    const out = new Map<string, DriverPhase>();
    for (const [id, mine] of this.byDriver) {
      const p = mine.get(phase);
      if (p) out.set(id, p);
    }
    return out;
  }
}

export interface StageContext {
  /** the drivers that must report a phase settled for it to be settled */
  participants: readonly string[];
  now: number;
  /** the plan's average total over the time it gives a phase (so far): exact, whatever the drivers' clocks */
  plannedOfPhase?: (phase: string) => number | null;
  /** the plan's average total over an epoch-ms window, for a phase the plan does not name */
  plannedAverage?: (fromMs: number, toMs: number) => number | null;
  /** the server-side queries over an epoch-ms window */
  server?: (fromMs: number, toMs: number) => Record<string, ServerWindow> | undefined;
}

const perSecond = (count: number, ms: number) => (ms > 0 ? (count * 1000) / ms : null);
const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

/** One phase's figures over all its drivers. */
export function stageStats(phase: string, drivers: Map<string, DriverPhase>, ctx: StageContext): StageStats {
  const list = [...drivers.values()];
  const started_at = Math.min(...list.map((d) => d.counts.started_at));
  const allEnded = list.length > 0 && list.every((d) => d.counts.ended_at !== undefined);
  const ended_at = allEnded ? Math.max(...list.map((d) => d.counts.ended_at!)) : undefined;
  const windowMs = Math.max(0, (ended_at ?? ctx.now) - started_at);
  const requests_sent = list.reduce((sum, d) => sum + d.counts.requests_sent, 0);
  const responses = list.reduce((sum, d) => sum + d.counts.responses, 0);
  const error_kinds: Record<string, number> = {};
  for (const d of list) for (const [kind, n] of Object.entries(d.counts.errors)) error_kinds[kind] = (error_kinds[kind] ?? 0) + n;
  const errors = Object.values(error_kinds).reduce((a, b) => a + b, 0);
  const corrected = list.map((d) => d.histogram).filter((h): h is Histogram => h !== null);
  const uncorrected = list.map((d) => d.uncorrected).filter((h): h is Histogram => h !== null);
  const merged = corrected.length ? mergeHistograms(corrected) : null;
  const stats = merged && merged.totalCount > 0 ? latencyStats(merged) : null;
  const mergedUncorrected = uncorrected.length ? mergeHistograms(uncorrected) : null;
  const lags = list.map((d) => d.counts.send_lag_ms?.p99).filter((n): n is number => n !== undefined);
  const settled = ctx.participants.length > 0 && ctx.participants.every((id) => drivers.get(id)?.counts.settled === true);
  const server = ctx.server?.(started_at, ended_at ?? ctx.now);
  return {
    phase,
    started_at,
    ...(ended_at !== undefined ? { ended_at } : {}),
    duration_s: round(windowMs / 1000),
    planned_rate: nullableRound(ctx.plannedOfPhase?.(phase) ?? ctx.plannedAverage?.(started_at, ended_at ?? ctx.now) ?? null),
    achieved_rate: nullableRound(perSecond(requests_sent, windowMs)),
    requests_sent,
    responses,
    errors,
    error_kinds,
    error_rate: requests_sent > 0 ? errors / requests_sent : 0,
    latency: stats ? { mean: stats.mean_latency, min: stats.min_latency, p50: stats.median_latency, p90: stats.p90_latency!, p95: stats.p95_latency!, p99: stats.p99_latency!, max: stats.max_latency } : null,
    uncorrected_p99: mergedUncorrected && mergedUncorrected.totalCount > 0 ? latencyStats(mergedUncorrected).p99_latency! : null,
    send_lag_p99: lags.length ? Math.max(...lags) : null,
    waited_for_connection: list.reduce((sum, d) => sum + (d.counts.waited_for_connection ?? 0), 0),
    settled,
    per_driver: [...drivers.entries()].map(([node_id, d]) => ({
      node_id,
      started_at: d.counts.started_at,
      requests_sent: d.counts.requests_sent,
      rate: nullableRound(perSecond(d.counts.requests_sent, (d.counts.ended_at ?? ctx.now) - d.counts.started_at)),
    })),
    ...(server ? { server } : {}),
  };
}

function nullableRound(n: number | null): number | null {
  return n === null ? null : round(n);
}

/** Every phase's figures, in the order the phases began. */
export function allStageStats(book: PhaseBook, ctx: StageContext): StageStats[] {
  return book.phases().map((phase) => stageStats(phase, book.of(phase), ctx));
}
