// How a comparison looks in a terminal: the two runs named, a table per part (the whole test, each
// request name, each stage) with baseline, current, change, noise and judgement per figure, then
// the regression limits' lines and the verdict.
import type { Comparison, ScopeComparison } from '../compare/comparison-model';
import { changeText, figureValueText, JUDGEMENT_TEXT, noiseText } from '../reports/comparison-text';
import { table } from './test-report-format';

const when = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';

function scopeTitle(s: ScopeComparison): string {
  if (s.scope === 'test') return 'Whole test:';
  return s.scope === 'request' ? `Request "${s.name}":` : `${s.name[0].toUpperCase()}${s.name.slice(1)}:`;
}

export function formatComparison(c: Comparison): string {
  const name = (r: Comparison['baseline']) => `${r.test_id}${r.name ? ` (${r.name})` : ''}, ${when(r.created_at)}, ${r.status}, ${r.seconds} s`;
  const lines = [`Baseline: ${name(c.baseline)}`, `Current:  ${name(c.current)}`, ''];
  for (const scope of c.scopes) {
    const rows = [['figure', 'baseline', 'current', 'change', 'noise', 'judgement']];
    for (const d of scope.figures) rows.push([d.label, figureValueText(d.unit, d.baseline), figureValueText(d.unit, d.current), changeText(d), noiseText(d), JUDGEMENT_TEXT[d.judgement]]);
    lines.push(scopeTitle(scope), '', table(rows, 1), '');
  }
  lines.push(`(${c.method})`);
  if (c.regression) {
    lines.push('', 'Regression limits:');
    for (const check of c.regression.checks) lines.push(`  ${check.passed ? 'ok  ' : 'FAIL'}  ${check.text}`);
    lines.push('', c.regression.passed ? 'REGRESSION CHECK PASSED' : `REGRESSION CHECK FAILED: ${c.regression.checks.filter((x) => !x.passed).map((x) => x.text).join('; ')}`);
  }
  return lines.join('\n') + '\n';
}
