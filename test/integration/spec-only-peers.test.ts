// Both directions with implementations that know only the spec (test/interop/, Python with
// Debian's python3-kafka): their driver in a fleet with ours, and our agents under their
// orchestrator. The spec's `metrics` object must hold exactly its four fields for them, and their
// reports (per interval, counts as num_requests, raw latencies) must add up exactly for us.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { ROOT, spawnCommand, startAgent, startAgents, startOrchestrator, startTargetProcess, waitFor } from '../support/processes';

// Debian's interpreter, where apt put python3-kafka (another python3 may come first on PATH).
const PYTHON = '/usr/bin/python3';
const script = (name: string) => join(ROOT, 'test', 'interop', name);
const SPEC_LATENCY_KEYS = ['max_latency', 'mean_latency', 'median_latency', 'min_latency'];

/** Our agent and their driver on one broker, both registered with our orchestrator. */
async function oursBesideTheirs(name: string) {
  const kafka = await kafkaBootstrap();
  const prefix = uniquePrefix(name);
  const target = await startTargetProcess();
  await startAgent('ours', { kafka, prefix, orchestrator: 'test-orchestrator' });
  const theirs = spawnCommand(PYTHON, [script('spec_driver.py'), '--kafka', kafka, '--prefix', prefix, '--id', 'theirs', '--target', `${target.url}/ping`]);
  await waitFor(() => theirs.output().includes('registered'), `the spec-only driver to register (its output: ${theirs.output()})`, 60_000);
  const orchestrator = await startOrchestrator(kafka, prefix, { quietAfterMs: 3000 });
  await waitFor(() => orchestrator.registry.available().length === 2, 'both drivers to be available');
  return { target, orchestrator };
}

describe('with implementations that know only the spec', function () {
  it('their driver beside ours: per-interval reports, num_requests and latencies add up to exact totals and exact percentiles', async () => {
    const { target, orchestrator } = await oursBesideTheirs('spec-driver');
    // 100 requests 10 ms apart: about a second, so their driver sends several interval reports.
    const run = await orchestrator.startTest({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 100, drivers: 2, target: `${target.url}/ping` });
    const result = await orchestrator.waitForEnd(run.testId);

    const theirRow = result.per_driver.find((d) => d.node_id === 'theirs')!;
    assert.ok(theirRow.reports > 2, `their driver reported ${theirRow.reports} intervals`);
    assert.equal(theirRow.requests_sent, 100, 'their num_requests per interval summed');
    assert.equal(theirRow.responses, 100, 'one response per latency');
    assert.equal(result.aggregate.requests_sent, 200);
    assert.equal(result.aggregate.responses, 200);
    assert.equal((await target.counters()).requests_sent, 200, 'the target counted what the totals say');
    assert.equal(result.aggregate.latency!.approximate, false, 'their latencies make the global percentiles exact');
    assert.equal(result.aggregate.latency!.count, 200);
    assert.equal(result.status, 'complete', result.verdict.reason);
  });

  it('a request mix stays readable by their driver: it loads the one target while ours sends the mix, and the totals still add up', async () => {
    const { target, orchestrator } = await oursBesideTheirs('spec-mix');
    const run = await orchestrator.startTest({
      test_type: 'TSUNAMI',
      test_message_delay: 0.01,
      message_count_per_driver: 100,
      drivers: 2,
      requests: [
        { name: 'ping', weight: 3, url: `${target.url}/ping?n={seq}` },
        { name: 'missing', weight: 1, url: `${target.url}/missing` },
      ],
    });
    const result = await orchestrator.waitForEnd(run.testId);
    assert.equal(result.status, 'complete', result.verdict.reason);
    assert.equal(result.aggregate.requests_sent, 200);
    assert.equal((await target.counters()).requests_sent, 200);
    // By name, only our driver's requests are known: theirs sent the plain target.
    const [ping, missing] = result.per_request!;
    assert.deepEqual([ping.requests_sent, missing.requests_sent, missing.errors], [75, 25, 25]);
  });

  it('a scenario: their driver is not picked and the reason says so; running the first step unasked, it is named as such, and the steps are ours alone', async () => {
    const { target, orchestrator } = await oursBesideTheirs('spec-scenario');
    const scenario = {
      steps: [
        { name: 'signin', url: `${target.url}/signin`, method: 'POST', body: '{"user": "u{seq}"}', capture: { token: '$.token' } },
        { name: 'account', url: `${target.url}/account`, headers: { authorization: 'Bearer {token}' }, check: { status: 200 } },
      ],
    };
    await assert.rejects(orchestrator.startTest({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 50, drivers: 2, scenario }), /needs 2 drivers but 1 is available .*Not picked: theirs speaks only the spec; a scenario \(steps\) needs lt-agent/);
    const run = await orchestrator.startTest({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 50, drivers: 1, scenario });
    const result = await orchestrator.waitForEnd(run.testId);
    assert.deepEqual(result.not_picked, ['Not picked: theirs speaks only the spec; a scenario (steps) needs lt-agent']);
    // Their driver reads no driver_ids: it runs every test_config, here the wire's target (the first
    // step) as a flat test. The result counts it as a driver that was not picked, and says so.
    assert.ok(result.warnings.some((w) => /^theirs ran this test without being picked/.test(w)), result.warnings.join('\n'));
    assert.equal(result.status, 'complete', result.verdict.reason);
    assert.deepEqual(result.per_request!.map((r) => [r.name, r.responses, r.errors]), [['signin', 50, 0], ['account', 50, 0]], 'the steps are ours alone');
    assert.equal(result.iterations!.completed, 50);
    assert.equal(result.planned_requests, 150, 'planned in requests: 50 iterations of 2 steps, and their 50 of the first step');
    assert.match(result.verdict.reason, /^PASSED: 50 of 50 iterations \(\d+ requests\)/);
  });

  it('a warm-up their driver does not know: ours sends it apart, theirs sends none, and the result says whose figures include a cold start', async () => {
    const { target, orchestrator } = await oursBesideTheirs('spec-warm-up');
    const run = await orchestrator.startTest({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 100, warm_up_count_per_driver: 50, drivers: 2, target: `${target.url}/ping` });
    const result = await orchestrator.waitForEnd(run.testId);
    assert.equal(result.status, 'complete', result.verdict.reason);
    assert.equal(result.aggregate.requests_sent, 200, 'the measured requests only');
    assert.equal((await target.counters()).requests_sent, 250, 'our warm-up reached the target; theirs sent none');
    assert.deepEqual(result.per_driver.find((d) => d.node_id === 'ours')!.warm_up, { requests_sent: 50, responses: 50, errors: 0, done: true });
    assert.deepEqual(result.warnings.filter((w) => /warm-up/.test(w)), ['theirs: reported no warm-up: its figures include its first requests, sent cold (an agent that does not know warm_up_count_per_driver?).']);
  });

  it('their orchestrator commands our agents: the test runs, and every metrics object holds exactly the spec’s four fields', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('spec-orchestrator');
    const target = await startTargetProcess();
    await startAgents(2, 'ours', { kafka, prefix, orchestrator: 'any', target: `${target.url}/ping` });
    const theirs = spawnCommand(PYTHON, [script('spec_orchestrator.py'), '--kafka', kafka, '--prefix', prefix, '--drivers', '2', '--count', '50']);
    assert.equal(await theirs.exited, 0, theirs.output());
    const seen = JSON.parse(theirs.output().trim().split('\n').pop()!) as {
      registered: string[];
      drivers: Record<string, { reports: number; metrics_keys: string[][]; last_metrics: Record<string, number> }>;
    };
    assert.deepEqual(seen.registered, ['ours-1', 'ours-2']);
    assert.deepEqual(Object.keys(seen.drivers).sort(), ['ours-1', 'ours-2'], 'both agents reported to it');
    for (const [id, d] of Object.entries(seen.drivers)) {
      for (const keys of d.metrics_keys) assert.deepEqual(keys, SPEC_LATENCY_KEYS, `${id}'s metrics object`);
      for (const key of SPEC_LATENCY_KEYS) assert.equal(typeof d.last_metrics[key], 'number', `${id}'s final ${key}`);
    }
    assert.equal((await target.counters()).requests_sent, 100, 'each agent sent the 50 requests it was asked for');
  });
});
