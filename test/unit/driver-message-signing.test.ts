import assert from 'node:assert/strict';
import { DriverAgent } from '../../agents/driver-agent';
import { createLogger } from '../../common/logger';
import { Orchestrator } from '../../orchestrator/orchestrator';
import { DriverMessageVerifier, signDriverMessage, type DriverMessageKind } from '../../protocol/command-signature';
import { topicNames } from '../../protocol/wire-protocol';
import { FakeBus } from '../support/fake-bus';
import { FakeClock } from '../support/fake-clock';
import { tempDir } from '../support/temp-dir';

const TOPICS = topicNames('');
const SECRET = 'a-shared-secret-of-some-length';
const settle = () => new Promise((r) => setImmediate(r));

describe('what drivers send, signed with the shared secret', () => {
  let clock: FakeClock;
  let bus: FakeBus;
  beforeEach(() => {
    clock = new FakeClock();
    bus = new FakeBus(() => clock.now());
  });

  describe('an agent', () => {
    const agent = (secret?: string) =>
      new DriverAgent({ bus, topics: TOPICS, nodeId: 'd1', nodeIp: '10.0.0.1', defaultTarget: 'http://127.0.0.1:1/', secret, logger: createLogger('agent', 'error', () => {}), version: 'test', clock });

    it('with the secret signs its registration and heartbeats, and they verify', async () => {
      const a = agent(SECRET);
      await a.start();
      const verifier = new DriverMessageVerifier(SECRET);
      for (const kind of ['register', 'heartbeat'] as DriverMessageKind[]) {
        const [sent] = bus.published.filter((p) => p.topic === TOPICS[kind]);
        assert.ok(JSON.parse(sent.value).auth, `${kind} carries auth`);
        assert.equal(verifier.check(kind, 'd1', sent.value, clock.now()), undefined, kind);
      }
      await a.shutdown();
    });

    it('without one sends the spec’s messages as before, with no auth', async () => {
      const a = agent();
      await a.start();
      assert.ok(bus.published.every((p) => JSON.parse(p.value).auth === undefined));
      await a.shutdown();
    });
  });

  describe('an orchestrator with the secret', () => {
    let orchestrator: Orchestrator;
    const open = (requireSignatures = false) =>
      Orchestrator.open(bus, { storeDir: tempDir('signing-store'), id: 'orch', logger: createLogger('orchestrator', 'error', () => {}), clock, settleMs: 0, secret: SECRET, requireSignatures });
    afterEach(() => orchestrator?.shutdown());

    const signed = (kind: DriverMessageKind, message: Record<string, unknown>, secret = SECRET) => signDriverMessage(kind, JSON.stringify(message), secret, clock.now());
    const register = (id: string, sign: boolean) => {
      const m = { node_id: id, node_IP: '10.0.0.1', message_type: 'DRIVER_NODE_REGISTER' };
      return bus.deliver(TOPICS.register, sign ? signed('register', m) : m);
    };
    const heartbeat = (id: string, sign: boolean, state?: string) => {
      const m = { node_id: id, heartbeat: 'YES', timestamp: clock.now(), state };
      return bus.deliver(TOPICS.heartbeat, sign ? signed('heartbeat', m) : m);
    };
    const finalReport = (id: string, testId: string, reportId: string) => ({
      node_id: id,
      test_id: testId,
      report_id: reportId,
      test_status: 'complete',
      requests_sent: 10,
      responses: 10,
      errors: {},
      metrics: { mean_latency: 2, median_latency: 2, min_latency: 1, max_latency: 5 },
    });

    it('drops a forged and an unsigned final report in a signing driver’s name, keeps its part running, and counts them in the result; a driver that never signed is heard as before', async () => {
      orchestrator = await open();
      await register('ours', true);
      await heartbeat('ours', true, 'idle');
      await register('theirs', false);
      await heartbeat('theirs', false);
      const run = await orchestrator.startTest({ test_type: 'AVALANCHE', message_count_per_driver: 10, drivers: 2, target: 'http://127.0.0.1:1/ping' });
      await bus.deliver(TOPICS.metrics, signed('metrics', finalReport('ours', run.testId, 'forged'), 'not-the-secret-at-all!'));
      await bus.deliver(TOPICS.metrics, finalReport('ours', run.testId, 'unsigned'));
      await bus.deliver(TOPICS.metrics, finalReport('theirs', run.testId, 'theirs-final'));
      await settle();
      assert.deepEqual(orchestrator.dropped, { unsigned: 1, forged: 1, stale: 0, replayed: 0 });
      assert.deepEqual(run.snapshot().per_driver.map((d) => [d.node_id, d.state]), [['ours', 'waiting'], ['theirs', 'complete']]);
      assert.equal(orchestrator.registry.get('ours')!.activity, 'running');
      await bus.deliver(TOPICS.metrics, signed('metrics', finalReport('ours', run.testId, 'real')));
      const result = await orchestrator.waitForEnd(run.testId);
      assert.equal(result.status, 'complete', result.verdict.reason);
      assert.deepEqual(result.dropped_reports, { ours: 2 });
    });

    it('told to require signatures, never lists a driver that does not sign', async () => {
      orchestrator = await open(true);
      await register('theirs', false);
      await heartbeat('theirs', false);
      await register('ours', true);
      await heartbeat('ours', true, 'idle');
      assert.deepEqual(orchestrator.drivers().map((d) => d.node_id), ['ours']);
      assert.equal(orchestrator.dropped.unsigned, 2);
    });

    it('cannot be told to require signatures without the secret', async () => {
      await assert.rejects(Orchestrator.open(bus, { storeDir: tempDir('signing-store'), logger: createLogger('o', 'error', () => {}), clock, requireSignatures: true }), /needs the shared secret/);
    });
  });
});
