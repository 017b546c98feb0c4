import assert from 'node:assert/strict';
import { allStageStats, PhaseBook } from '../../orchestrator/stages/stage-stats';
import { createLatencyHistogram, encodeHistogram } from '../../protocol/latency-histogram';
import type { PhaseCounts } from '../../protocol/wire-protocol';

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

/** A histogram (µs) of the given latencies in ms. */
function histogramOf(ms: number[]) {
  const h = createLatencyHistogram();
  for (const v of ms) h.recordValue(Math.round(v * 1000));
  return h;
}

function phase(name: string, latenciesMs: number[], extra: Partial<PhaseCounts> = {}): PhaseCounts {
  return {
    phase: name,
    started_at: T0,
    ended_at: T0 + 10_000,
    requests_sent: latenciesMs.length,
    responses: latenciesMs.length,
    errors: {},
    histogram: encodeHistogram(histogramOf(latenciesMs)),
    settled: true,
    ...extra,
  };
}

describe('per-stage figures over all drivers', () => {
  it('the merged p99 is the p99 of the pooled latencies, not the average of the drivers’ p99s', () => {
    // d1: 1,000 fast requests (1 ms); d2: 100 requests at 100 ms. Pooled, the p99 is 100 ms; the drivers' p99s average to 50.5 ms.
    const fast = Array.from({ length: 1000 }, () => 1);
    const slow = Array.from({ length: 100 }, () => 100);
    const book = new PhaseBook();
    book.add('d1', [phase('stage 1', fast)]);
    book.add('d2', [phase('stage 1', slow)]);
    const [stats] = allStageStats(book, { participants: ['d1', 'd2'], now: T0 + 20_000 });
    const pooled = histogramOf([...fast, ...slow]).getValueAtPercentile(99) / 1000;
    assert.ok(Math.abs(stats.latency!.p99 - pooled) < 0.2, `merged p99 ${stats.latency!.p99} vs pooled ${pooled}`);
    assert.ok(stats.latency!.p99 > 90, 'not the average of 1 and 100');
    assert.equal(stats.requests_sent, 1100);
    assert.equal(stats.achieved_rate, 110);
    assert.deepEqual(stats.per_driver, [
      { node_id: 'd1', started_at: T0, requests_sent: 1000, rate: 100 },
      { node_id: 'd2', started_at: T0, requests_sent: 100, rate: 10 },
    ]);
  });

  it('adds errors by kind and gives the error rate of the window', () => {
    const book = new PhaseBook();
    book.add('d1', [phase('stage 2', [1, 2, 3, 4], { requests_sent: 10, errors: { http_5xx: 2 } })]);
    book.add('d2', [phase('stage 2', [1, 2], { requests_sent: 10, errors: { http_5xx: 1, timeout: 1 } })]);
    const [stats] = allStageStats(book, { participants: ['d1', 'd2'], now: T0 });
    assert.deepEqual(stats.error_kinds, { http_5xx: 3, timeout: 1 });
    assert.equal(stats.errors, 4);
    assert.equal(stats.error_rate, 0.2);
  });

  it('is settled only when every participant reported it settled', () => {
    const book = new PhaseBook();
    book.add('d1', [phase('stage 1', [1])]);
    book.add('d2', [phase('stage 1', [1], { settled: false, ended_at: undefined })]);
    const ctx = { participants: ['d1', 'd2'], now: T0 + 5000 };
    const [open] = allStageStats(book, ctx);
    assert.equal(open.settled, false);
    assert.equal(open.ended_at, undefined, 'a window ends when every driver ended it');
    assert.equal(open.duration_s, 5);
    assert.equal(allStageStats(book, { participants: ['d1', 'd2', 'd3'], now: T0 })[0].settled, false);
    book.add('d2', [phase('stage 1', [1, 1])]);
    assert.equal(allStageStats(book, ctx)[0].settled, true);
  });

  it('keeps a settled phase as it was, and orders phases by their start', () => {
    const book = new PhaseBook();
    book.add('d1', [phase('set 1', [1, 2], { started_at: T0 + 20_000, ended_at: undefined, settled: false }), phase('stage 1', [1, 2, 3])]);
    book.add('d1', [phase('stage 1', [9])]);
    const stats = allStageStats(book, { participants: ['d1'], now: T0 + 30_000 });
    assert.deepEqual(stats.map((s) => s.phase), ['stage 1', 'set 1']);
    assert.equal(stats[0].requests_sent, 3);
  });

  it('reads the planned rate and the server queries over the window', () => {
    const book = new PhaseBook();
    book.add('d1', [phase('stage 1', [1])]);
    const [stats] = allStageStats(book, {
      participants: ['d1'],
      now: T0,
      plannedAverage: (from, to) => (from === T0 && to === T0 + 10_000 ? 750 : -1),
      server: () => ({ server_rps: { samples: 10, mean: 740, min: 700, max: 780 } }),
    });
    assert.equal(stats.planned_rate, 750);
    assert.equal(stats.server?.server_rps.mean, 740);
  });
});
