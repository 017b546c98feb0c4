// Turns drivers' stories (report-accumulator.ts: cumulative, whatever they sent) into the numbers
// shown to users. Global percentiles come
// from merging the drivers' histograms (never from averaging their medians); a driver that sends
// no histogram is combined soundly (count-weighted mean, true min and max) and the result's
// percentiles are marked approximate.
import { decodeHistogram, latencyStats, mergeHistograms, type Histogram } from '../protocol/latency-histogram';
import type { LatencyStats, MetricsMessage } from '../protocol/wire-protocol';
import type { DriverReport } from './report-accumulator';
import type { AggregateStats, DriverStats, DriverTestState, LatencySummary, IterationStats, RequestStats } from './result-model';

/** The latency figures a report carries without a histogram: the spec's four and our percentiles. */
function wireStats(m: MetricsMessage): LatencyStats | null {
  return m.metrics ? { ...m.metrics, p90_latency: m.p90_latency, p95_latency: m.p95_latency, p99_latency: m.p99_latency } : null;
}

function fromWire(stats: LatencyStats, count: number | null): LatencySummary {
  return {
    mean: stats.mean_latency,
    median: stats.median_latency,
    min: stats.min_latency,
    max: stats.max_latency,
    p90: stats.p90_latency ?? null,
    p95: stats.p95_latency ?? null,
    p99: stats.p99_latency ?? null,
    approximate: false,
    count,
  };
}

export function summarizeHistogram(histogram: Histogram): LatencySummary {
  return { ...fromWire(latencyStats(histogram), histogram.totalCount), approximate: false };
}

/** One driver's figures from its latest report and the one before it (for the rate). */
export function driverStats(nodeId: string, state: DriverTestState, latest: DriverReport | undefined, previous: DriverReport | undefined, reports: number): DriverStats {
  if (!latest) {
    return {
      node_id: nodeId,
      state,
      requests_sent: null,
      responses: null,
      errors: null,
      error_rate: null,
      error_kinds: {},
      status_codes: {},
      rate: null,
      average_rate: null,
      elapsed_s: null,
      latency: null,
      uncorrected: null,
      reports,
      stopped: false,
      send_lag_ms: null,
      waited_for_connection: null,
      connection_limit: null,
      http_engine: null,
      first_send_at: null,
      send_window_ms: null,
      report_timestamp: null,
      warm_up: null,
    };
  }
  const m = latest.message;
  const errorKinds = m.errors ?? {};
  const errorCount = m.errors ? Object.values(errorKinds).reduce((a, b) => a + b, 0) : null;
  let rate: number | null = null;
  if (previous && m.responses !== undefined && previous.message.responses !== undefined && m.elapsed_ms !== undefined && previous.message.elapsed_ms !== undefined) {
    const dt = (m.elapsed_ms - previous.message.elapsed_ms) / 1000;
    if (dt > 0) rate = (m.responses - previous.message.responses) / dt;
  } else if (m.responses !== undefined && m.elapsed_ms !== undefined && m.elapsed_ms > 0) {
    rate = m.responses / (m.elapsed_ms / 1000);
  }
  const stats = wireStats(m);
  const latency = latest.histogram ? summarizeHistogram(latest.histogram) : stats ? { ...fromWire(stats, m.responses ?? null), approximate: latest.approximate } : null;
  const uncorrected = latest.uncorrectedHistogram ? summarizeHistogram(latest.uncorrectedHistogram) : m.uncorrected ? fromWire(m.uncorrected, m.responses ?? null) : null;
  return {
    node_id: nodeId,
    state,
    requests_sent: m.requests_sent ?? null,
    responses: m.responses ?? null,
    errors: errorCount,
    error_rate: errorCount !== null && m.requests_sent ? errorCount / m.requests_sent : null,
    error_kinds: errorKinds,
    status_codes: m.status_codes ?? {},
    rate,
    average_rate: m.elapsed_ms !== undefined ? perSecond(m.responses ?? null, m.elapsed_ms / 1000) : null,
    elapsed_s: m.elapsed_ms !== undefined ? m.elapsed_ms / 1000 : null,
    latency: latency && (latency.count ?? 1) > 0 ? latency : null,
    uncorrected: uncorrected && (uncorrected.count ?? 1) > 0 ? uncorrected : null,
    reports,
    stopped: m.stopped === true,
    send_lag_ms: m.send_lag_ms ?? null,
    waited_for_connection: m.waited_for_connection ?? null,
    connection_limit: m.connection_limit ?? null,
    http_engine: m.http_engine ?? null,
    first_send_at: m.first_send_at ?? null,
    send_window_ms: m.send_window_ms ?? null,
    report_timestamp: m.timestamp ?? null,
    warm_up: m.warm_up ?? null,
  };
}

/** The one rate rule: a count over seconds, null when either is unknown or no time has passed. */
export function perSecond(count: number | null, seconds: number | null): number | null {
  return count !== null && seconds !== null && seconds > 0 ? count / seconds : null;
}

/** How long a test has run its measured requests so far: its longest-running driver's elapsed time. */
export function runSeconds(drivers: DriverStats[]): number {
  return Math.max(0, ...drivers.map((d) => d.elapsed_s ?? 0));
}

interface LatencySource {
  histogram: Histogram | null;
  summary: LatencySummary | null;
}

/**
 * Combines drivers' latencies. With every driver's histogram the result is exact (within the
 * histogram's precision). Otherwise the mean is count-weighted, min and max are the true
 * extremes, and percentiles are count-weighted estimates marked approximate.
 */
export function combineLatency(sources: LatencySource[]): LatencySummary | null {
  const present = sources.filter((s) => s.summary !== null && (s.summary.count ?? 1) > 0);
  if (present.length === 0) return null;
  if (present.every((s) => s.histogram)) {
    const merged = mergeHistograms(present.map((s) => s.histogram!));
    return summarizeHistogram(merged);
  }
  // Drivers with no known count weigh as one report each; the result is marked approximate anyway.
  const weight = (s: LatencySource) => s.summary!.count ?? 1;
  const total = present.reduce((a, s) => a + weight(s), 0);
  const weighted = (pick: (l: LatencySummary) => number | null): number | null => {
    if (present.some((s) => pick(s.summary!) === null)) return null;
    return present.reduce((a, s) => a + pick(s.summary!)! * weight(s), 0) / total;
  };
  const round = (v: number | null) => (v === null ? null : Math.round(v * 1000) / 1000);
  return {
    mean: round(weighted((l) => l.mean))!,
    median: round(weighted((l) => l.median))!,
    min: Math.min(...present.map((s) => s.summary!.min)),
    max: Math.max(...present.map((s) => s.summary!.max)),
    p90: round(weighted((l) => l.p90)),
    p95: round(weighted((l) => l.p95)),
    p99: round(weighted((l) => l.p99)),
    approximate: true,
    count: present.every((s) => s.summary!.count !== null) ? present.reduce((a, s) => a + s.summary!.count!, 0) : null,
  };
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

/**
 * `merged`, when the caller has already merged every driver's corrected histogram (see
 * mergedHistogram), is used as is rather than merged again.
 */
export function aggregate(drivers: { stats: DriverStats; report: DriverReport | undefined }[], merged?: Histogram | null): AggregateStats {
  const reporting = drivers.filter((d) => d.report);
  const sum = (pick: (s: DriverStats) => number | null) => reporting.reduce((a, d) => a + (pick(d.stats) ?? 0), 0);
  const errorKinds: Record<string, number> = {};
  const statusCodes: Record<string, number> = {};
  for (const d of reporting) {
    addCounts(errorKinds, d.stats.error_kinds);
    addCounts(statusCodes, d.stats.status_codes);
  }
  const requests = sum((s) => s.requests_sent);
  const errors = sum((s) => s.errors);
  // A driver that sends no error counts is unknown, not error-free: the rate is made of the others.
  const errorsUnknown = reporting.filter((d) => d.stats.errors === null);
  const requestsUnknown = errorsUnknown.reduce((a, d) => a + (d.stats.requests_sent ?? 0), 0);
  const warmUps = reporting.flatMap((d) => (d.stats.warm_up ? [d.stats.warm_up] : []));
  const warmUpSum = (key: 'requests_sent' | 'responses' | 'errors') => warmUps.reduce((a, w) => a + w[key], 0);
  return {
    drivers: drivers.length,
    drivers_reporting: reporting.length,
    requests_sent: requests,
    responses: sum((s) => s.responses),
    errors,
    error_rate: requests - requestsUnknown > 0 ? errors / (requests - requestsUnknown) : 0,
    errors_unknown_from: errorsUnknown.map((d) => d.stats.node_id),
    requests_with_unknown_errors: requestsUnknown,
    histogram_missing_from: reporting.filter((d) => !d.report!.histogram && d.stats.latency).map((d) => d.stats.node_id),
    rate: sum((s) => (s.state === 'running' ? s.rate : 0)),
    latency: merged
      ? merged.totalCount > 0
        ? summarizeHistogram(merged)
        : null
      : combineLatency(reporting.map((d) => ({ histogram: d.report!.histogram, summary: d.stats.latency }))),
    uncorrected: combineLatency(reporting.map((d) => ({ histogram: d.report!.uncorrectedHistogram, summary: d.stats.uncorrected }))),
    error_kinds: errorKinds,
    status_codes: statusCodes,
    warm_up: warmUps.length
      ? { requests_sent: warmUpSum('requests_sent'), responses: warmUpSum('responses'), errors: warmUpSum('errors'), warming: warmUps.filter((w) => !w.done).length }
      : null,
  };
}

/** The last interval's own histogram: the merged cumulative histogram now, less the one before (a copy; null when empty). */
export function intervalHistogram(current: Histogram | null, previous: Histogram | null): Histogram | null {
  if (!current) return null;
  const interval = mergeHistograms([current]);
  if (previous) interval.subtract(previous);
  return interval.totalCount > 0 ? interval : null;
}

/** Latency of just the last interval. */
export function intervalLatency(current: Histogram | null, previous: Histogram | null): LatencySummary | null {
  const interval = intervalHistogram(current, previous);
  return interval ? summarizeHistogram(interval) : null;
}

export function mergedHistogram(reports: (DriverReport | undefined)[]): Histogram | null {
  const histograms = reports.filter((r): r is DriverReport => !!r).map((r) => r.histogram);
  if (histograms.length === 0 || histograms.some((h) => h === null)) return null;
  return mergeHistograms(histograms as Histogram[]);
}

const decodedRequests = new WeakMap<object, Map<string, Histogram | null>>();

/** A report's per-request histograms, decoded once per report however often the figures are made. */
function requestHistograms(report: DriverReport): Map<string, Histogram | null> {
  let decoded = decodedRequests.get(report.message);
  if (!decoded) {
    decoded = new Map();
    for (const [name, counts] of Object.entries(report.message.per_request ?? {})) {
      let histogram: Histogram | null = null;
      try {
        histogram = counts.histogram ? decodeHistogram(counts.histogram) : null;
      } catch {
        histogram = null; // a damaged histogram leaves this request's latency unknown, not the test
      }
      decoded.set(name, histogram);
    }
    decodedRequests.set(report.message, decoded);
  }
  return decoded;
}

/** A mix's figures by request name across drivers, in the mix's order. */
/**
 * The histograms a finished test keeps for later comparisons: the drivers' corrected and
 * uncorrected histograms merged, and each request name's (null where a driver sent none).
 */
export function finalHistograms(reports: (DriverReport | undefined)[], requestNames: readonly string[]): { latency: Histogram | null; uncorrected: Histogram | null; perRequest: Map<string, Histogram> } {
  const present = reports.filter((r): r is DriverReport => !!r);
  const uncorrected = present.map((r) => r.uncorrectedHistogram);
  const perRequest = new Map<string, Histogram>();
  for (const name of requestNames) {
    const histograms = present.map((r) => requestHistograms(r).get(name)).filter((h): h is Histogram => !!h);
    if (histograms.length) perRequest.set(name, mergeHistograms(histograms));
  }
  return {
    latency: mergedHistogram(present),
    uncorrected: present.length && uncorrected.every((h) => h) ? mergeHistograms(uncorrected as Histogram[]) : null,
    perRequest,
  };
}

/**
 * Figures by request name across drivers, in the mix's (or the scenario's) order. A mix's share is
 * its weight's; a scenario step, which has none, gets its share of the requests sent.
 */
export function requestBreakdown(mix: { name: string; weight?: number }[], reports: (DriverReport | undefined)[], seconds: number): RequestStats[] {
  const totalWeight = mix.reduce((a, r) => a + (r.weight ?? 0), 0);
  const present = reports.filter((r): r is DriverReport => !!r);
  const rows = mix.map(({ name, weight }) => {
    let requests_sent = 0;
    let responses = 0;
    let errors = 0;
    const byKind: Record<string, number> = {};
    const histograms: Histogram[] = [];
    for (const report of present) {
      const counts = report.message.per_request?.[name];
      if (!counts) continue;
      requests_sent += counts.requests_sent;
      responses += counts.responses;
      errors += counts.errors;
      for (const [kind, n] of Object.entries(counts.errors_by_kind ?? {})) byKind[kind] = (byKind[kind] ?? 0) + n;
      const h = requestHistograms(report).get(name);
      if (h) histograms.push(h);
    }
    const merged = histograms.length ? mergeHistograms(histograms) : null;
    return {
      name,
      share: weight ?? 0,
      requests_sent,
      responses,
      errors,
      ...(Object.keys(byKind).length ? { errors_by_kind: byKind } : {}),
      error_rate: requests_sent > 0 ? errors / requests_sent : 0,
      rate: perSecond(responses, seconds) ?? 0,
      latency: merged && merged.totalCount > 0 ? summarizeHistogram(merged) : null,
    };
  });
  const totalSent = rows.reduce((a, r) => a + r.requests_sent, 0);
  for (const row of rows) row.share = totalWeight > 0 ? row.share / totalWeight : totalSent > 0 ? row.requests_sent / totalSent : 0;
  return rows;
}

/** A scenario's iterations across drivers: counts summed, durations merged. */
export function iterationBreakdown(reports: (DriverReport | undefined)[], seconds: number): IterationStats | undefined {
  const parts = reports.map((r) => r?.message.iterations).filter((i): i is NonNullable<typeof i> => !!i);
  if (parts.length === 0) return undefined;
  const sum = (key: 'started' | 'completed' | 'failed' | 'abandoned') => parts.reduce((a, p) => a + p[key], 0);
  const histograms: Histogram[] = [];
  for (const p of parts) {
    if (!p.histogram) continue;
    try {
      histograms.push(decodeHistogram(p.histogram));
    } catch {
      // a damaged histogram leaves that driver's durations out, not the test
    }
  }
  const merged = histograms.length ? mergeHistograms(histograms) : null;
  const ended = sum('completed') + sum('failed');
  return {
    started: sum('started'),
    completed: sum('completed'),
    failed: sum('failed'),
    abandoned: sum('abandoned'),
    rate: perSecond(ended, seconds) ?? 0,
    duration: merged && merged.totalCount > 0 ? summarizeHistogram(merged) : null,
  };
}
