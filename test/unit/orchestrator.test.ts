import assert from 'node:assert/strict';
import { createLogger } from '../../common/logger';
import { Orchestrator } from '../../orchestrator/orchestrator';
import { OrchestratorError } from '../../orchestrator/orchestrator-error';
import type { TestResult } from '../../orchestrator/result-model';
import { topicNames } from '../../protocol/wire-protocol';
import { FakeBus } from '../support/fake-bus';
import { FakeClock } from '../support/fake-clock';
import { tempDir } from '../support/temp-dir';

const TOPICS = topicNames('');
const DEFINITION = { test_type: 'AVALANCHE', message_count_per_driver: 100, target: 'http://127.0.0.1:1/ping' };

/** Lets the promises that the last delivery or clock step resolved run. */
const settle = () => new Promise((r) => setImmediate(r));

describe('the orchestrator (fake bus and clock)', () => {
  let clock: FakeClock;
  let bus: FakeBus;
  let storeDir: string;
  let orchestrator: Orchestrator;

  const open = (extra: { settleMs?: number } = {}) =>
    Orchestrator.open(bus, { storeDir, id: 'orch', logger: createLogger('orchestrator', 'error', () => {}), clock, settleMs: 0, ...extra });

  beforeEach(async () => {
    clock = new FakeClock();
    bus = new FakeBus(() => clock.now());
    storeDir = tempDir('orchestrator-store');
    orchestrator = await open();
  });
  afterEach(() => orchestrator.shutdown());

  const driverAppears = async (id: string) => {
    await bus.deliver(TOPICS.register, { node_id: id, node_IP: '10.0.0.1', message_type: 'DRIVER_NODE_REGISTER' });
    await heartbeat(id);
  };
  const heartbeat = (id: string, fields: Record<string, unknown> = {}) => bus.deliver(TOPICS.heartbeat, { node_id: id, heartbeat: 'YES', timestamp: clock.now(), state: 'idle', ...fields });
  const finalReport = (id: string, testId: string, sent = 100, extra: Record<string, unknown> = {}) =>
    bus.deliver(TOPICS.metrics, {
      node_id: id,
      test_id: testId,
      report_id: `${testId}:${id}:final`,
      test_status: 'complete',
      requests_sent: sent,
      responses: sent,
      errors: {},
      status_codes: { '200': sent },
      elapsed_ms: 1000,
      metrics: { mean_latency: 2, median_latency: 2, min_latency: 1, max_latency: 5 },
      ...extra,
    });
  /** Moves the clock second by second, sending the drivers' heartbeats as live agents would. */
  const liveFor = async (ms: number, drivers: string[], state: Record<string, unknown> = {}) => {
    for (let t = 0; t < ms; t += 1000) {
      clock.advance(1000);
      for (const id of drivers) await heartbeat(id, state);
      await settle();
    }
  };

  it('lists the drivers that registered and heartbeat', async () => {
    await driverAppears('d1');
    await driverAppears('d2');
    assert.deepEqual(
      orchestrator.drivers().map((d) => [d.node_id, d.health]),
      [
        ['d1', 'alive'],
        ['d2', 'alive'],
      ],
    );
  });

  it('sends the test_config to the drivers it picked, then the trigger, and ends complete on their final reports', async () => {
    await driverAppears('d1');
    await driverAppears('d2');
    const run = await orchestrator.startTest(DEFINITION);
    const [config] = bus.sent(TOPICS.test_config);
    assert.deepEqual(config.driver_ids, ['d1', 'd2']);
    assert.equal(config.orchestrator, 'orch');
    assert.equal(config.message_count_per_driver, 100);
    assert.deepEqual(bus.sent(TOPICS.trigger).map((t) => [t.test_id, t.trigger]), [[run.testId, 'YES']]);
    assert.deepEqual(orchestrator.drivers().map((d) => [d.activity, d.current_test]), [['running', run.testId], ['running', run.testId]], 'both drivers are busy with it');

    const ended = orchestrator.waitForEnd(run.testId);
    await finalReport('d1', run.testId);
    await finalReport('d2', run.testId);
    const result: TestResult = await ended;
    assert.equal(result.status, 'complete');
    assert.equal(result.aggregate.responses, 200);
    assert.equal(result.verdict.passed, true);
    assert.deepEqual(
      orchestrator.drivers().map((d) => d.activity),
      ['idle', 'idle'],
      'the drivers are free again',
    );
  });

  it('a heartbeat for the last test, read after the next one started, neither busies the driver nor ends its part', async () => {
    await driverAppears('d1');
    const first = await orchestrator.startTest(DEFINITION);
    await heartbeat('d1', { state: 'running', test_id: first.testId });
    await finalReport('d1', first.testId);
    assert.equal((await orchestrator.waitForEnd(first.testId)).status, 'complete');

    const next = await orchestrator.startTest(DEFINITION);
    // Sent by the agent while its final report for the first test was still on its way to Kafka.
    await heartbeat('d1', { state: 'running', test_id: first.testId });
    assert.notEqual(orchestrator.drivers()[0].current_test, first.testId, 'the drivers view does not show it busy with a test that is over');
    await heartbeat('d1', { state: 'running', test_id: next.testId });
    const ended = orchestrator.waitForEnd(next.testId);
    await finalReport('d1', next.testId);
    const result = await ended;
    assert.equal(result.status, 'complete', result.verdict.reason);
    assert.equal(result.verdict.passed, true);

    // Later still, with the first test's run forgotten: the driver is idle, not busy with it.
    await heartbeat('d1', { state: 'running', test_id: first.testId });
    assert.deepEqual(orchestrator.drivers().map((d) => [d.activity, d.current_test]), [['idle', undefined]]);
  });

  it('a new agent process heartbeating under a participant’s id ends its part as restarted, whatever the agent’s clock says', async () => {
    await driverAppears('d1');
    await heartbeat('d1', { instance: 'i1' });
    const run = await orchestrator.startTest(DEFINITION);
    await heartbeat('d1', { instance: 'i1', state: 'running', test_id: run.testId });
    // Its registration carries a timestamp from before the trigger (a clock behind ours): no help.
    await bus.deliver(TOPICS.register, { node_id: 'd1', node_IP: '10.0.0.1', message_type: 'DRIVER_NODE_REGISTER' }, clock.now() - 60_000);
    clock.advance(1000);
    await heartbeat('d1', { instance: 'i2' });
    const result = run.result;
    assert.equal(result?.status, 'incomplete', 'the run ended on that heartbeat');
    assert.match(result.verdict.reason, /d1 restarted at .*a new agent process heartbeats under its id: the agent restarted/);
  });

  it('does not pick a node_id two agents heartbeat under, and says why and what to do', async () => {
    await driverAppears('d1');
    await heartbeat('d1', { instance: 'i1', node_IP: '10.0.0.1' });
    await heartbeat('d1', { instance: 'i2', node_IP: '10.0.0.2' });
    await heartbeat('d1', { instance: 'i1', node_IP: '10.0.0.1' });
    await assert.rejects(
      orchestrator.createTest(DEFINITION),
      (e: OrchestratorError) => e.code === 'conflict' && /needs 1 driver but 0 are available \(1 alive\)\. Not picked: two agents run as d1 \(on 10\.0\.0\.2 and 10\.0\.0\.1\); stop one, or give each its own --id\./.test(e.message),
    );
  });

  it('refuses a definition it cannot run, naming the field', async () => {
    await assert.rejects(
      orchestrator.createTest({ ...DEFINITION, message_count_per_driver: -5 }),
      (e: OrchestratorError) => e.code === 'invalid' && /message_count_per_driver/.test(e.message),
    );
  });

  it('refuses a test that needs more drivers than are alive, with the command that starts one', async () => {
    await driverAppears('d1');
    await assert.rejects(
      orchestrator.createTest({ ...DEFINITION, drivers: 2 }),
      (e: OrchestratorError) => e.code === 'conflict' && /needs 2 drivers but 1 is available[\s\S]*lt-agent --kafka fake:9092 --orchestrator orch/.test(e.message),
    );
    assert.equal(bus.sent(TOPICS.test_config).length, 0, 'nothing was sent');
  });

  it('refuses a second test while one runs, and a second trigger of the same test', async () => {
    await driverAppears('d1');
    const run = await orchestrator.startTest(DEFINITION);
    await assert.rejects(orchestrator.createTest(DEFINITION), (e: OrchestratorError) => e.code === 'conflict' && e.message.includes(run.testId));
    await assert.rejects(orchestrator.triggerTest(run.testId), (e: OrchestratorError) => e.code === 'conflict');
    await assert.rejects(orchestrator.triggerTest('nope'), (e: OrchestratorError) => e.code === 'not_found');
  });

  it('stopTest sends a stop on its own topic, and the stopped final reports end the test stopped, not passed', async () => {
    await driverAppears('d1');
    const run = await orchestrator.startTest(DEFINITION);
    const ended = orchestrator.waitForEnd(run.testId);
    await orchestrator.stopTest(run.testId, 'the test');
    assert.deepEqual(bus.sent(TOPICS.trigger).map((t) => t.trigger), ['YES'], 'the trigger topic carries only the start');
    assert.deepEqual(bus.sent(TOPICS.stop).map((t) => t.test_id), [run.testId], 'the stop goes on a topic of its own');
    await finalReport('d1', run.testId, 40, { stopped: true });
    const result = await ended;
    assert.equal(result.status, 'stopped');
    assert.equal(result.verdict.passed, false);
  });

  it('a driver that falls silent during a test ends it incomplete, naming the driver', async () => {
    await driverAppears('d1');
    await driverAppears('d2');
    const run = await orchestrator.startTest(DEFINITION);
    const ended = orchestrator.waitForEnd(run.testId);
    await finalReport('d1', run.testId);
    // d2 never reports again, nor heartbeats: lost after a few seconds, over after its grace.
    await liveFor(30_000, ['d1']);
    const result = await ended;
    assert.equal(result.status, 'incomplete');
    assert.match(result.verdict.reason, /100 of 200 requests reported: d2 lost/);
  });

  it('waits for the drivers already alive to be heard before picking them', async () => {
    await orchestrator.shutdown();
    orchestrator = await open({ settleMs: 2000 });
    const created = orchestrator.createTest(DEFINITION);
    await driverAppears('d1');
    clock.advance(1000);
    await driverAppears('d2');
    clock.advance(1000);
    const snapshot = await created;
    assert.deepEqual(snapshot.participants, ['d1', 'd2']);
  });

  it('a new orchestrator on the same store resumes a test the previous one left running', async () => {
    await driverAppears('d1');
    const run = await orchestrator.startTest(DEFINITION);
    await orchestrator.shutdown();
    orchestrator = await open();
    const resumed = orchestrator.activeRun();
    assert.equal(resumed?.testId, run.testId);
    const ended = orchestrator.waitForEnd(run.testId);
    await heartbeat('d1', { state: 'running', test_id: run.testId });
    await finalReport('d1', run.testId);
    assert.equal((await ended).status, 'complete');
  });

  describe('outputs that outlive one test (attachOutput)', () => {
    /** An output that keeps what it was fed, by test id. */
    const recorder = () => {
      const seen: { seconds: string[]; ended: string[] } = { seconds: [], ended: [] };
      const output = { name: 'a view', second: (s: { test_id: string }) => void seen.seconds.push(s.test_id), end: (r: TestResult) => void seen.ended.push(r.test_id) };
      return { seen, output };
    };
    const runOneTest = async () => {
      const run = await orchestrator.startTest(DEFINITION);
      const ended = orchestrator.waitForEnd(run.testId);
      await liveFor(2000, ['d1'], { state: 'running', test_id: run.testId });
      await finalReport('d1', run.testId);
      await ended;
      return run.testId;
    };

    it('feeds every run started after it attached, its seconds and its end, until detached', async () => {
      await driverAppears('d1');
      const { seen, output } = recorder();
      const detach = orchestrator.attachOutput(output);
      const first = await runOneTest();
      assert.ok(seen.seconds.length >= 1 && seen.seconds.every((id) => id === first), `seconds of the first test: ${seen.seconds}`);
      assert.deepEqual(seen.ended, [first]);
      const second = await runOneTest();
      assert.deepEqual(seen.ended, [first, second], 'the next test too');
      detach();
      await runOneTest();
      assert.deepEqual(seen.ended, [first, second], 'nothing once detached');
    });

    it('attached while a test runs, receives its next seconds and its end', async () => {
      await driverAppears('d1');
      const run = await orchestrator.startTest(DEFINITION);
      const ended = orchestrator.waitForEnd(run.testId);
      await liveFor(2000, ['d1'], { state: 'running', test_id: run.testId });
      const { seen, output } = recorder();
      orchestrator.attachOutput(output);
      await liveFor(2000, ['d1'], { state: 'running', test_id: run.testId });
      await finalReport('d1', run.testId);
      const result = await ended;
      assert.ok(seen.seconds.length >= 1, 'the seconds after it attached');
      assert.deepEqual(seen.ended, [run.testId]);
      assert.equal(result.warnings.some((w) => w.startsWith('a view')), false, 'a view that did not fail is not in the warnings');
    });

    it('feeds a test resumed by a new orchestrator, and one that throws is named in the result, not the end of the test', async () => {
      await driverAppears('d1');
      const run = await orchestrator.startTest(DEFINITION);
      await orchestrator.shutdown();
      const { seen, output } = recorder();
      orchestrator = await open();
      orchestrator.attachOutput(output);
      orchestrator.attachOutput({ name: 'a broken view', end: () => { throw new Error('the panel is gone'); } });
      const ended = orchestrator.waitForEnd(run.testId);
      await heartbeat('d1', { state: 'running', test_id: run.testId });
      await finalReport('d1', run.testId);
      const result = await ended;
      assert.equal(result.status, 'complete');
      assert.deepEqual(seen.ended, [run.testId]);
      assert.ok(result.warnings.some((w) => w.startsWith('a broken view: ') && w.includes('the panel is gone')), result.warnings.join('\n'));
    });
  });
});
