import assert from 'node:assert/strict';
import { createLogger } from '../../common/logger';
import { Orchestrator } from '../../orchestrator/orchestrator';
import { OrchestratorError } from '../../orchestrator/orchestrator-error';
import { startRestApi } from '../../orchestrator/rest-api/rest-api';
import { controlRequestOf, sendControl } from '../../orchestrator/cli/control-command';
import { UsageError } from '../../common/cli-options';
import { AGENT_FEATURES, topicNames } from '../../protocol/wire-protocol';
import { FakeBus } from '../support/fake-bus';
import { FakeClock } from '../support/fake-clock';
import { tempDir } from '../support/temp-dir';

const TOPICS = topicNames('');
const STAGES = { test_type: 'TSUNAMI', target: 'http://127.0.0.1:1/ping', stages: [{ duration_s: 30, target_rate: 100 }] };

describe('live control through the orchestrator and POST /api/tests/{id}/control', () => {
  let clock: FakeClock;
  let bus: FakeBus;
  let orchestrator: Orchestrator;
  let api: { url: string; close(): Promise<void> };

  beforeEach(async () => {
    clock = new FakeClock();
    bus = new FakeBus(() => clock.now());
    orchestrator = await Orchestrator.open(bus, { storeDir: tempDir('control-store'), id: 'orch', logger: createLogger('orchestrator', 'error', () => {}), clock, settleMs: 0 });
    api = await startRestApi(orchestrator, { host: '127.0.0.1', port: 0 });
  });
  afterEach(async () => {
    await api.close();
    await orchestrator.shutdown();
  });

  /** `features` null: a driver that speaks only the spec and announces none. */
  const driver = async (id: string, features: readonly string[] | null = AGENT_FEATURES) => {
    await bus.deliver(TOPICS.register, { node_id: id, node_IP: '10.0.0.1', message_type: 'DRIVER_NODE_REGISTER', ...(features ? { features } : {}) });
    await bus.deliver(TOPICS.heartbeat, { node_id: id, heartbeat: 'YES', timestamp: clock.now(), state: 'idle', ...(features ? { features } : {}) });
  };
  const post = (id: string, body: unknown) => fetch(`${api.url}/api/tests/${id}/control`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('202 with the control id and phase, and the change goes out on test_control', async () => {
    await driver('d1');
    await driver('d2');
    const run = await orchestrator.startTest(STAGES);
    const response = await post(run.testId, { action: 'set', rate: 3000 });
    assert.equal(response.status, 202);
    const body = (await response.json()) as { control_id: string; phase: string; at: number };
    assert.equal(body.phase, 'set 1');
    assert.equal(body.at, clock.now());
    const [sent] = bus.sent(TOPICS.control);
    assert.deepEqual({ ...sent, orchestrator_names: undefined }, { test_id: run.testId, control_id: body.control_id, action: 'set', rate: 3000, phase: 'set 1', orchestrator: 'orch', orchestrator_names: undefined });
    const log = run.current().control_log!;
    assert.match(log[0].text, /^rate set to 3,000\/s at 12:00:00 UTC by REST$/);
  });

  it('lt-orchestrator control asks the running API and says the phase, or the API’s refusal', async () => {
    await driver('d1');
    const run = await orchestrator.startTest(STAGES);
    const line = await sendControl(run.testId, controlRequestOf('set', { rate: '250' }), { api: api.url });
    assert.match(line, /: set rate 250\/s sent at 12:00:00 UTC as .* \(phase "set 1"\)/);
    await assert.rejects(sendControl(run.testId, controlRequestOf('resume', {}), { api: api.url }), /^Error: HTTP 409: the test is not paused/);
    assert.throws(() => controlRequestOf('set', {}), UsageError);
    assert.throws(() => controlRequestOf('pause', { rate: '3' }), /pause takes no --rate/);
  });

  it('400 for the wrong field of the test type, naming it', async () => {
    await driver('d1');
    const run = await orchestrator.startTest(STAGES);
    const response = await post(run.testId, { action: 'set', concurrency: 8 });
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as { error: string }).error, /^concurrency: a TSUNAMI test/);
    assert.equal((await post(run.testId, { action: 'set', rate: 'fast' })).status, 400);
    assert.equal(bus.sent(TOPICS.control).length, 0);
  });

  it('409 for a second pause, and for a test with a driver that cannot take control', async () => {
    await driver('d1');
    const run = await orchestrator.startTest(STAGES);
    assert.equal((await post(run.testId, { action: 'pause' })).status, 202);
    const twice = await post(run.testId, { action: 'pause' });
    assert.equal(twice.status, 409);
    assert.match(((await twice.json()) as { error: string }).error, /already paused/);
  });

  it('409 when a participant does not announce control; 404 for no such test', async () => {
    await driver('d1', ['duration']);
    const run = await orchestrator.startTest({ test_type: 'TSUNAMI', test_message_delay: 0.01, duration_s: 10, target: 'http://127.0.0.1:1/' });
    const refused = await post(run.testId, { action: 'pause' });
    assert.equal(refused.status, 409);
    assert.match(((await refused.json()) as { error: string }).error, /d1 does not announce 'control'/);
    assert.equal((await post('nope', { action: 'pause' })).status, 404);
  });

  it('a spec-only driver is not picked for stages, and the error says why', async () => {
    await driver('d9', null);
    await assert.rejects(orchestrator.createTest(STAGES), (e) => e instanceof OrchestratorError && e.code === 'conflict' && /Not picked: d9 speaks only the spec; a test with stages needs lt-agent/.test(e.message));
  });

  it('waitForPhaseSettled resolves with the merged figures once every participant settled the phase, or times out', async () => {
    await driver('d1');
    const run = await orchestrator.startTest(STAGES);
    const timedOut = orchestrator.waitForPhaseSettled(run.testId, 'stage 1', 1000);
    clock.advance(1001);
    await assert.rejects(timedOut, (e) => e instanceof OrchestratorError && e.code === 'timeout');
    const waiting = orchestrator.waitForPhaseSettled(run.testId, 'stage 1', 60_000);
    await bus.deliver(TOPICS.metrics, {
      node_id: 'd1',
      test_id: run.testId,
      report_id: 'r1',
      test_status: 'running',
      requests_sent: 10,
      responses: 10,
      errors: {},
      phases: [{ phase: 'stage 1', started_at: clock.now(), ended_at: clock.now() + 1000, requests_sent: 10, responses: 10, errors: {}, settled: true }],
    });
    const stats = await waiting;
    assert.equal(stats.phase, 'stage 1');
    assert.equal(stats.settled, true);
    assert.equal(stats.requests_sent, 10);
    await assert.rejects(orchestrator.waitForPhaseSettled('nope', 'stage 1', 10), (e) => e instanceof OrchestratorError && e.code === 'not_found');
  });
});
