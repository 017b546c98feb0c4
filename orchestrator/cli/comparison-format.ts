// How a comparison looks in a terminal: the two runs named, a table per part (the whole test, each
// request name, each stage) with baseline, current, change, noise and judgement per figure, then
// the regression limits' lines and the verdict.
import type { Comparison, FigureDelta, ScopeComparison } from '../compare/comparison-model';
import { msText, table } from './test-report-format';

const when = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';

function value(d: FigureDelta, n: number | null): string {
  if (n === null) return '-';
  if (d.unit === 'fraction') return `${(n * 100).toFixed(Math.abs(n) < 0.001 && n !== 0 ? 4 : 2)}%`;
  if (d.unit === 'req/s') return n.toLocaleString('en-US', { maximumFractionDigits: 1 });
  return msText(n);
}

function change(d: FigureDelta): string {
  if (d.delta === null) return '-';
  const sign = d.delta > 0 ? '+' : d.delta < 0 ? '−' : '±';
  const relative = d.relative === null ? '' : ` (${sign}${Math.abs(d.relative * 100).toFixed(1)}%)`;
  return `${sign}${value(d, Math.abs(d.delta))}${relative}`;
}

const WORD: Record<FigureDelta['judgement'], string> = { better: 'better', worse: 'WORSE', noise: 'within noise', unknown: 'noise unknown' };

function scopeTitle(s: ScopeComparison): string {
  if (s.scope === 'test') return 'Whole test (latency in milliseconds):';
  return s.scope === 'request' ? `Request "${s.name}":` : `${s.name[0].toUpperCase()}${s.name.slice(1)}:`;
}

export function formatComparison(c: Comparison): string {
  const name = (r: Comparison['baseline']) => `${r.test_id}${r.name ? ` (${r.name})` : ''}, ${when(r.created_at)}, ${r.status}, ${r.seconds} s`;
  const lines = [`Baseline: ${name(c.baseline)}`, `Current:  ${name(c.current)}`, ''];
  for (const scope of c.scopes) {
    const rows = [['figure', 'baseline', 'current', 'change', 'noise ±', 'judgement']];
    for (const d of scope.figures) rows.push([d.label, value(d, d.baseline), value(d, d.current), change(d), d.noise === null ? '-' : value(d, d.noise), WORD[d.judgement]]);
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
