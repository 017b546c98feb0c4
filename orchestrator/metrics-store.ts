// The orchestrator's history on disk, the one layout every host uses (the CLI's `--store`, `serve`,
// the VS Code extension's results folder, hence the REST API too). The store folder is
// `.loadtest/` by default, with one folder per test under `tests/`:
//   tests/ID/test.json          definition, config sent, participants, times (rewritten atomically)
//   tests/ID/reports.ndjson     every metrics report received, appended as it arrives
//   tests/ID/timeseries.ndjson  the aggregate every second, appended as it is computed
//   tests/ID/intervals.ndjson   each second's counts and merged latency histogram, for comparisons' noise
//   tests/ID/histograms.json    the merged histograms at the end: the test, each request name, each stage
//   tests/ID/result.json        the final result, written atomically when the test ends
//   baselines.json              the baseline run of each test file (history/baselines.ts)
// Appends go straight to the file, so a crash loses at most the line being written; a test with
// no result.json after a restart was interrupted, and its reports and series are still there.
// A file that exists but cannot be read (damaged, or a permission) is an OrchestratorError with
// the code `storage`, never taken for a missing one: a damaged result is not an interrupted test.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricsMessage, TestConfigMessage } from '../protocol/wire-protocol';
import type { LoadTestDefinition } from './loadtest-definition';
import { OrchestratorError } from './orchestrator-error';
import type { ControlLogEntry, RunHistograms, SecondInterval, TestListing, TestResult, TestStatus, TimePoint } from './result-model';

export interface StoredTest {
  test_id: string;
  name?: string;
  created_at: number;
  triggered_at?: number;
  definition: LoadTestDefinition;
  config: TestConfigMessage;
  participants: string[];
  /** epoch ms by which the test ends by itself (see test-deadline.ts) */
  deadline_at?: number;
  /** the live changes made so far, so that a run picked up again keeps them */
  control_log?: ControlLogEntry[];
  /** where the test's reports begin on the metrics topic, per partition: a restarted orchestrator reads them again from there */
  metrics_offsets?: Record<number, string>;
  /** the .loadtest.json it was run from, relative to the folder that holds the store (its workspace), with / */
  source_file?: string;
}

/** The store folder when none is given (relative to the working directory or the workspace). */
export const DEFAULT_STORE_DIR = '.loadtest';
const TESTS = 'tests';
/** Where the extension kept its tests before there was one layout: `STORE/history/tests/ID`. */
const LEGACY_TESTS = join('history', 'tests');

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The test folders moved from the earlier layout when a store opened, and those left there. */
export interface LayoutMigration {
  moved: string[];
  /** ids that exist in both layouts: left where they are, untouched, and not listed */
  leftBehind: string[];
  from: string;
}

export class MetricsStore {
  private readonly testsDir: string;
  /** What opening this store moved from the earlier layout (undefined when there was nothing). */
  readonly migration: LayoutMigration | undefined;

  constructor(readonly dir: string) {
    this.testsDir = join(dir, TESTS);
    try {
      mkdirSync(this.testsDir, { recursive: true });
    } catch (error) {
      throw storageError(`cannot create the metrics store ${this.testsDir}`, error);
    }
    this.migration = this.moveLegacyTests();
  }

  /**
   * Moves each test of the earlier extension layout (`history/tests/ID`) to `tests/ID`, a rename
   * within the store (nothing is copied, nothing lost). An id already in `tests/` is left where it
   * is and named in the migration, so that a person can look at both.
   */
  private moveLegacyTests(): LayoutMigration | undefined {
    const legacy = join(this.dir, LEGACY_TESTS);
    if (!existsSync(legacy)) return undefined;
    const migration: LayoutMigration = { moved: [], leftBehind: [], from: legacy };
    for (const entry of readdirSync(legacy, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      if (existsSync(join(this.testsDir, entry.name))) {
        migration.leftBehind.push(entry.name);
        continue;
      }
      try {
        renameSync(join(legacy, entry.name), join(this.testsDir, entry.name));
      } catch (error) {
        throw storageError(`cannot move test ${entry.name} from ${legacy} to ${this.testsDir}`, error);
      }
      migration.moved.push(entry.name);
    }
    // The emptied folders of the old layout go; anything else found there stays.
    for (const folder of [legacy, join(this.dir, 'history')]) {
      try {
        rmdirSync(folder);
      } catch {
        break; // not empty
      }
    }
    return migration;
  }

  private folder(testId: string): string {
    if (!SAFE_ID.test(testId) || testId === '.' || testId === '..') throw new OrchestratorError(`test id "${testId}" cannot be stored: use letters, digits, . _ : -`, 'invalid');
    return join(this.testsDir, testId);
  }

  has(testId: string): boolean {
    return SAFE_ID.test(testId) && testId !== '.' && testId !== '..' && existsSync(join(this.folder(testId), 'test.json'));
  }

  saveTest(test: StoredTest): void {
    const folder = this.folder(test.test_id);
    write(folder, () => {
      mkdirSync(folder, { recursive: true });
      writeAtomically(join(folder, 'test.json'), JSON.stringify(test, null, 2));
    });
  }

  /** Changes some fields of test.json (rewritten atomically). */
  updateTest(testId: string, fields: Partial<Omit<StoredTest, 'test_id'>>): void {
    const stored = this.loadTest(testId);
    if (stored) this.saveTest({ ...stored, ...fields });
  }

  appendReport(testId: string, report: MetricsMessage & { received_at: number }): void {
    const file = join(this.folder(testId), 'reports.ndjson');
    write(file, () => appendFileSync(file, JSON.stringify(report) + '\n'));
  }

  appendPoint(testId: string, point: TimePoint): void {
    const file = join(this.folder(testId), 'timeseries.ndjson');
    write(file, () => appendFileSync(file, JSON.stringify(point) + '\n'));
  }

  appendInterval(testId: string, interval: SecondInterval): void {
    const file = join(this.folder(testId), 'intervals.ndjson');
    write(file, () => appendFileSync(file, JSON.stringify(interval) + '\n'));
  }

  saveHistograms(testId: string, histograms: RunHistograms): void {
    const file = join(this.folder(testId), 'histograms.json');
    write(file, () => writeAtomically(file, JSON.stringify(histograms)));
  }

  saveResult(result: TestResult): void {
    const file = join(this.folder(result.test_id), 'result.json');
    write(file, () => writeAtomically(file, JSON.stringify(result, null, 2)));
  }

  /** The test's stored definition, or undefined when there is no such test. */
  loadTest(testId: string): StoredTest | undefined {
    return readJson<StoredTest>(join(this.folder(testId), 'test.json'));
  }

  /** The test's result, or undefined when it has none (yet). */
  loadResult(testId: string): TestResult | undefined {
    return readJson<TestResult>(join(this.folder(testId), 'result.json'));
  }

  loadTimeSeries(testId: string): TimePoint[] {
    return readNdjson<TimePoint>(join(this.folder(testId), 'timeseries.ndjson'));
  }

  loadIntervals(testId: string): SecondInterval[] {
    return readNdjson<SecondInterval>(join(this.folder(testId), 'intervals.ndjson'));
  }

  /** The merged histograms of a finished test, or undefined (still running, or stored before they were kept). */
  loadHistograms(testId: string): RunHistograms | undefined {
    return readJson<RunHistograms>(join(this.folder(testId), 'histograms.json'));
  }

  loadReports(testId: string): (MetricsMessage & { received_at: number })[] {
    return readNdjson(join(this.folder(testId), 'reports.ndjson'));
  }

  /** Removes a test and everything stored of it. */
  deleteTest(testId: string): void {
    rmSync(this.folder(testId), { recursive: true, force: true });
  }

  /**
   * Every stored test, newest first. `live` names tests this process is running now. A test whose
   * files cannot be read is listed as `unreadable`, with the reason, so that one damaged file
   * neither hides the others nor passes for an interrupted test.
   */
  list(live: ReadonlySet<string> = new Set()): TestListing[] {
    const out: TestListing[] = [];
    let entries;
    try {
      entries = readdirSync(this.testsDir, { withFileTypes: true });
    } catch (error) {
      throw storageError(`cannot list the metrics store ${this.testsDir}`, error);
    }
    for (const entry of entries) {
      if (!entry.isDirectory() || !SAFE_ID.test(entry.name)) continue;
      try {
        const listing = this.listing(entry.name, live);
        if (listing) out.push(listing);
      } catch (error) {
        out.push(this.unreadable(entry.name, error));
      }
    }
    return out.sort((a, b) => b.created_at - a.created_at);
  }

  private listing(testId: string, live: ReadonlySet<string>): TestListing | undefined {
    const test = this.loadTest(testId);
    if (!test) return undefined;
    const result = this.loadResult(testId);
    let status: TestStatus;
    if (result) status = result.status;
    else if (live.has(test.test_id)) status = test.triggered_at ? 'running' : 'created';
    else status = test.triggered_at ? 'interrupted' : 'created';
    return {
      test_id: test.test_id,
      name: test.name,
      ...(test.source_file ? { source_file: test.source_file } : {}),
      test_type: test.config.test_type,
      created_at: test.created_at,
      triggered_at: test.triggered_at,
      ended_at: result?.ended_at,
      status,
      drivers: test.participants.length,
      requests_sent: result?.aggregate.requests_sent,
      errors: result?.aggregate.errors,
      passed: result?.verdict?.passed,
    };
  }

  private unreadable(testId: string, error: unknown): TestListing {
    let createdAt = 0;
    try {
      createdAt = statSync(this.folder(testId)).mtimeMs;
    } catch {
      // the folder's time is only for the order of the listing
    }
    return { test_id: testId, test_type: 'unknown', created_at: createdAt, status: 'unreadable', drivers: 0, error: error instanceof Error ? error.message : String(error) };
  }
}

function storageError(what: string, error: unknown): OrchestratorError {
  if (error instanceof OrchestratorError) return error;
  return new OrchestratorError(`${what}: ${error instanceof Error ? error.message : String(error)}`, 'storage');
}

function write(file: string, action: () => void): void {
  try {
    action();
  } catch (error) {
    throw storageError(`cannot write ${file}`, error);
  }
}

function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

/** The file's text, or undefined when it does not exist; any other failure is a storage error. */
function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw storageError(`cannot read ${file}`, error);
  }
}

function readJson<T>(file: string): T | undefined {
  const text = readText(file);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw storageError(`${file} is damaged (not JSON)`, error);
  }
}

/** Reads appended lines; a last line cut short by a crash is skipped, a damaged line before it is an error. */
function readNdjson<T>(file: string): T[] {
  const text = readText(file);
  if (text === undefined) return [];
  const lines = text.split('\n');
  const out: T[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]) continue;
    try {
      out.push(JSON.parse(lines[i]) as T);
    } catch (error) {
      // Only the final line can be cut short by a crash (it has no newline after it).
      if (i === lines.length - 1) break;
      throw storageError(`${file} is damaged at line ${i + 1}`, error);
    }
  }
  return out;
}
