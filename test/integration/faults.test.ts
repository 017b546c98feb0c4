// Faults produced for real, read as a user reads them: the verdict line and exit code of
// `lt-orchestrator run`, the result it writes, and the target's own count of what arrived.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../common/free-port';
import { startBroker, type RunningBroker } from '../../kafka-broker/local-kafka';
import type { TestResult } from '../../orchestrator/result-model';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { spawnBin, startAgent, startAgents, startNginxProcess, startOrchestrator, startTargetProcess, stopOrchestrator, tempDir, waitFor, type ProductProcess } from '../support/processes';

/** Writes a .loadtest.json and starts `lt-orchestrator run` on it, writing the result as JSON. */
function runCli(kafka: string, prefix: string, definition: object, extra: string[] = []): { cli: ProductProcess; json: string } {
  const dir = tempDir('fault-cli');
  const file = join(dir, 'test.loadtest.json');
  writeFileSync(file, JSON.stringify(definition));
  const json = join(dir, 'result.json');
  const cli = spawnBin('lt-orchestrator', ['run', file, '--json', json, '--wait', '30', ...extra], { LT_KAFKA: kafka, LT_TOPIC_PREFIX: prefix, LT_ORCHESTRATOR_ID: 'test-faults', LT_STORE: join(dir, 'store') });
  return { cli, json };
}

const result = (json: string, cli?: ProductProcess) => {
  if (cli && !existsSync(json)) throw new Error(`lt-orchestrator wrote no ${json}; it printed:\n${cli.output()}`);
  return JSON.parse(readFileSync(json, 'utf8')) as TestResult;
};
const running = (cli: ProductProcess, driver: string) => waitFor(() => new RegExp(`triggered on .*${driver}`).test(cli.output()) && /\d+s\s+drivers [1-9]/.test(cli.output()), 'the test to be under way', 60_000);

describe('results under faults (real processes, lt-orchestrator run)', function () {
  let kafka: string;
  let prefix: string;
  beforeEach(async () => {
    kafka = await kafkaBootstrap();
    prefix = uniquePrefix('faults');
  });

  it('an agent killed mid-test: incomplete, naming it, exit 1; never PASSED', async () => {
    const target = await startTargetProcess();
    const [, victim] = await startAgents(2, 'kill', { kafka, prefix, orchestrator: 'test-faults' });
    const { cli, json } = runCli(kafka, prefix, { test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 500, drivers: 2, target: `${target.url}/ping` });
    await running(cli, victim.id);
    victim.kill('SIGKILL');
    assert.equal(await cli.exited, 1, cli.output());
    assert.match(cli.output(), new RegExp(`Result: FAILED: incomplete.*${victim.id} lost`));
    const r = result(json);
    assert.equal(r.status, 'incomplete');
    assert.equal(r.verdict.passed, false);
    assert.ok(r.aggregate.requests_sent < 1000, `${r.aggregate.requests_sent} of 1000 were reported`);
  });

  it('an agent killed and started again with the same --id: its part ends when it registers again; the run ends incomplete (restarted), exit 1', async () => {
    const target = await startTargetProcess();
    const [, victim] = await startAgents(2, 'again', { kafka, prefix, orchestrator: 'test-faults' });
    const { cli, json } = runCli(kafka, prefix, { test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 1500, drivers: 2, target: `${target.url}/ping` });
    await running(cli, victim.id);
    victim.kill('SIGKILL');
    await victim.exited;
    await startAgent(victim.id, { kafka, prefix, orchestrator: 'test-faults' });
    assert.equal(await cli.exited, 1, cli.output());
    assert.match(cli.output(), new RegExp(`${victim.id} restarted at .*(it registered again|a new agent process heartbeats under its id): the agent restarted`));
    assert.equal(result(json).status, 'incomplete');
  });

  it('two agents started with the same --id: never one driver to the orchestrator, named with what to do; never PASSED', async () => {
    const target = await startTargetProcess();
    await startAgents(1, 'solo', { kafka, prefix, orchestrator: 'test-faults' });
    await Promise.all([startAgent('twin', { kafka, prefix, orchestrator: 'test-faults' }), startAgent('twin', { kafka, prefix, orchestrator: 'test-faults' })]);
    const { cli } = runCli(kafka, prefix, { test_type: 'AVALANCHE', message_count_per_driver: 200, drivers: 2, target: `${target.url}/ping` }, ['--wait', '5']);
    // Told before the pick (exit 2), or, if the pick came first, as the run's verdict (exit 1).
    assert.notEqual(await cli.exited, 0, cli.output());
    assert.match(cli.output(), /two agents run as twin \(both on [^)]+\); stop one, or give each its own --id/);
    assert.doesNotMatch(cli.output(), /PASSED/);
  });

  it('a second agent started with a running driver’s --id mid-test: that part is never counted, incomplete, exit 1', async () => {
    const target = await startTargetProcess();
    const [, first] = await startAgents(2, 'shared', { kafka, prefix, orchestrator: 'test-faults' });
    const { cli, json } = runCli(kafka, prefix, { test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 1000, drivers: 2, target: `${target.url}/ping` });
    await running(cli, first.id);
    await startAgent(first.id, { kafka, prefix, orchestrator: 'test-faults' });
    assert.equal(await cli.exited, 1, cli.output());
    assert.match(cli.output(), new RegExp(`Result: FAILED: incomplete.*${first.id} duplicate at .*two agents run as ${first.id}`));
    const r = result(json);
    const shared = r.per_driver.find((d) => d.node_id === first.id)!;
    assert.equal(shared.state, 'duplicate');
    // Listed, never counted: the totals are the other driver's alone.
    const other = r.per_driver.find((d) => d.node_id !== first.id)!;
    assert.ok((shared.requests_sent ?? 0) > 0, 'the mixed figures are shown on its row');
    assert.deepEqual([r.aggregate.requests_sent, r.aggregate.responses], [other.requests_sent, other.responses]);
  });

  it('an agent started without --id, killed and started again, comes back under the same id: one entry, alive', async () => {
    const orchestrator = await startOrchestrator(kafka, prefix);
    const args = ['--kafka', kafka, '--topic-prefix', prefix, '--orchestrator', 'test-orchestrator'];
    const first = spawnBin('lt-agent', args);
    const id = await waitFor(() => /registered as (\S+)/.exec(first.output())?.[1], 'the agent to register', 60_000);
    assert.match(id, /-\d+$/, 'HOST-N');
    await waitFor(() => orchestrator.registry.get(id)?.health === 'alive', 'the orchestrator to list it');
    first.kill('SIGKILL');
    await first.exited;
    const second = spawnBin('lt-agent', args);
    assert.equal(await waitFor(() => /registered as (\S+)/.exec(second.output())?.[1], 'the agent to register again', 60_000), id);
    await waitFor(() => orchestrator.registry.get(id)?.health === 'alive', 'its entry to be alive');
    assert.deepEqual(orchestrator.registry.list().map((d) => d.node_id), [id], 'no second entry left behind');
  });

  it('Ctrl-C stops the test on every agent and exits 1 with the partial result within 5 s', async () => {
    const target = await startTargetProcess();
    const agents = await startAgents(2, 'ctrlc', { kafka, prefix, orchestrator: 'test-faults' });
    const { cli, json } = runCli(kafka, prefix, { test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 3000, drivers: 2, target: `${target.url}/ping` });
    await running(cli, agents[1].id);
    const signalledAt = Date.now();
    cli.kill('SIGINT');
    assert.equal(await cli.exited, 1, cli.output());
    const took = Date.now() - signalledAt;
    assert.ok(took < 5000, `exited ${took} ms after SIGINT`);
    assert.match(cli.output(), /Result: FAILED: stopped by SIGINT after/);
    assert.equal(result(json).status, 'stopped');
    // An agent logs "test … stopped: N sent" once its load has ended: every request it sent has
    // settled and it sends no more. Then the agents exit, after which none of theirs can arrive.
    let sent = 0;
    for (const a of agents) {
      await waitFor(() => a.output().includes("on the orchestrator's request"), `${a.id} to be told to stop`);
      sent += Number(await waitFor(() => /test \S+ stopped: (\d+) sent/.exec(a.output())?.[1], `${a.id} to end its load`));
    }
    assert.equal((await target.counters()).requests_sent, sent, 'the target got exactly what the stopped loads sent');
    for (const a of agents) a.kill('SIGTERM');
    for (const a of agents) await a.exited;
    assert.equal((await target.counters()).requests_sent, sent, 'no request reached the target after the loads ended');
  });

  it('a second Ctrl-C exits at once', async () => {
    // Slow answers keep requests in flight after the stop, so the first Ctrl-C is still waiting for them when the second comes.
    const target = await startTargetProcess(['--latency', '2000']);
    const agents = await startAgents(1, 'twice', { kafka, prefix, orchestrator: 'test-faults' });
    const { cli } = runCli(kafka, prefix, { test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 3000, drivers: 1, target: `${target.url}/ping` });
    await running(cli, agents[0].id);
    cli.kill('SIGINT');
    await waitFor(() => cli.output().includes('again to exit at once'), 'the first signal to be heard');
    cli.kill('SIGINT');
    assert.equal(await cli.exited, 130);
  });

  it('an orchestrator frozen for 5 s (SIGSTOP, then SIGCONT) reads what queued up before judging: no driver lost, complete, exit 0', async () => {
    const target = await startTargetProcess();
    const agents = await startAgents(2, 'stall', { kafka, prefix, orchestrator: 'test-faults' });
    const { cli, json } = runCli(kafka, prefix, { test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 1000, drivers: 2, target: `${target.url}/ping` });
    await running(cli, agents[1].id);
    // A real stall of the whole process: every timer of the orchestrator is overdue when it wakes.
    cli.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 5000));
    cli.kill('SIGCONT');
    assert.equal(await cli.exited, 0, cli.output());
    const r = result(json);
    assert.equal(r.status, 'complete', r.verdict.reason);
    assert.equal(r.aggregate.requests_sent, 2000);
    assert.equal((await target.counters()).requests_sent, 2000);
    assert.doesNotMatch(cli.output(), /\blost\b/);
  });

  it('a file without "drivers" runs on every alive driver once the registry has settled', async () => {
    const target = await startTargetProcess();
    await startAgents(2, 'all', { kafka, prefix, orchestrator: 'test-faults' });
    const { cli, json } = runCli(kafka, prefix, { test_type: 'AVALANCHE', message_count_per_driver: 200, target: `${target.url}/ping` });
    assert.equal(await cli.exited, 0, cli.output());
    const r = result(json);
    assert.deepEqual([...r.participants].sort(), ['all-1', 'all-2']);
    assert.equal(r.aggregate.requests_sent, 400);
    assert.equal((await target.counters()).requests_sent, 400);
  });

  it('eight agents loading nginx as fast as they can (100,000 requests each) are not lost, and the test completes', async () => {
    // Eight agents, nginx, the broker and the orchestrator on two cores: every agent's event
    // loop is busy, and its heartbeats must still be heard.
    const target = await startNginxProcess();
    await startAgents(8, 'busy', { kafka, prefix, orchestrator: 'test-faults' });
    const { cli, json } = runCli(kafka, prefix, { test_type: 'AVALANCHE', message_count_per_driver: 100_000, concurrency: 16, drivers: 8, target: `${target.url}/ping` });
    assert.equal(await cli.exited, 0, cli.output());
    const r = result(json);
    assert.equal(r.status, 'complete');
    assert.equal(r.aggregate.requests_sent, 800_000);
    assert.equal((await target.counters()).requests_sent, 800_000, 'nginx counted every request');
    assert.doesNotMatch(cli.output(), /lost/);
  });
});

describe('an orchestrator restarted mid-test', function () {
  it('finds the unfinished test in the store, reads its reports again from Kafka and finishes it as if never stopped', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('resume');
    const storeDir = tempDir('resume-store');
    const target = await startTargetProcess();
    await startAgents(2, 'resume', { kafka, prefix, orchestrator: 'test-orchestrator' });
    const first = await startOrchestrator(kafka, prefix, { storeDir });
    const run = await first.startTest({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 400, drivers: 2, target: `${target.url}/ping` }, { waitForDriversMs: 30_000 });
    await waitFor(() => run.snapshot().aggregate.requests_sent > 50, 'the test to be under way');
    await stopOrchestrator(first);
    const second = await startOrchestrator(kafka, prefix, { storeDir });
    const resumed = second.activeRun();
    assert.equal(resumed?.testId, run.testId, 'the restarted orchestrator picked the test up');
    const r = await second.waitForEnd(run.testId);
    assert.equal(r.status, 'complete', r.verdict.reason);
    assert.equal(r.aggregate.requests_sent, 800);
    assert.equal((await target.counters()).requests_sent, 800);
    assert.equal(second.listTests().find((t) => t.test_id === run.testId)?.status, 'complete');
  });
});

describe('a broker outage mid-test', function () {
  let broker: RunningBroker | undefined;
  afterEach(async () => {
    await broker?.stop();
    broker = undefined;
  });

  /**
   * Two agents on a broker of the test's own, a TSUNAMI of `perDriver` requests every 10 ms under
   * `lt-orchestrator run`, and the broker gone for `outageMs` once the load is under way.
   */
  async function outage(name: string, perDriver: number, outageMs: number, timeoutMs = 10_000) {
    const options = { port: await freePort(), advertisedHost: '127.0.0.1', listenHost: '127.0.0.1', fresh: false, stateDir: join(tempDir(`${name}-kafka`), 'broker') };
    broker = await startBroker(options);
    const kafka = broker.bootstrap;
    const prefix = uniquePrefix(name);
    const target = await startTargetProcess();
    const agents = await startAgents(2, name, { kafka, prefix, orchestrator: 'test-faults' });
    const run = runCli(kafka, prefix, { test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: perDriver, drivers: 2, target: { url: `${target.url}/ping`, timeout_ms: timeoutMs } });
    await running(run.cli, agents[1].id);
    await broker.stop();
    const stoppedAt = Date.now();
    await new Promise((r) => setTimeout(r, Math.max(0, outageMs - (Date.now() - stoppedAt))));
    broker = await startBroker(options);
    return { ...run, target };
  }

  it('of 6 s loses nothing: every request the target counted is in the result, complete, exit 0', async () => {
    // 1,000 requests every 10 ms per driver: 10 s of load, with the broker gone for 6 s of it.
    const { cli, json, target } = await outage('outage', 1000, 6000);
    assert.equal(await cli.exited, 0, cli.output());
    const r = result(json, cli);
    assert.equal(r.status, 'complete', r.verdict.reason);
    assert.equal(r.aggregate.requests_sent, 2000);
    assert.equal((await target.counters()).requests_sent, 2000, 'the target counted every request the result holds');
    // While the broker shuts down it may still answer this orchestrator's fetches after the
    // agents can no longer publish: both fall silent together, which is put down to the bus.
    assert.doesNotMatch(cli.output(), /\blost\b/, `no driver was ever marked lost; it printed:\n${cli.output()}`);
  });

  it('longer than the test’s deadline (25 s against 22 s): the agents’ kept final reports arrive, complete, exit 0', async () => {
    // 300 requests every 10 ms per driver with a 1 s timeout: the deadline is 2 × 3 + 1 + 15 = 22 s
    // after the trigger, and the load is over long before the broker comes back.
    const { cli, json, target } = await outage('long-outage', 300, 25_000, 1000);
    assert.equal(await cli.exited, 0, cli.output());
    const r = result(json);
    assert.equal(r.status, 'complete', r.verdict.reason);
    assert.equal(r.aggregate.requests_sent, 600);
    assert.equal((await target.counters()).requests_sent, 600, 'the target counted every request the result holds');
  });
});
