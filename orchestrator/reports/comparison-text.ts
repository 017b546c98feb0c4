// How a comparison's figures read in the reports (Markdown summary, HTML report) and in the
// editor (CodeLens, compare view): a value in its unit, a change with its sign and relative size,
// the noise as ±, the judgement as a word. The values themselves are written by figure-text.ts,
// as the CLI writes them.
import type { FigureDelta, Judgement } from '../compare/comparison-model';
import { int, msText, percentText } from '../figure-text';

const sign = (n: number) => (n > 0 ? '+' : n < 0 ? '-' : '');

/** The size of a value of the figure's unit, without its sign. */
function magnitude(unit: FigureDelta['unit'], n: number): string {
  if (unit === 'ms') return `${msText(n)} ms`;
  if (unit === 'req/s') return `${int(n)} req/s`;
  return percentText(n);
}

/** A figure's value: "12.3 ms", "1,995 req/s", "0.25%"; "-" when a side has none. */
export function figureValueText(unit: FigureDelta['unit'], n: number | null): string {
  return n === null ? '-' : magnitude(unit, n);
}

/**
 * current − baseline with its sign, and relative to the baseline in brackets: "+1.80 ms (+14.6%)".
 * An error rate's change is in percentage points ("+0.12 pp"): a relative change of a rate near
 * zero says little.
 */
export function changeText(d: FigureDelta): string {
  if (d.delta === null) return '-';
  if (d.unit === 'fraction') return `${sign(d.delta)}${percentText(Math.abs(d.delta)).replace('%', ' pp')}`;
  const relative = relativeText(d);
  return `${sign(d.delta)}${magnitude(d.unit, Math.abs(d.delta))}${relative ? ` (${relative})` : ''}`;
}

/** The change relative to the baseline with its sign, "+14.6%" (the editor's CodeLens shows only this); "" when the baseline is 0 or unknown. */
export function relativeText(d: Pick<FigureDelta, 'relative'>): string {
  return d.relative === null ? '' : `${sign(d.relative)}${percentText(Math.abs(d.relative))}`;
}

/** The run-to-run noise on the change: "±2.10 ms"; "-" when a run had too few seconds to say. */
export function noiseText(d: FigureDelta): string {
  if (d.noise === null) return '-';
  return d.unit === 'fraction' ? `±${percentText(d.noise).replace('%', ' pp')}` : `±${magnitude(d.unit, d.noise)}`;
}

export const JUDGEMENT_TEXT: Record<Judgement, string> = { better: 'better', worse: 'worse', noise: 'within noise', unknown: 'unknown' };
