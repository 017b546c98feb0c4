import assert from 'node:assert/strict';
import { LoadProfile, splitWhole } from '../../protocol/load-profile';
import { encodeControl, parseControl, parseMetrics, parseTestConfig } from '../../protocol/wire-protocol';

const rampUpHoldDown = () =>
  LoadProfile.fromStages(
    [
      { duration_s: 20, target_rate: 4000 },
      { duration_s: 10, target_rate: 4000 },
      { duration_s: 10, target_rate: 1000 },
    ],
    0,
    (s) => s.target_rate!,
  );

/** How many requests are due in [fromMs, toMs): the count a driver should send in that window. */
function dueIn(profile: LoadProfile, fromMs: number, toMs: number): number {
  let n = 0;
  for (let k = 0; ; k++) {
    const due = profile.dueAt(k);
    if (!(due < toMs)) return n;
    if (due >= fromMs) n++;
  }
}

describe('load profile', () => {
  it('spaces a flat rate evenly, the first request at the start', () => {
    const flat = LoadProfile.constant(100, 1000);
    assert.deepEqual([0, 1, 2, 99].map((k) => flat.dueAt(k)), [0, 10, 20, 990]);
    assert.equal(flat.dueAt(100), 1000, 'request 100 would be due at the end: not part of the plan');
    assert.equal(flat.plannedRequests, 100);
  });

  it('puts request k where the integral of a ramp reaches k', () => {
    const ramp = rampUpHoldDown();
    // 0 → 4000/s over 20 s: the integral is 100·t², so request 1 is due at 0.1 s and 40,000 at 20 s.
    assert.ok(Math.abs(ramp.dueAt(1) - 100) < 1e-6);
    assert.ok(Math.abs(ramp.dueAt(40_000) - 20_000) < 1e-6);
    assert.ok(Math.abs(ramp.dueAt(80_000) - 30_000) < 1e-6);
    assert.equal(ramp.plannedRequests, 40_000 + 40_000 + 25_000);
    assert.equal(dueIn(ramp, 0, ramp.endMs), ramp.plannedRequests, 'the requests due before the end are the plan');
    // Each second of the ramp carries the rate of its middle: 100·(2t + 1) requests in second t.
    for (const second of [0, 5, 19]) assert.equal(dueIn(ramp, second * 1000, (second + 1) * 1000), 100 * (2 * second + 1), `second ${second}`);
    // The step down ramps 4000 → 1000 over 10 s: its first second averages 3850/s.
    assert.equal(dueIn(ramp, 30_000, 31_000), 3850);
  });

  it('names the phase of each moment', () => {
    const ramp = rampUpHoldDown();
    assert.deepEqual([0, 19_999, 20_000, 35_000].map((ms) => ramp.phaseAt(ms)), ['stage 1', 'stage 1', 'stage 2', 'stage 3']);
    assert.deepEqual(ramp.phases, ['stage 1', 'stage 2', 'stage 3']);
  });

  it('holds the plan while paused and shifts the rest by the time paused', () => {
    const ramp = rampUpHoldDown();
    const dueBefore = ramp.cumulativeAt(5000);
    const paused = ramp.apply({ action: 'pause', phase: 'pause 1' }, 5000);
    assert.equal(paused.dueAt(Math.ceil(dueBefore) + 1), Infinity, 'nothing is due while paused');
    assert.equal(paused.endMs, Infinity);
    const resumed = paused.apply({ action: 'resume' }, 8000);
    assert.equal(resumed.endMs, 43_000);
    assert.equal(resumed.plannedMs, 40_000, 'the pause is not part of the planned length');
    const k = Math.ceil(dueBefore) + 10;
    assert.ok(Math.abs(resumed.dueAt(k) - 3000 - ramp.dueAt(k)) < 1e-6, 'request k comes 3 s later than planned');
    assert.equal(resumed.phaseAt(6000), 'pause 1');
  });

  it('the planned average of a phase is over the plan\'s own time for it: a ramp its mean, a pause 0, a running phase so far', () => {
    const resumed = rampUpHoldDown().apply({ action: 'pause', phase: 'pause 1' }, 5000).apply({ action: 'resume' }, 8000);
    assert.equal(resumed.phaseAverage('pause 1', 60_000), 0);
    const stage2 = rampUpHoldDown().phaseAverage('stage 2', 60_000)!;
    assert.ok(Math.abs(stage2 - rampUpHoldDown().valueAt(25_000)) < 1e-9, `a plateau's average is its value (${stage2})`);
    const ramp = rampUpHoldDown();
    assert.ok(Math.abs(ramp.phaseAverage('stage 1', 60_000)! - ramp.valueAt(20_000) / 2) < 1e-9, 'a ramp from 0 averages half its top');
    assert.ok(Math.abs(ramp.phaseAverage('stage 1', 10_000)! - ramp.valueAt(10_000) / 2) < 1e-9, 'so far: the first half of the ramp');
    assert.equal(ramp.phaseAverage('set 1', 60_000), null, 'a phase the plan has not given time');
  });

  it('a request due exactly as a pause begins waits for the resume', () => {
    // 100/s: request 50 is due at 500 ms, where the pause begins.
    const paused = LoadProfile.constant(100, 1000).apply({ action: 'pause', phase: 'pause 1' }, 500);
    assert.equal(paused.dueAt(49), 490);
    assert.equal(paused.dueAt(50), Infinity);
    const resumed = paused.apply({ action: 'resume' }, 800);
    assert.equal(resumed.dueAt(50), 800);
    assert.equal(resumed.phaseAt(resumed.dueAt(50)), 'main');
  });

  it('holds a set value until the plan ends', () => {
    const set = rampUpHoldDown().apply({ action: 'set', value: 500, phase: 'set 1' }, 30_000);
    assert.equal(set.endMs, 40_000);
    assert.equal(set.valueAt(39_000), 500);
    assert.equal(dueIn(set, 31_000, 32_000), 500);
    assert.deepEqual(set.phases, ['stage 1', 'stage 2', 'set 1']);
  });

  it('a set while paused changes what resumes', () => {
    const profile = LoadProfile.constant(100, 10_000).apply({ action: 'pause', phase: 'pause 1' }, 2000).apply({ action: 'set', value: 50, phase: 'set 1' }, 3000).apply({ action: 'resume' }, 4000);
    assert.equal(profile.valueAt(5000), 50);
    assert.equal(profile.valueAt(3500), 0);
  });

  it('splits a whole number so that the parts add up', () => {
    for (const total of [0, 1, 7, 64, 65]) {
      const parts = [0, 1, 2].map((i) => splitWhole(total, i, 3));
      assert.equal(parts.reduce((a, b) => a + b, 0), total);
      assert.ok(Math.max(...parts) - Math.min(...parts) <= 1);
    }
  });
});

describe('wire protocol: load over time', () => {
  it('reads stages as totals and their sum as the duration', () => {
    const r = parseTestConfig(JSON.stringify({ test_id: 't', test_type: 'TSUNAMI', test_message_delay: 0, message_count_per_driver: 10, stages: [{ duration_s: 10, target_rate: 100 }, { duration_s: 5, target_rate: 100 }], start_rate: 10 }));
    assert.ok(r.ok);
    assert.equal(r.message.duration_s, 15);
    assert.deepEqual(r.message.stages, [{ duration_s: 10, target_rate: 100 }, { duration_s: 5, target_rate: 100 }]);
  });

  it('refuses a profile it cannot read whole, naming the field', () => {
    const r = parseTestConfig(JSON.stringify({ test_id: 't', test_type: 'AVALANCHE', message_count_per_driver: 10, stages: [{ duration_s: 10, target_rate: 100 }] }));
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /stages\[0\]\.target_concurrency/);
  });

  it('carries a control message and the answers to it', () => {
    const text = encodeControl({ test_id: 't', control_id: 'c1', action: 'set', rate: 3000, phase: 'set 1' });
    const r = parseControl(text);
    assert.ok(r.ok);
    assert.deepEqual({ ...r.message, orchestrator_names: undefined }, { test_id: 't', control_id: 'c1', action: 'set', rate: 3000, concurrency: undefined, phase: 'set 1', orchestrator: undefined, orchestrator_names: undefined });
    assert.equal(parseControl(JSON.stringify({ test_id: 't', control_id: 'c2', action: 'set' })).ok, false, 'a set says what to set');
    assert.equal(parseControl(JSON.stringify({ test_id: 't', control_id: 'c3', action: 'faster' })).ok, false);
    const report = parseMetrics(JSON.stringify({ node_id: 'd1', test_id: 't', report_id: 'r', requests_sent: 5, controls: { c1: { applied_at: 1_700_000_000_000 }, c2: { refused: 'the test has ended here' } }, phases: [{ phase: 'stage 1', started_at: 1_700_000_000_000, requests_sent: 5, responses: 5, errors: {}, settled: true }] }));
    assert.ok(report.ok);
    assert.deepEqual(report.message.controls, { c1: { applied_at: 1_700_000_000_000 }, c2: { refused: 'the test has ended here' } });
    assert.equal(report.message.phases?.[0].settled, true);
  });
});
