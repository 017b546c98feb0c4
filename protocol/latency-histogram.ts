// Latency histograms as they travel in metrics messages: HdrHistogram with values in integer
// microseconds, 3 significant digits, sent in its compressed base64 form so that the
// orchestrator can merge drivers' histograms and compute true global percentiles.
import * as hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';
import type { LatencyStats } from './wire-protocol';

export type { Histogram };

/** One hour in microseconds; autoResize lifts it if ever exceeded. */
const HIGHEST_TRACKABLE_US = 3_600_000_000;

export function createLatencyHistogram(): Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: HIGHEST_TRACKABLE_US,
    numberOfSignificantValueDigits: 3,
    bitBucketSize: 32,
    autoResize: true,
    useWebAssembly: false,
  });
}

export function encodeHistogram(histogram: Histogram): string {
  return hdr.encodeIntoCompressedBase64(histogram);
}

/** Throws on anything that is not a compressed HdrHistogram. */
export function decodeHistogram(base64: string): Histogram {
  return hdr.decodeFromCompressedBase64(base64, 32, false);
}

export function mergeHistograms(histograms: Histogram[]): Histogram {
  const merged = createLatencyHistogram();
  for (const h of histograms) merged.add(h);
  return merged;
}

const US_PER_MS = 1000;

/** A histogram's value (µs) as every figure gives it in milliseconds. */
export function ms(us: number): number {
  // three decimals of a millisecond is the histogram's own resolution at 1 µs
  return Math.round(us) / US_PER_MS;
}

/** The counts-array view of hdr-histogram-js's JS histograms, which its typings leave out. */
interface CountsView {
  countsArrayLength: number;
  getCountAtIndex(index: number): number;
  valueFromIndex(index: number): number;
  medianEquivalentValue(value: number): number;
}

/**
 * The mean in one pass over the counts, as the library defines it (each count at its bucket's
 * median value). The library's own getter walks an iterator object per recorded value and costs
 * milliseconds on every report, time an open schedule's requests would go out late.
 */
function meanOf(histogram: Histogram): number {
  const view = histogram as unknown as CountsView;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < view.countsArrayLength; i++) {
    const n = view.getCountAtIndex(i);
    if (n > 0) {
      sum += n * view.medianEquivalentValue(view.valueFromIndex(i));
      count += n;
    }
  }
  return count > 0 ? sum / count : 0;
}

/** The spec's latency fields (milliseconds) plus p90/p95/p99, from a histogram in microseconds. */
export function latencyStats(histogram: Histogram): LatencyStats {
  if (histogram.totalCount === 0) {
    return { mean_latency: 0, median_latency: 0, min_latency: 0, max_latency: 0, p90_latency: 0, p95_latency: 0, p99_latency: 0 };
  }
  return {
    mean_latency: ms(meanOf(histogram)),
    median_latency: ms(histogram.getValueAtPercentile(50)),
    min_latency: ms(histogram.minNonZeroValue),
    max_latency: ms(histogram.maxValue),
    p90_latency: ms(histogram.getValueAtPercentile(90)),
    p95_latency: ms(histogram.getValueAtPercentile(95)),
    p99_latency: ms(histogram.getValueAtPercentile(99)),
  };
}
