import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetricsStore } from '../../orchestrator/metrics-store';
import type { TestResult } from '../../orchestrator/result-model';
import { TestRun } from '../../orchestrator/test-run';
import type { BusHealth } from '../../protocol/message-bus';
import type { MetricsMessage, TestConfigMessage } from '../../protocol/wire-protocol';
import { FakeClock } from '../support/fake-clock';
import { tempDir } from '../support/temp-dir';

// TSUNAMI, 100 requests every 10 ms per driver: a 1 s plan, so a 2 + 10 + 15 = 27 s deadline.
const CONFIG: TestConfigMessage = { test_id: 't1', test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 100, target: { url: 'http://127.0.0.1:1/', method: 'GET', timeout_ms: 10_000 } };

interface ReportFields {
  sent?: number;
  errors?: number;
  status?: 'running' | 'complete';
  elapsedMs?: number;
  stopped?: boolean;
  id?: string;
}

describe('a test run (state machine, on a fake clock)', () => {
  let clock: FakeClock;
  let health: BusHealth;
  let run: TestRun;
  let seq: number;
  let updates: number;
  /** The run's result once it ended (a holder, so that the compiler does not narrow it). */
  const ended: { result?: TestResult } = {};

  let storeDir: string;
  const start = (participants = ['d1', 'd2'], config = CONFIG, definitionExtra = {}, extra: { maxUnheardMs?: number } = {}) => {
    storeDir = tempDir('run-store');
    const store = new MetricsStore(storeDir);
    const definition = { test_type: config.test_type, message_count_per_driver: config.message_count_per_driver, test_message_delay: config.test_message_delay, target: 'http://127.0.0.1:1/', ...definitionExtra };
    store.saveTest({ test_id: config.test_id, created_at: clock.now(), definition, config, participants });
    run = new TestRun({
      definition,
      config,
      participants,
      store,
      clock,
      observation: () => health,
      ...extra,
    });
    run.on('update', () => updates++);
    run.on('end', (r) => (ended.result = r));
    run.markTriggered();
  };
  const report = (node: string, f: ReportFields = {}): void => {
    const sent = f.sent ?? 100;
    const errors = f.errors ?? 0;
    const message: MetricsMessage = {
      node_id: node,
      test_id: 't1',
      report_id: f.id ?? `t1:${node}:${++seq}`,
      metrics: { mean_latency: 5, median_latency: 5, min_latency: 1, max_latency: 9 },
      test_status: f.status ?? 'complete',
      requests_sent: sent,
      responses: sent - errors,
      errors: errors ? { http_5xx: errors } : {},
      elapsed_ms: f.elapsedMs ?? 1000,
      stopped: f.stopped,
    };
    run.onReport(message, clock.now());
  };

  beforeEach(() => {
    clock = new FakeClock();
    health = { reachable: true, since: 0 };
    seq = 0;
    updates = 0;
    ended.result = undefined;
  });
  afterEach(() => run.release());

  describe('a verdict never lies', () => {
    it('is complete and passes when every final report arrives with the planned count', () => {
      start();
      clock.advance(1000);
      report('d1');
      report('d2');
      assert.equal(ended.result?.status, 'complete');
      assert.equal(ended.result.verdict.passed, true);
      assert.match(ended.result.verdict.reason, /^PASSED: 200 of 200 requests, error rate 0% within the default limit of 1%/);
      assert.deepEqual(ended.result.ending, []);
    });

    it('is incomplete when a final report counts fewer requests than the plan', () => {
      start();
      report('d1');
      report('d2', { sent: 60 });
      assert.equal(ended.result?.status, 'incomplete');
      assert.equal(ended.result.verdict.passed, false);
      assert.match(ended.result.verdict.reason, /d2 .*60 of 100 requests/);
    });

    it('a driver lost and not back within the grace ends the test incomplete, naming it', () => {
      start();
      report('d1');
      report('d2', { status: 'running', sent: 40, elapsedMs: 400 });
      run.onDriverLost('d2', 'no heartbeat for 3.0 s');
      clock.advance(14_000);
      assert.equal(run.status, 'running', 'a lost driver may come back within its grace');
      clock.advance(2000);
      assert.equal(ended.result?.status, 'incomplete');
      assert.equal(ended.result.verdict.passed, false);
      assert.match(ended.result.verdict.reason, /140 of 200 requests reported: d2 lost at .* \(no heartbeat for 3.0 s; not back within 15 s\)/);
    });

    it('a lost driver that comes back and delivers its final report completes the test', () => {
      start();
      report('d1');
      report('d2', { status: 'running', sent: 40, elapsedMs: 400 });
      run.onDriverLost('d2', 'no heartbeat for 3.0 s');
      clock.advance(8000);
      run.onDriverAlive('d2');
      report('d2', { elapsedMs: 1000 });
      assert.equal(ended.result?.status, 'complete');
    });

    it('a driver that registers again during the test (restarted) ends its part at once', () => {
      start();
      report('d1');
      clock.advance(500);
      run.onDriverRestarted('d2', clock.now(), 'it registered again');
      assert.equal(ended.result?.status, 'incomplete');
      assert.equal(ended.result.ending[0].state, 'restarted');
    });

    it('a driver that heartbeats idle after running, with no final report, has left', () => {
      start();
      report('d1');
      report('d2', { status: 'running', sent: 50, elapsedMs: 500 });
      run.onDriverHeartbeat('d2', 'idle', undefined, false);
      clock.advance(2000);
      assert.equal(run.status, 'running', 'the final report may still be on its way');
      clock.advance(1500);
      assert.equal(ended.result?.status, 'incomplete');
      assert.equal(ended.result.ending[0].state, 'left');
    });

    it('a driver that says goodbye mid-test and whose final report never comes has left: it shut down', () => {
      start();
      report('d1');
      report('d2', { status: 'running', sent: 50, elapsedMs: 500 });
      run.onDriverHeartbeat('d2', 'idle', undefined, true);
      clock.advance(3500);
      assert.equal(ended.result?.status, 'incomplete');
      assert.match(ended.result.verdict.reason, /d2 left .*\(it shut down without a final report reaching the orchestrator\)/);
    });

    it('a driver found to be two agents under one node_id is never counted, even when final reports come', () => {
      start();
      report('d1');
      report('d2', { status: 'running', sent: 50, elapsedMs: 500 });
      run.onDriverDuplicate('d2', 'two agents run as d2 (on 10.0.0.1 and 10.0.0.2); stop one, or give each its own --id');
      assert.equal(ended.result?.status, 'incomplete');
      assert.equal(ended.result.verdict.passed, false);
      assert.equal(ended.result.ending[0].state, 'duplicate');
      assert.match(ended.result.verdict.reason, /two agents run as d2 \(on 10\.0\.0\.1 and 10\.0\.0\.2\).*cannot be counted/);
    });

    it('a duplicate found while others run keeps its part uncounted when its final reports arrive', () => {
      start();
      run.onDriverDuplicate('d2', 'two agents run as d2 (both on 10.0.0.1); stop one, or give each its own --id');
      report('d2');
      report('d2');
      report('d1');
      assert.equal(ended.result?.status, 'incomplete');
      assert.equal(ended.result.per_driver.find((d) => d.node_id === 'd2')!.state, 'duplicate');
    });

    it('an idle heartbeat that overtakes the final report does not end the part', () => {
      start();
      report('d1');
      report('d2', { status: 'running', sent: 50, elapsedMs: 500 });
      run.onDriverHeartbeat('d2', 'idle', undefined, false);
      clock.advance(1000);
      report('d2');
      assert.equal(ended.result?.status, 'complete');
    });

    it('a driver still heartbeating another test after the start grace has left this one', () => {
      start();
      report('d1');
      run.onDriverHeartbeat('d2', 'running', 'other-test', false);
      clock.advance(4000);
      run.onDriverHeartbeat('d2', 'running', 'other-test', false);
      assert.equal(run.status, 'running', 'the heartbeat may have been sent before the trigger reached it');
      clock.advance(2000);
      run.onDriverHeartbeat('d2', 'running', 'other-test', false);
      assert.equal(ended.result?.status, 'incomplete');
      assert.match(ended.result.verdict.reason, /running another test, other-test/);
    });

    it('a heartbeat naming the previous test, read after the trigger, does not end the part', () => {
      start();
      run.onDriverHeartbeat('d2', 'running', 'previous-test', false);
      clock.advance(300);
      run.onDriverHeartbeat('d2', 'running', 't1', false);
      report('d1');
      report('d2');
      assert.equal(ended.result?.status, 'complete');
      assert.equal(ended.result.verdict.passed, true, ended.result.verdict.reason);
    });

    it('a driver that took this test and then heartbeats another is awaited for its final report, then has left', () => {
      start();
      report('d1');
      report('d2', { status: 'running', sent: 50, elapsedMs: 500 });
      run.onDriverHeartbeat('d2', 'running', 'next-test', false);
      clock.advance(2000);
      assert.equal(run.status, 'running', 'its final report for this test is in Kafka, on its way');
      clock.advance(1500);
      assert.equal(ended.result?.status, 'incomplete');
      assert.match(ended.result.verdict.reason, /went on to another test, next-test, without a final report/);
    });

    it('a driver whose agent was shut down mid-test (a stopped final report nobody asked for) has left', () => {
      start();
      report('d1');
      report('d2', { sent: 30, stopped: true });
      assert.equal(ended.result?.status, 'incomplete');
      assert.equal(ended.result.ending[0].state, 'left');
    });

    it('a test stopped by a person ends stopped and does not pass', () => {
      start();
      run.markStopRequested('SIGINT');
      report('d1', { sent: 30, stopped: true });
      report('d2', { sent: 31, stopped: true });
      assert.equal(ended.result?.status, 'stopped');
      assert.equal(ended.result.verdict.passed, false);
      assert.match(ended.result.verdict.reason, /stopped by SIGINT after 61 of 200 requests/);
    });

    it('a complete test in which every request failed never passes', () => {
      start();
      report('d1', { errors: 100 });
      report('d2', { errors: 100 });
      assert.equal(ended.result?.status, 'complete');
      assert.equal(ended.result.verdict.passed, false);
      assert.match(ended.result.verdict.reason, /every one of 200 requests failed/);
    });

    it('with no thresholds, the default error-rate limit decides, and says so', () => {
      start();
      report('d1', { errors: 2 });
      report('d2', { errors: 1 });
      assert.equal(ended.result?.verdict.passed, false);
      assert.match(ended.result.verdict.reason, /error rate 1.5% <= 1% \(default limit/);
    });

    it('thresholds add to completeness, never replace it', () => {
      start(['d1', 'd2'], CONFIG, { thresholds: { error_rate: 0.5 } });
      report('d1');
      report('d2', { sent: 10 });
      assert.equal(ended.result?.status, 'incomplete');
      assert.equal(ended.result.thresholds.passed, true);
      assert.equal(ended.result.verdict.passed, false);
    });
  });

  describe('every run ends by itself', () => {
    it('a participant that never reports times out at the deadline from the plan, not before', () => {
      start();
      report('d1');
      clock.advance(26_000);
      assert.equal(run.status, 'running');
      clock.advance(1500);
      assert.equal(ended.result?.status, 'incomplete');
      assert.equal(ended.result.ending[0].state, 'timed_out');
      assert.match(ended.result.ending[0].reason, /deadline, 27 s after the trigger/);
    });

    it('a warm-up lengthens the deadline by its own share of the plan', () => {
      // 100 warm-up requests every 10 ms before the 100 measured: 2 × 2 + 10 + 15 = 29 s.
      start(['d1', 'd2'], { ...CONFIG, warm_up_count_per_driver: 100 });
      report('d1');
      clock.advance(28_000);
      assert.equal(run.status, 'running');
      clock.advance(1500);
      assert.match(ended.result!.ending[0].reason, /deadline, 29 s after the trigger/);
    });

    it('without a plan’s bound (AVALANCHE, no cap) a watchdog ends a run that stops reporting', () => {
      start(['d1'], { ...CONFIG, test_type: 'AVALANCHE', test_message_delay: 0 });
      report('d1', { status: 'running', sent: 10, elapsedMs: 1000 });
      clock.advance(59_000);
      assert.equal(run.status, 'running');
      clock.advance(2000);
      assert.equal(ended.result?.status, 'incomplete');
      assert.match(ended.result.ending[0].reason, /no report from any driver for 6\d s/);
    });

    it('a driver of another implementation that reports only at its end is not cut off', () => {
      const long = { ...CONFIG, test_message_delay: 0.5 }; // 50 s plan
      start(['spec'], long);
      clock.advance(49_000);
      const message: MetricsMessage = { node_id: 'spec', test_id: 't1', report_id: 'only', metrics: { mean_latency: 5, median_latency: 5, min_latency: 1, max_latency: 9 }, requests_sent: 100 };
      run.onReport(message, clock.now());
      assert.equal(run.status, 'running');
      clock.advance(11_000);
      assert.equal(ended.result?.status, 'complete', 'done once quiet, with its count equal to the plan');
    });

    it('a driver of another implementation that never gives a request count cannot make the test complete', () => {
      start(['spec']);
      const message: MetricsMessage = { node_id: 'spec', test_id: 't1', report_id: 'only', metrics: { mean_latency: 5, median_latency: 5, min_latency: 1, max_latency: 9 } };
      run.onReport(message, clock.now());
      clock.advance(11_000);
      assert.equal(ended.result?.status, 'incomplete');
      assert.equal(ended.result?.verdict.passed, false);
      assert.match(ended.result!.ending[0].reason, /gave no request count/);
    });

    it('while the orchestrator cannot hear the broker, nothing is judged; queued reports are read first', () => {
      start();
      report('d1', { status: 'running', sent: 10, elapsedMs: 100 });
      report('d2', { status: 'running', sent: 10, elapsedMs: 100 });
      health = { reachable: false, since: clock.now() };
      clock.advance(40_000); // past the deadline, deaf
      assert.equal(run.status, 'running');
      health = { reachable: true, since: clock.now() };
      clock.advance(1000);
      report('d1');
      report('d2');
      assert.equal(ended.result?.status, 'complete');
    });
    it('the deadline and the watchdog do not count the time the broker was not heard', () => {
      start();
      report('d1', { status: 'running', sent: 10, elapsedMs: 100 });
      report('d2', { status: 'running', sent: 10, elapsedMs: 100 });
      health = { reachable: false, since: clock.now() };
      clock.advance(40_000); // past the 27 s deadline, deaf
      health = { reachable: true, since: clock.now() };
      // The agents' own connections come back later than the orchestrator's.
      clock.advance(20_000);
      assert.equal(run.status, 'running', 'the deadline moved on by the 40 s nothing could be heard');
      assert.ok(run.deadlineAt! >= 67_000 + run.triggeredAt!, `deadline ${run.deadlineAt! - run.triggeredAt!} ms after the trigger`);
      report('d1');
      report('d2');
      assert.equal(ended.result?.status, 'complete');

      start(['d1'], { ...CONFIG, test_id: 't1', test_type: 'AVALANCHE', test_message_delay: 0 });
      report('d1', { status: 'running', sent: 10, elapsedMs: 1000 });
      health = { reachable: false, since: clock.now() };
      clock.advance(90_000);
      health = { reachable: true, since: clock.now() };
      clock.advance(10_000);
      assert.equal(run.status, 'running', 'the watchdog counts heard time only');
      clock.advance(55_000);
      assert.equal(run.status, 'incomplete', 'and still ends a run that stays silent while heard');
    });
  });

  describe('a run ends whatever the bus and the store do', () => {
    it('a broker never heard again gives the deadline back only up to a limit, then the run times out saying so', () => {
      start(['d1', 'd2'], CONFIG, {}, { maxUnheardMs: 60_000 });
      report('d1', { status: 'running', sent: 10, elapsedMs: 100 });
      health = { reachable: false, since: clock.now() }; // a consumer that died and never restarts
      clock.advance(27_000 + 59_000);
      assert.equal(run.status, 'running', 'within the 27 s deadline plus the 60 s given back');
      clock.advance(2000);
      assert.equal(ended.result?.status, 'incomplete');
      assert.match(ended.result.ending[0].reason, /deadline, 87 s after the trigger; the orchestrator could not hear the broker for 60 s, the most a test waits for it/);
    });

    it('a store that refuses writes does not stop the run: it ends on time, and its result says what was not kept', () => {
      const errors: string[] = [];
      start(['d1']);
      run.on('output_error', (_output, m) => errors.push(m));
      // A file where the test's folder was: every write into it fails, as a full or broken disk would.
      rmSync(join(storeDir, 'tests', 't1'), { recursive: true });
      writeFileSync(join(storeDir, 'tests', 't1'), 'not a folder');
      report('d1', { status: 'running', sent: 10, elapsedMs: 100 });
      report('d1');
      assert.equal(ended.result?.status, 'complete');
      assert.equal(ended.result.verdict.passed, true);
      assert.equal(errors.length, 1, 'said once');
      assert.match(errors[0], /^could not save a report: /);
      assert.ok(ended.result.warnings.some((w) => /^store: could not save a report: .*the stored copy of this test is not/.test(w)), ended.result.warnings.join('\n'));
    });
  });

  describe('reports', () => {
    it('report ids are a driver’s own: two drivers numbering theirs 1, 2, 3 are both counted', () => {
      start();
      for (const id of ['1', '2']) {
        report('d1', { status: 'running', sent: Number(id) * 10, elapsedMs: Number(id) * 100, id });
        report('d2', { status: 'running', sent: Number(id) * 10, elapsedMs: Number(id) * 100, id });
      }
      report('d1', { id: '3' });
      report('d2', { id: '3' });
      assert.equal(ended.result?.status, 'complete');
      assert.equal(ended.result.aggregate.requests_sent, 200);
    });

    it('two agents under one node_id: listed as duplicate, their figures in no total', () => {
      start();
      report('d1');
      report('d2', { status: 'running', sent: 40, errors: 40, elapsedMs: 400 });
      run.onDriverDuplicate('d2', 'two agents run as d2');
      assert.equal(ended.result?.status, 'incomplete');
      const a = ended.result.aggregate;
      assert.deepEqual([a.requests_sent, a.errors, a.latency?.count], [100, 0, 100]);
      assert.equal(ended.result.per_driver.find((d) => d.node_id === 'd2')!.state, 'duplicate');
    });

    it('a finished driver’s rate is its average over its run, the one figure every view shows', () => {
      start(['d1']);
      report('d1', { status: 'running', sent: 90, elapsedMs: 1800 });
      report('d1', { sent: 100, elapsedMs: 2000 }); // the final report, 200 ms after the last periodic one
      const d1 = ended.result!.per_driver[0];
      assert.equal(d1.average_rate, 50);
      assert.equal(d1.rate, 50, 'the last interval: 10 responses in 200 ms');
      assert.equal(ended.result!.throughput, 50);
      assert.equal(ended.result!.run_s, 2);
    });


    it('a report delivered twice counts once, and an older one after a newer is ignored', () => {
      start();
      report('d1', { status: 'running', sent: 50, elapsedMs: 500, id: 'r1' });
      report('d1', { status: 'running', sent: 50, elapsedMs: 500, id: 'r1' });
      report('d1', { status: 'running', sent: 70, elapsedMs: 700, id: 'r2' });
      report('d1', { status: 'running', sent: 60, elapsedMs: 600, id: 'r3' });
      const d1 = run.snapshot().per_driver.find((d) => d.node_id === 'd1')!;
      assert.equal(d1.requests_sent, 70);
      assert.equal(d1.reports, 2);
    });

    it('an update goes out when every running driver has reported in the round, at most every 250 ms', () => {
      start();
      clock.advance(1000);
      report('d1', { status: 'running', sent: 10, elapsedMs: 1000 });
      assert.equal(updates, 0, 'd2 has not reported in this round yet');
      report('d2', { status: 'running', sent: 10, elapsedMs: 1000 });
      assert.equal(updates, 1);
      report('d1', { status: 'running', sent: 11, elapsedMs: 1100 });
      report('d2', { status: 'running', sent: 11, elapsedMs: 1100 });
      assert.equal(updates, 1, 'a second round within 250 ms waits');
    });

    it('a round that completes within 250 ms of the last update goes out once they have passed, not with the next round', () => {
      start();
      clock.advance(1000);
      report('d1', { status: 'running', sent: 10, elapsedMs: 1000 });
      report('d2', { status: 'running', sent: 10, elapsedMs: 1000 });
      assert.equal(updates, 1);
      clock.advance(100); // the next round arrives early, in two parts
      report('d1', { status: 'running', sent: 20, elapsedMs: 1100 });
      report('d2', { status: 'running', sent: 20, elapsedMs: 1100 });
      assert.equal(updates, 1, 'held back by the 250 ms');
      clock.advance(300);
      assert.equal(updates, 2, 'sent once the 250 ms are over, a whole second before the next round');
      assert.equal(run.snapshot().aggregate.requests_sent, 40);
    });

    it('when a driver falls silent, updates still come every 1.5 s', () => {
      start();
      report('d1', { status: 'running', sent: 10, elapsedMs: 100 });
      clock.advance(1600);
      assert.equal(updates, 1);
      clock.advance(1700);
      assert.equal(updates, 2);
    });
  });
});
