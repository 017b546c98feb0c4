// A driver's figures made from its workers' parts, exactly: counts summed, histograms merged
// (corrected, uncorrected, send lag, per request, a scenario's iterations), the send window from the earliest first send
// to the latest send. Merged once per change of the parts, however often it is read.
import { decodeHistogram, encodeHistogram, latencyStats, mergeHistograms, type Histogram } from '../protocol/latency-histogram';
import type { PhaseCounts, RequestCounts } from '../protocol/wire-protocol';
import type { RecorderSnapshot } from './latency-recorder';
import type { RecorderView } from './load-run';
import { mergePhaseCounts } from './phase-figures';

/** What a worker sends of its share: its recorder's snapshot and what cannot be merged from it. */
export interface WorkerPart {
  snapshot: RecorderSnapshot;
  /** the send-lag histogram, encoded (µs) */
  sendLag?: string;
  firstSendEpoch?: number;
  lastSendEpoch?: number;
  inFlight: number;
  elapsedMs: number;
  wasStopped: boolean;
  dataExhausted?: boolean;
  connectionLimit?: number;
  final: boolean;
  /** the worker's phases, with their send-lag histograms for merging */
  phases?: (PhaseCounts & { send_lag_histogram?: string })[];
  pausedMs?: number;
}

const sumRecords = (records: (Record<string, number> | undefined)[]) => {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r ?? {})) out[k] = (out[k] ?? 0) + v;
  return out;
};

const merge = (encoded: (string | undefined)[]): Histogram | null => {
  const present = encoded.filter((e): e is string => !!e);
  return present.length ? mergeHistograms(present.map(decodeHistogram)) : null;
};

export class MergedRecorder implements RecorderView {
  private version = 0;
  private readonly settledPhases = new Map<string, PhaseCounts>();
  private cached: { version: number; snapshot: RecorderSnapshot; corrected: Histogram } | undefined;

  constructor(
    private readonly parts: (WorkerPart | undefined)[],
    private readonly scheduled: boolean,
  ) {}

  /** A worker's newer part. */
  update(index: number, part: WorkerPart): void {
    this.parts[index] = part;
    this.version++;
  }

  /** the parts received so far (a worker that has not reported yet has none) */
  get present(): WorkerPart[] {
    return this.parts.filter((p): p is WorkerPart => !!p);
  }

  get requestsSent(): number {
    return this.present.reduce((a, p) => a + p.snapshot.requests_sent, 0);
  }

  get responses(): number {
    return this.present.reduce((a, p) => a + p.snapshot.responses, 0);
  }

  errorsByKind(): Record<string, number> {
    return sumRecords(this.present.map((p) => p.snapshot.errors));
  }

  get errorTotal(): number {
    return Object.values(this.errorsByKind()).reduce((a, b) => a + b, 0);
  }

  /**
   * The driver's phases: each worker's part of a phase added up. A phase is settled when every
   * worker's part of it is, a worker that has not reached it yet holding it open (unless its share ended).
   */
  phases(): PhaseCounts[] {
    const parts = this.parts;
    const names: string[] = [];
    for (const p of parts) for (const ph of p?.phases ?? []) if (!names.includes(ph.phase)) names.push(ph.phase);
    return names.map((name) => {
      const cached = this.settledPhases.get(name);
      if (cached) return cached;
      const of = parts.map((p) => p?.phases?.find((ph) => ph.phase === name));
      const merged = mergePhaseCounts(of.filter((ph): ph is NonNullable<typeof ph> => !!ph));
      const missing = parts.some((p, i) => !of[i] && !p?.final);
      if (missing) return { ...merged, settled: false, ended_at: undefined };
      // Settled on every worker: final, merged once.
      if (merged.settled) this.settledPhases.set(name, merged);
      return merged;
    });
  }

  get corrected(): Histogram {
    return this.build().corrected;
  }

  snapshot(): RecorderSnapshot {
    return this.build().snapshot;
  }

  private build(): { snapshot: RecorderSnapshot; corrected: Histogram } {
    if (this.cached?.version === this.version) return this.cached;
    const parts = this.present;
    const corrected = merge(parts.map((p) => p.snapshot.histogram)) ?? mergeHistograms([]);
    const hasLatency = corrected.totalCount > 0;
    const stats = latencyStats(corrected);
    const uncorrectedHistogram = this.scheduled ? merge(parts.map((p) => p.snapshot.uncorrected?.histogram)) : corrected;
    const sendLag = merge(parts.map((p) => p.sendLag));
    const firsts = parts.map((p) => p.firstSendEpoch).filter((t): t is number => t !== undefined);
    const lasts = parts.map((p) => p.lastSendEpoch).filter((t): t is number => t !== undefined);
    const names = [...new Set(parts.flatMap((p) => Object.keys(p.snapshot.per_request ?? {})))];
    const perRequest: Record<string, RequestCounts> | undefined = names.length
      ? Object.fromEntries(
          names.map((name) => {
            const counts = parts.map((p) => p.snapshot.per_request?.[name]).filter((c): c is RequestCounts => !!c);
            const h = merge(counts.map((c) => c.histogram));
            const errors = counts.reduce((a, c) => a + c.errors, 0);
            const byKind = sumRecords(counts.map((c) => c.errors_by_kind));
            return [
              name,
              {
                requests_sent: counts.reduce((a, c) => a + c.requests_sent, 0),
                responses: counts.reduce((a, c) => a + c.responses, 0),
                errors,
                ...(errors > 0 ? { errors_by_kind: byKind } : {}),
                histogram: h && h.totalCount ? encodeHistogram(h) : undefined,
              },
            ];
          }),
        )
      : undefined;
    const iterationParts = parts.map((p) => p.snapshot.iterations).filter((i): i is NonNullable<typeof i> => !!i);
    const iterationDurations = merge(iterationParts.map((i) => i.histogram));
    const iterations = iterationParts.length
      ? {
          started: iterationParts.reduce((a, i) => a + i.started, 0),
          completed: iterationParts.reduce((a, i) => a + i.completed, 0),
          failed: iterationParts.reduce((a, i) => a + i.failed, 0),
          abandoned: iterationParts.reduce((a, i) => a + i.abandoned, 0),
          histogram: iterationDurations && iterationDurations.totalCount ? encodeHistogram(iterationDurations) : undefined,
        }
      : undefined;
    const waited = parts.map((p) => p.snapshot.waited_for_connection).filter((w): w is number => w !== undefined);
    const encoded = encodeHistogram(corrected);
    const snapshot: RecorderSnapshot = {
      requests_sent: this.requestsSent,
      responses: this.responses,
      errors: this.errorsByKind(),
      status_codes: sumRecords(parts.map((p) => p.snapshot.status_codes)),
      metrics: hasLatency ? { mean_latency: stats.mean_latency, median_latency: stats.median_latency, min_latency: stats.min_latency, max_latency: stats.max_latency } : null,
      p90_latency: hasLatency ? stats.p90_latency : undefined,
      p95_latency: hasLatency ? stats.p95_latency : undefined,
      p99_latency: hasLatency ? stats.p99_latency : undefined,
      histogram: encoded,
      uncorrected: hasLatency && uncorrectedHistogram ? { ...latencyStats(uncorrectedHistogram), histogram: this.scheduled ? encodeHistogram(uncorrectedHistogram) : encoded } : undefined,
      send_lag_ms: sendLag && sendLag.totalCount > 0 ? { p50: sendLag.getValueAtPercentile(50) / 1000, p99: sendLag.getValueAtPercentile(99) / 1000, max: sendLag.maxValue / 1000 } : undefined,
      waited_for_connection: waited.length ? waited.reduce((a, b) => a + b, 0) : undefined,
      send_window_ms: firsts.length && lasts.length ? Math.max(...lasts) - Math.min(...firsts) : undefined,
      per_request: perRequest,
      iterations,
    };
    this.cached = { version: this.version, snapshot, corrected };
    return this.cached;
  }
}
