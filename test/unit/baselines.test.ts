// The history's baselines and the names of runs: a baseline per test file (or name), kept in the
// store; "last" and "baseline" resolved against the other side of a comparison.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { resolvePair } from '../../orchestrator/compare/run-refs';
import { Baselines, sourceFileKey } from '../../orchestrator/history/baselines';
import { MetricsStore } from '../../orchestrator/metrics-store';
import type { TestResult } from '../../orchestrator/result-model';
import { tempDir } from '../support/temp-dir';

describe('baselines and run names', () => {
  let store: MetricsStore;
  let workspace: string;
  const add = (id: string, createdAt: number, source?: { file?: string; name?: string }, finished = true) => {
    store.saveTest({ test_id: id, name: source?.name, created_at: createdAt, definition: { test_type: 'TSUNAMI', target: 'http://127.0.0.1:1/' }, config: { test_type: 'TSUNAMI' } as never, participants: ['d1'], ...(source?.file ? { source_file: sourceFileKey(store, join(workspace, source.file)) } : {}) });
    if (finished) store.saveResult({ test_id: id, created_at: createdAt, status: 'complete', verdict: { passed: true, reason: 'PASSED' }, aggregate: { requests_sent: 1, errors: 0 } } as unknown as TestResult);
  };

  beforeEach(() => {
    workspace = tempDir('baselines');
    store = new MetricsStore(join(workspace, '.loadtest'));
  });

  it('a run is the baseline of the file it came from, named relative to the workspace', () => {
    add('t1', 1, { file: 'tests/api.loadtest.json' });
    const baselines = new Baselines(store);
    assert.equal(baselines.set('t1', 10), 'tests/api.loadtest.json');
    assert.deepEqual(new Baselines(store).of('tests/api.loadtest.json'), { test_id: 't1', set_at: 10 });
    assert.equal(baselines.forRun('t1')?.test_id, 't1');
  });

  it('only a finished run with a file or a name can be a baseline, and the refusal says what to do', () => {
    add('running', 1, { file: 'a.loadtest.json' }, false);
    add('anonymous', 2);
    const baselines = new Baselines(store);
    assert.throws(() => baselines.set('running', 1), /has no result .* only a finished run can be a baseline/);
    assert.throws(() => baselines.set('anonymous', 1), /give the test a "name"/);
    assert.throws(() => baselines.set('nope', 1), /no stored test nope/);
    add('named', 3, { name: 'smoke' });
    assert.equal(baselines.set('named', 1), 'name: smoke');
  });

  it('"last" is the newest finished run (of the other side’s file); "baseline" is that file’s baseline', () => {
    add('a1', 1, { file: 'a.loadtest.json' });
    add('b1', 2, { file: 'b.loadtest.json' });
    add('a2', 3, { file: 'a.loadtest.json' });
    add('a3', 4, { file: 'a.loadtest.json' }, false); // still running: not "last"
    new Baselines(store).set('a1', 5);
    assert.deepEqual(resolvePair(store, 'baseline', 'last'), ['a1', 'a2']);
    assert.deepEqual(resolvePair(store, 'a1', 'last'), ['a1', 'a2']);
    assert.deepEqual(resolvePair(store, 'baseline', 'a2'), ['a1', 'a2']);
    assert.throws(() => resolvePair(store, 'baseline', 'b1'), /b\.loadtest\.json has no baseline; set one with: lt-orchestrator baseline set ID/);
  });
});
