// Regression limits of a test file, relative to its baseline: "regression": {"p99_latency_ms":
// "+10%", "error_rate": "+0.005", "throughput": "-5%"}. A limit is a signed change in the worse
// direction of its figure (up for latency and errors, down for throughput), either a percentage of
// the baseline's value or an amount in the figure's own unit (ms, a fraction, req/s). A run breaks a
// limit only when its change is beyond the limit AND beyond the run-to-run noise: noise is never
// called a regression.
import type { ComparedFigure, FigureDelta, RegressionCheck } from './comparison-model';

export type RegressionLimits = Partial<Record<ComparedFigure, string>>;

export const COMPARED_FIGURES: readonly ComparedFigure[] = ['p50_latency_ms', 'p90_latency_ms', 'p99_latency_ms', 'p99_9_latency_ms', 'max_latency_ms', 'mean_latency_ms', 'throughput', 'error_rate'];

/** Higher is better only for throughput. */
export function worseDirection(figure: ComparedFigure): 1 | -1 {
  return figure === 'throughput' ? -1 : 1;
}

// The form the schema allows (schemas/loadtest.schema.json, "regression"): a sign, an amount, maybe %.
const LIMIT = /^([+-])(\d+(?:\.\d+)?)(%?)$/;

export function unitOf(figure: ComparedFigure): 'ms' | 'req/s' | 'fraction' {
  return figure === 'throughput' ? 'req/s' : figure === 'error_rate' ? 'fraction' : 'ms';
}

/** The largest change a limit allows, in the figure's unit and signed in its worse direction; null when a % limit meets no baseline value. */
export function allowedChange(figure: ComparedFigure, limit: string, baseline: number | null): number | null {
  const match = LIMIT.exec(limit.trim());
  if (!match) return null;
  const amount = Number(match[2]) * worseDirection(figure);
  if (!match[3]) return amount;
  return baseline === null ? null : (amount / 100) * Math.abs(baseline);
}

/** Three significant digits (whole numbers from 1,000 up): enough to read a change by. */
const figureText = (n: number) => (Math.abs(n) >= 1000 ? Math.round(n).toLocaleString('en-US') : String(Number(n.toPrecision(3))));
const shown = (figure: ComparedFigure, value: number) =>
  figure === 'error_rate' ? `${(value * 100).toFixed(value !== 0 && Math.abs(value) < 0.001 ? 4 : 2)}%` : figure === 'throughput' ? `${figureText(value)} req/s` : `${figureText(value)} ms`;
const signed = (figure: ComparedFigure, value: number) => `${value >= 0 ? '+' : '−'}${shown(figure, Math.abs(value))}`;

/** One limit judged against its figure's delta (the whole test's). */
export function judgeLimit(figure: ComparedFigure, limit: string, d: FigureDelta | undefined): RegressionCheck {
  const allowed = allowedChange(figure, limit, d?.baseline ?? null);
  const base = { figure, limit, allowed: allowed ?? 0, delta: d?.delta ?? null, noise: d?.noise ?? null };
  if (!d || d.delta === null || d.baseline === null || d.current === null || allowed === null) {
    return { ...base, passed: false, text: `${d?.label ?? figure}: not measured in both runs, so the ${limit} limit cannot be judged` };
  }
  const worse = d.delta * worseDirection(figure);
  const beyondLimit = worse > Math.abs(allowed);
  const beyondNoise = d.noise === null || Math.abs(d.delta) > d.noise;
  const relative = d.relative === null ? '' : ` (${d.relative >= 0 ? '+' : '−'}${Math.abs(d.relative * 100).toFixed(1)}%)`;
  const noise = d.noise === null ? 'noise not estimated: a run has too few seconds' : `noise ±${shown(figure, d.noise)}`;
  const change = `${d.label} ${shown(figure, d.current)} against ${shown(figure, d.baseline)} in the baseline: ${signed(figure, d.delta)}${relative}`;
  if (beyondLimit && beyondNoise) return { ...base, passed: false, text: `${change}, beyond the ${limit} limit (${noise})` };
  if (beyondLimit) return { ...base, passed: true, text: `${change}, beyond the ${limit} limit but within the run-to-run noise (${noise}): not a regression` };
  return { ...base, passed: true, text: `${change}, within the ${limit} limit (${noise})` };
}
