// Verdicts and figures that must not mislead, tried as a user would: files people write, drivers
// of other implementations reporting in their own ways (test/interop/spec_driver.py), an
// orchestrator restarted mid-test, and the same figure read from every surface.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestResult } from '../../orchestrator/result-model';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { ROOT, runBin, spawnBin, spawnCommand, startAgent, startOrchestrator, startTargetProcess, stopOrchestrator, tempDir, waitFor } from '../support/processes';

const PYTHON = '/usr/bin/python3';
const SPEC_DRIVER = join(ROOT, 'test', 'interop', 'spec_driver.py');

async function setUp(name: string) {
  const kafka = await kafkaBootstrap();
  const prefix = uniquePrefix(name);
  return { kafka, prefix };
}

/** A driver of another implementation (spec only), reporting in the way `args` say. */
async function theirDriver(kafka: string, prefix: string, id: string, target: string, args: string[] = []) {
  const p = spawnCommand(PYTHON, [SPEC_DRIVER, '--kafka', kafka, '--prefix', prefix, '--id', id, '--target', target, ...args]);
  await waitFor(() => p.output().includes('registered'), `the spec-only driver ${id} to register (its output: ${p.output()})`, 60_000);
  return p;
}

function writeDefinition(definition: object): string {
  const file = join(tempDir('traps-file'), 'test.loadtest.json');
  writeFileSync(file, JSON.stringify(definition));
  return file;
}

describe('verdicts that cannot mislead (on real processes)', function () {
  it('a file whose only threshold is a latency limit fails on 90% errors, naming the default error limit (exit 1)', async () => {
    const { kafka, prefix } = await setUp('traps-errors');
    const target = await startTargetProcess(['--error-rate', '0.9']);
    await startAgent('errs-1', { kafka, prefix, orchestrator: 'test-traps' });
    const file = writeDefinition({ test_type: 'TSUNAMI', test_message_delay: 0.002, message_count_per_driver: 2000, target: `${target.url}/ping`, thresholds: { p99_latency_ms: 1000 } });
    const json = join(tempDir('traps-json'), 'result.json');
    const r = await runBin('lt-orchestrator', ['run', file, '--drivers', '1', '--json', json], { LT_KAFKA: kafka, LT_TOPIC_PREFIX: prefix, LT_ORCHESTRATOR_ID: 'test-traps', LT_STORE: tempDir('traps-store') });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /PASS\s+p99 latency [\d.]+ ms <= 1000 ms/);
    assert.match(r.stdout, /FAIL\s+error rate (8\d|9\d)(\.\d+)?% <= 1% \(default limit; set thresholds.error_rate to change it\)/);
    assert.match(r.stdout, /Result: FAILED: error rate (8\d|9\d)(\.\d+)?% <= 1% \(default limit/);
    const result = JSON.parse(readFileSync(json, 'utf8')) as TestResult;
    assert.equal(result.status, 'complete');
    assert.equal(result.verdict.passed, false);
  });

  it('errors a driver does not count are unknown, not zero: judged on the drivers that count them, and named', async () => {
    const { kafka, prefix } = await setUp('traps-unknown');
    const target = await startTargetProcess();
    await startAgent('ours', { kafka, prefix, orchestrator: 'test-orchestrator' });
    await theirDriver(kafka, prefix, 'theirs', `${target.url}/ping`, ['--cumulative']);
    const orchestrator = await startOrchestrator(kafka, prefix, { quietAfterMs: 3000 });
    await waitFor(() => orchestrator.registry.available().length === 2, 'both drivers to be available');

    const both = await orchestrator.startTest({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 100, drivers: 2, target: `${target.url}/ping`, thresholds: { median_latency_ms: 5000 } });
    const mixed = await orchestrator.waitForEnd(both.testId);
    assert.equal(mixed.status, 'complete', mixed.verdict.reason);
    assert.deepEqual(mixed.aggregate.errors_unknown_from, ['theirs']);
    assert.equal(mixed.per_driver.find((d) => d.node_id === 'theirs')!.errors, null);
    assert.match(mixed.verdict.reason, /^PASSED: 200 of 200 requests, error rate 0% within the default limit of 1% \(errors unknown for theirs\), 1 other threshold met \(1 on approximate percentiles: theirs sent no histogram\)/);
    const median = mixed.thresholds.checks.find((c) => c.name === 'median_latency_ms')!;
    assert.equal(median.approximate, true);
    assert.match(median.text, /^median latency [\d.]+ ms <= 5000 ms \(approximate: theirs sent no histogram, so the percentile is estimated from their own figures\)$/);

    // A percentile their driver does not send cannot be estimated: unknown, and the limit fails.
    const p99Run = await orchestrator.startTest({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 100, drivers: 2, target: `${target.url}/ping`, thresholds: { p99_latency_ms: 5000 } });
    const p99Result = await orchestrator.waitForEnd(p99Run.testId);
    assert.equal(p99Result.status, 'complete', p99Result.verdict.reason);
    assert.equal(p99Result.verdict.reason, 'FAILED: p99 latency unknown (theirs sent neither a histogram nor this percentile) <= 5000 ms');

  });

  it('with only drivers that count no errors, the error limit fails: a test cannot pass on no evidence', async () => {
    const { kafka, prefix } = await setUp('traps-unknown-only');
    const target = await startTargetProcess();
    await theirDriver(kafka, prefix, 'theirs', `${target.url}/ping`, ['--cumulative']);
    const orchestrator = await startOrchestrator(kafka, prefix, { quietAfterMs: 3000 });
    await waitFor(() => orchestrator.registry.available().length === 1, 'the driver to be available');
    const run = await orchestrator.startTest({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 100, drivers: 1, target: `${target.url}/ping` });
    const alone = await orchestrator.waitForEnd(run.testId);
    assert.equal(alone.status, 'complete', alone.verdict.reason);
    assert.equal(alone.verdict.passed, false);
    assert.match(alone.verdict.reason, /^FAILED: error rate unknown \(theirs sent no error counts\) <= 1%/);
  });

  it('a cumulative driver whose count stays while its mean moves is not summed, and two drivers numbering their reports 1, 2, 3 are both counted', async () => {
    const { kafka, prefix } = await setUp('traps-cumulative');
    // 40 ms per response and reports every 10 ms: most reports repeat the count, some with a new mean.
    const target = await startTargetProcess(['--latency', '40']);
    for (const id of ['numbered-a', 'numbered-b']) await theirDriver(kafka, prefix, id, `${target.url}/ping`, ['--cumulative', '--report-ids', 'numbered', '--report-interval', '0.01']);
    const orchestrator = await startOrchestrator(kafka, prefix, { quietAfterMs: 3000 });
    await waitFor(() => orchestrator.registry.available().length === 2, 'both drivers to be available');
    const run = await orchestrator.startTest({ test_type: 'TSUNAMI', test_message_delay: 0.05, message_count_per_driver: 40, drivers: 2, target: `${target.url}/ping` });
    const result = await orchestrator.waitForEnd(run.testId);
    assert.equal((await target.counters()).requests_sent, 80);
    assert.equal(result.status, 'complete', result.verdict.reason);
    for (const d of result.per_driver) {
      assert.equal(d.requests_sent, 40, `${d.node_id}: its cumulative count, not a sum of its reports`);
      assert.ok(d.reports > 10, `${d.node_id} reported ${d.reports} times`);
    }
    assert.equal(result.aggregate.requests_sent, 80);
  });

  it('reports without an id are counted once by an orchestrator restarted mid-test, which reads them again', async () => {
    const { kafka, prefix } = await setUp('traps-no-id');
    const storeDir = tempDir('traps-no-id-store');
    const target = await startTargetProcess();
    await theirDriver(kafka, prefix, 'anonymous', `${target.url}/ping`, ['--report-ids', 'none']);
    const first = await startOrchestrator(kafka, prefix, { storeDir, quietAfterMs: 3000 });
    await waitFor(() => first.registry.available().length === 1, 'the driver to be available');
    const run = await first.startTest({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 300, drivers: 1, target: `${target.url}/ping` });
    await waitFor(() => run.snapshot().aggregate.requests_sent > 50, 'the test to be under way');
    await stopOrchestrator(first);
    const second = await startOrchestrator(kafka, prefix, { storeDir, quietAfterMs: 3000 });
    assert.equal(second.activeRun()?.testId, run.testId, 'the restarted orchestrator picked the test up');
    const result = await second.waitForEnd(run.testId);
    assert.equal((await target.counters()).requests_sent, 300);
    assert.equal(result.aggregate.requests_sent, 300, 'each interval report once, though read twice');
    assert.equal(result.status, 'complete', result.verdict.reason);
  });

  it('a finished driver’s rate is one figure on every surface: TSUNAMI 50/s with a warm-up, in the table, the JSON and the CSV; a mix’s rates use the measured seconds', async () => {
    const { kafka, prefix } = await setUp('traps-rate');
    const target = await startTargetProcess();
    await startAgent('rate-1', { kafka, prefix, orchestrator: 'test-traps' });
    const file = writeDefinition({
      test_type: 'TSUNAMI',
      test_message_delay: 0.02,
      message_count_per_driver: 600,
      warm_up_count_per_driver: 100,
      requests: [
        { name: 'read', weight: 4, url: `${target.url}/ping` },
        { name: 'write', weight: 1, url: `${target.url}/ping?w={seq}` },
      ],
    });
    const dir = tempDir('traps-rate-out');
    const r = await runBin('lt-orchestrator', ['run', file, '--drivers', '1', '--json', join(dir, 'r.json'), '--csv', join(dir, 'r.csv')], { LT_KAFKA: kafka, LT_TOPIC_PREFIX: prefix, LT_ORCHESTRATOR_ID: 'test-traps', LT_STORE: tempDir('traps-store') });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const result = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as TestResult;
    const d = result.per_driver[0];
    assert.ok(Math.abs(d.average_rate! - 50) < 1, `the driver averaged ${d.average_rate} req/s`);
    assert.match(r.stdout, new RegExp(`rate-1\\s+complete\\s+600\\s+600\\s+0\\s+${Math.round(d.average_rate!)}\\s`), 'the table prints the same figure');
    const csvRow = readFileSync(join(dir, 'r.csv'), 'utf8').split('\n').find((l) => l.includes(',rate-1,'))!;
    assert.equal(Number(csvRow.split(',')[8]), d.average_rate, 'the CSV carries the same figure');
    const write = result.per_request!.find((q) => q.name === 'write')!;
    assert.ok(Math.abs(write.rate - (write.responses / result.run_s)) < 1e-9 && result.run_s < 12.5, `writes per second over the ${result.run_s} s measured, not the warm-up: ${write.rate}`);
    assert.ok(Math.abs(write.rate - 10) < 1, `a fifth of 50/s: ${write.rate}`);
  });

  it('a store that fails mid-test does not hold the run: lt-orchestrator run ends on time with its verdict and says what was not kept', async () => {
    const { kafka, prefix } = await setUp('traps-store');
    const target = await startTargetProcess();
    await startAgent('store-1', { kafka, prefix, orchestrator: 'test-traps' });
    const store = tempDir('traps-broken-store');
    const file = writeDefinition({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 500, target: `${target.url}/ping` });
    const json = join(tempDir('traps-json'), 'result.json');
    const cli = spawnBin('lt-orchestrator', ['run', file, '--drivers', '1', '--json', json], { LT_KAFKA: kafka, LT_TOPIC_PREFIX: prefix, LT_ORCHESTRATOR_ID: 'test-traps', LT_STORE: store });
    // Once the test is stored and under way, a file takes its folder's place: every later write fails, as on a broken disk.
    const folder = await waitFor(() => findTestFolder(store), 'the test to be stored', 60_000);
    await waitFor(() => /\d+s\s+drivers 1\/1 running/.test(cli.output()), 'the test to be under way', 60_000);
    rmSync(folder, { recursive: true });
    writeFileSync(folder, 'not a folder');
    assert.equal(await cli.exited, 0, cli.output());
    assert.match(cli.output(), /store: could not save (a report|a time point|the last time point|the result): .*the stored copy of this test is not/);
    assert.match(cli.output(), /Result: PASSED: 500 of 500 requests/);
    assert.equal((JSON.parse(readFileSync(json, 'utf8')) as TestResult).aggregate.requests_sent, 500);
  });
});

/** The folder of the one test stored under `store`, whatever the store's layout. */
function findTestFolder(store: string): string | undefined {
  const walk = (dir: string, depth: number): string | undefined => {
    if (depth > 4 || !existsSync(dir)) return undefined;
    if (existsSync(join(dir, 'test.json'))) return dir;
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) {
      const found = walk(join(dir, entry.name), depth + 1);
      if (found) return found;
    }
    return undefined;
  };
  return walk(store, 0);
}
