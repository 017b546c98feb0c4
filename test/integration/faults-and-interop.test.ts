// Faults produced for real (a killed agent, garbage on every topic, an orchestrator restart) and
// messages shaped as other implementations of the spec send them.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KafkaBus } from '../../protocol/kafka-bus';
import type { BusMessage } from '../../protocol/message-bus';
import { signCommand } from '../../protocol/command-signature';
import { parseMetrics, topicNames, type MetricsMessage } from '../../protocol/wire-protocol';
import { startFleet } from '../support/fleet';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { quietLogger, startAgent, startAgents, startOrchestrator, startTargetProcess, stopOrchestrator, tempDir, waitFor } from '../support/processes';
import type { DriverInfo } from '../../orchestrator/result-model';

async function rawBus(kafka: string): Promise<KafkaBus> {
  return KafkaBus.connect({ brokers: [kafka], clientId: 'test-raw', logger: quietLogger() });
}

describe('a driver lost mid-test', function () {
  it('is marked lost 3 s after its last heartbeat; the test ends incomplete with what it reported, and does not pass', async () => {
    const { target, agents: [survivor, victim], orchestrator } = await startFleet('kill', 2, { orchestrator: { lostGraceMs: 3000 } });
    const count = 400;
    const run = await orchestrator.startTest({ test_type: 'TSUNAMI', test_message_delay: 0.02, message_count_per_driver: count, drivers: 2, target: `${target.url}/ping` }, { waitForDriversMs: 30_000 });
    await waitFor(() => run.snapshot().per_driver.find((d) => d.node_id === victim.id && (d.requests_sent ?? 0) > 0), 'the victim’s first report');
    const lost = once(orchestrator.registry, 'lost') as Promise<[DriverInfo]>;
    const killedAt = Date.now();
    victim.kill('SIGKILL');
    const [driver] = await lost;
    const lostAt = Date.now();
    assert.equal(driver.node_id, victim.id);
    // The rule itself: lost once 3 s pass without a heartbeat (the sweep runs every 100 ms).
    assert.ok(lostAt - driver.last_seen >= 3000 && lostAt - driver.last_seen < 3500, `lost ${lostAt - driver.last_seen} ms after its last heartbeat`);
    process.stdout.write(`      (killed → marked lost in ${lostAt - killedAt} ms)\n`);

    const result = await orchestrator.waitForEnd(run.testId);
    assert.equal(result.status, 'incomplete');
    assert.equal(result.verdict.passed, false);
    assert.match(result.verdict.reason, new RegExp(`FAILED: incomplete.*${victim.id} lost at .*no heartbeat`));
    assert.deepEqual(result.ending.map((e) => [e.node_id, e.state]), [[victim.id, 'lost']]);
    const v = result.per_driver.find((d) => d.node_id === victim.id)!;
    const s = result.per_driver.find((d) => d.node_id === survivor.id)!;
    assert.equal(v.state, 'lost');
    assert.ok(v.requests_sent! > 0 && v.requests_sent! < count, `the victim reported ${v.requests_sent} before it died`);
    assert.equal(s.state, 'complete');
    assert.equal(s.requests_sent, count);
    assert.equal(result.aggregate.requests_sent, v.requests_sent! + count, 'the aggregate keeps what the lost driver reported');
  });
});

describe('malformed messages', function () {
  it('on every topic are skipped, with the reason logged, while a test keeps running', async () => {
    const { kafka, prefix, target, agents, orchestrator } = await startFleet('garbage', 2);
    const topics = topicNames(prefix);
    const bus = await rawBus(kafka);
    try {
      const count = 100;
      const run = await orchestrator.startTest({ test_type: 'TSUNAMI', test_message_delay: 0.02, message_count_per_driver: count, drivers: 2, target: `${target.url}/ping` }, { waitForDriversMs: 30_000 });
      await waitFor(() => run.snapshot().aggregate.requests_sent > 0, 'the test to be under way');
      const garbage = ['not json at all', '[1,2,3]', '{}', '{"node_id": {"nested": true}}', '{"test_id":"x","test_type":"DRIZZLE","message_count_per_driver":1}', '{"node_id":"n","test_id":"' + run.testId + '","metrics":"fast"}', '\u0000\u0001binary'];
      for (const topic of Object.values(topics)) for (const text of garbage) await bus.publish(topic, text);
      const result = await orchestrator.waitForEnd(run.testId);
      assert.equal(result.status, 'complete');
      assert.equal(result.aggregate.requests_sent, 2 * count, 'the test ran to the end');
      assert.equal((await target.counters()).requests_sent, 2 * count);
      for (const key of ['register', 'heartbeat', 'metrics'] as const) assert.ok(orchestrator.intake.skipped[key] >= 5, `orchestrator skipped bad ${key} messages: ${orchestrator.intake.skipped[key]}`);
      assert.ok(orchestrator.logLines.some((l) => l.includes(`skipped a message on ${topics.metrics}`) && l.includes('not JSON')));
      for (const agent of agents) {
        await waitFor(() => agent.output().includes(`skipped a message on ${topics.test_config}`) && agent.output().includes(`skipped a message on ${topics.trigger}`), `${agent.id} to log the skipped commands`);
        assert.equal(agent.child.exitCode, null, `${agent.id} is still running`);
        assert.equal(orchestrator.registry.get(agent.id)!.health, 'alive');
      }
    } finally {
      await bus.close();
    }
  });
});

describe('an orchestrator restarted between tests', function () {
  it('still lists the drivers and the history, and runs the next test', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('restart');
    const storeDir = tempDir('restart-store');
    const target = await startTargetProcess();
    await startAgents(2, 'restart', { kafka, prefix, orchestrator: 'test-orchestrator' });
    const first = await startOrchestrator(kafka, prefix, { storeDir });
    const run = await first.startTest({ name: 'before restart', test_type: 'AVALANCHE', message_count_per_driver: 200, drivers: 2, target: `${target.url}/ping` }, { waitForDriversMs: 30_000 });
    const before = await first.waitForEnd(run.testId);
    await stopOrchestrator(first);

    const second = await startOrchestrator(kafka, prefix, { storeDir });
    const drivers = await waitFor(() => {
      const alive = second.drivers().filter((d) => d.health === 'alive');
      return alive.length === 2 && alive;
    }, 'the restarted orchestrator to list both drivers');
    assert.deepEqual(drivers.map((d) => d.node_id).sort(), ['restart-1', 'restart-2']);
    const [listed] = second.listTests();
    assert.equal(listed.test_id, before.test_id);
    assert.equal(listed.status, 'complete');
    assert.equal(listed.name, 'before restart');
    const stored = second.getTest(before.test_id)!;
    assert.deepEqual(stored.aggregate, before.aggregate);
    assert.deepEqual(second.getTimeSeries(before.test_id), first.store.loadTimeSeries(before.test_id));

    const next = await second.startTest({ test_type: 'AVALANCHE', message_count_per_driver: 100, drivers: 2, target: `${target.url}/ping` }, { waitForDriversMs: 30_000 });
    const after = await second.waitForEnd(next.testId);
    assert.equal(after.aggregate.requests_sent, 200);
    assert.equal(second.listTests().length, 2);
  });
});

describe('commands between agent and orchestrator', function () {
  let bus: KafkaBus;
  afterEach(async () => bus?.close());

  async function collectMetrics(prefix: string): Promise<MetricsMessage[]> {
    const seen: MetricsMessage[] = [];
    await bus.subscribe({
      groupId: `test-metrics-${Date.now()}`,
      topics: [{ topic: topicNames(prefix).metrics, from: 'now' }],
      onMessage: (m: BusMessage) => {
        const parsed = parseMetrics(m.value);
        if (parsed.ok) seen.push(parsed.message);
      },
    });
    return seen;
  }

  it('an agent runs a spec-only test_config (strings for numbers, lower-case type, no target) whose trigger came first', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('foreign-cmd');
    const topics = topicNames(prefix);
    const target = await startTargetProcess();
    const agent = await startAgent('interop', { kafka, prefix, orchestrator: 'someone', target: `${target.url}/ping` });
    bus = await rawBus(kafka);
    await bus.ensureTopics(Object.values(topics));
    const metrics = await collectMetrics(prefix);
    await bus.publish(topics.trigger, '{"test_id":"other-impl-1","trigger":"YES"}');
    await waitFor(() => agent.output().includes('arrived before its config'), 'the agent to hold the trigger');
    await bus.publish(topics.test_config, '{"test_id":"other-impl-1","test_type":"avalanche","test_message_delay":"0","message_count_per_driver":"50"}');
    const final = await waitFor(() => metrics.find((m) => m.test_id === 'other-impl-1' && m.test_status === 'complete'), 'the final report');
    assert.equal(final.requests_sent, 50);
    assert.equal((await target.counters()).requests_sent, 50);
  });

  it('an agent with --allow-target refuses a test aimed elsewhere, and the result says why; it runs one aimed inside', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('allow');
    const allowed = await startTargetProcess();
    const elsewhere = await startTargetProcess();
    const pattern = new URL(allowed.url).host;
    const agent = await startAgent('fenced', { kafka, prefix, orchestrator: 'test-orchestrator', extraArgs: ['--allow-target', pattern] });
    assert.match(agent.output(), new RegExp(`loads only targets matching: ${pattern}`));
    const orchestrator = await startOrchestrator(kafka, prefix);
    await waitFor(() => orchestrator.registry.available().length === 1, 'the agent to be available');
    const refused = await orchestrator.waitForEnd((await orchestrator.startTest({ test_type: 'AVALANCHE', message_count_per_driver: 20, drivers: 1, target: `${elsewhere.url}/ping` })).testId);
    assert.equal(refused.status, 'incomplete');
    assert.deepEqual(refused.ending.map((e) => [e.node_id, e.state]), [['fenced', 'refused']]);
    assert.match(refused.verdict.reason, new RegExp(`fenced refused .*refused the test: target ${new URL(elsewhere.url).host} is not in this agent's --allow-target list \\(${pattern}\\)`));
    assert.equal((await elsewhere.counters()).requests_sent, 0, 'nothing reached the target outside the list');
    await waitFor(() => orchestrator.registry.available().length === 1, 'the agent to be idle again');
    const ran = await orchestrator.waitForEnd((await orchestrator.startTest({ test_type: 'AVALANCHE', message_count_per_driver: 20, drivers: 1, target: `${allowed.url}/ping` })).testId);
    assert.equal(ran.status, 'complete', ran.verdict.reason);
    assert.equal((await allowed.counters()).requests_sent, 20);
  });

  it('an agent with a shared secret obeys signed commands and refuses unsigned, forged, stale and replayed ones from a plain producer: logged, shown, nothing sent', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('signed');
    const topics = topicNames(prefix);
    const target = await startTargetProcess();
    const secret = 'a-shared-secret-of-some-length';
    const secretFile = join(tempDir('secret'), 'secret');
    writeFileSync(secretFile, secret, { mode: 0o600 });
    const agent = await startAgent('signed', { kafka, prefix, extraArgs: ['--secret-file', secretFile] });
    assert.match(agent.output(), /obeys only commands signed with the shared secret/);
    const orchestrator = await startOrchestrator(kafka, prefix, { secret });
    await waitFor(() => orchestrator.registry.available().length === 1, 'the agent to be available');
    const run = await orchestrator.startTest({ test_type: 'AVALANCHE', message_count_per_driver: 30, drivers: 1, target: `${target.url}/ping` });
    const result = await orchestrator.waitForEnd(run.testId);
    assert.equal(result.status, 'complete', result.verdict.reason);
    // Anyone else on the cluster, with a plain producer: unsigned, forged, stale and replayed commands.
    bus = await rawBus(kafka);
    const config = (testId: string) => JSON.stringify({ test_id: testId, test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 10, target: { url: `${target.url}/ping` } });
    const trigger = (testId: string) => JSON.stringify({ test_id: testId, trigger: 'YES' });
    await bus.publish(topics.test_config, config('unsigned'));
    await bus.publish(topics.trigger, trigger('unsigned'));
    await bus.publish(topics.test_config, signCommand('test_config', config('forged'), 'not-the-secret-at-all!', Date.now()));
    await bus.publish(topics.trigger, signCommand('trigger', trigger('forged'), 'not-the-secret-at-all!', Date.now()));
    await bus.publish(topics.test_config, signCommand('test_config', config('stale'), secret, Date.now() - 5 * 60_000));
    await bus.publish(topics.trigger, signCommand('trigger', trigger('stale'), secret, Date.now() - 5 * 60_000));
    // A signed test runs once; the same trigger sent again is a replay.
    const signedTrigger = signCommand('trigger', trigger('once'), secret, Date.now());
    await bus.publish(topics.test_config, signCommand('test_config', config('once'), secret, Date.now()));
    await bus.publish(topics.trigger, signedTrigger);
    await waitFor(async () => (await target.counters()).requests_sent === 40, 'the signed test to run once');
    await bus.publish(topics.trigger, signedTrigger);
    for (const why of ['trigger for unsigned: unsigned', 'trigger for forged: a bad signature', 'trigger for stale: stale: issued 300 s ago', 'trigger for once: replayed']) {
      await waitFor(() => agent.output().includes(`rejected a ${why}`), `the agent to log: rejected a ${why}`);
    }
    const seen = await waitFor(() => {
      const d = orchestrator.registry.get('signed');
      return d && (d.rejected_commands ?? 0) >= 7 ? d : undefined;
    }, 'the orchestrator to see the seven refusals');
    assert.equal(seen.signed_commands, true);
    assert.match(seen.last_rejection ?? '', /^trigger for once: replayed/);
    assert.equal((await target.counters()).requests_sent, 40, 'only the two signed tests sent anything');
  });

  it('an agent ignores commands that name another orchestrator', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('not-mine');
    const topics = topicNames(prefix);
    const target = await startTargetProcess();
    const agent = await startAgent('loyal', { kafka, prefix, orchestrator: 'mine', target: `${target.url}/ping` });
    bus = await rawBus(kafka);
    await bus.publish(topics.test_config, JSON.stringify({ test_id: 'theirs', test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 10, orchestrator: 'theirs' }));
    await bus.publish(topics.trigger, JSON.stringify({ test_id: 'theirs', trigger: 'YES', orchestrator: 'theirs' }));
    await waitFor(() => agent.output().includes('ignoring trigger for theirs from orchestrator theirs'), 'the agent to ignore the other orchestrator');
    assert.equal((await target.counters()).requests_sent, 0);
  });

  it('the orchestrator aggregates a driver of another implementation (no histogram, no counts) and marks the result approximate', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('foreign-driver');
    const topics = topicNames(prefix);
    const target = await startTargetProcess();
    await startAgent('ours', { kafka, prefix, orchestrator: 'test-orchestrator' });
    bus = await rawBus(kafka);
    await bus.ensureTopics(Object.values(topics));
    // The other implementation's driver: lower-case node_ip, heartbeats without a timestamp.
    await bus.publish(topics.register, '{"node_id":"theirs","node_ip":"10.1.2.3","message_type":"DRIVER_NODE_REGISTER"}');
    const beat = setInterval(() => void bus.publish(topics.heartbeat, '{"node_id":"theirs","heartbeat":"YES"}').catch(() => {}), 500);
    try {
      const orchestrator = await startOrchestrator(kafka, prefix, { quietAfterMs: 2000 });
      await waitFor(() => orchestrator.registry.available().length === 2, 'both drivers to be available');
      assert.equal(orchestrator.registry.get('theirs')!.node_IP, '10.1.2.3');
      const run = await orchestrator.startTest({ test_type: 'AVALANCHE', message_count_per_driver: 100, drivers: 2, target: `${target.url}/ping` });
      await bus.publish(topics.metrics, JSON.stringify({ node_id: 'theirs', test_id: run.testId, report_id: 'r1', metrics: { mean_latency: '7.5', median_latency: '7', min_latency: '0.05', max_latency: '900' } }));
      const result = await orchestrator.waitForEnd(run.testId);
      const theirs = result.per_driver.find((d) => d.node_id === 'theirs')!;
      assert.equal(theirs.state, 'complete', 'done once its reports stop');
      assert.equal(theirs.latency!.mean, 7.5);
      const g = result.aggregate.latency!;
      assert.equal(g.approximate, true);
      assert.equal(g.min, 0.05, 'the true minimum across drivers');
      assert.equal(g.max, 900, 'the true maximum across drivers');
    } finally {
      clearInterval(beat);
    }
  });
});
