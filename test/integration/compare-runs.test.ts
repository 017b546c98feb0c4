// Remembering and comparing on real processes: runs of one file through the CLI against lt-target
// with known added latencies, a baseline set from the history, and `run --baseline` / `compare`
// judging each later run against it: the same system within noise, a real 1 ms improvement better,
// 55 ms more a regression that fails the verdict with the line of the limit it broke. A run's p99
// on a shared 2-core machine can stall to 25 ms by itself, and a p99 resting on 12 latencies may then
// be within the noise its run shows: the p50 limit beside it is what such a run still breaks.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FigureDelta } from '../../orchestrator/compare/comparison-model';
import type { TestResult } from '../../orchestrator/result-model';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { runBin, startAgent, startTargetProcess, tempDir } from '../support/processes';

// xml2js parses with sax in strict mode: a report that is not well-formed XML is refused.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parseStringPromise } = require('xml2js') as { parseStringPromise(xml: string): Promise<unknown> };

describe('remember and compare (on real processes)', function () {
  it('the same file run again is within noise, 1 ms faster is better, 55 ms slower fails its regression limits', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('compare');
    const [fiveMs, fourMs, slow] = await Promise.all([startTargetProcess(['--latency', '5']), startTargetProcess(['--latency', '4']), startTargetProcess(['--latency', '60'])]);
    await startAgent('cmp-1', { kafka, prefix, orchestrator: 'test-compare' });
    const workspace = tempDir('compare-workspace');
    const file = join(workspace, 'api.loadtest.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'api',
        test_type: 'TSUNAMI',
        test_message_delay: 0.005,
        duration_s: 6,
        // As a comparison should be run: the agent's JIT and connections warmed before the measured part.
        warm_up_count_per_driver: 300,
        drivers: 1,
        target: `${fiveMs.url}/ping`,
        regression: { p50_latency_ms: '+10%', p99_latency_ms: '+10%', error_rate: '+0.005', throughput: '-5%' },
      }),
    );
    const env = { LT_KAFKA: kafka, LT_TOPIC_PREFIX: prefix, LT_ORCHESTRATOR_ID: 'test-compare', LT_STORE: join(workspace, '.loadtest') };
    const cli = (args: string[]) => runBin('lt-orchestrator', args, env, workspace);
    /** One run of the file (against `target` when given), judged against the file's baseline; its exit code, output and stored result. */
    const runAgainstBaseline = async (target?: string) => {
      const dir = tempDir('compare-out');
      const [json, junit, markdown] = ['result.json', 'junit.xml', 'summary.md'].map((name) => join(dir, name));
      const r = await cli(['run', 'api.loadtest.json', '--quiet', '--baseline', '--json', json, '--junit', junit, '--summary-md', markdown, ...(target ? ['--target', target] : [])]);
      return { ...r, result: JSON.parse(readFileSync(json, 'utf8')) as TestResult, junit: readFileSync(junit, 'utf8'), markdown: readFileSync(markdown, 'utf8') };
    };
    const figure = (result: TestResult, name: FigureDelta['figure']) => result.comparison!.scopes[0].figures.find((f) => f.figure === name)!;

    // Without a baseline, --baseline refuses before spending a run, and says how to set one.
    const none = await cli(['run', 'api.loadtest.json', '--baseline']);
    assert.equal(none.code, 2, none.stdout + none.stderr);
    assert.match(none.stderr, /api\.loadtest\.json has no baseline .* baseline set last/);

    const first = await cli(['run', 'api.loadtest.json', '--quiet']);
    assert.equal(first.code, 0, first.stdout + first.stderr);
    const set = await cli(['baseline', 'set', 'last']);
    assert.equal(set.code, 0, set.stderr);
    const baselineId = /^(\S+) is now the baseline of api\.loadtest\.json$/m.exec(set.stdout)?.[1];
    assert.ok(baselineId, set.stdout);

    const same = await runAgainstBaseline();
    assert.equal(same.code, 0, same.stdout + same.stderr);
    assert.equal(same.result.comparison?.baseline.test_id, baselineId);
    assert.equal(same.result.comparison?.regression?.passed, true, same.stdout);
    assert.equal(figure(same.result, 'p50_latency_ms').judgement, 'noise', same.stdout);
    assert.match(same.stdout, /REGRESSION CHECK PASSED/);

    const faster = await runAgainstBaseline(`${fourMs.url}/ping`);
    assert.equal(faster.code, 0, faster.stdout + faster.stderr);
    assert.equal(figure(faster.result, 'p50_latency_ms').judgement, 'better', faster.stdout);
    assert.equal(faster.result.verdict.passed, true, faster.result.verdict.reason);

    const slower = await runAgainstBaseline(`${slow.url}/ping`);
    assert.equal(slower.code, 1, slower.stdout + slower.stderr);
    assert.equal(figure(slower.result, 'p50_latency_ms').judgement, 'worse', slower.stdout);
    assert.notEqual(figure(slower.result, 'p99_latency_ms').judgement, 'better', slower.stdout);
    assert.match(slower.result.verdict.reason, new RegExp(`^FAILED: regression against baseline ${baselineId}: p(50|99) latency [\\d.]+ ms against [\\d.]+ ms in the baseline: \\+[\\d.]+ ms \\(\\+[\\d.]+%\\), beyond the \\+10% limit`));
    assert.match(slower.stdout, /Result: FAILED: regression against baseline/);
    // The reports say the same: the JUnit file has the broken limit as its one failing case, the Markdown its row.
    const junit = (await parseStringPromise(slower.junit)) as { testsuites: { testsuite: { testcase: { $: { name: string }; failure?: unknown[] }[] }[] } };
    const failing = junit.testsuites.testsuite[0].testcase.filter((c) => c.failure).map((c) => c.$.name);
    assert.equal(failing.length, slower.result.comparison!.regression!.checks.filter((c) => !c.passed).length, failing.join(', '));
    assert.ok(failing.some((name) => /p50_latency_ms/.test(name)), failing.join(', '));
    assert.match(slower.markdown, /\| p50 latency \| [\d.]+ ms \| [\d.]+ ms \| \+[\d.]+ ms .*worse \|/);

    // compare reads the history alone: the same judgement, by name or by "baseline" and "last".
    const compared = await cli(['compare', 'baseline', 'last']);
    assert.equal(compared.code, 1, compared.stdout + compared.stderr);
    assert.match(compared.stdout, new RegExp(`Baseline: ${baselineId}`));
    assert.match(compared.stdout, /p50 latency .* worse/);
    assert.match(compared.stdout, /REGRESSION CHECK FAILED: .*p50 latency/);
    const sameAgain = await cli(['compare', baselineId!, same.result.test_id]);
    assert.equal(sameAgain.code, 0, sameAgain.stdout);
  });
});
