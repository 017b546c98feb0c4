import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { markdownSummary, writeStepSummary } from '../../orchestrator/reports/markdown-summary';
import { reportComparison, reportResult } from '../support/report-fixture';
import { tempDir } from '../support/temp-dir';

/** The rows of the table that follows `title` (a bold line), header and separator included. */
function tableAfter(markdown: string, title: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.startsWith(title));
  assert.ok(start >= 0, `no "${title}" in:\n${markdown}`);
  const first = lines.findIndex((l, i) => i > start && l.startsWith('|'));
  const end = lines.findIndex((l, i) => i > first && !l.startsWith('|'));
  return lines.slice(first, end < 0 ? undefined : end);
}

/** A row's cells, split where an unescaped | stands. */
const cells = (row: string) => row.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());

describe('Markdown summary', () => {
  it('heads with the verdict and the test’s name, then the verdict’s reason', () => {
    const failed = markdownSummary(reportResult()).split('\n');
    assert.equal(failed[0], '### ❌ FAILED: checkout ramp');
    assert.equal(failed[2], 'FAILED: stage 2: p99 latency 61.7 ms <= 50 ms');
    const passed = markdownSummary({ ...reportResult(), verdict: { passed: true, reason: 'PASSED: 4,497 of 4,500 requests' } });
    assert.match(passed, /^### ✅ PASSED: checkout ramp\n/);
  });

  it('has the headline figures in one row, written as the CLI writes them', () => {
    const rows = markdownSummary(reportResult()).split('\n').filter((l) => l.startsWith('|'));
    assert.deepEqual(cells(rows[0]), ['requests', 'rate', 'error rate', 'p50', 'p90', 'p99', 'max']);
    assert.deepEqual(cells(rows[2]), ['4,497 of 4,500', '225 req/s', '0.0667%', '4.21 ms', '8.00 ms', '61.9 ms', '149 ms']);
  });

  it('lists each threshold with ✅, ❌ or not judged, and its line', () => {
    const rows = tableAfter(markdownSummary(reportResult()), '**Thresholds**').slice(2).map(cells);
    assert.deepEqual(rows, [
      ['✅', 'error_rate', 'error rate 0.0667% <= 1%'],
      ['✅', 'p99_latency_ms', 'p99 latency 61.9 ms <= 100 ms'],
      ['❌', 'stage 2.p99_latency_ms', 'stage 2: p99 latency 61.7 ms <= 50 ms'],
      ['➖ not judged', 'server.cpu.max', 'server cpu max not judged (optional): Prometheus gave no sample <= 0.9'],
    ]);
  });

  it('against a baseline: a row per figure of the whole test with baseline, current, change, noise and judgement', () => {
    const table = tableAfter(markdownSummary(reportResult(), reportComparison()), '**Against baseline lt-20261130-180000-aa01**');
    assert.deepEqual(cells(table[0]), ['figure', 'baseline', 'current', 'change', 'noise', 'judgement']);
    assert.deepEqual(table.slice(2).map(cells), [
      ['p50 latency', '4.30 ms', '4.21 ms', '-0.09 ms (-2.09%)', '±0.25 ms', '⚪ within noise'],
      ['p99 latency', '48.2 ms', '61.9 ms', '+13.7 ms (+28.4%)', '±4.10 ms', '🔴 worse'],
      ['max latency', '-', '149 ms', '-', '-', '❔ unknown'],
      ['throughput', '221 req/s', '225 req/s', '+3 req/s (+1.49%)', '±2 req/s', '🟢 better'],
      ['error rate', '0.02%', '0.0667%', '+0.0467 pp', '±0.09 pp', '⚪ within noise'],
    ]);
  });

  it('against a baseline: the regression limits, each with ✅ or ❌; requests and stages stay for the HTML report', () => {
    const markdown = markdownSummary(reportResult(), reportComparison());
    assert.deepEqual(tableAfter(markdown, '**Regression limits**').slice(2).map(cells), [
      ['❌', 'p99_latency_ms +10%', 'p99 latency 61.9 ms against 48.2 ms in the baseline: +28.4%, beyond the +10% limit (noise ±8.5%)'],
      ['✅', 'throughput -5%', 'throughput 225 req/s against 221 req/s in the baseline: +1.5%, within the -5% limit'],
    ]);
    assert.doesNotMatch(markdown, /GET \/cart/);
  });

  it('says nothing of a baseline without a comparison', () => {
    assert.doesNotMatch(markdownSummary(reportResult()), /baseline|Regression/);
  });

  it('a name with | < * and a line break keeps the table’s cells and makes no tag', () => {
    const result = reportResult();
    result.name = 'cart | <b>beta</b> *now*\nsecond line';
    result.thresholds.checks[2] = { ...result.thresholds.checks[2], name: 'stage |2|.p99_latency_ms', text: 'stage |2|: p99 latency 61.7 ms <= 50 ms' };
    const markdown = markdownSummary(result);
    assert.equal(markdown.split('\n')[0], '### ❌ FAILED: cart \\| \\<b>beta\\</b> \\*now\\* second line');
    const rows = tableAfter(markdown, '**Thresholds**');
    for (const row of rows) assert.equal(cells(row).length, 3, row);
    assert.deepEqual(cells(rows[4]), ['❌', 'stage \\|2\\|.p99_latency_ms', 'stage \\|2\\|: p99 latency 61.7 ms <= 50 ms']);
  });

  describe('the job summary of a GitHub Actions step', () => {
    it('appends to the file $GITHUB_STEP_SUMMARY names', async () => {
      const file = join(tempDir('step-summary'), 'summary.md');
      assert.equal(await writeStepSummary('### first\n', { GITHUB_STEP_SUMMARY: file }), true);
      assert.equal(await writeStepSummary('### second', { GITHUB_STEP_SUMMARY: file }), true);
      assert.equal(readFileSync(file, 'utf8'), '### first\n### second\n');
    });

    it('writes nothing outside one, and says so', async () => {
      assert.equal(await writeStepSummary('### first\n', {}), false);
    });
  });
});
