// The history in the editor: the metrics store of the results folder (the one lt-orchestrator
// writes from a terminal in this workspace too), its baselines, and the comparisons the CodeLens
// and the compare view show. It watches the store's files (store-watcher.ts), so a run that ends
// anywhere (here, in a terminal, through REST) reaches the views without a reload; one event,
// `onDidChange`, tells them.
// What it reads is kept until the next change: a CodeLens is asked for often, the store changes
// only when a run starts or ends.
import * as vscode from 'vscode';
import { errorMessage, type Logger } from '../../common/logger';
import type { Comparison } from '../../orchestrator/compare/comparison-model';
import { compareRuns, loadRun, type StoredRun } from '../../orchestrator/compare/compare-runs';
import { lastRunIn } from '../../orchestrator/compare/run-refs';
import { Baselines, runKey, sourceFileKey, type Baseline } from '../../orchestrator/history/baselines';
import { MetricsStore } from '../../orchestrator/metrics-store';
import type { TestListing, TestResult } from '../../orchestrator/result-model';
import type { LoadTestService } from './loadtest-service';
import { StoreWatcher } from './store-watcher';

/** How long the store is let settle after a change before the views read it: a run's end writes several files. */
const SETTLE_MS = 250;

/** The group of runs with neither a file nor a name. */
export const NO_FILE = '(no file)';

export class RunHistory implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private opened: { dir: string; store: MetricsStore; watcher: vscode.Disposable } | undefined;
  private listing: TestListing[] | undefined;
  private baselineMap: Record<string, Baseline> | undefined;
  private readonly results = new Map<string, TestResult | undefined>();
  private readonly comparisons = new Map<string, Comparison>();
  private settle: NodeJS.Timeout | undefined;
  private readonly subscriptions: vscode.Disposable[] = [];

  constructor(
    /** the results folder as the settings give it now, the orchestrator when connected, and the runs of this window */
    private readonly service: Pick<LoadTestService, 'resultsDir' | 'orchestrator' | 'onEvent'>,
    private readonly log: Logger,
  ) {
    // A run of this window is seen at once; the watcher would see it too, a moment later.
    this.subscriptions.push(service.onEvent((e) => (e.kind === 'end' || e.kind === 'test' ? this.changedOnDisk() : undefined)));
  }

  /** The store of the results folder; opened again (and watched there) when the setting names another. */
  get store(): MetricsStore {
    const dir = this.service.resultsDir;
    if (this.opened?.dir !== dir) {
      this.opened?.watcher.dispose();
      const store = new MetricsStore(dir);
      this.opened = { dir, store, watcher: this.watch(dir) };
      this.forget();
    }
    return this.opened.store;
  }

  private watch(dir: string): vscode.Disposable {
    const onChange = () => this.changedOnDisk();
    try {
      const watcher = new StoreWatcher(dir, onChange, (error) => this.log.warn(`the history in ${dir} is no longer watched (${errorMessage(error)}): runs from elsewhere show after Refresh History`));
      return { dispose: () => watcher.dispose() };
    } catch (error) {
      this.log.warn(`cannot watch the history in ${dir} (${errorMessage(error)}); VS Code's file watcher tells of its changes instead`);
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(dir), '{baselines.json,tests/*,tests/*/result.json,tests/*/test.json}'));
      return vscode.Disposable.from(watcher, watcher.onDidCreate(onChange), watcher.onDidChange(onChange), watcher.onDidDelete(onChange));
    }
  }

  private changedOnDisk(): void {
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.refresh(), SETTLE_MS);
  }

  private forget(): void {
    this.listing = undefined;
    this.baselineMap = undefined;
    this.results.clear();
    this.comparisons.clear();
  }

  /** Reads the store again and tells the views. */
  refresh(): void {
    clearTimeout(this.settle);
    this.forget();
    this.changed.fire();
  }

  /** Every stored run, newest first (MetricsStore.list); empty, and logged, when the folder cannot be read. */
  list(): TestListing[] {
    if (!this.listing) {
      try {
        this.listing = this.store.list(this.live());
      } catch (error) {
        this.log.error(`the history in ${this.service.resultsDir} cannot be read: ${errorMessage(error)}`);
        this.listing = [];
      }
    }
    return this.listing;
  }

  /** The tests this window's orchestrator runs now, so that they are listed as running, not interrupted. */
  private live(): Set<string> {
    const run = this.service.orchestrator?.activeRun();
    return new Set(run ? [run.testId] : []);
  }

  /** A finished run's result, or undefined (no such run, unfinished, or unreadable: logged). */
  result(testId: string): TestResult | undefined {
    if (!this.results.has(testId)) {
      let result: TestResult | undefined;
      try {
        result = this.store.loadResult(testId);
      } catch (error) {
        this.log.warn(`the result of ${testId} cannot be read: ${errorMessage(error)}`);
      }
      this.results.set(testId, result);
    }
    return this.results.get(testId);
  }

  /** The history's name for a test file (relative to the store's workspace). */
  keyOfFile(fsPath: string): string {
    return sourceFileKey(this.store, fsPath);
  }

  /** The group a run is listed under: its file, else "name: X", else NO_FILE. */
  keyOf(listing: Pick<TestListing, 'source_file' | 'name'>): string {
    return runKey(listing) ?? NO_FILE;
  }

  /** The newest finished run of a file or name (lastRun's rule). */
  lastRunOf(key: string): string | undefined {
    return lastRunIn(this.list(), key);
  }

  baselines(): Record<string, Baseline> {
    if (!this.baselineMap) {
      try {
        this.baselineMap = new Baselines(this.store).all();
      } catch (error) {
        this.log.error(errorMessage(error));
        this.baselineMap = {};
      }
    }
    return this.baselineMap;
  }

  baselineOf(key: string): Baseline | undefined {
    return this.baselines()[key];
  }

  /** Makes a finished run the baseline of its file (or name); returns that key. */
  setBaseline(testId: string): string {
    const key = new Baselines(this.store).set(testId, Date.now());
    this.refresh();
    return key;
  }

  /** Both runs as the history keeps them. */
  load(testId: string): StoredRun {
    return loadRun(this.store, testId);
  }

  /** compareRuns of two stored runs, with the current run's regression limits, as `lt-orchestrator compare` makes it. */
  comparison(baselineId: string, currentId: string): Comparison {
    const key = `${baselineId} ${currentId}`;
    let comparison = this.comparisons.get(key);
    if (!comparison) {
      const current = this.load(currentId);
      comparison = compareRuns(this.load(baselineId), current, current.test.definition.regression);
      this.comparisons.set(key, comparison);
    }
    return comparison;
  }

  /**
   * Deletes a run and everything stored of it: through the orchestrator when connected (which
   * cancels a test not triggered yet, and refuses a running one until it is stopped), else from
   * the store. A run that was its file's baseline leaves no
   * baseline behind. Returns the key whose baseline went with it.
   */
  async delete(testId: string): Promise<string | undefined> {
    const test = this.store.loadTest(testId);
    const key = test && runKey(test);
    const orchestrator = this.service.orchestrator;
    if (orchestrator) await orchestrator.deleteTest(testId);
    else this.store.deleteTest(testId);
    const baselines = new Baselines(this.store);
    const cleared = key && baselines.of(key)?.test_id === testId && baselines.clear(key) ? key : undefined;
    this.refresh();
    return cleared;
  }

  dispose(): void {
    clearTimeout(this.settle);
    this.opened?.watcher.dispose();
    for (const s of this.subscriptions.splice(0)) s.dispose();
    this.changed.dispose();
  }
}
