// A short Markdown summary of a test, for a pull request: a comment, or the job summary GitHub
// shows on a workflow run ($GITHUB_STEP_SUMMARY). Read in a few seconds, so it holds only what
// decides a review: the verdict, the headline figures, each threshold with ✅ or ❌, and, against a
// baseline, how each figure of the whole test moved and whether that is beyond the noise. The
// figures are written as the CLI writes them (figure-text.ts); everything else is in the HTML report.
import { appendFileSync } from 'node:fs';
import type { Comparison } from '../compare/comparison-model';
import { int, msText, percentText } from '../figure-text';
import type { TestResult } from '../result-model';
import { changeText, figureValueText, JUDGEMENT_TEXT, noiseText } from './comparison-text';

/**
 * Text for a table cell or a line: a name with `|` must not split a cell, one with `<b>` must not
 * become a tag, one with `*` or `[x]` not emphasis or a link; line breaks become spaces. Only what
 * could take effect is escaped, so "p99 <= 50 ms" and "p99_latency_ms" read as they are.
 */
export function markdownText(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').replace(/[\\`*[\]|~]|(?<!\w)_|_(?!\w)|<(?=[A-Za-z/!?])|&(?=#?\w+;)/g, '\\$&');
}

const row = (cells: string[]) => `| ${cells.join(' | ')} |`;

/** `align`: a letter per column, l or r (numbers). */
function table(header: string[], rows: string[][], align: string): string[] {
  return [row(header), row(header.map((_, i) => (align[i] === 'r' ? '---:' : '---'))), ...rows.map(row)];
}

const JUDGEMENT_MARK = { better: '🟢', worse: '🔴', noise: '⚪', unknown: '❔' } as const;

function headline(result: TestResult): string[] {
  const a = result.aggregate;
  const l = a.latency;
  const ms = (n: number | null | undefined) => (n === null || n === undefined ? '-' : `${msText(n)} ms`);
  const requests = result.planned_requests > 0 ? `${int(a.requests_sent)} of ${int(result.planned_requests)}` : int(a.requests_sent);
  return table(
    ['requests', 'rate', 'error rate', 'p50', 'p90', 'p99', 'max'],
    [[requests, `${int(result.throughput)} req/s`, percentText(a.error_rate), ms(l?.median), ms(l?.p90), ms(l?.p99), ms(l?.max)]],
    'rrrrrrr',
  );
}

function thresholds(result: TestResult): string[] {
  const checks = result.thresholds.checks;
  if (!checks.length) return [];
  const mark = (c: (typeof checks)[number]) => (c.skipped ? '➖ not judged' : c.passed ? '✅' : '❌');
  return ['', '**Thresholds**', '', ...table(['', 'threshold', 'result'], checks.map((c) => [mark(c), markdownText(c.name), markdownText(c.text)]), 'lll')];
}

function againstBaseline(comparison: Comparison): string[] {
  const whole = comparison.scopes.find((s) => s.scope === 'test');
  const lines = ['', `**Against baseline ${markdownText(comparison.baseline.test_id)}**${comparison.baseline.name ? ` (${markdownText(comparison.baseline.name)})` : ''}`, ''];
  if (whole) {
    lines.push(
      ...table(
        ['figure', 'baseline', 'current', 'change', 'noise', 'judgement'],
        whole.figures.map((d) => [markdownText(d.label), figureValueText(d.unit, d.baseline), figureValueText(d.unit, d.current), changeText(d), noiseText(d), `${JUDGEMENT_MARK[d.judgement]} ${JUDGEMENT_TEXT[d.judgement]}`]),
        'lrrrrl',
      ),
    );
  }
  const regression = comparison.regression;
  if (regression?.checks.length) {
    lines.push('', '**Regression limits**', '', ...table(['', 'limit', 'result'], regression.checks.map((r) => [r.passed ? '✅' : '❌', markdownText(`${r.figure} ${r.limit}`), markdownText(r.text)]), 'lll'));
  }
  return lines;
}

/** The summary of a finished test, and of its comparison against a baseline when given. */
export function markdownSummary(result: TestResult, comparison?: Comparison): string {
  const passed = result.verdict.passed;
  const lines = [
    `### ${passed ? '✅ PASSED' : '❌ FAILED'}: ${markdownText(result.name ?? result.test_id)}`,
    '',
    `${markdownText(result.verdict.reason)}`,
    '',
    `${result.test_type}, ${result.status} in ${result.elapsed_s.toFixed(1)} s on ${result.participants.length} driver(s); test ${markdownText(result.test_id)}`,
    '',
    ...headline(result),
    ...thresholds(result),
    ...(comparison ? againstBaseline(comparison) : []),
  ];
  return lines.join('\n') + '\n';
}

/**
 * Appends the summary to the job summary of a GitHub Actions step, when run in one (the file
 * $GITHUB_STEP_SUMMARY names). Returns whether it wrote.
 */
export function writeStepSummary(markdown: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const file = env.GITHUB_STEP_SUMMARY;
  if (!file) return false;
  appendFileSync(file, markdown.endsWith('\n') ? markdown : `${markdown}\n`);
  return true;
}
