// What a comparison of two stored runs says: per figure, the baseline's value, the current one,
// the difference, the run-to-run noise on that difference, and whether it is better, worse or
// within the noise; per request name and per stage beside the whole test; and, when the file sets
// regression limits, a check per limit. The CLI, REST, the reports and the editor's compare view
// all show this one object (compare-runs.ts makes it).

/** A figure compared: latency percentiles in ms, the rate in responses per second, the error rate as a fraction. */
export type ComparedFigure = 'p50_latency_ms' | 'p90_latency_ms' | 'p99_latency_ms' | 'p99_9_latency_ms' | 'max_latency_ms' | 'mean_latency_ms' | 'throughput' | 'error_rate';

/**
 * better / worse: the difference is larger than the noise, in that direction (lower latency and
 * error rate, higher throughput are better); noise: within the run-to-run noise; unknown: a side
 * has no value, or the noise could not be estimated and the values differ.
 */
export type Judgement = 'better' | 'worse' | 'noise' | 'unknown';

export interface FigureDelta {
  figure: ComparedFigure;
  /** e.g. "p99 latency" */
  label: string;
  unit: 'ms' | 'req/s' | 'fraction';
  baseline: number | null;
  current: number | null;
  /** current − baseline */
  delta: number | null;
  /** delta ÷ baseline (null when the baseline is 0 or unknown) */
  relative: number | null;
  /**
   * Half the width of the 95% interval of the difference that run-to-run noise alone gives
   * (same unit as the figure), estimated from the two runs' per-second intervals; null when a run
   * has too few seconds to say.
   */
  noise: number | null;
  judgement: Judgement;
}

/** The figures of one part of the two runs: the whole test, one request name, or one stage. */
export interface ScopeComparison {
  scope: 'test' | 'request' | 'stage';
  /** "" for the whole test, else the request name or the phase ("stage 2") */
  name: string;
  figures: FigureDelta[];
}

/** One regression limit of the file, judged on the whole test. */
export interface RegressionCheck {
  figure: ComparedFigure;
  /** the limit as written in the file: "+10%", "+0.005", "-5%" */
  limit: string;
  /** the largest change the limit allows, in the figure's unit (negative for a floor, e.g. throughput) */
  allowed: number;
  delta: number | null;
  noise: number | null;
  /** false only when the change is beyond the limit and beyond the noise */
  passed: boolean;
  /** e.g. "p99 latency 14.1 ms against 12.3 ms in the baseline: +14.6%, beyond the +10% limit (noise ±2.1%)" */
  text: string;
}

/** A run as the comparison names it. */
export interface ComparedRun {
  test_id: string;
  name?: string;
  created_at: number;
  status: string;
  passed?: boolean;
  /** seconds of measured run (the per-second intervals the noise is estimated from) */
  seconds: number;
}

export interface Comparison {
  baseline: ComparedRun;
  current: ComparedRun;
  /** the whole test first, then each request name, then each stage both runs have */
  scopes: ScopeComparison[];
  /** present when the current run's file sets `regression` limits */
  regression?: { passed: boolean; checks: RegressionCheck[] };
  /** how the noise was estimated, one sentence (the README gives the method in full) */
  method: string;
}
