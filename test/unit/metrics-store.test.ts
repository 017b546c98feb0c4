import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../common/logger';
import { MetricsStore, type StoredTest } from '../../orchestrator/metrics-store';
import { Orchestrator } from '../../orchestrator/orchestrator';
import { OrchestratorError } from '../../orchestrator/orchestrator-error';
import type { TestResult, TimePoint } from '../../orchestrator/result-model';
import { startRestApi } from '../../orchestrator/rest-api/rest-api';
import { FakeBus } from '../support/fake-bus';
import { FakeClock } from '../support/fake-clock';
import { tempDir } from '../support/temp-dir';

const definition = { test_type: 'AVALANCHE' as const, message_count_per_driver: 5, target: 'http://127.0.0.1/' };
const stored = (testId: string, createdAt: number, triggered = true): StoredTest => ({
  test_id: testId,
  created_at: createdAt,
  triggered_at: triggered ? createdAt + 1 : undefined,
  definition,
  config: { test_id: testId, test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 5 },
  participants: ['a'],
});
const point = (t: number): TimePoint => ({ t, timestamp: 1000 + t, requests_sent: 5 * t, responses: 5 * t, errors: 0, rate: 5, latency: null, per_driver: {} });
/** Enough of a result for the store: it keeps whatever the run wrote. */
const result = (testId: string): TestResult => ({ test_id: testId, status: 'complete', ended_at: 50, aggregate: { requests_sent: 5, errors: 0 }, verdict: { passed: true, reason: 'ok' } }) as unknown as TestResult;

/** A test folder written as the extension's earlier layout left it: STORE/history/tests/ID. */
function writeLegacyTest(storeDir: string, testId: string, createdAt: number): string {
  const folder = join(storeDir, 'history', 'tests', testId);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'test.json'), JSON.stringify(stored(testId, createdAt), null, 2));
  writeFileSync(join(folder, 'timeseries.ndjson'), [point(1), point(2)].map((p) => JSON.stringify(p) + '\n').join(''));
  writeFileSync(join(folder, 'reports.ndjson'), JSON.stringify({ node_id: 'a', test_id: testId, requests_sent: 5, received_at: 40 }) + '\n');
  writeFileSync(join(folder, 'result.json'), JSON.stringify(result(testId), null, 2));
  return folder;
}

const isStorageError = (pattern: RegExp) => (error: unknown) => error instanceof OrchestratorError && error.code === 'storage' && pattern.test(error.message);

describe('the metrics store: one layout for the CLI, serve, the extension and the REST API', () => {
  it('keeps each test in STORE/tests/ID, the folder lt-orchestrator --store and the extension both open', () => {
    const dir = tempDir('store-layout');
    const store = new MetricsStore(dir);
    store.saveTest(stored('t-1', 1));
    store.appendPoint('t-1', point(1));
    store.saveResult(result('t-1'));
    for (const file of ['test.json', 'timeseries.ndjson', 'result.json']) assert.ok(existsSync(join(dir, 'tests', 't-1', file)), file);
    assert.equal(new MetricsStore(dir).list()[0].status, 'complete', 'a second host on the same folder sees it');
  });

  it('reads a store written in the earlier extension layout (history/tests/ID) without losing a file, by moving it', () => {
    const dir = tempDir('store-legacy');
    const legacy = writeLegacyTest(dir, 'from-editor', 10);
    const before = ['test.json', 'timeseries.ndjson', 'reports.ndjson', 'result.json'].map((f) => readFileSync(join(legacy, f), 'utf8'));
    // A test the CLI wrote into the same folder meanwhile.
    const cliFolder = join(dir, 'tests', 'from-cli');
    mkdirSync(cliFolder, { recursive: true });
    writeFileSync(join(cliFolder, 'test.json'), JSON.stringify(stored('from-cli', 20)));

    const store = new MetricsStore(dir);
    assert.deepEqual(store.migration?.moved, ['from-editor']);
    assert.deepEqual(
      store.list().map((t) => [t.test_id, t.status]),
      [
        ['from-cli', 'interrupted'],
        ['from-editor', 'complete'],
      ],
    );
    const after = ['test.json', 'timeseries.ndjson', 'reports.ndjson', 'result.json'].map((f) => readFileSync(join(dir, 'tests', 'from-editor', f), 'utf8'));
    assert.deepEqual(after, before, 'every file arrived as it was');
    assert.equal(store.loadTimeSeries('from-editor').length, 2);
    assert.equal(store.loadReports('from-editor').length, 1);
    assert.ok(!existsSync(join(dir, 'history')), 'the emptied old folders are gone');
    assert.equal(new MetricsStore(dir).migration, undefined, 'nothing to move the second time');
  });

  it('leaves a test of the earlier layout whose id is also in the new one where it is, and says so', () => {
    const dir = tempDir('store-legacy-clash');
    const legacy = writeLegacyTest(dir, 'same-id', 10);
    new MetricsStore(dir).saveTest(stored('other', 5));
    // Now a test under the same id in both layouts.
    writeLegacyTest(dir, 'other', 6);
    const store = new MetricsStore(dir);
    assert.deepEqual(store.migration?.leftBehind, ['other']);
    assert.ok(existsSync(join(dir, 'history', 'tests', 'other', 'result.json')), 'the one left behind is untouched');
    assert.ok(existsSync(join(dir, 'tests', 'same-id', 'result.json')));
    assert.ok(!existsSync(legacy));
  });

  describe('a store error is reported, not swallowed', () => {
    it('a damaged result.json is an unreadable test with the reason, not an interrupted one', () => {
      const dir = tempDir('store-damaged');
      const store = new MetricsStore(dir);
      store.saveTest(stored('t-1', 1));
      writeFileSync(join(dir, 'tests', 't-1', 'result.json'), '{"test_id": "t-1", "status": "comp');
      const [listing] = store.list();
      assert.equal(listing.status, 'unreadable');
      assert.match(listing.error!, /result\.json is damaged/);
      assert.throws(() => store.loadResult('t-1'), isStorageError(/t-1.result\.json is damaged/));
    });

    it('a damaged test.json still lists the test, as unreadable, beside the good ones', () => {
      const dir = tempDir('store-damaged-test');
      const store = new MetricsStore(dir);
      store.saveTest(stored('good', 1));
      mkdirSync(join(dir, 'tests', 'bad'));
      writeFileSync(join(dir, 'tests', 'bad', 'test.json'), 'not json');
      assert.deepEqual(
        store.list().map((t) => [t.test_id, t.status]).sort(),
        [
          ['bad', 'unreadable'],
          ['good', 'interrupted'],
        ],
      );
    });

    it('a file that cannot be read is an error, not a missing file', () => {
      const dir = tempDir('store-unreadable');
      const store = new MetricsStore(dir);
      store.saveTest(stored('t-1', 1));
      mkdirSync(join(dir, 'tests', 't-1', 'result.json')); // reading it fails with EISDIR
      assert.throws(() => store.loadResult('t-1'), isStorageError(/cannot read .*result\.json/));
      assert.equal(store.loadResult('nope'), undefined, 'a test that does not exist has no result');
    });

    it('skips a last line cut short by a crash, but a damaged line before the end is an error', () => {
      const dir = tempDir('store-lines');
      const store = new MetricsStore(dir);
      store.saveTest(stored('t-1', 1));
      store.appendPoint('t-1', point(1));
      appendFileSync(join(dir, 'tests', 't-1', 'timeseries.ndjson'), '{"t":2,"timest');
      assert.equal(store.loadTimeSeries('t-1').length, 1);
      appendFileSync(join(dir, 'tests', 't-1', 'timeseries.ndjson'), '\n' + JSON.stringify(point(3)) + '\n');
      assert.throws(() => store.loadTimeSeries('t-1'), isStorageError(/timeseries\.ndjson is damaged at line 2/));
    });

    it('a write that fails is a storage error naming the file', () => {
      const dir = tempDir('store-write');
      const store = new MetricsStore(dir);
      store.saveTest(stored('t-1', 1));
      mkdirSync(join(dir, 'tests', 't-1', 'timeseries.ndjson'));
      assert.throws(() => store.appendPoint('t-1', point(1)), isStorageError(/cannot write .*timeseries\.ndjson/));
    });

    it('refuses test ids that would leave its folder, as invalid input', () => {
      const store = new MetricsStore(tempDir('store-ids'));
      assert.throws(() => store.saveTest(stored('../evil', 1)), (e) => e instanceof OrchestratorError && e.code === 'invalid');
      assert.equal(store.has('../evil'), false);
    });
  });

  describe('through the orchestrator and its REST API', () => {
    let orchestrator: Orchestrator | undefined;
    let closeApi: (() => Promise<void>) | undefined;
    afterEach(async () => {
      await closeApi?.();
      await orchestrator?.shutdown();
      closeApi = orchestrator = undefined;
    });

    async function open(storeDir: string) {
      const clock = new FakeClock();
      orchestrator = await Orchestrator.open(new FakeBus(() => clock.now()), { storeDir, id: 'orch', logger: createLogger('orchestrator', 'error', () => {}), clock, settleMs: 0 });
      const api = await startRestApi(orchestrator, { host: '127.0.0.1', port: 0 });
      closeApi = api.close;
      return { orchestrator, get: (path: string) => fetch(`${api.url}${path}`) };
    }

    it('a damaged result answers 500 with the code storage; an unknown test 404', async () => {
      const dir = tempDir('store-rest');
      const store = new MetricsStore(dir);
      store.saveTest(stored('t-1', Date.UTC(2026, 10, 21, 11, 59)));
      writeFileSync(join(dir, 'tests', 't-1', 'result.json'), '{"broken');
      const { get } = await open(dir);
      const damaged = await get('/api/tests/t-1');
      assert.equal(damaged.status, 500);
      const body = (await damaged.json()) as { error: string; code: string };
      assert.equal(body.code, 'storage');
      assert.match(body.error, /result\.json is damaged/);
      assert.equal((await get('/api/tests/nope')).status, 404);
      const listing = (await (await get('/api/tests')).json()) as { tests: { test_id: string; status: string; error?: string }[] };
      assert.equal(listing.tests[0].status, 'unreadable');
    });

    it('a triggered test whose result is damaged is not resumed as if it had been interrupted', async () => {
      const dir = tempDir('store-no-resume');
      const store = new MetricsStore(dir);
      store.saveTest(stored('ended', Date.UTC(2026, 10, 21, 11, 59)));
      writeFileSync(join(dir, 'tests', 'ended', 'result.json'), '{"broken');
      const { orchestrator: o } = await open(dir);
      assert.equal(o.activeRun(), undefined);
    });

    it('the orchestrator opens a store of the earlier layout with its tests', async () => {
      const dir = tempDir('store-rest-legacy');
      writeLegacyTest(dir, 'from-editor', 10);
      const { get } = await open(dir);
      const test = (await (await get('/api/tests/from-editor')).json()) as { status: string };
      assert.equal(test.status, 'complete');
      const series = (await (await get('/api/tests/from-editor/timeseries')).json()) as { points: unknown[] };
      assert.equal(series.points.length, 2);
    });
  });
});
