// Load that changes over time, on real agents and a real broker: stages sent as one plan and split
// over the drivers, each stage's own figures, live control from REST, and drivers of other
// implementations left out of what they cannot run.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestResult } from '../../orchestrator/result-model';
import { startRestApi } from '../../orchestrator/rest-api/rest-api';
import { LoadProfile } from '../../protocol/load-profile';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { ROOT, runBin, spawnCommand, startAgent, startAgents, startNginxProcess, startOrchestrator, startTargetProcess, tempDir, waitFor } from '../support/processes';

const PYTHON = '/usr/bin/python3';
const SPEC_DRIVER = join(ROOT, 'test', 'interop', 'spec_driver.py');

function writeDefinition(definition: object): string {
  const file = join(tempDir('stages-file'), 'test.loadtest.json');
  writeFileSync(file, JSON.stringify(definition));
  return file;
}

describe('load over time (on real processes)', function () {
  it('stages: each stage sends what the integral of its rate plans, split evenly over two drivers, with its own figures in the CLI and the JSON', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('stages-cli');
    const nginx = await startNginxProcess();
    await startAgents(2, 'stages', { kafka, prefix, orchestrator: 'test-stages' });
    // Rates a 2-core machine keeps beside its broker and orchestrator: what is checked is the plan's accounting, not speed.
    const stages = [
      { duration_s: 6, target_rate: 800 },
      { duration_s: 4, target_rate: 800 },
      { duration_s: 3, target_rate: 200 },
    ];
    const file = writeDefinition({ name: 'ramp, plateau, step down', test_type: 'TSUNAMI', stages, target: `${nginx.url}/ping`, thresholds: { p99_latency_ms: 2000 } });
    const json = join(tempDir('stages-json'), 'result.json');
    const r = await runBin('lt-orchestrator', ['run', file, '--drivers', '2', '--json', json, '--quiet'], { LT_KAFKA: kafka, LT_TOPIC_PREFIX: prefix, LT_ORCHESTRATOR_ID: 'test-stages', LT_STORE: tempDir('stages-store') });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const result = JSON.parse(readFileSync(json, 'utf8')) as TestResult;
    assert.equal(result.status, 'complete', result.verdict.reason);

    // What each stage plans: its share of the integral of the rate, per driver (each driver's requests are due on its own half of the rate).
    const perDriver = LoadProfile.fromStages(stages, 0, (s) => s.target_rate!).scaled(1 / 2);
    const planned = stages.map((_, i) => {
      const start = stages.slice(0, i).reduce((a, s) => a + s.duration_s * 1000, 0);
      const end = start + stages[i].duration_s * 1000;
      return 2 * (Math.ceil(perDriver.cumulativeAt(end) - 1e-9) - Math.ceil(perDriver.cumulativeAt(start) - 1e-9));
    });
    const byPhase = new Map((result.stages ?? []).map((s) => [s.phase, s]));
    for (const [i, want] of planned.entries()) {
      const s = byPhase.get(`stage ${i + 1}`);
      assert.ok(s, `stage ${i + 1} in the result (phases: ${[...byPhase.keys()].join(', ')})`);
      assert.ok(Math.abs(s.requests_sent - want) <= 2, `stage ${i + 1}: ${s.requests_sent} requests sent, the plan says ${want}`);
      assert.equal(s.responses + s.errors, s.requests_sent, `stage ${i + 1}: every request settled`);
      assert.equal(s.settled, true);
      assert.ok(s.latency && s.latency.p50 > 0 && s.latency.p99 >= s.latency.p50, `stage ${i + 1} has its own percentiles`);
      // Each driver sent half of the stage (the rate is split, not the count).
      for (const d of s.per_driver) assert.ok(Math.abs(d.requests_sent - want / 2) <= 2, `stage ${i + 1}: ${d.node_id} sent ${d.requests_sent} of ${want}`);
    }
    assert.equal(result.aggregate.requests_sent, (result.stages ?? []).reduce((a, s) => a + s.requests_sent, 0), 'the stages add up to the whole test');
    // The CLI's stage table names every stage with its planned and achieved rate.
    assert.match(r.stdout, /planned/i);
    for (let i = 1; i <= 3; i++) assert.match(r.stdout, new RegExp(`stage ${i}\\b`));
  });

  it('live control from REST: set, pause, a second pause refused, resume; each a line of the result and a window with its own figures', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('control-rest');
    const target = await startTargetProcess();
    await startAgents(2, 'ctl', { kafka, prefix, orchestrator: 'test-orchestrator' });
    const orchestrator = await startOrchestrator(kafka, prefix);
    const api = await startRestApi(orchestrator, { host: '127.0.0.1', port: 0 });
    try {
      await waitFor(() => orchestrator.registry.available().length === 2, 'both agents to be available');
      const post = (path: string, body: object) => fetch(`${api.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const run = await orchestrator.startTest({ test_type: 'TSUNAMI', stages: [{ duration_s: 10, target_rate: 200 }], start_rate: 200, drivers: 2, target: `${target.url}/ping` });
      await waitFor(() => (run.current().aggregate.requests_sent > 100 ? true : undefined), 'the test to be under way');

      const set = await post(`/api/tests/${run.testId}/control`, { action: 'set', rate: 600 });
      assert.equal(set.status, 202, await set.clone().text());
      const setAnswer = (await set.json()) as { control_id: string; phase: string };
      assert.equal(setAnswer.phase, 'set 1');
      await waitFor(() => run.current().control_log?.find((e) => e.control_id === setAnswer.control_id)?.applied_at, 'every driver to apply the set');
      await waitFor(() => ((run.current().stages ?? []).find((s) => s.phase === 'set 1')?.requests_sent ?? 0) > 900 || undefined, 'the new rate to run for a while', 30_000);

      const wrongField = await post(`/api/tests/${run.testId}/control`, { action: 'set', concurrency: 8 });
      assert.equal(wrongField.status, 400, 'a concurrency for an open model is refused');
      assert.match(((await wrongField.json()) as { error: string }).error, /rate/);

      assert.equal((await post(`/api/tests/${run.testId}/control`, { action: 'pause' })).status, 202);
      const again = await post(`/api/tests/${run.testId}/control`, { action: 'pause' });
      assert.equal(again.status, 409, 'a paused test is not paused twice');
      await waitFor(() => run.current().control_log?.[1]?.applied_at, 'the pause to be applied');
      const sentAtPause = run.current().aggregate.requests_sent;
      await new Promise((r) => setTimeout(r, 1500));
      // Nothing goes out while paused (what was in flight at the pause may still be counted by then).
      assert.ok(run.current().aggregate.requests_sent - sentAtPause <= 10, `${run.current().aggregate.requests_sent - sentAtPause} requests went out while paused`);
      assert.equal((await post(`/api/tests/${run.testId}/control`, { action: 'resume' })).status, 202);

      const result = await orchestrator.waitForEnd(run.testId);
      assert.equal(result.status, 'complete', result.verdict.reason);
      const log = result.control_log ?? [];
      assert.deepEqual(log.map((e) => e.action), ['set', 'pause', 'resume']);
      assert.match(log[0].text, /^rate set to 600\/s at \d\d:\d\d:\d\d UTC by REST$/);
      assert.match(log[1].text, /^paused at \d\d:\d\d:\d\d UTC by REST$/);
      for (const e of log) assert.ok(e.applied_at && !e.refused, `${e.text}: applied by every driver`);
      const setWindow = result.stages!.find((s) => s.phase === 'set 1')!;
      assert.ok(setWindow.achieved_rate! > 500 && setWindow.achieved_rate! < 700, `the set window ran at ${setWindow.achieved_rate} req/s, planned 600`);
      const pauseWindow = result.stages!.find((s) => s.phase === 'pause 1')!;
      assert.equal(pauseWindow.requests_sent, 0, 'no request is due while paused');
    } finally {
      await api.close();
    }
  });

  it('a driver that speaks only the spec is not picked for a test with stages, the result says why, and if it runs the config anyway that is said too', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('stages-spec');
    const target = await startTargetProcess();
    await startAgent('ours', { kafka, prefix, orchestrator: 'test-orchestrator' });
    const theirs = spawnCommand(PYTHON, [SPEC_DRIVER, '--kafka', kafka, '--prefix', prefix, '--id', 'theirs', '--target', `${target.url}/ping`]);
    await waitFor(() => theirs.output().includes('registered'), `the spec-only driver to register (${theirs.output()})`, 60_000);
    const orchestrator = await startOrchestrator(kafka, prefix);
    await waitFor(() => orchestrator.registry.available().length === 2, 'both drivers to be available');

    const run = await orchestrator.startTest({ test_type: 'TSUNAMI', stages: [{ duration_s: 2, target_rate: 100 }], target: `${target.url}/ping` });
    assert.deepEqual(run.participants, ['ours']);
    const result = await orchestrator.waitForEnd(run.testId);
    assert.ok(result.not_picked?.some((reason) => /theirs speaks only the spec; a test with stages needs lt-agent/.test(reason)), JSON.stringify(result.not_picked));
    // Ours ran the stages as planned.
    const ours = result.per_driver.find((d) => d.node_id === 'ours')!;
    assert.equal(ours.state, 'complete');
    assert.equal(result.stages?.find((s) => s.phase === 'stage 1')?.requests_sent, 100);
    // A spec-only driver reads no driver_ids and runs every test_config it hears: when it did, its
    // requests reached the target and are counted, and the result says so rather than hiding them.
    if (result.per_driver.some((d) => d.node_id === 'theirs')) {
      assert.ok(result.warnings.some((w) => /theirs ran this test without being picked .* as a flat test beside the planned load over time/.test(w)), JSON.stringify(result.warnings));
    } else {
      assert.equal(result.status, 'complete', result.verdict.reason);
    }

    // A flat test by count still takes both.
    const flat = await orchestrator.startTest({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 50, target: `${target.url}/ping` });
    assert.deepEqual([...flat.participants].sort(), ['ours', 'theirs']);
    await orchestrator.waitForEnd(flat.testId);
  });
});
