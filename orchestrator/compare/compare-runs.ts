// Compares two stored runs: the full latency distribution (p50, p90, p99, p99.9, max, mean), the
// rate and the error rate of the whole test, of each request name and of each stage both have; each
// difference beside the run-to-run noise (run-noise.ts) and judged better, worse or noise; and the
// current file's regression limits judged on the whole test (regression-limits.ts).
import { decodeHistogram, latencyStats } from '../../protocol/latency-histogram';
import type { MetricsStore, StoredTest } from '../metrics-store';
import { OrchestratorError } from '../orchestrator-error';
import type { LatencySummary, RunHistograms, SecondInterval, TestResult } from '../result-model';
import type { ComparedFigure, ComparedRun, Comparison, FigureDelta, Judgement, ScopeComparison } from './comparison-model';
import { figureSpread, MIN_SECONDS_FOR_NOISE, type FigureSpread } from './run-noise';
import { COMPARED_FIGURES, judgeLimit, unitOf, worseDirection, type RegressionLimits } from './regression-limits';

/** Everything the history keeps of a finished run that a comparison reads. */
export interface StoredRun {
  test: StoredTest;
  result: TestResult;
  histograms?: RunHistograms;
  intervals: SecondInterval[];
}

export function loadRun(store: MetricsStore, testId: string): StoredRun {
  const test = store.loadTest(testId);
  if (!test) throw new OrchestratorError(`no stored test ${testId}`, 'not_found');
  const result = store.loadResult(testId);
  if (!result) throw new OrchestratorError(`test ${testId} has no result (still running, or interrupted): only finished runs can be compared`, 'conflict');
  return { test, result, histograms: store.loadHistograms(testId), intervals: store.loadIntervals(testId) };
}

const LABELS: Record<ComparedFigure, string> = {
  p50_latency_ms: 'p50 latency',
  p90_latency_ms: 'p90 latency',
  p99_latency_ms: 'p99 latency',
  p99_9_latency_ms: 'p99.9 latency',
  max_latency_ms: 'max latency',
  mean_latency_ms: 'mean latency',
  throughput: 'throughput',
  error_rate: 'error rate',
};

/**
 * The noise band is ±3 standard deviations of the difference: one figure of two runs of the same
 * system falls outside it about 3 times in 1,000, so a comparison of eight figures rarely calls
 * noise a change (a 95% band would call one in a few comparisons).
 */
const NOISE_SIGMAS = 3;

/**
 * The least noise a figure is given, relative to the baseline's value: a run shifts as a whole
 * between runs (other work on the machine, a warmer JIT, another core) by more than its own
 * seconds show. Measured here: 8 runs of one file (200/s for 6 s against a 5 ms target, the machine
 * busy with other work) moved p50 by up to 8% and the mean by up to 12% between runs (README,
 * "Comparing runs").
 */
const NOISE_FLOOR: Record<ComparedFigure, number> = {
  p50_latency_ms: 0.1,
  p90_latency_ms: 0.1,
  p99_latency_ms: 0.1,
  p99_9_latency_ms: 0.1,
  max_latency_ms: 0.1,
  mean_latency_ms: 0.1,
  throughput: 0.01,
  error_rate: 0,
};

type Figures = Record<ComparedFigure, number | null>;

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/** Latency figures from a merged histogram (exact), else from the stored summary (no p99.9 there). */
function latencyFigures(histogram: string | undefined, summary: Pick<LatencySummary, 'mean' | 'max' | 'p90' | 'p99'> & { median?: number; p50?: number } | null | undefined): Omit<Figures, 'throughput' | 'error_rate'> {
  if (histogram) {
    try {
      const h = decodeHistogram(histogram);
      if (h.totalCount > 0) {
        const s = latencyStats(h);
        return { p50_latency_ms: s.median_latency, p90_latency_ms: s.p90_latency ?? null, p99_latency_ms: s.p99_latency ?? null, p99_9_latency_ms: round3(h.getValueAtPercentile(99.9) / 1000), max_latency_ms: s.max_latency, mean_latency_ms: s.mean_latency };
      }
    } catch {
      // a damaged histogram: the stored summary says what it can
    }
  }
  if (!summary) return { p50_latency_ms: null, p90_latency_ms: null, p99_latency_ms: null, p99_9_latency_ms: null, max_latency_ms: null, mean_latency_ms: null };
  return { p50_latency_ms: summary.median ?? summary.p50 ?? null, p90_latency_ms: summary.p90, p99_latency_ms: summary.p99, p99_9_latency_ms: null, max_latency_ms: summary.max, mean_latency_ms: summary.mean };
}

/** One part of a run: its figures, how many responses they rest on, and the seconds its noise comes from. */
interface Part {
  figures: Figures;
  responses: number;
  seconds: SecondInterval[];
}

function parts(run: StoredRun): Map<string, Part> {
  const { result, histograms, intervals } = run;
  const out = new Map<string, Part>();
  out.set('test:', {
    figures: { ...latencyFigures(histograms?.latency, result.aggregate.latency), throughput: result.throughput, error_rate: result.aggregate.error_rate },
    responses: result.aggregate.responses,
    seconds: intervals,
  });
  for (const r of result.per_request ?? []) {
    out.set(`request:${r.name}`, { figures: { ...latencyFigures(histograms?.per_request?.[r.name], r.latency), throughput: r.rate, error_rate: r.error_rate }, responses: r.responses, seconds: [] });
  }
  for (const s of result.stages ?? []) {
    out.set(`stage:${s.phase}`, {
      figures: { ...latencyFigures(histograms?.per_stage?.[s.phase], s.latency), throughput: s.achieved_rate, error_rate: s.requests_sent > 0 ? s.error_rate : null },
      responses: s.responses,
      seconds: intervals.filter((i) => i.phase === s.phase),
    });
  }
  return out;
}

/**
 * The spread of a part's figures: from its own seconds when it has enough (the test, a stage);
 * a request name has no seconds of its own, so its spread is the test's, scaled as sampling noise
 * scales, by √(the test's responses ÷ the request's).
 */
function spreadOf(part: Part, whole: { part: Part; spread: FigureSpread }, seed: string): FigureSpread {
  if (part === whole.part) return whole.spread;
  if (part.seconds.length >= MIN_SECONDS_FOR_NOISE) return figureSpread(part.seconds, seed);
  const out = { ...whole.spread };
  const scale = part.responses > 0 && whole.part.responses > 0 ? Math.sqrt(whole.part.responses / part.responses) : null;
  for (const figure of COMPARED_FIGURES) {
    const w = whole.spread[figure];
    const base = whole.part.figures[figure];
    const mine = part.figures[figure];
    // The test's spread relative to its value, carried to this part's value.
    out[figure] = w === null || scale === null || base === null || mine === null || base === 0 ? null : (w / Math.abs(base)) * Math.abs(mine) * scale;
  }
  return out;
}

function judgement(figure: ComparedFigure, delta: number | null, noise: number | null): Judgement {
  if (delta === null) return 'unknown';
  if (noise === null) return delta === 0 ? 'noise' : 'unknown';
  if (Math.abs(delta) <= noise) return 'noise';
  return delta * worseDirection(figure) > 0 ? 'worse' : 'better';
}

function figureDeltas(base: Figures, current: Figures, baseSpread: FigureSpread, currentSpread: FigureSpread): FigureDelta[] {
  return COMPARED_FIGURES.map((figure) => {
    const b = base[figure];
    const c = current[figure];
    const delta = b === null || c === null ? null : c - b;
    const sb = baseSpread[figure];
    const sc = currentSpread[figure];
    const noise = sb === null || sc === null ? null : Math.max(NOISE_SIGMAS * Math.sqrt(sb * sb + sc * sc), NOISE_FLOOR[figure] * Math.abs(b ?? 0));
    return {
      figure,
      label: LABELS[figure],
      unit: unitOf(figure),
      baseline: b,
      current: c,
      delta: delta === null ? null : figure === 'error_rate' ? delta : round3(delta),
      relative: delta === null || !b ? null : delta / Math.abs(b),
      noise: noise === null ? null : figure === 'error_rate' ? noise : round3(noise),
      judgement: judgement(figure, delta, noise),
    };
  });
}

function described(run: StoredRun): ComparedRun {
  return {
    test_id: run.result.test_id,
    ...(run.result.name ? { name: run.result.name } : {}),
    created_at: run.result.created_at,
    status: run.result.status,
    passed: run.result.verdict?.passed,
    seconds: run.intervals.filter((s) => s.requests_sent > 0 || s.responses > 0).length,
  };
}

export const NOISE_METHOD =
  'noise: ±3 standard deviations of the difference, each run’s from a moving-block bootstrap over its own seconds (300 resamples; the maximum from the spacing of its largest per-second maxima), and at least 10% of the baseline’s latency and 1% of its throughput; a difference within it is noise';

/** The comparison of `current` against `baseline`; `limits` (the current file's `regression`) are judged on the whole test. */
export function compareRuns(baseline: StoredRun, current: StoredRun, limits?: RegressionLimits): Comparison {
  const baseParts = parts(baseline);
  const currentParts = parts(current);
  const baseWhole = { part: baseParts.get('test:')!, spread: figureSpread(baseline.intervals, baseline.result.test_id) };
  const currentWhole = { part: currentParts.get('test:')!, spread: figureSpread(current.intervals, current.result.test_id) };
  const scopes: ScopeComparison[] = [];
  for (const [key, part] of currentParts) {
    const other = baseParts.get(key);
    if (!other) continue;
    const [scope, ...rest] = key.split(':');
    const name = rest.join(':');
    const figures = figureDeltas(other.figures, part.figures, spreadOf(other, baseWhole, `${baseline.result.test_id}:${key}`), spreadOf(part, currentWhole, `${current.result.test_id}:${key}`));
    scopes.push({ scope: scope as ScopeComparison['scope'], name, figures });
  }
  const comparison: Comparison = { baseline: described(baseline), current: described(current), scopes, method: NOISE_METHOD };
  const entries = Object.entries(limits ?? {}) as [ComparedFigure, string][];
  if (entries.length) {
    const whole = scopes[0].figures;
    const checks = entries.map(([figure, limit]) => judgeLimit(figure, limit, whole.find((f) => f.figure === figure)));
    comparison.regression = { passed: checks.every((c) => c.passed), checks };
  }
  return comparison;
}
