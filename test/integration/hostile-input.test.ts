// Input from outside, on real processes: a test_config published straight to Kafka by anyone on
// the cluster (not through an orchestrator's validation), and command lines out of range.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../common/logger';
import { KafkaBus } from '../../protocol/kafka-bus';
import { startFleet } from '../support/fleet';
import { runBin, tempDir, waitFor } from '../support/processes';

describe('a hostile test_config from Kafka', () => {
  it('is refused by the agent before it allocates anything, and the orchestrator’s result names the reason', async () => {
    const { kafka, prefix, target, agents, orchestrator } = await startFleet('hostile', 1);
    const [agent] = agents;
    const created = await orchestrator.createTest({ test_type: 'AVALANCHE', message_count_per_driver: 20, drivers: 1, target: `${target.url}/ping` }, { waitForDriversMs: 30_000 });
    const testId = created.test_id;
    // Someone else on the cluster replaces the config under the same test_id, as any producer can
    // without a shared secret: a billion requests in flight, and no deadline. Written by hand, as
    // a foreign producer would, not with our encoder.
    const bus = await KafkaBus.connect({ brokers: [kafka], clientId: 'hostile-producer', logger: createLogger('hostile', 'error') });
    try {
      const hostile = { test_id: testId, test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 20, concurrency: 1e9, target: { url: `${target.url}/ping`, method: 'GET', timeout_ms: 0 } };
      await bus.publish(orchestrator.topics.test_config, JSON.stringify(hostile), testId);
    } finally {
      await bus.close();
    }
    const received = () => agent.output().split('\n').filter((line) => line.includes(`received test_config ${testId}`)).length;
    await waitFor(() => received() === 2, 'the agent to receive both configs');
    await orchestrator.triggerTest(testId);
    const result = await orchestrator.waitForEnd(testId);

    assert.equal(result.status, 'incomplete');
    assert.deepEqual(
      result.ending.map((e) => [e.node_id, e.state]),
      [[agent.id, 'refused']],
    );
    assert.match(
      result.verdict.reason,
      /could not run the config: the config is outside this agent's limits: concurrency: 1,000,000,000 is above the limit of 10,000; target\.timeout_ms: 0 ms is no deadline; give at least 1 ms/,
    );
    assert.equal((await target.counters()).requests_sent, 0, 'no request reached the target');
    assert.match(agent.output(), /cannot run test \S+: the config is outside this agent's limits/);
  });
});

describe('command lines out of range', () => {
  it('lt-orchestrator run with two files is a usage error saying it takes one', async () => {
    const dir = tempDir('two-files');
    const files = ['a', 'b'].map((name) => {
      const file = join(dir, `${name}.loadtest.json`);
      writeFileSync(file, JSON.stringify({ test_type: 'AVALANCHE', message_count_per_driver: 1, target: 'http://127.0.0.1:9/' }));
      return file;
    });
    const r = await runBin('lt-orchestrator', ['run', ...files, '--kafka', '127.0.0.1:9']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /lt-orchestrator: run takes only one FILE \(one test per run\); got 2: /);
  });

  it('a port past 65535, more workers than 4 per core and an --id the orchestrator would refuse are usage errors, before anything starts', async () => {
    const serve = await runBin('lt-orchestrator', ['serve', '--port', '70000', '--kafka', '127.0.0.1:9']);
    assert.equal(serve.code, 2);
    assert.match(serve.stderr, /--port must be a whole number from 0 to 65535, got "70000"/);
    const target = await runBin('lt-target', ['--port', '65536']);
    assert.equal(target.code, 2);
    assert.match(target.stderr, /--port must be a whole number from 0 to 65535/);
    const agent = await runBin('lt-agent', ['--kafka', '127.0.0.1:9', '--workers', '100000']);
    assert.equal(agent.code, 2);
    assert.match(agent.stderr, /--workers must be a whole number from 1 to \d+ \(4 × this machine's \d+ cores\), got "100000"/);
    const metrics = await runBin('lt-agent', ['--kafka', '127.0.0.1:9', '--metrics-port', '99999']);
    assert.equal(metrics.code, 2);
    assert.match(metrics.stderr, /--metrics-port must be a whole number from 0 to 65535/);
    const id = await runBin('lt-agent', ['--kafka', '127.0.0.1:9', '--id', 'a b']);
    assert.equal(id.code, 2);
    assert.match(id.stderr, /--id: node_id "a b" \(3 characters\) breaks the rule: a node_id must be a string of 1 to 128 letters, digits and \. _ : @ -/);
  });
});
