// A run's latency distribution as HdrHistogram's percentile plots draw it: percentile q at
// x = 1/(1−q) on a log axis, so that 90%, 99%, 99.9% and 99.99% are equally far apart and the
// tail, where two runs usually differ, gets as much room as the body. Read from a merged histogram
// of the history (histograms.json), so the curve's p99 is the comparison's p99.
import { decodeHistogram, ms } from '../../protocol/latency-histogram';

export interface PercentilePoint {
  /** 1 / (1 − q): 1 at the minimum, 10 at p90, 100 at p99, 1,000 at p99.9 */
  x: number;
  /** q as a percentage, 0 to 100 */
  percentile: number;
  /** the latency at it, ms */
  ms: number;
}

/** Points per factor of ten on the x axis: smooth enough for a plot, a few hundred points at most. */
const POINTS_PER_DECADE = 20;

/**
 * The curve of a compressed histogram (microseconds), from the minimum to the maximum. It ends at
 * x = the number of latencies: beyond it a percentile's rank is past the last latency, and every
 * percentile there is the maximum, drawn as the last point.
 */
export function percentileCurve(histogram: string): PercentilePoint[] {
  const h = decodeHistogram(histogram);
  const count = h.totalCount;
  if (count === 0) return [];
  const points: PercentilePoint[] = [];
  const steps = Math.ceil(Math.log10(count) * POINTS_PER_DECADE);
  for (let i = 0; i <= steps; i++) {
    const x = Math.min(count, 10 ** (i / POINTS_PER_DECADE));
    // 100 − 100/x rather than 100·(1 − 1/x): p99 lands on exactly 99, as the comparison asks for it.
    const percentile = x === count ? 100 : 100 - 100 / x;
    points.push({ x, percentile, ms: ms(h.getValueAtPercentile(percentile)) });
  }
  return points;
}
