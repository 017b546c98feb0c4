// A scenario's test data on real agents, a real broker and lt-target: the file is read by the
// orchestrator and travels in the test_config; unique rows that run out end the run complete,
// with a warning that says so; cycled rows go round.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareRuns, loadRun } from '../../orchestrator/compare/compare-runs';
import { startFleet } from '../support/fleet';
import { tempDir } from '../support/processes';

describe('a scenario’s test data on real agents', function () {
  it('unique rows dealt over 3 drivers run out before the plan: every row used once, the run complete, with a warning that says so', async () => {
    const { orchestrator, target } = await startFleet('scenario-data', 3);
    const dir = tempDir('scenario-data');
    writeFileSync(join(dir, 'users.jsonl'), Array.from({ length: 10 }, (_, i) => JSON.stringify({ user: `user${i}` })).join('\n'));
    const definition = {
      test_type: 'AVALANCHE',
      concurrency: 2,
      message_count_per_driver: 20,
      drivers: 3,
      data: { file: 'users.jsonl', mode: 'unique' },
      scenario: {
        steps: [
          { name: 'signin', url: `${target.url}/signin`, method: 'POST', body: '{"user": "{user}"}', capture: { token: '$.token' }, check: { status: 200 } },
          { name: 'account', url: `${target.url}/account`, headers: { authorization: 'Bearer {token}' }, check: { status: 200, json: { '$.user': '{user}' } } },
        ],
      },
    };
    const run = await orchestrator.startTest(definition, { waitForDriversMs: 30_000, sourceFile: join(dir, 'journey.loadtest.json') });
    const result = await orchestrator.waitForEnd(run.testId);
    assert.equal(result.status, 'complete', result.verdict.reason);
    assert.equal(result.verdict.passed, true, result.verdict.reason);
    // Rows 0..9 over 3 drivers: 4, 3 and 3; each account read was checked against its own row's user.
    assert.deepEqual(result.per_driver.map((d) => d.requests_sent).sort(), [6, 6, 8]);
    assert.deepEqual([result.iterations!.started, result.iterations!.completed], [10, 10]);
    assert.deepEqual(result.per_request!.map((r) => [r.name, r.responses, r.errors]), [['signin', 10, 0], ['account', 10, 0]]);
    const warning = result.warnings.find((w) => w.startsWith('data: '));
    assert.match(warning ?? '', /^data: the 10 rows of the test data \(unique: each used once in the test\) ran out: .* iterations; the run ended with every row used, before its plan/);
  });

  it('a data file that is too large, or names a column no variable can have, is refused before anything is sent', async () => {
    const { orchestrator, target } = await startFleet('scenario-data-bad', 1);
    const dir = tempDir('scenario-data-bad');
    writeFileSync(join(dir, 'big.csv'), `user\n${`${'x'.repeat(200)}\n`.repeat(3000)}`);
    const definition = (file: string) => ({ test_type: 'AVALANCHE', message_count_per_driver: 5, data: { file }, scenario: { steps: [{ name: 'a', url: `${target.url}/ping?u={user}` }] } });
    await assert.rejects(orchestrator.startTest(definition('big.csv'), { sourceFile: join(dir, 'a.loadtest.json') }), /data\.file: .*big\.csv makes \d+ KiB on the wire, above the 512 KiB a test carries/);
    writeFileSync(join(dir, 'other.csv'), 'name\nann\n');
    await assert.rejects(orchestrator.startTest(definition('other.csv'), { sourceFile: join(dir, 'a.loadtest.json') }), /scenario\.steps\[0\]\.url: \{user\} is no variable of the iteration at this step; it is not a column of the data file either/);
    assert.equal((await target.counters()).requests_sent, 0);
    assert.deepEqual(orchestrator.listTests(), []);
  });

  it('two runs of a journey compare step by step: each step a scope of the comparison, its figures judged', async () => {
    const { orchestrator, target } = await startFleet('scenario-compare', 1);
    const definition = {
      name: 'journey to compare',
      test_type: 'TSUNAMI',
      test_message_delay: 0.01,
      message_count_per_driver: 300,
      scenario: {
        origin: target.url,
        steps: [
          { name: 'signin', url: '/signin', method: 'POST', body: '{"user": "u{seq}"}', capture: { token: '$.token' } },
          { name: 'account', url: '/account', headers: { authorization: 'Bearer {token}' }, check: { status: 200 } },
        ],
      },
    };
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const run = await orchestrator.startTest(definition, { waitForDriversMs: 30_000 });
      ids.push((await orchestrator.waitForEnd(run.testId)).test_id);
    }
    const comparison = compareRuns(loadRun(orchestrator.store, ids[0]), loadRun(orchestrator.store, ids[1]));
    const scopes = comparison.scopes.map((s) => `${s.scope}:${s.name}`);
    assert.ok(scopes.includes('request:signin') && scopes.includes('request:account'), scopes.join(', '));
    const account = comparison.scopes.find((s) => s.name === 'account')!;
    const p99 = account.figures.find((f) => f.figure === 'p99_latency_ms')!;
    assert.ok(p99.baseline !== null && p99.current !== null, 'the step’s p99 in both runs, from its stored histogram');
    assert.equal(account.figures.find((f) => f.figure === 'error_rate')?.current, 0);
  });
});
