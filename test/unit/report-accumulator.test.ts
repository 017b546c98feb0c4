import assert from 'node:assert/strict';
import { ReportAccumulator } from '../../orchestrator/report-accumulator';
import { createLatencyHistogram, encodeHistogram } from '../../protocol/latency-histogram';
import type { MetricsMessage } from '../../protocol/wire-protocol';

let seq = 0;
/** A report of another implementation: spec figures and a count, nothing else. */
function theirs(count: number, min: number, max: number, mean: number, extra: Partial<MetricsMessage> = {}): MetricsMessage {
  return { node_id: 'x', test_id: 't', report_id: `r${++seq}`, metrics: { mean_latency: mean, median_latency: mean, min_latency: min, max_latency: max }, requests_sent: count, ...extra };
}

describe('one driver’s reports, cumulative or per interval', () => {
  it('cumulative reports: the latest is the story, and an older one delivered late adds nothing', () => {
    const acc = new ReportAccumulator();
    acc.add(theirs(10, 1, 5, 2, { elapsed_ms: 1000 }), 0);
    acc.add(theirs(25, 1, 7, 2.5, { elapsed_ms: 2000 }), 0);
    assert.equal(acc.add(theirs(10, 1, 5, 2, { elapsed_ms: 1000 }), 0), undefined);
    assert.equal(acc.story!.message.requests_sent, 25);
    assert.equal(acc.story!.kind, 'cumulative');
  });

  it('a falling count reveals interval reports, and every report from the first is summed', () => {
    const acc = new ReportAccumulator();
    acc.add(theirs(50, 1, 9, 3), 0);
    acc.add(theirs(60, 1, 9, 3), 0); // could still be cumulative
    acc.add(theirs(20, 2, 4, 3), 0); // cannot be
    const story = acc.story!;
    assert.equal(story.kind, 'interval');
    assert.equal(story.message.requests_sent, 130);
    assert.equal(story.message.metrics!.min_latency, 1);
    assert.equal(story.message.metrics!.max_latency, 9);
    assert.equal(story.approximate, true, 'percentiles combined from figures without histograms');
  });

  it('the same response count with other figures, or a lower sum of latencies, is an interval too', () => {
    const same = new ReportAccumulator();
    same.add(theirs(50, 1, 9, 3, { responses: 50 }), 0);
    same.add(theirs(50, 1, 9, 4, { responses: 50 }), 0);
    assert.equal(same.story!.kind, 'interval');
    const lower = new ReportAccumulator();
    lower.add(theirs(50, 1, 9, 8, { responses: 50 }), 0);
    lower.add(theirs(60, 1, 9, 2, { responses: 60 }), 0); // 120 ms of latency in all, less than the 400 before
    assert.equal(lower.story!.kind, 'interval');
    assert.equal(lower.story!.message.requests_sent, 110);
  });

  it('a cumulative driver whose request count stays while its responses still come in is not summed', () => {
    // All 50 requests sent; the mean moves as the last responses arrive: one story, not three.
    const acc = new ReportAccumulator();
    acc.add(theirs(50, 1, 9, 3, { elapsed_ms: 1000 }), 0);
    acc.add(theirs(50, 1, 9, 3.4, { elapsed_ms: 2000 }), 0);
    acc.add(theirs(50, 1, 9, 3.1, { elapsed_ms: 3000 }), 0);
    assert.equal(acc.story!.kind, 'cumulative');
    assert.equal(acc.story!.message.requests_sent, 50);
  });

  it('interval reports with histograms merge exactly', () => {
    const histogram = (values: number[]) => {
      const h = createLatencyHistogram();
      for (const v of values) h.recordValue(v);
      return encodeHistogram(h);
    };
    const acc = new ReportAccumulator();
    acc.add({ ...theirs(3, 1, 3, 2), report_kind: 'interval', histogram: histogram([1000, 2000, 3000]) }, 0);
    acc.add({ ...theirs(2, 5, 6, 5.5), report_kind: 'interval', histogram: histogram([5000, 6000]) }, 0);
    const story = acc.story!;
    assert.equal(story.histogram!.totalCount, 5);
    assert.equal(story.approximate, false);
    assert.equal(story.message.requests_sent, 5);
  });

  it('a report that says it is cumulative is never summed', () => {
    const acc = new ReportAccumulator();
    acc.add(theirs(50, 1, 9, 3, { report_kind: 'cumulative' }), 0);
    acc.add(theirs(50, 1, 9, 4, { report_kind: 'cumulative' }), 0);
    assert.equal(acc.story!.message.requests_sent, 50);
    assert.equal(acc.story!.kind, 'cumulative');
  });
});
