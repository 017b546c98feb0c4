// Messages in drivers' names published straight to the real broker by someone else on the
// cluster: hostile identities never reach the drivers list, and with a shared secret a forged or
// unsigned final report cannot end a signing driver's part.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signDriverMessage } from '../../protocol/command-signature';
import { KafkaBus } from '../../protocol/kafka-bus';
import { topicNames } from '../../protocol/wire-protocol';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { quietLogger, startAgent, startOrchestrator, startTargetProcess, tempDir, waitFor } from '../support/processes';

const SECRET = 'a-shared-secret-of-some-length';

describe('hostile messages in drivers’ names', function () {
  let bus: KafkaBus | undefined;
  afterEach(async () => {
    await bus?.close();
    bus = undefined;
  });

  it('registrations and heartbeats with a numeric node_IP, a 100,000-character or numeric node_id are refused, counted, and never listed beside a real agent', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('hostile-ids');
    const topics = topicNames(prefix);
    const agent = await startAgent('real-1', { kafka, prefix, orchestrator: 'test-orchestrator' });
    const orchestrator = await startOrchestrator(kafka, prefix);
    await waitFor(() => orchestrator.registry.available().some((d) => d.node_id === agent.id), 'the real agent to be listed');
    bus = await KafkaBus.connect({ brokers: [kafka], clientId: 'test-hostile', logger: quietLogger() });
    const FLOOD = 30;
    const huge = 'x'.repeat(100_000);
    for (let i = 0; i < FLOOD; i++) {
      await bus.publish(topics.register, JSON.stringify({ node_id: `num-ip-${i}`, node_IP: 3232235777 + i, message_type: 'DRIVER_NODE_REGISTER' }), `num-ip-${i}`);
      await bus.publish(topics.heartbeat, JSON.stringify({ node_id: `num-ip-${i}`, node_IP: 3232235777 + i, heartbeat: 'YES', timestamp: Date.now() }), `num-ip-${i}`);
      await bus.publish(topics.heartbeat, JSON.stringify({ node_id: huge, heartbeat: 'YES', timestamp: Date.now() }));
      await bus.publish(topics.register, JSON.stringify({ node_id: i, node_IP: '10.0.0.1', message_type: 'DRIVER_NODE_REGISTER' }));
      await bus.publish(topics.heartbeat, JSON.stringify({ node_id: `bad id ${i}`, heartbeat: 'YES', timestamp: Date.now() }));
    }
    const refused = await waitFor(() => {
      const r = orchestrator.intake.refused;
      return r.node_IP >= 2 * FLOOD && r.node_id >= 3 * FLOOD && { ...r };
    }, 'the orchestrator to read the flood');
    assert.deepEqual(refused, { node_IP: 2 * FLOOD, node_id: 3 * FLOOD });
    // A second past the flood, the real agent has heartbeated again: it alone is listed.
    const heartbeatsBefore = orchestrator.intake.received.heartbeat;
    await waitFor(() => orchestrator.intake.received.heartbeat > heartbeatsBefore + 1, 'two more heartbeats from the real agent');
    assert.deepEqual(orchestrator.drivers().map((d) => [d.node_id, d.node_IP.length > 0, d.health]), [['real-1', true, 'alive']]);
    const warnings = orchestrator.logLines.filter((l) => l.includes('refused a message'));
    assert.equal(warnings.length, 2, `warned once per kind:\n${warnings.join('\n')}`);
    assert.ok(warnings.every((w) => w.length < 600), 'no warning carries the 100,000 characters');
  });

  it('with a secret, a forged or unsigned final report in a running driver’s name does not end its part, and the result counts both as dropped', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('forged-final');
    const topics = topicNames(prefix);
    const target = await startTargetProcess();
    const secretFile = join(tempDir('secret'), 'secret');
    writeFileSync(secretFile, SECRET, { mode: 0o600 });
    const agent = await startAgent('signer', { kafka, prefix, orchestrator: 'test-orchestrator', extraArgs: ['--secret-file', secretFile] });
    const orchestrator = await startOrchestrator(kafka, prefix, { secret: SECRET });
    await waitFor(() => orchestrator.registry.available().length === 1, 'the signing agent to be available');
    // 40 requests 100 ms apart: about 4 s, time enough to forge its end in the middle.
    const count = 40;
    const run = await orchestrator.startTest({ test_type: 'TSUNAMI', test_message_delay: 0.1, message_count_per_driver: count, drivers: 1, target: `${target.url}/ping` });
    await waitFor(() => run.snapshot().per_driver.find((d) => d.node_id === agent.id && (d.requests_sent ?? 0) > 0), 'the agent’s first report');

    bus = await KafkaBus.connect({ brokers: [kafka], clientId: 'test-forger', logger: quietLogger() });
    const final = (reportId: string) => ({
      node_id: agent.id,
      test_id: run.testId,
      report_id: reportId,
      metrics: { mean_latency: 1, median_latency: 1, min_latency: 1, max_latency: 1 },
      report_kind: 'cumulative',
      test_status: 'complete',
      requests_sent: count,
      responses: count,
      errors: {},
    });
    await bus.publish(topics.metrics, signDriverMessage('metrics', JSON.stringify(final('forged-1')), 'not-the-secret-at-all!', Date.now()), agent.id);
    await bus.publish(topics.metrics, JSON.stringify(final('unsigned-1')), agent.id);
    await waitFor(() => orchestrator.dropped.forged === 1 && orchestrator.dropped.unsigned === 1, 'the orchestrator to drop both');
    const mid = run.snapshot();
    assert.equal(mid.status, 'running');
    assert.equal(mid.per_driver.find((d) => d.node_id === agent.id)!.state, 'running', 'the part goes on');
    assert.ok((mid.aggregate.requests_sent ?? 0) < count, `the figures are the agent's own: ${mid.aggregate.requests_sent}`);

    const result = await orchestrator.waitForEnd(run.testId);
    assert.equal(result.status, 'complete', result.verdict.reason);
    assert.deepEqual(result.dropped_reports, { [agent.id]: 2 });
    assert.equal(result.aggregate.requests_sent, count);
    assert.equal((await target.counters()).requests_sent, count, 'the target counted what the result says');
    assert.equal(orchestrator.store.loadResult(run.testId)?.dropped_reports?.[agent.id], 2, 'the stored result counts them too');
    const warnings = orchestrator.logLines.filter((l) => l.includes('dropped a metrics message'));
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0], /a bad signature/);
    assert.match(warnings[1], /unsigned, from signer, which signs its messages/);
  });
});
