// The baseline of each test file: the stored run the next runs of that file are compared with. Kept
// in the history (STORE/baselines.json), never in the file, so that setting one changes no source
// and every host (CLI, serve, the extension, REST) sees the same. A run is keyed by the file it was
// run from, relative to the store's workspace; a run started without a file (REST, a definition
// object) by its name.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { MetricsStore, StoredTest } from '../metrics-store';
import { OrchestratorError } from '../orchestrator-error';

export interface Baseline {
  test_id: string;
  /** epoch ms */
  set_at: number;
}

/** The folder a store belongs to (its workspace): the store's parent, where relative file names start. */
export function workspaceOf(store: MetricsStore): string {
  return dirname(resolve(store.dir));
}

/** A test file as the history names it: relative to the workspace with /, or absolute when outside it. */
export function sourceFileKey(store: MetricsStore, file: string): string {
  const absolute = resolve(file);
  const rel = relative(workspaceOf(store), absolute);
  if (!rel || rel.startsWith('..') || isAbsolute(rel)) return absolute.split(sep).join('/');
  return rel.split(sep).join('/');
}

/** What a stored run is the run of: its file, else its name (else nothing can be its baseline). */
export function runKey(test: Pick<StoredTest, 'source_file' | 'name'>): string | undefined {
  if (test.source_file) return test.source_file;
  return test.name ? `name: ${test.name}` : undefined;
}

export class Baselines {
  private readonly file: string;

  constructor(private readonly store: MetricsStore) {
    this.file = join(store.dir, 'baselines.json');
  }

  private read(): Record<string, Baseline> {
    if (!existsSync(this.file)) return {};
    try {
      return JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, Baseline>;
    } catch (error) {
      throw new OrchestratorError(`${this.file} is damaged (not JSON): ${error instanceof Error ? error.message : String(error)}; delete it to start the baselines again`, 'storage');
    }
  }

  private write(all: Record<string, Baseline>): void {
    const temporary = `${this.file}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(all, null, 2));
    renameSync(temporary, this.file);
  }

  /** Makes a finished run the baseline of its file; returns the key it is the baseline of. */
  set(testId: string, at: number): string {
    const test = this.store.loadTest(testId);
    if (!test) throw new OrchestratorError(`no stored test ${testId}`, 'not_found');
    if (!this.store.loadResult(testId)) throw new OrchestratorError(`test ${testId} has no result (still running, or interrupted): only a finished run can be a baseline`, 'conflict');
    const key = runKey(test);
    if (!key) throw new OrchestratorError(`test ${testId} was run neither from a file nor with a name, so it cannot be the baseline of anything; give the test a "name"`, 'invalid');
    const all = this.read();
    all[key] = { test_id: testId, set_at: at };
    this.write(all);
    return key;
  }

  /** The baseline of a key (a file as sourceFileKey names it, or "name: NAME"). */
  of(key: string): Baseline | undefined {
    return this.read()[key];
  }

  /** The baseline of the file or name a stored run belongs to. */
  forRun(testId: string): Baseline | undefined {
    const test = this.store.loadTest(testId);
    const key = test && runKey(test);
    return key ? this.of(key) : undefined;
  }

  clear(key: string): boolean {
    const all = this.read();
    if (!(key in all)) return false;
    delete all[key];
    this.write(all);
    return true;
  }

  all(): Record<string, Baseline> {
    return this.read();
  }
}
