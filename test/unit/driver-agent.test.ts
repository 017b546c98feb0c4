import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DriverAgent } from '../../agents/driver-agent';
import { createLogger } from '../../common/logger';
import { signCommand } from '../../protocol/command-signature';
import { topicNames, type MetricsMessage } from '../../protocol/wire-protocol';
import { FakeBus } from '../support/fake-bus';
import { FakeClock } from '../support/fake-clock';

const TOPICS = topicNames('');

/** Resolves once `check` holds, polling; the real HTTP work of a test happens on real time. */
async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('a driver agent (fake bus and clock, real HTTP target)', () => {
  let server: Server;
  let targetUrl: string;
  /** Responses wait for this many milliseconds (set per test). */
  let answerDelayMs: number;
  let clock: FakeClock;
  let bus: FakeBus;
  let agent: DriverAgent;

  before(async () => {
    server = createServer((_req, res) => setTimeout(() => res.end('ok'), answerDelayMs));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    targetUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ping`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  beforeEach(async () => {
    answerDelayMs = 0;
    clock = new FakeClock();
    bus = new FakeBus(() => clock.now());
    agent = new DriverAgent({
      bus,
      topics: TOPICS,
      nodeId: 'd1',
      nodeIp: '10.0.0.1',
      orchestrator: 'orch',
      defaultTarget: targetUrl,
      logger: createLogger('agent', 'error', () => {}),
      version: 'test',
      clock,
    });
    await agent.start();
  });
  afterEach(async () => {
    await agent.shutdown();
    server.closeAllConnections();
  });

  const config = (testId: string, extra: Record<string, unknown> = {}) =>
    bus.deliver(TOPICS.test_config, { test_id: testId, test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 20, orchestrator: 'orch', target: { url: targetUrl }, ...extra });
  const trigger = (testId: string) => bus.deliver(TOPICS.trigger, { test_id: testId, trigger: 'YES', orchestrator: 'orch' });
  const reports = (testId: string) => bus.sent(TOPICS.metrics).filter((m) => m.test_id === testId);
  const finalReport = (testId: string) => reports(testId).find((m) => m.test_status === 'complete');

  describe('with a shared secret', () => {
    const SECRET = 'a-shared-secret-of-some-length';
    let fenced: DriverAgent;
    beforeEach(async () => {
      await agent.shutdown();
      fenced = new DriverAgent({ bus, topics: TOPICS, nodeId: 'd2', nodeIp: '10.0.0.2', orchestrator: 'orch', defaultTarget: targetUrl, secret: SECRET, logger: createLogger('agent', 'error', () => {}), version: 'test', clock });
      await fenced.start();
    });
    afterEach(() => fenced.shutdown());
    const heartbeats = () => bus.sent(TOPICS.heartbeat).filter((h) => h.node_id === 'd2');
    const configText = (testId: string) => JSON.stringify({ test_id: testId, test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 20, orchestrator: 'orch', target: { url: targetUrl } });
    const triggerText = (testId: string) => JSON.stringify({ test_id: testId, trigger: 'YES', orchestrator: 'orch' });

    it('ignores unsigned commands, and its heartbeat says how many and why', async () => {
      await bus.deliver(TOPICS.test_config, configText('forged'));
      await bus.deliver(TOPICS.trigger, triggerText('forged'));
      await eventually(() => heartbeats().some((h) => h.rejected_commands === 2), 'a heartbeat counting the refusals');
      const beat = heartbeats().at(-1)!;
      assert.equal(beat.signed_commands, true);
      assert.equal(beat.last_rejection, 'trigger for forged: unsigned');
      assert.equal(reports('forged').length, 0, 'nothing ran');
    });

    it('runs a test whose commands are signed with the secret', async () => {
      await bus.deliver(TOPICS.test_config, signCommand('test_config', configText('signed'), SECRET, clock.now()));
      await bus.deliver(TOPICS.trigger, signCommand('trigger', triggerText('signed'), SECRET, clock.now()));
      await eventually(() => finalReport('signed') !== undefined, 'the final report');
      assert.equal(finalReport('signed')!.requests_sent, 20);
    });
  });

  it('registers, then heartbeats on its clock', async () => {
    assert.deepEqual(bus.sent(TOPICS.register).map((m) => [m.node_id, m.node_IP, m.message_type]), [['d1', '10.0.0.1', 'DRIVER_NODE_REGISTER']]);
    const before = bus.sent(TOPICS.heartbeat).length;
    for (let second = 1; second <= 3; second++) {
      clock.advance(1000);
      await eventually(() => bus.sent(TOPICS.heartbeat).length >= before + second, `heartbeat ${second}`);
    }
    assert.equal(bus.sent(TOPICS.heartbeat).at(-1)!.state, 'idle');
    const instances = new Set(bus.sent(TOPICS.heartbeat).map((h) => h.instance));
    assert.equal(instances.size, 1, 'one process, one instance');
    assert.match(String([...instances][0]), /^[0-9a-f]{12}$/);
  });

  it('runs a configured and triggered test and sends a final report with every request', async () => {
    await config('t1');
    await trigger('t1');
    await eventually(() => finalReport('t1') !== undefined, 'the final report');
    const final = finalReport('t1')!;
    assert.equal(final.requests_sent, 20);
    assert.equal(final.responses, 20);
    assert.deepEqual(final.status_codes, { '200': 20 });
  });

  it('holds a trigger that arrives before its config, and runs it when the config comes', async () => {
    await trigger('t2');
    clock.advance(29_000);
    await config('t2');
    await eventually(() => finalReport('t2') !== undefined, 'the final report');
    assert.equal(finalReport('t2')!.responses, 20);
  });

  it('drops a held trigger after 30 s: a config arriving later does not start the test', async () => {
    await trigger('t3');
    clock.advance(30_000);
    await config('t3');
    // A config that finds its trigger held starts the test before delivery returns (a running
    // load, or a final report queued); neither happened, so none can come later.
    assert.equal(agent.state, 'idle');
    assert.equal(agent.activity().test, undefined, 'no load was started');
    assert.equal(reports('t3').length, 0);
  });

  it('ignores a second test while busy, and its heartbeat names the test it runs', async () => {
    answerDelayMs = 300;
    await config('busy', { message_count_per_driver: 4, concurrency: 1 });
    await trigger('busy');
    await config('other');
    await trigger('other');
    clock.advance(1000);
    await eventually(() => bus.sent(TOPICS.heartbeat).some((h) => h.state === 'running' && h.test_id === 'busy'), 'a heartbeat naming the running test');
    await eventually(() => finalReport('busy') !== undefined, 'the busy test to end');
    assert.equal(reports('other').length, 0, 'the second test sent nothing');
    assert.equal(finalReport('busy')!.responses, 4);
  });

  it('a stop that overtakes its trigger (another topic) keeps the test from starting: a stopped final report with nothing sent', async () => {
    let requests = 0;
    const count = () => requests++;
    server.on('request', count);
    await config('overtaken');
    await bus.deliver(TOPICS.stop, { test_id: 'overtaken', stop: true, orchestrator: 'orch' });
    await trigger('overtaken');
    // A trigger held for its config, then the stop, then the config: the same.
    await trigger('held');
    await bus.deliver(TOPICS.stop, { test_id: 'held', stop: true, orchestrator: 'orch' });
    await config('held');
    // Only a started load sends requests, and a load is started (or refused) before delivery
    // returns: with none started for either test, no request can reach the target later.
    assert.equal(agent.activity().test, undefined, 'no load was started');
    for (const id of ['overtaken', 'held']) {
      await eventually(() => finalReport(id) !== undefined, `the final report of ${id}`);
      const final = finalReport(id)!;
      assert.equal(final.stopped, true, `${id} is reported stopped`);
      assert.equal(final.requests_sent, 0);
    }
    server.off('request', count);
    assert.equal(requests, 0, 'no request reached the target');
    assert.equal(agent.activity().test, undefined, 'no load was started');
    await eventually(() => agent.state === 'idle', 'the agent to be idle once the final reports are delivered');
  });

  it('sends a warm-up first and apart: the target gets both, the figures only the measured requests, and {seq} numbers on', async () => {
    const paths: string[] = [];
    const note = (req: { url?: string }) => paths.push(req.url!);
    server.on('request', note);
    const origin = new URL(targetUrl).origin;
    await config('warmed', { warm_up_count_per_driver: 10, requests: [{ name: 'item', weight: 1, url: `${origin}/items/{seq}`, method: 'GET', timeout_ms: 5000 }] });
    await trigger('warmed');
    await eventually(() => finalReport('warmed') !== undefined, 'the final report');
    server.off('request', note);
    const final = finalReport('warmed') as unknown as MetricsMessage;
    assert.equal(final.requests_sent, 20);
    assert.equal(final.responses, 20);
    assert.equal(final.per_request!.item.requests_sent, 20);
    assert.deepEqual(final.warm_up, { requests_sent: 10, responses: 10, errors: 0, done: true });
    assert.deepEqual(paths.sort((a, b) => Number(a.split('/')[2]) - Number(b.split('/')[2])), Array.from({ length: 30 }, (_, i) => `/items/${i}`), 'every number once, the warm-up’s first');
  });

  it('stopped during its warm-up, it sends no measured request: a stopped final report with nothing sent', async () => {
    answerDelayMs = 100;
    let requests = 0;
    const count = () => requests++;
    server.on('request', count);
    await config('cold', { warm_up_count_per_driver: 50, concurrency: 1 });
    await trigger('cold');
    await eventually(() => requests >= 2, 'the warm-up under way');
    await bus.deliver(TOPICS.stop, { test_id: 'cold', stop: true, orchestrator: 'orch' });
    await eventually(() => finalReport('cold') !== undefined, 'the final report');
    server.off('request', count);
    const final = finalReport('cold') as unknown as MetricsMessage;
    assert.equal(final.stopped, true);
    assert.equal(final.requests_sent, 0);
    assert.equal(final.warm_up!.done, true);
    assert.ok(final.warm_up!.requests_sent < 50, `the warm-up ended early: ${final.warm_up!.requests_sent} sent`);
    assert.equal(requests, final.warm_up!.requests_sent, 'the target saw only the warm-up');
  });

  it('refuses a config it cannot run with a final report that says why', async () => {
    await config('bad', { target: { url: 'ftp://127.0.0.1/file' } });
    await trigger('bad');
    await eventually(() => finalReport('bad') !== undefined, 'the refusal');
    const refusal = finalReport('bad')!;
    assert.deepEqual(refusal.errors, { invalid_config: 1 });
    assert.equal(refusal.requests_sent, 0);
    assert.match(String(refusal.error_detail), /ftp:\/\/127\.0\.0\.1\/file is not an http\(s\) URL/);
  });

  it('obeys only its own orchestrator', async () => {
    await bus.deliver(TOPICS.test_config, { test_id: 't4', test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 5, orchestrator: 'someone-else' });
    await bus.deliver(TOPICS.trigger, { test_id: 't4', trigger: 'YES', orchestrator: 'someone-else' });
    // An obeyed config and trigger start the test (or queue its refusal) before delivery returns.
    assert.equal(agent.state, 'idle');
    assert.equal(agent.activity().test, undefined, 'no load was started');
    assert.equal(reports('t4').length, 0);
    // Its own orchestrator's config for the same test id then finds no trigger held for it: the
    // trigger from someone else was dropped, not kept.
    await config('t4');
    assert.equal(agent.state, 'idle');
    assert.equal(agent.activity().test, undefined, 'the other orchestrator’s trigger was not held');
  });

  it('keeps the final report while Kafka is away and says it is running until it is delivered', async () => {
    bus.failPublish = new Error('broker gone');
    // Counts the attempts to publish t5's final report that the unreachable broker refused.
    let refusedFinals = 0;
    const publish = bus.publish.bind(bus);
    bus.publish = async (topic, value, key) => {
      const final = topic === TOPICS.metrics && (JSON.parse(value) as MetricsMessage).test_status === 'complete';
      try {
        await publish(topic, value, key);
      } catch (error) {
        if (final) refusedFinals++;
        throw error;
      }
    };
    await config('t5');
    await trigger('t5');
    // The heartbeat cannot go out either; the state it would announce is what matters.
    await eventually(() => agent.activity().finished.tests === 1, 'the load to end');
    // Refused, then refused again on the retry: kept all the while.
    await eventually(() => refusedFinals >= 2, 'the final report to be refused twice');
    assert.equal(agent.state, 'running', 'the undelivered final report keeps the part open');
    bus.failPublish = undefined;
    await eventually(() => finalReport('t5') !== undefined, 'the kept report to be delivered', 15_000);
    assert.equal(finalReport('t5')!.responses, 20);
    await eventually(() => agent.state === 'idle', 'the agent to be idle');
  });
});
