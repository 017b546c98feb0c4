// How much a run's figures would move from run-to-run noise alone, estimated from the run itself:
// a moving-block bootstrap over its seconds (intervals.ndjson). Each resample draws blocks of
// consecutive seconds with replacement until it has as many seconds as the run, pools their
// histograms and counts, and computes every figure; the spread of a figure over the resamples is
// its noise. Blocks (about the cube root of the run's length) keep the seconds' correlation (a slow
// minute stays a slow minute). The generator is seeded by the run's id, so the same two runs always
// get the same verdict.
import { decodeHistogram, type Histogram } from '../../protocol/latency-histogram';
import type { SecondInterval } from '../result-model';
import type { ComparedFigure } from './comparison-model';

/** Fewer seconds than this say too little about a run's spread: its noise is unknown. */
export const MIN_SECONDS_FOR_NOISE = 5;
const RESAMPLES = 300;
/** A percentile needs this many latencies beyond it for its noise to be told (p99.9: 10,000 in the run). */
const MIN_SAMPLES_BEYOND = 10;

/** The counts-array view of hdr-histogram-js's JS histograms, which its typings leave out. */
interface CountsView {
  countsArrayLength: number;
  getCountAtIndex(index: number): number;
  valueFromIndex(index: number): number;
  highestEquivalentValue(value: number): number;
  medianEquivalentValue(value: number): number;
}

/** One second reduced for resampling: its counts, and its latency buckets as indexes into the run's values. */
interface Second {
  requests: number;
  responses: number;
  errors: number;
  buckets: Int32Array;
  counts: Float64Array;
}

/** A small seeded generator (mulberry32): reproducible resamples. */
function generator(seed: string): () => number {
  let a = 0;
  for (let i = 0; i < seed.length; i++) a = (Math.imul(a, 31) + seed.charCodeAt(i)) | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The standard deviation of each figure over the resamples (same unit as the figure); null where it cannot be told. */
export type FigureSpread = Record<ComparedFigure, number | null>;

const NONE: FigureSpread = { p50_latency_ms: null, p90_latency_ms: null, p99_latency_ms: null, p99_9_latency_ms: null, max_latency_ms: null, mean_latency_ms: null, throughput: null, error_rate: null };

/** The spread of each figure of a run from its seconds (all of them, or one phase's). */
export function figureSpread(intervals: readonly SecondInterval[], seed: string): FigureSpread {
  const seconds = intervals.filter((s) => s.requests_sent > 0 || s.responses > 0);
  if (seconds.length < MIN_SECONDS_FOR_NOISE) return { ...NONE };
  // Every bucket value any second uses, once: a resample adds counts into one dense array of them.
  const valueIndex = new Map<number, number>();
  const highs: number[] = [];
  const medians: number[] = [];
  let latencyKnown = true;
  const reduced: Second[] = seconds.map((s) => {
    const buckets: number[] = [];
    const counts: number[] = [];
    let histogram: Histogram | undefined;
    try {
      histogram = s.histogram ? decodeHistogram(s.histogram) : undefined;
    } catch {
      histogram = undefined;
    }
    if (!histogram && s.responses > 0) latencyKnown = false;
    if (histogram) {
      const view = histogram as unknown as CountsView;
      for (let i = 0; i < view.countsArrayLength; i++) {
        const n = view.getCountAtIndex(i);
        if (n <= 0) continue;
        const value = view.valueFromIndex(i);
        let index = valueIndex.get(value);
        if (index === undefined) {
          index = highs.length;
          valueIndex.set(value, index);
          highs.push(view.highestEquivalentValue(value));
          medians.push(view.medianEquivalentValue(value));
        }
        buckets.push(index);
        counts.push(n);
      }
    }
    return { requests: s.requests_sent, responses: s.responses, errors: s.errors, buckets: Int32Array.from(buckets), counts: Float64Array.from(counts) };
  });
  // The values in order, so that a percentile is a walk up the dense counts.
  const order = highs.map((_, i) => i).sort((a, b) => highs[a] - highs[b]);
  const rank = new Int32Array(highs.length);
  order.forEach((index, position) => (rank[index] = position));
  const sortedHigh = order.map((i) => highs[i]);
  const sortedMedian = order.map((i) => medians[i]);

  const n = reduced.length;
  const block = Math.max(1, Math.round(Math.cbrt(n)));
  const random = generator(seed);
  const dense = new Float64Array(sortedHigh.length);
  const samples: Record<ComparedFigure, number[]> = { p50_latency_ms: [], p90_latency_ms: [], p99_latency_ms: [], p99_9_latency_ms: [], max_latency_ms: [], mean_latency_ms: [], throughput: [], error_rate: [] };
  for (let r = 0; r < RESAMPLES; r++) {
    dense.fill(0);
    let requests = 0;
    let responses = 0;
    let errors = 0;
    let taken = 0;
    while (taken < n) {
      const start = Math.floor(random() * (n - block + 1));
      for (let k = 0; k < block && taken < n; k++, taken++) {
        const s = reduced[start + k];
        requests += s.requests;
        responses += s.responses;
        errors += s.errors;
        for (let j = 0; j < s.buckets.length; j++) dense[rank[s.buckets[j]]] += s.counts[j];
      }
    }
    samples.throughput.push(responses / n);
    if (requests > 0) samples.error_rate.push(errors / requests);
    if (latencyKnown) pushLatency(samples, dense, sortedHigh, sortedMedian);
  }
  const out: FigureSpread = { ...NONE };
  for (const figure of Object.keys(samples) as ComparedFigure[]) out[figure] = samples[figure].length >= RESAMPLES / 2 ? standardDeviation(samples[figure]) : null;
  if (latencyKnown) {
    // The whole run's counts, for the order statistics of its percentiles.
    dense.fill(0);
    for (const second of reduced) for (let j = 0; j < second.buckets.length; j++) dense[rank[second.buckets[j]]] += second.counts[j];
    const total = dense.reduce((a, n) => a + n, 0);
    for (const [figure, q] of PERCENTILES) {
      // With fewer latencies beyond it than this, a percentile is its run's few largest values: too rough to compare.
      if (total * (1 - q) < MIN_SAMPLES_BEYOND) {
        out[figure] = null;
        continue;
      }
      const floor = quantileSpread(dense, sortedHigh, q);
      if (floor !== null && out[figure] !== null) out[figure] = Math.max(out[figure]!, floor);
    }
  }
  if (latencyKnown) out.max_latency_ms = maxSpread(reduced.map((s) => (s.buckets.length ? Math.max(...Array.from(s.buckets, (b) => highs[b])) : 0)));
  return out;
}

const PERCENTILES: [ComparedFigure, number][] = [
  ['p50_latency_ms', 0.5],
  ['p90_latency_ms', 0.9],
  ['p99_latency_ms', 0.99],
  ['p99_9_latency_ms', 0.999],
];

/**
 * The spread of a percentile from the order statistics of the run's N latencies: the rank of the
 * q-quantile among N independent samples spreads by √(N·q·(1−q)), so half the distance between
 * the values at the ranks one such spread either side is the percentile's standard deviation. Where
 * few samples lie beyond the percentile (p99.9 of a short run), this is wider than a bootstrap
 * says, and truer: a resample cannot see beyond the run's own few largest values.
 */
function quantileSpread(dense: Float64Array, high: number[], q: number): number | null {
  let total = 0;
  for (let i = 0; i < dense.length; i++) total += dense[i];
  if (total < 2) return null;
  const spread = Math.sqrt(total * q * (1 - q));
  const low = Math.max(1, Math.ceil(total * q - spread));
  const upper = Math.min(total, Math.ceil(total * q + spread));
  let seen = 0;
  let lowValue: number | undefined;
  let highValue: number | undefined;
  for (let i = 0; i < dense.length && highValue === undefined; i++) {
    if (dense[i] === 0) continue;
    seen += dense[i];
    if (lowValue === undefined && seen >= low) lowValue = high[i];
    if (seen >= upper) highValue = high[i];
  }
  return lowValue === undefined || highValue === undefined ? null : (highValue - lowValue) / 2 / 1000;
}

/**
 * A resample never holds a larger value than the run did, so the bootstrap cannot tell how far the
 * maximum moves between runs. The seconds' own maxima can: the largest few of them are spaced like
 * the top of an exponential tail (the Gumbel domain, where latency tails are), i × (M(i) − M(i+1))
 * each estimating the tail's scale β, and the maximum of such a tail spreads by β·π/√6.
 */
function maxSpread(secondMaxima: number[]): number | null {
  const top = secondMaxima.filter((m) => m > 0).sort((a, b) => b - a);
  const k = Math.min(5, top.length - 1);
  if (k < 2) return null;
  let scale = 0;
  for (let i = 1; i <= k; i++) scale += i * (top[i - 1] - top[i]);
  return ((scale / k) * Math.PI) / Math.sqrt(6) / 1000;
}

/** A resample's latency figures (ms), walked once up its counts. */
function pushLatency(samples: Record<ComparedFigure, number[]>, dense: Float64Array, high: number[], median: number[]): void {
  let total = 0;
  let sum = 0;
  for (let i = 0; i < dense.length; i++) {
    total += dense[i];
    sum += dense[i] * median[i];
  }
  if (total === 0) return;
  const wanted = PERCENTILES;
  let seen = 0;
  let next = 0;
  let max = 0;
  for (let i = 0; i < dense.length; i++) {
    if (dense[i] === 0) continue;
    seen += dense[i];
    max = high[i];
    while (next < wanted.length && seen >= Math.ceil(wanted[next][1] * total)) samples[wanted[next++][0]].push(high[i] / 1000);
  }
  samples.max_latency_ms.push(max / 1000);
  samples.mean_latency_ms.push(sum / total / 1000);
}

function standardDeviation(values: number[]): number {
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / Math.max(1, values.length - 1);
  return Math.sqrt(variance);
}
