import assert from 'node:assert/strict';
import { cumulativeCounts, Registry, registerHdrHistogram } from '../../common/metrics-exposition';
import { createLatencyHistogram } from '../../protocol/latency-histogram';

describe('latency histograms for Prometheus', () => {
  it('bucket counts equal a count of the recorded values at or below each bound (within HdrHistogram’s 0.1%)', () => {
    const histogram = createLatencyHistogram();
    const values: number[] = [];
    let seed = 7;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 48271) % 2147483647;
      const us = 1 + Math.floor(Math.exp((seed / 2147483647) * Math.log(5_000_000)));
      values.push(us);
      histogram.recordValue(us);
    }
    const bounds = [500, 1000, 2500, 10_000, 100_000, 1_000_000, 4_000_000, 20_000_000];
    const counts = cumulativeCounts(histogram, bounds);
    for (const [i, bound] of bounds.entries()) {
      const exact = values.filter((v) => v <= bound).length;
      const near = values.filter((v) => v <= bound * 1.001).length - values.filter((v) => v <= bound * 0.999).length;
      assert.ok(Math.abs(counts[i] - exact) <= near, `≤ ${bound} µs: ${counts[i]} vs ${exact} (±${near})`);
    }
    assert.equal(counts.at(-1), 20_000);
  });

  it('exposes buckets, sum and count in seconds, cumulative and ending at +Inf = count', async () => {
    const registry = new Registry();
    const histogram = createLatencyHistogram();
    for (const us of [300, 800, 800, 2000, 70_000]) histogram.recordValue(us);
    registerHdrHistogram(registry, 'x_latency_seconds', 'test', () => [{ labels: { test_id: 't1' }, histogram }]);
    const text = await registry.metrics();
    assert.match(text, /^# TYPE x_latency_seconds histogram$/m);
    assert.match(text, /^x_latency_seconds_bucket\{test_id="t1",le="0.0005"\} 1$/m);
    assert.match(text, /^x_latency_seconds_bucket\{test_id="t1",le="0.001"\} 3$/m);
    assert.match(text, /^x_latency_seconds_bucket\{test_id="t1",le="0.0025"\} 4$/m);
    assert.match(text, /^x_latency_seconds_bucket\{test_id="t1",le="0.05"\} 4$/m);
    assert.match(text, /^x_latency_seconds_bucket\{test_id="t1",le="0.1"\} 5$/m);
    assert.match(text, /^x_latency_seconds_bucket\{test_id="t1",le="\+Inf"\} 5$/m);
    assert.match(text, /^x_latency_seconds_count\{test_id="t1"\} 5$/m);
    const sum = Number(/^x_latency_seconds_sum\{test_id="t1"\} (\S+)$/m.exec(text)![1]);
    assert.ok(Math.abs(sum - 0.0739) < 0.0001, `sum ${sum}`);
  });
});
