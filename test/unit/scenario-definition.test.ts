import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toTestConfig, validateDefinition } from '../../orchestrator/loadtest-definition';
import { readTestData } from '../../orchestrator/scenarios/test-data-file';
import { neededFeatures, notPickedReason } from '../../orchestrator/stages/agent-features';
import { evaluateNamedThresholds } from '../../orchestrator/thresholds';
import type { RequestStats } from '../../orchestrator/result-model';
import { tempDir } from '../support/temp-dir';

const journey = (steps: unknown[], extra: Record<string, unknown> = {}) => ({ test_type: 'AVALANCHE', message_count_per_driver: 10, scenario: { steps }, ...extra });
const errors = (value: unknown) => {
  const r = validateDefinition(value);
  return r.ok ? [] : r.errors;
};

describe('a scenario in a definition', () => {
  it('is accepted in the issue’s shape, and goes on the wire with its first step as the target', () => {
    const definition = journey([
      { name: 'create', url: 'http://127.0.0.1:8800/items', method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "item {seq}"}', capture: { id: '$.id' }, check: { status: 201 } },
      { name: 'read', url: 'http://127.0.0.1:8800/items/{id}', check: { status: 200 } },
    ]);
    const checked = validateDefinition(definition);
    assert.ok(checked.ok, JSON.stringify(checked));
    const config = toTestConfig(checked.definition, 't', { id: 'o', names: [] }, ['d1']);
    assert.equal(config.target?.url, 'http://127.0.0.1:8800/items');
    assert.equal(config.target?.method, 'POST');
    assert.equal(config.scenario?.steps.length, 2);
  });

  it('steps may be paths under the scenario’s origin; on the wire every url is whole, its variables kept', () => {
    const definition = { test_type: 'AVALANCHE', message_count_per_driver: 10, scenario: { origin: 'http://127.0.0.1:8800', steps: [
      { name: 'create', url: '/items', method: 'POST', capture: { id: '$.id' } },
      { name: 'read', url: '/items/{id}?n={seq}' },
    ] } };
    const checked = validateDefinition(definition);
    assert.ok(checked.ok, JSON.stringify(checked));
    const config = toTestConfig(checked.definition, 't', { id: 'o', names: [] }, ['d1']);
    assert.deepEqual(config.scenario?.steps.map((s) => s.url), ['http://127.0.0.1:8800/items', 'http://127.0.0.1:8800/items/{id}?n={seq}']);
    assert.equal(config.target?.url, 'http://127.0.0.1:8800/items');
    assert.equal(Object.keys(config.scenario!).join(), 'steps');
    assert.deepEqual(errors(journey([{ name: 'read', url: '/items' }])), ['scenario.steps[0].url: "/items" is a path; give the scenario an "origin" (e.g. "origin": "http://127.0.0.1:8080"), or write the whole URL']);
    assert.match(errors({ test_type: 'AVALANCHE', message_count_per_driver: 1, scenario: { origin: 'http://a', steps: [{ name: 'a', url: '/x' }, { name: 'b', url: 'http://b/y' }] } })[0], /^scenario\.steps\[1\]\.url: every step goes to one origin \(http:\/\/a, as the first does\), not http:\/\/b/);
  });

  it('names the field of each problem: a variable used before it is captured, a name twice, two origins, a bad path or pattern', () => {
    assert.deepEqual(errors(journey([{ name: 'read', url: 'http://h/items/{id}' }, { name: 'create', url: 'http://h/items', capture: { id: '$.id' } }])), [
      'scenario.steps[0].url: {id} is no variable of the iteration at this step; step create captures it, but only after this step is sent',
    ]);
    assert.match(errors(journey([{ name: 'a', url: 'http://h/x' }, { name: 'a', url: 'http://h/y' }]))[0], /^scenario\.steps\[1\]\.name: "a" names another step too/);
    assert.match(errors(journey([{ name: 'a', url: 'http://h/x' }, { name: 'b', url: 'http://other/y' }]))[0], /^scenario\.steps\[1\]\.url: every step goes to one origin \(http:\/\/h/);
    assert.match(errors(journey([{ name: 'a', url: 'http://h/x', capture: { id: '$[?(' } }]))[0], /^scenario\.steps\[0\]\.capture\.id: "\$\[\?\(" is not a JSON path/);
    assert.match(errors(journey([{ name: 'a', url: 'http://h/x', capture: { t: { regex: 'token=\\w+' } } }]))[0], /^scenario\.steps\[0\]\.capture\.t: the pattern has no group 1/);
    assert.match(errors(journey([{ name: 'a', url: 'http://h/x', headers: { authorization: 'Bearer {token}' } }]))[0], /^scenario\.steps\[0\]\.headers\.authorization: \{token\} is no variable .* capture it in an earlier step/);
    assert.match(errors({ ...journey([{ name: 'a', url: 'http://h/x' }]), target: 'http://h/x' })[0], /^target and scenario: give one/);
    assert.match(errors({ test_type: 'AVALANCHE', message_count_per_driver: 1, target: 'http://h/', data: { file: 'u.csv' } })[0], /^data: feeds a scenario's variables/);
    assert.match(errors(journey([{ name: 'a', url: 'http://h/{user}' }], { data: { file: 'u.csv', mode: 'unique' }, warm_up_count_per_driver: 5 }))[0], /^warm_up_count_per_driver: a scenario with unique data cannot warm up/);
  });

  it('with data, leaves {column} to the data file, read before the test and checked for its size and column names', () => {
    assert.deepEqual(errors(journey([{ name: 'a', url: 'http://h/users/{user}' }], { data: { file: 'users.csv', mode: 'unique' } })), []);
    const dir = tempDir('test-data');
    writeFileSync(join(dir, 'users.csv'), 'user,"plan"\nann,basic\n"bob, jr",pro\n');
    assert.deepEqual(readTestData({ file: 'users.csv', mode: 'unique' }, dir), { mode: 'unique', columns: ['user', 'plan'], rows: [['ann', 'basic'], ['bob, jr', 'pro']] });
    writeFileSync(join(dir, 'users.jsonl'), '{"user": "ann", "age": 30}\n\n{"user": "bob"}\n');
    assert.deepEqual(readTestData({ file: 'users.jsonl' }, dir), { mode: 'cycle', columns: ['user', 'age'], rows: [['ann', '30'], ['bob', '']] });
    writeFileSync(join(dir, 'bad.csv'), 'first name\nann\n');
    assert.throws(() => readTestData({ file: 'bad.csv' }, dir), /data\.file: the column "first name" of .* cannot be a variable/);
    writeFileSync(join(dir, 'big.csv'), `user\n${'x'.repeat(100).concat('\n').repeat(6000)}`);
    assert.throws(() => readTestData({ file: 'big.csv' }, dir), /data\.file: .* makes \d+ KiB on the wire, above the 512 KiB a test carries/);
    assert.throws(() => readTestData({ file: 'missing.csv' }, dir), /data\.file: cannot read .*missing\.csv: ENOENT; the path is relative to the \.loadtest\.json file/);
  });

  it('needs drivers that announce scenario: one that speaks only the spec is not picked, and the reason says so', () => {
    const needed = neededFeatures({ test_type: 'TSUNAMI', scenario: { steps: [{ name: 'a', url: 'http://h/' }] } });
    assert.deepEqual(needed, ['scenario']);
    assert.equal(notPickedReason({ node_id: 'spec-1' }, needed), 'Not picked: spec-1 speaks only the spec; a scenario (steps) needs lt-agent');
    assert.equal(notPickedReason({ node_id: 'ours', features: ['duration', 'stages', 'control', 'scenario'] }, needed), undefined);
  });

  it('limits by step name: judged on the step’s own figures, check_failed counting as errors; a name that is no step is refused', () => {
    const steps = [
      { name: 'create', url: 'http://h/items', capture: { id: '$.id' } },
      { name: 'read', url: 'http://h/items/{id}', check: { status: 200 } },
    ];
    assert.deepEqual(errors(journey(steps, { thresholds: { steps: { read: { p99_latency_ms: 50, error_rate: 0.01 } } } })), []);
    assert.deepEqual(errors(journey(steps, { thresholds: { steps: { raed: { p99_latency_ms: 50 } } } })), ['thresholds.steps.raed: names no step; the test\'s are create, read']);
    assert.deepEqual(errors({ test_type: 'AVALANCHE', message_count_per_driver: 1, target: 'http://h/', thresholds: { steps: { a: { error_rate: 0 } } } }), ['thresholds.steps.a: limits by step need a scenario']);
    const latency = { mean: 20, median: 18, min: 1, max: 90, p90: 30, p95: 40, p99: 80, approximate: false, count: 100 };
    const rows: RequestStats[] = [
      { name: 'create', share: 0.5, requests_sent: 100, responses: 100, errors: 0, error_rate: 0, rate: 10, latency },
      { name: 'read', share: 0.5, requests_sent: 100, responses: 100, errors: 5, errors_by_kind: { check_failed: 5 }, error_rate: 0.05, rate: 10, latency },
    ];
    const checks = evaluateNamedThresholds({ create: { p99_latency_ms: 100 }, read: { p99_latency_ms: 50, error_rate: 0.01 } }, rows, 'step');
    assert.deepEqual(
      checks.map((c) => [c.name, c.passed, c.text]),
      [
        ['steps.create.p99_latency_ms', true, 'step create: p99 latency 80 ms <= 100 ms'],
        ['steps.read.p99_latency_ms', false, 'step read: p99 latency 80 ms <= 50 ms'],
        ['steps.read.error_rate', false, 'step read: error rate 5% <= 1%'],
      ],
    );
  });
});
