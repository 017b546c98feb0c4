// A run's latency distribution as the compare view plots it: percentile q at x = 1/(1−q), read
// from the run's merged histogram, so that the plot's p99 is the comparison's p99.
import assert from 'node:assert/strict';
import { compareRuns, type StoredRun } from '../../orchestrator/compare/compare-runs';
import { percentileCurve } from '../../orchestrator/compare/percentile-curve';
import type { TestResult, TimePoint } from '../../orchestrator/result-model';
import { createLatencyHistogram, encodeHistogram } from '../../protocol/latency-histogram';
import { runCurves } from '../../extension/vscode/compare-view-data';

/** 1 ms, 2 ms … 10,000 ms, once each: the q-quantile is about q × 10 s. */
function evenHistogram(): string {
  const h = createLatencyHistogram();
  for (let ms = 1; ms <= 10_000; ms++) h.recordValue(ms * 1000);
  return encodeHistogram(h);
}

function storedRun(id: string, histogram: string | undefined): StoredRun {
  const result = { test_id: id, created_at: 0, ended_at: 1000, status: 'complete', verdict: { passed: true, reason: 'PASSED' }, throughput: 100, aggregate: { responses: 10_000, error_rate: 0, latency: null } } as unknown as TestResult;
  return { test: { test_id: id, created_at: 0, definition: { test_type: 'TSUNAMI', target: 'http://127.0.0.1:1/' }, config: {} as never, participants: [] }, result, histograms: histogram ? { latency: histogram } : undefined, intervals: [] };
}

describe('the percentile curve of a run', () => {
  it('puts each percentile at 1/(1−q): 90% at 10, 99% at 100, 99.9% at 1,000', () => {
    const curve = percentileCurve(evenHistogram());
    const at = (x: number) => curve.find((p) => Math.abs(p.x - x) < 1e-9)!;
    assert.equal(at(1).percentile, 0);
    assert.equal(at(10).percentile, 90);
    assert.equal(at(100).percentile, 99);
    assert.equal(at(1000).percentile, 99.9);
    // Within the histogram's 3 significant digits of 9 s, 9.9 s, 9.99 s.
    assert.ok(Math.abs(at(10).ms - 9000) <= 9, `p90 ${at(10).ms}`);
    assert.ok(Math.abs(at(100).ms - 9900) <= 10, `p99 ${at(100).ms}`);
    assert.ok(Math.abs(at(1000).ms - 9990) <= 10, `p99.9 ${at(1000).ms}`);
  });

  it('rises from the minimum to the maximum, ending where the latencies run out', () => {
    const curve = percentileCurve(evenHistogram());
    for (let i = 1; i < curve.length; i++) {
      assert.ok(curve[i].x > curve[i - 1].x, 'x increases');
      assert.ok(curve[i].ms >= curve[i - 1].ms, 'latency never falls');
    }
    const last = curve.at(-1)!;
    assert.equal(last.x, 10_000, 'it ends at x = the number of latencies');
    assert.equal(last.percentile, 100);
    assert.ok(Math.abs(last.ms - 10_000) <= 10, `the maximum, ${last.ms}`);
    assert.ok(curve.length >= 80 && curve.length <= 90, `20 points a decade over 4 decades: ${curve.length}`);
  });

  it('its p99 is the comparison’s p99 of the same run, to the microsecond', () => {
    const histogram = evenHistogram();
    const p99 = percentileCurve(histogram).find((p) => p.percentile === 99)!;
    const run = storedRun('a', histogram);
    const compared = compareRuns(run, run).scopes[0].figures.find((f) => f.figure === 'p99_latency_ms')!;
    assert.equal(p99.ms, compared.current);
  });

  it('is empty for a histogram that recorded nothing', () => {
    assert.deepEqual(percentileCurve(encodeHistogram(createLatencyHistogram())), []);
  });
});

describe('what the compare view draws of a run', () => {
  const series = [
    { t: 1, rate: 100, latency: { mean: 1, p50: 1, p90: 2, p95: 2, p99: 3, max: 4 } },
    { t: 2, rate: 120, latency: null },
  ] as TimePoint[];

  it('sends its percentile curve and its rate and p99 each second, as columns', () => {
    const curves = runCurves(storedRun('a', evenHistogram()), series, 'a (now)');
    assert.equal(curves.test_id, 'a');
    assert.equal(curves.label, 'a (now)');
    assert.deepEqual(curves.percentiles, percentileCurve(evenHistogram()));
    assert.deepEqual({ t: curves.t, rate: curves.rate, p99: curves.p99 }, { t: [1, 2], rate: [100, 120], p99: [3, null] });
  });

  it('sends no curve for a run the history kept no histogram of, or a damaged one, and still its series', () => {
    assert.deepEqual(runCurves(storedRun('old', undefined), series, 'old').percentiles, []);
    const damaged = runCurves(storedRun('bad', 'not a histogram'), series, 'bad');
    assert.deepEqual(damaged.percentiles, []);
    assert.deepEqual(damaged.rate, [100, 120]);
  });
});
