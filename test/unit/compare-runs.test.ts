// Comparing two runs: a difference within the run-to-run noise is never a regression, a real
// shift is judged worse (or better), and the file's regression limits fail only beyond both the
// limit and the noise. Runs are made from seconds of known latency distributions.
import assert from 'node:assert/strict';
import type { ComparedFigure } from '../../orchestrator/compare/comparison-model';
import { compareRuns, type StoredRun } from '../../orchestrator/compare/compare-runs';
import type { RegressionLimits } from '../../orchestrator/compare/regression-limits';
import { figureSpread } from '../../orchestrator/compare/run-noise';
import type { SecondInterval, TestResult } from '../../orchestrator/result-model';
import { createLatencyHistogram, encodeHistogram } from '../../protocol/latency-histogram';

/** A seeded generator, so that every run of these tests sees the same samples. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A finished run of `seconds` seconds at `rate` responses a second, each latency `baseMs` plus an
 * exponential tail of mean `tailMs` (a service time and a queue): its seconds and its merged histogram.
 */
export function run(id: string, seed: number, options: { seconds?: number; rate?: number; baseMs?: number; tailMs?: number; errorsPerSecond?: number; regression?: RegressionLimits } = {}): StoredRun {
  const { seconds = 30, rate = 400, baseMs = 2, tailMs = 1, errorsPerSecond = 0 } = options;
  const next = random(seed);
  const whole = createLatencyHistogram();
  const intervals: SecondInterval[] = [];
  let responses = 0;
  for (let t = 1; t <= seconds; t++) {
    const h = createLatencyHistogram();
    // A second holds a few percent more or fewer responses than the rate: how seconds really go.
    const inSecond = Math.round(rate * (0.97 + 0.06 * next()));
    responses += inSecond;
    for (let i = 0; i < inSecond; i++) {
      const us = Math.round((baseMs - tailMs * Math.log(1 - next())) * 1000);
      h.recordValue(us);
      whole.recordValue(us);
    }
    intervals.push({ t, requests_sent: inSecond + errorsPerSecond, responses: inSecond, errors: errorsPerSecond, histogram: encodeHistogram(h) });
  }
  const requests = responses + seconds * errorsPerSecond;
  const result = {
    test_id: id,
    created_at: 0,
    status: 'complete',
    verdict: { passed: true, reason: 'PASSED' },
    throughput: responses / seconds,
    aggregate: { responses, requests_sent: requests, errors: seconds * errorsPerSecond, error_rate: (seconds * errorsPerSecond) / requests, latency: null },
  } as unknown as TestResult;
  return {
    test: { test_id: id, created_at: 0, definition: { test_type: 'TSUNAMI', target: 'http://127.0.0.1:1/ping', regression: options.regression }, config: {} as never, participants: ['d1'] },
    result,
    histograms: { latency: encodeHistogram(whole) },
    intervals,
  };
}

const figure = (c: ReturnType<typeof compareRuns>, name: ComparedFigure) => c.scopes[0].figures.find((f) => f.figure === name)!;

describe('comparing two runs', () => {
  it('two runs of the same system differ only by noise: every figure is judged within it', () => {
    const c = compareRuns(run('a', 1), run('b', 2), { p99_latency_ms: '+10%', throughput: '-5%' });
    for (const f of c.scopes[0].figures.filter((f) => f.figure !== 'error_rate')) {
      assert.equal(f.judgement, 'noise', `${f.label}: ${f.baseline} → ${f.current}, noise ±${f.noise}`);
      assert.ok(f.noise !== null && f.noise > 0, `${f.label} has a noise band`);
    }
    assert.equal(c.regression?.passed, true, JSON.stringify(c.regression));
  });

  it('20 ms added to every response is worse on every latency figure and breaks the p99 limit, saying by how much', () => {
    const c = compareRuns(run('a', 1), run('b', 2, { baseMs: 22 }), { p99_latency_ms: '+10%' });
    for (const name of ['p50_latency_ms', 'p90_latency_ms', 'p99_latency_ms', 'mean_latency_ms'] as const) assert.equal(figure(c, name).judgement, 'worse', name);
    assert.equal(c.regression?.passed, false);
    assert.match(c.regression!.checks[0].text, /^p99 latency 2\d\.?\d* ms against \d\.?\d* ms in the baseline: \+\d+(\.\d+)? ms \(\+\d+(\.\d)?%\), beyond the \+10% limit \(noise ±[\d.]+ ms\)$/);
  });

  it('a real 1 ms improvement is better, not a failure', () => {
    const c = compareRuns(run('a', 1, { baseMs: 3 }), run('b', 2, { baseMs: 2 }), { p50_latency_ms: '+5%', p99_latency_ms: '+10%' });
    assert.equal(figure(c, 'p50_latency_ms').judgement, 'better');
    assert.equal(figure(c, 'mean_latency_ms').judgement, 'better');
    assert.ok(figure(c, 'p50_latency_ms').delta! < -0.8, `p50 moved by ${figure(c, 'p50_latency_ms').delta} ms`);
    assert.equal(c.regression?.passed, true);
  });

  it('a change beyond the limit but within the noise is said to be so, and passes', () => {
    // Few responses a second with a long tail: p99 moves a lot between runs of the same system.
    const c = compareRuns(run('a', 5, { rate: 100, tailMs: 20 }), run('b', 6, { rate: 100, tailMs: 20 }), { p99_latency_ms: '+1%' });
    const p99 = figure(c, 'p99_latency_ms');
    assert.equal(p99.judgement, 'noise', `p99 ${p99.baseline} → ${p99.current}, noise ±${p99.noise}`);
    const check = c.regression!.checks[0];
    assert.ok(p99.delta! > check.allowed, `these two runs' p99 moved by ${p99.delta} ms, beyond the ${check.allowed} ms the limit allows`);
    assert.match(check.text, /beyond the \+1% limit but within the run-to-run noise \(noise ±[\d.]+ ms\): not a regression$/);
    assert.equal(check.passed, true);
  });

  it('an error rate half a point higher breaks "+0.005" only when beyond its noise', () => {
    const c = compareRuns(run('a', 1), run('b', 2, { errorsPerSecond: 4 }), { error_rate: '+0.005' });
    const errors = figure(c, 'error_rate');
    assert.ok(errors.delta! > 0.009, `error rate moved by ${errors.delta}`);
    assert.equal(errors.judgement, 'worse');
    assert.equal(c.regression?.passed, false);
  });

  it('a percentile with too few latencies beyond it (p99.9 of 600) is not compared: its noise is unknown', () => {
    const c = compareRuns(run('a', 1, { rate: 20 }), run('b', 2, { rate: 20 }));
    assert.equal(figure(c, 'p99_9_latency_ms').noise, null);
    assert.equal(figure(c, 'p99_9_latency_ms').judgement, 'unknown');
    assert.equal(figure(c, 'p50_latency_ms').judgement, 'noise');
  });

  it('a run too short to estimate its noise says the noise is unknown rather than calling a difference', () => {
    const c = compareRuns(run('a', 1, { seconds: 3 }), run('b', 2, { seconds: 3, baseMs: 3 }));
    const p50 = figure(c, 'p50_latency_ms');
    assert.equal(p50.noise, null);
    assert.equal(p50.judgement, 'unknown');
  });

  it('the noise estimate is the same every time for the same runs (seeded by the run)', () => {
    const a = run('a', 1);
    assert.deepEqual(figureSpread(a.intervals, 'a'), figureSpread(a.intervals, 'a'));
  });
});
