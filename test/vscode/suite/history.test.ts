// The history inside a real VS Code extension host: runs of the workspace's file on the real
// broker and agents, then what the editor makes of them: the History view, the CodeLens above the
// file, Set as Baseline, the compare view, the dashboard on a stored run, the reports, and a run
// written into the store by another process (as lt-orchestrator in a terminal writes it).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { LoadTestApi } from '../../../extension/extension';
import { Baselines } from '../../../orchestrator/history/baselines';
import { compareRuns, loadRun } from '../../../orchestrator/compare/compare-runs';
import { MetricsStore } from '../../../orchestrator/metrics-store';
import { msText } from '../../../orchestrator/figure-text';
import { relativeText } from '../../../orchestrator/reports/comparison-text';
import { REPORT_KINDS, type ReportKind } from '../../../orchestrator/reports/report-kinds';
import type { TestResult } from '../../../orchestrator/result-model';
import type { FileNode, RunNode } from '../../../extension/vscode/history-tree';
import { tempDir } from '../../support/temp-dir';

const EXTENSION_ID = 'loadtest-kafka.loadtest-kafka';
const EXPECTED_DRIVERS = Number(process.env.LT_VSCODE_TEST_DRIVERS ?? 2);
const FILE_KEY = 'ping.loadtest.json';

async function waitFor<T>(check: () => T | undefined | false | null | Promise<T | undefined | false | null>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the history in the editor', function () {
  let api: LoadTestApi;
  let first: TestResult;
  let second: TestResult;
  const file = () => vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, FILE_KEY);
  const store = () => new MetricsStore(api.service.resultsDir);

  const runFile = async (): Promise<TestResult> => {
    const testId = await vscode.commands.executeCommand<string>('loadtest.startTest', file());
    assert.ok(testId, 'the run started');
    return api.service.connection.require().waitForEnd(testId);
  };
  const lenses = async () => (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', file())).filter((l) => l.command);
  const lastRunLens = async () => (await lenses()).find((l) => l.command!.title.startsWith('last: '));
  const fileGroup = () => api.historyTree.getChildren().find((g): g is FileNode => g.kind === 'file' && g.key === FILE_KEY);
  const item = (testId: string) => {
    const node = api.historyTree.nodeOf(testId);
    return node && api.historyTree.getTreeItem(node);
  };

  before(async () => {
    api = await vscode.extensions.getExtension<LoadTestApi>(EXTENSION_ID)!.activate();
    const orchestrator = await api.service.connection.ready(60_000);
    await waitFor(() => orchestrator.drivers().filter((d) => d.health === 'alive').length === EXPECTED_DRIVERS, `${EXPECTED_DRIVERS} alive drivers`, 60_000);
  });

  after(async () => {
    // The next window on this workspace (the workbench steps) starts with the live dashboard and no compare view.
    for (const tab of vscode.window.tabGroups.all.flatMap((g) => g.tabs)) if (tab.label.startsWith('Compare ')) await vscode.window.tabGroups.close(tab);
    await vscode.commands.executeCommand('loadtest.openDashboard');
  });

  it('lists a run under its file, newest first, with its verdict and headline figures, and says it above the file', async () => {
    first = await runFile();
    const group = await waitFor(() => fileGroup()?.runs[0]?.listing.test_id === first.test_id && fileGroup(), 'the run at the top of its file’s group');
    assert.ok(group.runs.every((r, i) => i === 0 || r.listing.created_at <= group.runs[i - 1].listing.created_at), 'newest first');
    const row = item(first.test_id)!;
    assert.equal(row.label, `PASSED · p99 ${msText(first.aggregate.latency!.p99)} ms · ${Math.round(first.throughput).toLocaleString('en-US')} req/s`);
    assert.match(String(row.description), new RegExp(`(just now|\\d+ s ago) · ${first.test_id}$`));
    assert.deepEqual(row.command?.arguments, [first.test_id], 'a click opens it');

    const lens = await waitFor(async () => {
      const l = await lastRunLens();
      return l?.command!.arguments?.[0] === first.test_id && l;
    }, 'the CodeLens of the new run');
    assert.match(lens.command!.title, new RegExp(`^last: PASSED · p99 ${msText(first.aggregate.latency!.p99).replace('.', '\\.')} ms · [\\d,]+ req/s · (just now|\\d+ s ago)$`));
    assert.equal(lens.command!.command, 'loadtest.openRun');
  });

  it('Set as Baseline marks the run; the next run’s CodeLens says its p99 change against it, as compareRuns gives it', async () => {
    assert.equal(await vscode.commands.executeCommand('loadtest.setBaseline', first.test_id), FILE_KEY);
    assert.equal(new Baselines(store()).of(FILE_KEY)?.test_id, first.test_id, 'kept in the store, as the CLI keeps it');
    await waitFor(() => String(item(first.test_id)?.description).startsWith('baseline · '), 'the baseline marked in the tree');
    assert.equal(item(first.test_id)!.contextValue, 'loadtest-run finished baseline');
    assert.doesNotMatch((await lastRunLens())!.command!.title, /vs baseline/, 'the last run is the baseline itself');

    second = await runFile();
    const lens = await waitFor(async () => {
      const l = await lastRunLens();
      return l?.command!.arguments?.[0] === second.test_id && l;
    }, 'the CodeLens of the second run');
    const current = loadRun(store(), second.test_id);
    const p99 = compareRuns(loadRun(store(), first.test_id), current, current.test.definition.regression).scopes[0].figures.find((f) => f.figure === 'p99_latency_ms')!;
    assert.ok(lens.command!.title.includes(`p99 ${msText(second.aggregate.latency!.p99)} ms (${relativeText(p99)} vs baseline) · `), lens.command!.title);
    const compareLens = (await lenses()).find((l) => l.command!.command === 'loadtest.compareRuns');
    assert.deepEqual(compareLens?.command!.arguments, [first.test_id, second.test_id]);
    await waitFor(() => item(second.test_id)?.contextValue === 'loadtest-run finished has-baseline', 'the second run offering Compare with Baseline');
  });

  it('Compare with Baseline opens the compare view on the run and its baseline', async () => {
    const comparison = await vscode.commands.executeCommand<{ baseline: { test_id: string }; current: { test_id: string }; scopes: { scope: string }[] }>('loadtest.compareWithBaseline', api.historyTree.nodeOf(second.test_id));
    assert.equal(comparison.baseline.test_id, first.test_id);
    assert.equal(comparison.current.test_id, second.test_id);
    assert.equal(comparison.scopes[0].scope, 'test');
    assert.deepEqual(api.shown().compare, { baseline: first.test_id, current: second.test_id });
    await waitFor(() => vscode.window.tabGroups.all.flatMap((g) => g.tabs).some((t) => t.label === `Compare ${second.test_id} with ${first.test_id}`), 'the compare view’s tab');
  });

  it('Open Run shows a stored run in the dashboard, read-only, until the live dashboard is asked for', async () => {
    assert.equal(await vscode.commands.executeCommand('loadtest.openRun', first.test_id), first.test_id);
    assert.deepEqual(api.shown().dashboard, { testId: first.test_id, stored: true });
    await waitFor(() => vscode.window.tabGroups.all.flatMap((g) => g.tabs).some((t) => t.label === `Load Test: ${first.name}`), 'the dashboard titled after the stored run');
    await vscode.commands.executeCommand('loadtest.openDashboard');
    assert.equal(api.shown().dashboard?.stored, false);
  });

  it('Export Report writes the HTML, JUnit and Markdown of a run, each as lt-orchestrator report writes it', async () => {
    const dir = tempDir('export-report');
    const cli = join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'lt-orchestrator.js');
    const flags: Record<ReportKind, string> = { html: '--html', junit: '--junit', markdown: '--summary-md' };
    for (const kind of Object.keys(REPORT_KINDS) as ReportKind[]) {
      const target = vscode.Uri.file(join(dir, `editor.${REPORT_KINDS[kind].extension}`));
      const written = await vscode.commands.executeCommand<vscode.Uri>('loadtest.exportReport', second.test_id, kind, target);
      assert.equal(written?.fsPath, target.fsPath);
      const fromCli = join(dir, `cli.${REPORT_KINDS[kind].extension}`);
      // The extension host's own executable, as Node (a desktop VS Code's is Electron's).
      execFileSync(process.execPath, [cli, 'report', second.test_id, flags[kind], fromCli, '--store', api.service.resultsDir], { env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', GITHUB_STEP_SUMMARY: '' } });
      assert.equal(readFileSync(target.fsPath, 'utf8'), readFileSync(fromCli, 'utf8'), `the ${kind} report`);
    }
  });

  it('shows a run another process writes into the store (lt-orchestrator in a terminal), and drops it when its folder goes, without a reload', async () => {
    const copy = `copied-${first.test_id}`;
    const folder = join(api.service.resultsDir, 'tests', copy);
    // Written as another process writes a run: the folder, then its result last, straight to disk.
    cpSync(join(api.service.resultsDir, 'tests', first.test_id), folder, { recursive: true });
    for (const name of ['test.json', 'result.json']) {
      const path = join(folder, name);
      writeFileSync(path, JSON.stringify({ ...JSON.parse(readFileSync(path, 'utf8')), test_id: copy, created_at: Date.now(), ended_at: Date.now() }));
    }
    await waitFor(() => fileGroup()?.runs[0]?.listing.test_id === copy, 'the run written by another process at the top of the view', 15_000);
    await waitFor(async () => (await lastRunLens())?.command!.arguments?.[0] === copy, 'the CodeLens to say that run', 15_000);
    rmSync(folder, { recursive: true, force: true });
    await waitFor(() => !api.historyTree.nodeOf(copy) && fileGroup()?.runs[0]?.listing.test_id === second.test_id, 'the run gone from the view', 15_000);
  });

  it('deleting a run removes it from the store, the view and the CodeLens, and its baseline with it when it was one', async () => {
    await api.history.delete(second.test_id);
    assert.ok(!existsSync(join(api.service.resultsDir, 'tests', second.test_id)));
    assert.equal(api.historyTree.nodeOf(second.test_id), undefined);
    assert.equal((await lastRunLens())?.command!.arguments?.[0], first.test_id, 'the CodeLens says the run before');
    assert.equal(await api.history.delete(first.test_id), FILE_KEY, 'the baseline went with it');
    assert.equal(new Baselines(store()).of(FILE_KEY), undefined);
    const left = fileGroup()?.runs.map((r: RunNode) => r.listing.test_id) ?? [];
    assert.ok(!left.includes(first.test_id) && !left.includes(second.test_id), left.join(', '));
  });
});
