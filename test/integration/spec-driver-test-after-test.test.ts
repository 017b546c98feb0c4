// A long-lived orchestrator (`lt-orchestrator serve`) with a driver that speaks only the spec
// (test/interop/spec_driver.py: its heartbeats say nothing of its state or test) beside one of
// ours: every test, not only the first, must include it and count its requests.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DriverInfo, TestResult, TestSnapshot } from '../../orchestrator/result-model';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { ROOT, spawnBin, spawnCommand, startAgent, startTargetProcess, tempDir, waitFor } from '../support/processes';

// Debian's interpreter, where apt put python3-kafka (another python3 may come first on PATH).
const PYTHON = '/usr/bin/python3';
const TESTS = 10;
const COUNT = 20;

describe('a spec-only driver in a long-lived orchestrator', function () {
  // Each test ends when the spec driver has been quiet for 10 s (it sends no test_status).
  this.timeout(TESTS * 60_000);

  it(`takes part in ${TESTS} tests in a row through the REST API of serve, each counting both drivers`, async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('spec-in-a-row');
    const target = await startTargetProcess();
    await startAgent('ours', { kafka, prefix, orchestrator: 'serve-orchestrator' });
    const theirs = spawnCommand(PYTHON, [join(ROOT, 'test', 'interop', 'spec_driver.py'), '--kafka', kafka, '--prefix', prefix, '--id', 'theirs', '--target', `${target.url}/ping`]);
    await waitFor(() => theirs.output().includes('registered'), `the spec-only driver to register (its output: ${theirs.output()})`, 60_000);
    const serve = spawnBin('lt-orchestrator', ['serve', '--port', '0', '--id', 'serve-orchestrator', '--store', tempDir('serve-store')], { LT_KAFKA: kafka, LT_TOPIC_PREFIX: prefix });
    const api = await waitFor(() => /REST API on (http:\/\/\S+)/.exec(serve.output())?.[1], `serve to listen (${serve.output()})`, 60_000);
    const get = async <T>(path: string): Promise<T> => (await fetch(`${api}${path}`)).json() as Promise<T>;
    const drivers = async () => (await get<{ drivers: DriverInfo[] }>('/api/drivers')).drivers.map((d) => `${d.node_id} ${d.health} ${d.activity}`);

    for (let i = 1; i <= TESTS; i++) {
      const before = (await target.counters()).requests_sent;
      const response = await fetch(`${api}/api/tests/run?wait_for_drivers=60`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: `in a row ${i}`, test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: COUNT, drivers: 2, target: `${target.url}/ping` }),
      });
      const started = (await response.json()) as TestSnapshot & { error?: string };
      assert.equal(response.status, 202, `test ${i}: ${started.error} (drivers: ${(await drivers()).join(', ')})`);
      assert.deepEqual([...started.participants].sort(), ['ours', 'theirs'], `test ${i} includes both`);
      const result = await waitFor(async () => {
        const t = await get<TestSnapshot | TestResult>(`/api/tests/${started.test_id}`);
        return 'verdict' in t ? t : undefined;
      }, `test ${i} to end`, 120_000);
      assert.equal(result.status, 'complete', `test ${i}: ${result.verdict?.reason}`);
      assert.deepEqual(result.per_driver.map((d) => [d.node_id, d.requests_sent]).sort(), [['ours', COUNT], ['theirs', COUNT]], `test ${i} counts both`);
      assert.equal(result.aggregate.requests_sent, 2 * COUNT);
      assert.equal((await target.counters()).requests_sent - before, 2 * COUNT, `test ${i}: the target counted what the result says`);
      // Idle at once for ours (its heartbeat says so), and for theirs when its part ended.
      assert.deepEqual(await waitFor(async () => {
        const list = await drivers();
        return list.every((d) => d.endsWith(' alive idle')) && list;
      }, `both drivers idle after test ${i}`, 30_000), ['ours alive idle', 'theirs alive idle']);
    }
  });
});
