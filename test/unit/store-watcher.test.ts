// The editor hears the history change on disk, whoever wrote it: a run's folder made and removed,
// its result written when it ends, a baseline set; and not every line appended while a run goes.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isHistoryChange, StoreWatcher } from '../../extension/vscode/store-watcher';
import { MetricsStore } from '../../orchestrator/metrics-store';
import type { TestResult } from '../../orchestrator/result-model';
import { tempDir } from '../support/temp-dir';

describe('watching the history on disk', () => {
  let watcher: StoreWatcher | undefined;
  afterEach(() => watcher?.dispose());

  /** Resolves at the next change heard, rejects after `ms` without one. */
  function changes(store: string) {
    let heard = 0;
    let wake: (() => void) | undefined;
    watcher = new StoreWatcher(store, () => {
      heard++;
      wake?.();
    }, (error) => assert.fail(error));
    return {
      count: () => heard,
      next: (ms = 3000) =>
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no change heard')), ms);
          wake = () => {
            clearTimeout(timer);
            wake = undefined;
            resolve();
          };
        }),
    };
  }

  it('hears a run start, end and go, and a baseline set, as another process writes them', async () => {
    const store = new MetricsStore(join(tempDir('watched'), '.loadtest'));
    const heard = changes(store.dir);
    let next = heard.next();
    store.saveTest({ test_id: 'r1', created_at: 1, definition: { test_type: 'TSUNAMI', target: 'http://127.0.0.1:1/' }, config: { test_type: 'TSUNAMI' } as never, participants: [] });
    await next;
    next = heard.next();
    store.saveResult({ test_id: 'r1', status: 'complete', verdict: { passed: true, reason: 'PASSED' } } as unknown as TestResult);
    await next;
    next = heard.next();
    writeFileSync(join(store.dir, 'baselines.json'), '{}');
    await next;
    next = heard.next();
    store.deleteTest('r1');
    await next;
  });

  it('does not stir for the lines a running test appends', async () => {
    const dir = join(tempDir('watched'), '.loadtest');
    mkdirSync(join(dir, 'tests', 'r2'), { recursive: true });
    const heard = changes(dir);
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 20; i++) {
      appendFileSync(join(dir, 'tests', 'r2', 'timeseries.ndjson'), '{}\n');
      appendFileSync(join(dir, 'tests', 'r2', 'reports.ndjson'), '{}\n');
    }
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(heard.count(), 0);
  });

  it('takes a run’s folder, its test.json and its result.json for changes, nothing else in it', () => {
    assert.deepEqual(['lt-1', join('lt-1', 'result.json'), join('lt-1', 'test.json'), join('lt-1', 'result.json.41.tmp'), join('lt-1', 'intervals.ndjson'), join('lt-1', 'x', 'result.json')].map(isHistoryChange), [true, true, true, false, false, false]);
  });

  it('refuses to start on a folder that is not there, so that the editor can watch another way', () => {
    assert.throws(() => new StoreWatcher(join(tempDir('watched'), 'none'), () => {}, () => {}), /ENOENT/);
  });
});
