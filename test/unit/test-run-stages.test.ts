import assert from 'node:assert/strict';
import { toTestConfig, type LoadTestDefinition } from '../../orchestrator/loadtest-definition';
import { MetricsStore } from '../../orchestrator/metrics-store';
import type { StageStats, TestResult, TimePoint } from '../../orchestrator/result-model';
import { TestRun } from '../../orchestrator/test-run';
import { createLatencyHistogram, encodeHistogram } from '../../protocol/latency-histogram';
import type { MetricsMessage, PhaseCounts } from '../../protocol/wire-protocol';
import { FakeClock } from '../support/fake-clock';
import { tempDir } from '../support/temp-dir';

const TARGET = 'http://127.0.0.1:1/ping';

function histogram(ms: number, count: number): string {
  const h = createLatencyHistogram();
  h.recordValueWithCount(ms * 1000, count);
  return encodeHistogram(h);
}

describe('a test run by duration or stages (fake clock)', () => {
  let clock: FakeClock;
  let run: TestRun;
  let seq: number;
  const ended: { result?: TestResult } = {};
  const points: TimePoint[] = [];
  const settled: StageStats[] = [];

  const start = (definition: LoadTestDefinition, participants = ['d1', 'd2']) => {
    const store = new MetricsStore(tempDir('stages-store'));
    const config = toTestConfig(definition, 't1', { id: 'orch', names: ['orch'] }, participants);
    store.saveTest({ test_id: 't1', created_at: clock.now(), definition, config, participants });
    run = new TestRun({ definition, config, participants, store, clock });
    run.on('end', (r) => (ended.result = r));
    run.on('update', (_s, p) => points.push(p));
    run.on('phase_settled', (s) => settled.push(s));
    run.markTriggered();
    return config;
  };

  const report = (node: string, fields: Partial<MetricsMessage>) => {
    run.onReport({ node_id: node, test_id: 't1', report_id: `t1:${node}:${++seq}`, metrics: { mean_latency: 5, median_latency: 5, min_latency: 1, max_latency: 9 }, errors: {}, ...fields }, clock.now());
  };

  beforeEach(() => {
    clock = new FakeClock();
    seq = 0;
    ended.result = undefined;
    points.length = 0;
    settled.length = 0;
  });
  afterEach(() => run.release());

  describe('stages', () => {
    // 0 → 100/s over 10 s, then 100/s for 10 s, over two drivers: 1,500 requests, 750 each.
    const definition: LoadTestDefinition = {
      test_type: 'TSUNAMI',
      target: TARGET,
      stages: [
        { duration_s: 10, target_rate: 100 },
        { duration_s: 10, target_rate: 100, thresholds: { p99_latency_ms: 50 } },
      ],
    };
    const phases = (t0: number, settledNow: boolean, p99Ms = 5): PhaseCounts[] => [
      { phase: 'stage 1', started_at: t0, ended_at: t0 + 10_000, requests_sent: 250, responses: 250, errors: {}, histogram: histogram(5, 250), settled: true },
      { phase: 'stage 2', started_at: t0 + 10_000, ended_at: settledNow ? t0 + 20_000 : undefined, requests_sent: 500, responses: 500, errors: {}, histogram: histogram(p99Ms, 500), settled: settledNow },
    ];

    it('completes when every final report covers the planned duration, with a figure per stage', () => {
      const config = start(definition);
      assert.equal(config.message_count_per_driver, 750);
      assert.equal(run.plannedRequests, 1500);
      const t0 = clock.now();
      clock.advance(20_000);
      for (const d of ['d1', 'd2']) report(d, { test_status: 'running', requests_sent: 750, responses: 750, elapsed_ms: 20_000, first_send_at: t0, send_window_ms: 19_990, phases: phases(t0, false) });
      assert.deepEqual(settled.map((s) => s.phase), ['stage 1'], 'stage 1 settled on both drivers');
      const live = run.snapshot();
      assert.equal(live.planned_s, 20);
      assert.equal(live.stages?.length, 2);
      assert.equal(live.stages?.[1].settled, false);
      clock.advance(1000);
      for (const d of ['d1', 'd2']) report(d, { test_status: 'complete', requests_sent: 750, responses: 750, elapsed_ms: 20_000, first_send_at: t0, send_window_ms: 19_990, phases: phases(t0, true) });
      const result = ended.result!;
      assert.equal(result.status, 'complete', result.verdict.reason);
      assert.equal(result.verdict.passed, true, result.verdict.reason);
      assert.match(result.verdict.reason, /^PASSED: 1,500 of 1,500 requests/);
      const [one, two] = result.stages!;
      assert.equal(one.phase, 'stage 1');
      assert.equal(one.planned_rate, 50, 'the ramp 0 → 100/s averages 50/s');
      assert.equal(one.achieved_rate, 50);
      assert.equal(two.planned_rate, 100);
      assert.equal(two.requests_sent, 1000);
      assert.deepEqual(settled.map((s) => s.phase), ['stage 1', 'stage 2']);
      assert.ok(result.thresholds.checks.some((c) => c.stage === 'stage 2' && c.passed && c.text.startsWith('stage 2: p99 latency')));
    });

    it('a stage that fails its own thresholds fails the verdict, naming the stage', () => {
      start(definition);
      const t0 = clock.now();
      clock.advance(21_000);
      for (const d of ['d1', 'd2']) report(d, { test_status: 'complete', requests_sent: 750, responses: 750, elapsed_ms: 20_000, first_send_at: t0, send_window_ms: 19_990, phases: phases(t0, true, 80) });
      assert.equal(ended.result?.status, 'complete');
      assert.equal(ended.result.verdict.passed, false);
      assert.match(ended.result.verdict.reason, /^FAILED: stage 2: p99 latency 80(\.\d+)? ms <= 50 ms/);
    });

    it('the time series carries the planned total and the phase of each second', () => {
      start(definition);
      const t0 = clock.now();
      clock.advance(5000);
      for (const d of ['d1', 'd2']) report(d, { test_status: 'running', requests_sent: 60, responses: 60, elapsed_ms: 5000, first_send_at: t0, send_window_ms: 5000 });
      clock.advance(1500);
      const point = points.at(-1)!;
      assert.equal(point.phase, 'stage 1');
      assert.ok(point.planned! > 40 && point.planned! < 70, `planned ${point.planned} on the ramp`);
    });
  });

  describe('duration', () => {
    it('a driver whose send window falls short of the duration makes the test incomplete, and the tolerance is said', () => {
      start({ test_type: 'TSUNAMI', test_message_delay: 0.01, duration_s: 10, target: TARGET });
      const t0 = clock.now();
      clock.advance(10_500);
      report('d1', { test_status: 'complete', requests_sent: 1000, responses: 1000, elapsed_ms: 10_000, first_send_at: t0, send_window_ms: 9990 });
      report('d2', { test_status: 'complete', requests_sent: 600, responses: 600, elapsed_ms: 6000, first_send_at: t0, send_window_ms: 6000 });
      const result = ended.result!;
      assert.equal(result.status, 'incomplete');
      assert.equal(result.ending.length, 1);
      assert.equal(result.ending[0].node_id, 'd2');
      assert.equal(result.ending[0].reason, 'its send window of 6 s falls short of the planned 10 s (tolerance 1 s)');
      assert.match(result.verdict.reason, /^FAILED: incomplete.*d2 .*tolerance 1 s/);
    });

    it('a driver that speaks only the spec (no send window) is checked against the count a flat TSUNAMI test by duration was sent as', () => {
      start({ test_type: 'TSUNAMI', test_message_delay: 0.01, duration_s: 10, target: TARGET }, ['d1', 'd2']);
      clock.advance(10_500);
      report('d1', { test_status: 'complete', requests_sent: 1000, responses: 1000, elapsed_ms: 10_000 });
      report('d2', { test_status: 'complete', requests_sent: 900, responses: 900, elapsed_ms: 9000 });
      assert.equal(ended.result?.status, 'incomplete');
      assert.deepEqual(ended.result.ending.map((e) => [e.node_id, e.reason]), [['d2', 'its final report counts 900 of 1,000 requests']]);
    });

    it('time paused does not count against the send window', () => {
      start({ test_type: 'AVALANCHE', duration_s: 10, target: TARGET }, ['d1']);
      const t0 = clock.now();
      clock.advance(15_000);
      report('d1', { test_status: 'complete', requests_sent: 5000, responses: 5000, elapsed_ms: 14_000, first_send_at: t0, send_window_ms: 14_500, paused_ms: 5000 });
      assert.equal(ended.result?.status, 'complete', ended.result?.verdict.reason);
      assert.match(ended.result.verdict.reason, /^PASSED: 5,000 requests in a planned 10 s/);
    });

    it('a closed model by duration times out at its length, the request timeout and the grace', () => {
      start({ test_type: 'AVALANCHE', duration_s: 10, target: { url: TARGET, timeout_ms: 1000 } }, ['d1']);
      assert.equal(run.deadlineAt! - run.triggeredAt!, 10_000 + 1000 + 15_000);
    });
  });

  describe('live control bookkeeping', () => {
    it('a change is logged at once, its refusal as a whole marks it, and a pause moves the deadline', () => {
      start({ test_type: 'TSUNAMI', test_message_delay: 0.01, duration_s: 10, target: TARGET });
      const deadline = run.deadlineAt!;
      clock.advance(2000);
      const { message, entry } = run.prepareControl({ action: 'pause' }, 'REST');
      run.commitControl(entry);
      assert.equal(run.paused, true);
      assert.equal(run.snapshot().control_log?.[0].text, 'paused at 12:00:02 UTC by REST');
      clock.advance(3000);
      assert.ok(run.deadlineAt! >= deadline + 2800, 'paused time moves the deadline');
      report('d1', { test_status: 'running', requests_sent: 200, responses: 200, elapsed_ms: 2000, controls: { [message.control_id]: { applied_at: clock.now() } } });
      report('d2', { test_status: 'running', requests_sent: 200, responses: 200, elapsed_ms: 2000, controls: { [message.control_id]: { refused: 'paused already' } } });
      const [logged] = run.snapshot().control_log!;
      assert.equal(logged.refused, 'd2: paused already');
      assert.equal(run.paused, false);
    });

    it('a test whose rate was set live and then stopped counts what it sent against the plan as changed', () => {
      start({ test_type: 'TSUNAMI', stages: [{ duration_s: 10, target_rate: 100 }], start_rate: 100, target: TARGET });
      clock.advance(1000);
      const { message, entry } = run.prepareControl({ action: 'set', rate: 400 }, 'the capacity search');
      run.commitControl(entry);
      const applied = { controls: { [message.control_id]: { applied_at: clock.now() } } };
      report('d1', { test_status: 'running', requests_sent: 50, responses: 50, elapsed_ms: 1000, ...applied });
      report('d2', { test_status: 'running', requests_sent: 50, responses: 50, elapsed_ms: 1000, ...applied });
      clock.advance(9000);
      run.markStopRequested('the capacity search, at its end');
      report('d1', { test_status: 'complete', stopped: true, requests_sent: 1850, responses: 1850, elapsed_ms: 10_000 });
      report('d2', { test_status: 'complete', stopped: true, requests_sent: 1850, responses: 1850, elapsed_ms: 10_000 });
      assert.equal(ended.result?.status, 'stopped');
      // 1 s at 100/s, then 9 s at 400/s: 3,700 planned, not the 1,000 of the stage as written.
      assert.equal(ended.result.verdict.reason, 'FAILED: stopped by the capacity search, at its end after 3,700 of 3,700 requests');
    });

    it('the planned requests follow a set of the rate; a pause moves the plan and keeps its count', () => {
      // 100/s per driver for 10 s over two drivers: 2,000 requests.
      start({ test_type: 'TSUNAMI', test_message_delay: 0.01, duration_s: 10, target: TARGET });
      assert.equal(run.snapshot().planned_requests, 2000);
      const change = (request: Parameters<TestRun['prepareControl']>[0]) => run.commitControl(run.prepareControl(request, 'dashboard').entry);
      clock.advance(2000);
      change({ action: 'pause' });
      assert.equal(run.snapshot().planned_requests, 2000, 'while paused');
      clock.advance(3000);
      change({ action: 'resume' });
      assert.equal(run.snapshot().planned_requests, 2000, 'after the pause');
      // 4 s of the plan went by at 200/s (800 requests); its other 6 s at 100/s make 600 more.
      clock.advance(2000);
      change({ action: 'set', rate: 100 });
      assert.equal(run.snapshot().planned_requests, 1400);
      clock.advance(8000);
      for (const d of ['d1', 'd2']) report(d, { test_status: 'complete', requests_sent: 700, responses: 700, elapsed_ms: 13_000, first_send_at: run.triggeredAt, send_window_ms: 12_990, paused_ms: 3000 });
      assert.match(ended.result!.verdict.reason, /^PASSED: 1,400 of 1,400 requests/);
    });
  });
});
