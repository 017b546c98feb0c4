// How a stored run reads in the editor: the CodeLens above its file and the rows of the history
// view, with the figures written as the CLI writes them and the change against the baseline taken
// from the comparison.
import assert from 'node:assert/strict';
import type { FigureDelta } from '../../orchestrator/compare/comparison-model';
import type { TestResult } from '../../orchestrator/result-model';
import { agoText, headlineText, lastRunLensText, unfinishedText } from '../../extension/vscode/run-text';

const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

function result(passed: boolean, p99: number | null, throughput: number, endedAgoMs: number): TestResult {
  return {
    test_id: 't1',
    verdict: { passed, reason: passed ? 'PASSED' : 'FAILED: p99' },
    throughput,
    ended_at: NOW - endedAgoMs,
    aggregate: { latency: p99 === null ? null : { p99 } },
  } as unknown as TestResult;
}

const p99Delta = (relative: number | null): FigureDelta => ({ figure: 'p99_latency_ms', label: 'p99 latency', unit: 'ms', baseline: 10.8, current: 12.3, delta: 1.5, relative, noise: 0.5, judgement: 'worse' });

describe('the last run of a file, above it', () => {
  it('says the verdict, p99 with its change against the baseline, the rate and how long ago', () => {
    assert.equal(lastRunLensText(result(true, 12.3, 4010, 2 * 3600_000), p99Delta(0.1389), NOW), 'last: PASSED · p99 12.3 ms (+13.9% vs baseline) · 4,010 req/s · 2 h ago');
  });

  it('says the run alone when the file has no baseline, or the run is the baseline', () => {
    assert.equal(lastRunLensText(result(false, 6.55, 1995.4, 40_000), undefined, NOW), 'last: FAILED · p99 6.55 ms · 1,995 req/s · 40 s ago');
  });

  it('says a fall as one, and no change when the baseline had no value to divide by', () => {
    assert.match(lastRunLensText(result(true, 9, 100, 0), p99Delta(-0.25), NOW), /p99 9\.00 ms \(-25% vs baseline\)/);
    assert.match(lastRunLensText(result(true, 9, 100, 0), p99Delta(null), NOW), /p99 9\.00 ms · 100 req\/s · just now$/);
  });

  it('writes "-" for a p99 the run does not have', () => {
    assert.equal(headlineText(result(true, null, 0, 0)), 'p99 - · 0 req/s');
  });
});

describe('how long ago, in the history view and the CodeLens', () => {
  it('uses the largest unit that is at least one', () => {
    const ago = (ms: number) => agoText(NOW - ms, NOW);
    assert.deepEqual([ago(0), ago(4_999), ago(5_000), ago(59_999), ago(60_000), ago(3_599_999), ago(3_600_000), ago(86_399_999), ago(3 * 86_400_000)], ['just now', 'just now', '5 s ago', '59 s ago', '1 min ago', '59 min ago', '1 h ago', '23 h ago', '3 d ago']);
  });

  it('says "just now" for a time a little ahead of this clock (another machine wrote it)', () => {
    assert.equal(agoText(NOW + 3000, NOW), 'just now');
  });
});

describe('a run without a result, in the history view', () => {
  it('says its status, and why it cannot be read when it cannot', () => {
    assert.equal(unfinishedText({ status: 'interrupted' } as never), 'interrupted');
    assert.equal(unfinishedText({ status: 'unreadable', error: 'result.json is damaged' } as never), 'unreadable: result.json is damaged');
  });
});
