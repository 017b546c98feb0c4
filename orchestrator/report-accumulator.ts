// One driver's reports for one test, turned into its story so far. Ours are cumulative (each
// report is the whole story: the latest wins, an older one delivered late adds nothing). Other
// implementations may report each interval on its own; those reports are summed instead. A
// report says which it is (`report_kind`), or its figures tell: counts that fall, or a minimum
// that rises or maximum that falls, cannot come from a cumulative report. Until a driver's
// reports show that, they are taken as cumulative, and sums are kept from the first report so
// the switch is exact when it comes.
import { decodeHistogram, encodeHistogram, mergeHistograms, type Histogram } from '../protocol/latency-histogram';
import type { MetricsMessage, ReportKind, SpecLatency } from '../protocol/wire-protocol';

/** What the aggregator keeps of one driver: its story so far, with its histograms decoded once. */
export interface DriverReport {
  /** cumulative for the test so far, whatever the driver sent */
  message: MetricsMessage;
  histogram: Histogram | null;
  uncorrectedHistogram: Histogram | null;
  receivedAt: number;
  /** true when the driver's percentiles were combined from interval reports without histograms */
  approximate: boolean;
  kind: ReportKind;
}

function safeDecode(base64: string | undefined): Histogram | null {
  if (!base64) return null;
  try {
    return decodeHistogram(base64);
  } catch {
    return null; // a damaged histogram is treated like a missing one: the report's own figures still count
  }
}

/** Sums of interval reports. */
class IntervalSums {
  requests?: number;
  responses?: number;
  errors?: Record<string, number>;
  statusCodes?: Record<string, number>;
  histograms: (Histogram | null)[] = [];
  /** spec figures with the weight (count) of each report */
  figures: { stats: SpecLatency; weight: number; p90?: number; p95?: number; p99?: number }[] = [];

  add(message: MetricsMessage, histogram: Histogram | null): void {
    const plus = (a: number | undefined, b: number | undefined) => (b === undefined ? a : (a ?? 0) + b);
    this.requests = plus(this.requests, message.requests_sent);
    this.responses = plus(this.responses, message.responses);
    if (message.errors) this.errors = addCounts(this.errors ?? {}, message.errors);
    if (message.status_codes) this.statusCodes = addCounts(this.statusCodes ?? {}, message.status_codes);
    this.histograms.push(histogram);
    if (message.metrics) {
      const weight = histogram?.totalCount ?? message.responses ?? message.requests_sent ?? 1;
      this.figures.push({ stats: message.metrics, weight, p90: message.p90_latency, p95: message.p95_latency, p99: message.p99_latency });
    }
  }

  /** The latest message with the sums in place of its own figures. */
  total(latest: MetricsMessage, receivedAt: number): DriverReport {
    const exact = this.histograms.length > 0 && this.histograms.every((h) => h !== null);
    const histogram = exact ? mergeHistograms(this.histograms as Histogram[]) : null;
    const weight = this.figures.reduce((a, f) => a + f.weight, 0);
    const weighted = (pick: (f: (typeof this.figures)[number]) => number | undefined): number | undefined =>
      this.figures.every((f) => pick(f) !== undefined) && weight > 0 ? this.figures.reduce((a, f) => a + pick(f)! * f.weight, 0) / weight : undefined;
    const metrics: SpecLatency | null = this.figures.length
      ? {
          mean_latency: weighted((f) => f.stats.mean_latency)!,
          median_latency: weighted((f) => f.stats.median_latency)!,
          min_latency: Math.min(...this.figures.map((f) => f.stats.min_latency)),
          max_latency: Math.max(...this.figures.map((f) => f.stats.max_latency)),
        }
      : null;
    return {
      message: {
        ...latest,
        report_kind: 'interval',
        requests_sent: this.requests,
        responses: this.responses,
        errors: this.errors,
        status_codes: this.statusCodes,
        metrics,
        p90_latency: weighted((f) => f.p90),
        p95_latency: weighted((f) => f.p95),
        p99_latency: weighted((f) => f.p99),
        histogram: histogram ? encodeHistogram(histogram) : undefined,
        uncorrected: undefined,
      },
      histogram,
      uncorrectedHistogram: null,
      receivedAt,
      approximate: !exact && this.figures.length > 1,
      kind: 'interval',
    };
  }
}

function addCounts(into: Record<string, number>, from: Record<string, number>): Record<string, number> {
  const out = { ...into };
  for (const [k, v] of Object.entries(from)) out[k] = (out[k] ?? 0) + v;
  return out;
}

const fell = (a: number | undefined, b: number | undefined) => a !== undefined && b !== undefined && b < a;

/** True when the report says, by its own clock, that it was made before `previous`. */
function isOlder(previous: MetricsMessage, next: MetricsMessage): boolean {
  return fell(previous.elapsed_ms, next.elapsed_ms) || fell(previous.timestamp, next.timestamp);
}

/**
 * How many latencies a report describes, if it says. A request count is not one: a driver that
 * has sent all its requests still receives responses, so its figures change under the same count.
 */
function latencyCount(m: MetricsMessage, histogram: Histogram | null): number | undefined {
  return histogram?.totalCount ?? m.responses;
}

/**
 * True when `next`, made after `previous`, cannot be its cumulative successor: a count fell; the
 * same count with other figures; a lower sum of latencies; a minimum that rose or a maximum that fell.
 */
function looksLikeInterval(previous: MetricsMessage, next: MetricsMessage, previousHistogram: Histogram | null, nextHistogram: Histogram | null): boolean {
  if (isOlder(previous, next)) return false; // a late cumulative report, not evidence
  if (fell(previous.requests_sent, next.requests_sent) || fell(previous.responses, next.responses)) return true;
  const before = latencyCount(previous, previousHistogram);
  const after = latencyCount(next, nextHistogram);
  if (fell(before, after)) return true;
  const a = previous.metrics;
  const b = next.metrics;
  if (!a || !b) return false;
  if (b.min_latency > a.min_latency || b.max_latency < a.max_latency) return true;
  if (before !== undefined && after !== undefined && before > 0) {
    if (after === before && (a.mean_latency !== b.mean_latency || a.median_latency !== b.median_latency)) return true;
    // Sums of latencies never fall in a cumulative story (1% for rounding of the means).
    if (b.mean_latency * after < a.mean_latency * before * 0.99) return true;
  }
  return false;
}

export class ReportAccumulator {
  private kind: ReportKind | undefined;
  private latest: DriverReport | undefined;
  /** kept until the kind is known to be cumulative */
  private sums: IntervalSums | undefined = new IntervalSums();

  /** The driver's story after `message`, or undefined when the message adds nothing (an older cumulative report). */
  add(message: MetricsMessage, receivedAt: number): DriverReport | undefined {
    const histogram = safeDecode(message.histogram);
    if (message.report_kind) this.kind = message.report_kind;
    const previous = this.latest;
    if (this.kind === undefined && previous && looksLikeInterval(previous.message, message, previous.histogram, histogram)) this.kind = 'interval';
    if (this.kind === 'cumulative') this.sums = undefined;
    this.sums?.add(message, histogram);

    if (this.kind === 'interval') {
      this.latest = this.sums!.total(message, receivedAt);
      return this.latest;
    }
    // Cumulative: an older report (delivered late, e.g. after a broker outage) adds nothing.
    if (previous && isOlder(previous.message, message)) return undefined;
    this.latest = {
      message,
      histogram,
      uncorrectedHistogram: safeDecode(message.uncorrected?.histogram),
      receivedAt,
      approximate: false,
      kind: this.kind ?? 'cumulative',
    };
    return this.latest;
  }

  get story(): DriverReport | undefined {
    return this.latest;
  }
}
