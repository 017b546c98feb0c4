// The orchestrator's history on disk, one folder per test:
//   test.json          definition, config sent, participants, times (rewritten atomically)
//   reports.ndjson     every metrics report received, appended as it arrives
//   timeseries.ndjson  the aggregate every second, appended as it is computed
//   result.json        the final result, written atomically when the test ends
// Appends go straight to the file, so a crash loses at most the line being written; a test with
// no result.json after a restart was interrupted, and its reports and series are still there.
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricsMessage, TestConfigMessage } from '../protocol/wire-protocol';
import type { LoadTestDefinition } from './loadtest-definition';
import type { TestListing, TestResult, TestStatus, TimePoint } from './result-model';

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
  /** where the test's reports begin on the metrics topic, per partition: a restarted orchestrator reads them again from there */
  metrics_offsets?: Record<number, string>;
}

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export class MetricsStore {
  private readonly testsDir: string;

  constructor(readonly dir: string) {
    this.testsDir = join(dir, 'tests');
    mkdirSync(this.testsDir, { recursive: true });
  }

  private folder(testId: string): string {
    if (!SAFE_ID.test(testId) || testId === '.' || testId === '..') throw new Error(`test id "${testId}" cannot be stored: use letters, digits, . _ : -`);
    return join(this.testsDir, testId);
  }

  has(testId: string): boolean {
    return SAFE_ID.test(testId) && existsSync(join(this.folder(testId), 'test.json'));
  }

  saveTest(test: StoredTest): void {
    const folder = this.folder(test.test_id);
    mkdirSync(folder, { recursive: true });
    writeAtomically(join(folder, 'test.json'), JSON.stringify(test, null, 2));
  }

  /** Changes some fields of test.json (rewritten atomically). */
  updateTest(testId: string, fields: Partial<Omit<StoredTest, 'test_id'>>): void {
    const stored = this.loadTest(testId);
    if (stored) this.saveTest({ ...stored, ...fields });
  }

  appendReport(testId: string, report: MetricsMessage & { received_at: number }): void {
    appendFileSync(join(this.folder(testId), 'reports.ndjson'), JSON.stringify(report) + '\n');
  }

  appendPoint(testId: string, point: TimePoint): void {
    appendFileSync(join(this.folder(testId), 'timeseries.ndjson'), JSON.stringify(point) + '\n');
  }

  saveResult(result: TestResult): void {
    writeAtomically(join(this.folder(result.test_id), 'result.json'), JSON.stringify(result, null, 2));
  }

  loadTest(testId: string): StoredTest | undefined {
    return readJson<StoredTest>(join(this.folder(testId), 'test.json'));
  }

  loadResult(testId: string): TestResult | undefined {
    return readJson<TestResult>(join(this.folder(testId), 'result.json'));
  }

  loadTimeSeries(testId: string): TimePoint[] {
    return readNdjson<TimePoint>(join(this.folder(testId), 'timeseries.ndjson'));
  }

  loadReports(testId: string): (MetricsMessage & { received_at: number })[] {
    return readNdjson(join(this.folder(testId), 'reports.ndjson'));
  }

  /** Removes a test and everything stored of it. */
  deleteTest(testId: string): void {
    rmSync(this.folder(testId), { recursive: true, force: true });
  }

  /** Every stored test, newest first. `live` names tests this process is running now. */
  list(live: ReadonlySet<string> = new Set()): TestListing[] {
    const out: TestListing[] = [];
    for (const entry of readdirSync(this.testsDir, { withFileTypes: true })) {
      if (!entry.isDirectory() || !SAFE_ID.test(entry.name)) continue;
      const test = this.loadTest(entry.name);
      if (!test) continue;
      const result = this.loadResult(entry.name);
      let status: TestStatus;
      if (result) status = result.status;
      else if (live.has(test.test_id)) status = test.triggered_at ? 'running' : 'created';
      else status = test.triggered_at ? 'interrupted' : 'created';
      out.push({
        test_id: test.test_id,
        name: test.name,
        test_type: test.config.test_type,
        created_at: test.created_at,
        triggered_at: test.triggered_at,
        ended_at: result?.ended_at,
        status,
        drivers: test.participants.length,
        requests_sent: result?.aggregate.requests_sent,
        errors: result?.aggregate.errors,
        passed: result?.verdict?.passed,
      });
    }
    return out.sort((a, b) => b.created_at - a.created_at);
  }
}

function writeAtomically(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Reads appended lines; a last line cut short by a crash is skipped. */
function readNdjson<T>(file: string): T[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // an incomplete final line
    }
  }
  return out;
}
