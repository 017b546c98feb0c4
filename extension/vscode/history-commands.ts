// The history's commands, from the palette, the History view's menus and the CodeLens: open a run
// in the dashboard (read-only), make it its file's baseline, compare two runs, export a run's
// report, delete a run. A command given no run asks for one; a thrown error becomes a message
// (commands.ts's one wrapper).
import * as vscode from 'vscode';
import type { Logger } from '../../common/logger';
import type { Comparison } from '../../orchestrator/compare/comparison-model';
import { runKey } from '../../orchestrator/history/baselines';
import { REPORT_KINDS, reportText, type ReportKind } from '../../orchestrator/reports/report-kinds';
import type { TestListing } from '../../orchestrator/result-model';
import { commandRegistrar } from './commands';
import { ComparePanel } from './compare-panel';
import { DashboardPanel } from './dashboard-panel';
import type { HistoryNode } from './history-tree';
import type { LoadTestService } from './loadtest-service';
import type { RunHistory } from './run-history';
import { agoText, headlineText, runTime, verdictWord } from './run-text';

/** A run as the commands receive it: its id (CodeLens, palette, tests) or the History view's node. */
type RunArgument = string | HistoryNode | undefined;

const idOf = (arg: unknown): string | undefined => (typeof arg === 'string' ? arg : (arg as HistoryNode | undefined)?.kind === 'run' ? (arg as Extract<HistoryNode, { kind: 'run' }>).listing.test_id : undefined);

const NO_RUNS = 'the history has no finished run yet: run a .loadtest.json first (here, or with lt-orchestrator run in this folder)';

export function registerHistoryCommands(context: vscode.ExtensionContext, service: LoadTestService, history: RunHistory, log: Logger): void {
  const register = commandRegistrar(context, log);

  /** A finished run picked from the history, newest first; `first` are listed before the others (a file's own runs). */
  const pickRun = async (placeHolder: string, options: { except?: string; first?: (l: TestListing) => boolean } = {}): Promise<string | undefined> => {
    const runs = history.list().filter((l) => l.passed !== undefined && l.test_id !== options.except);
    if (!runs.length) throw new Error(NO_RUNS);
    const ordered = options.first ? [...runs.filter(options.first), ...runs.filter((l) => !options.first!(l))] : runs;
    const now = Date.now();
    const items = ordered.map((l) => {
      const result = history.result(l.test_id);
      const key = history.keyOf(l);
      const isBaseline = history.baselineOf(key)?.test_id === l.test_id;
      return {
        label: result ? `${verdictWord(result)} · ${headlineText(result)}` : l.status,
        description: `${isBaseline ? 'baseline of ' : ''}${key} · ${agoText(runTime(l), now)}`,
        detail: l.test_id,
        testId: l.test_id,
      };
    });
    const picked = await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true, matchOnDetail: true });
    return picked?.testId;
  };

  const keyOfRun = (testId: string): string => {
    const test = history.store.loadTest(testId);
    if (!test) throw new Error(`no stored test ${testId}`);
    const key = runKey(test);
    if (!key) throw new Error(`test ${testId} was run neither from a file nor with a name, so it has no baseline; compare it with a run of your choice (Load Test: Compare Runs)`);
    return key;
  };

  const compare = (baselineId: string, currentId: string): Comparison => ComparePanel.show(context.extensionUri, history, baselineId, currentId).comparison;

  /** The run to compare, then the one to compare it with (its file's runs first, the baseline at the top). */
  const compareWithPicked = async (arg: RunArgument): Promise<Comparison | undefined> => {
    const current = idOf(arg) ?? (await pickRun('Compare which run?'));
    if (!current) return undefined;
    const key = runKey(history.store.loadTest(current) ?? {});
    const baseline = key ? history.baselineOf(key)?.test_id : undefined;
    const other = await pickRun(`Compare ${current} with which run?`, { except: current, first: (l) => l.test_id === baseline || (key !== undefined && runKey(l) === key) });
    return other ? compare(other, current) : undefined;
  };

  register('loadtest.openRun', async (arg?: RunArgument) => {
    const id = idOf(arg) ?? (await pickRun('Open which run in the dashboard?'));
    if (!id) return undefined;
    const result = history.result(id);
    if (!result) throw new Error(`test ${id} has no result in the history (still running, interrupted, or deleted)`);
    DashboardPanel.showRun(context.extensionUri, service, (testId) => void vscode.commands.executeCommand('loadtest.exportCsv', testId), { result, series: history.store.loadTimeSeries(id) });
    return id;
  });

  register('loadtest.setBaseline', async (arg?: RunArgument) => {
    const id = idOf(arg) ?? (await pickRun('Which run becomes the baseline of its file?'));
    if (!id) return undefined;
    const key = history.setBaseline(id);
    void vscode.window.showInformationMessage(`Load Test: ${id} is now the baseline of ${key}.`);
    return key;
  });

  register('loadtest.compareWithBaseline', async (arg?: RunArgument) => {
    const id = idOf(arg) ?? (await pickRun('Compare which run with its baseline?'));
    if (!id) return undefined;
    const key = keyOfRun(id);
    const baseline = history.baselineOf(key);
    if (!baseline) throw new Error(`${key} has no baseline yet: choose Set as Baseline on one of its runs in the History view`);
    if (baseline.test_id === id) throw new Error(`${id} is the baseline of ${key}: compare a later run with it`);
    return compare(baseline.test_id, id);
  });

  register('loadtest.compareRuns', async (a?: RunArgument, b?: RunArgument) => {
    const baselineId = idOf(a);
    const currentId = idOf(b);
    if (baselineId && currentId) return compare(baselineId, currentId);
    return compareWithPicked(a);
  });

  register('loadtest.compareWith', (arg?: RunArgument) => compareWithPicked(arg));

  register('loadtest.exportReport', async (arg?: RunArgument, kindArg?: ReportKind, target?: vscode.Uri) => {
    const id = idOf(arg) ?? (await pickRun('Export the report of which run?'));
    if (!id) return undefined;
    const result = history.result(id);
    if (!result) throw new Error(`test ${id} has no result in the history (still running, interrupted, or deleted)`);
    const kind =
      kindArg ??
      (
        await vscode.window.showQuickPick(
          (Object.entries(REPORT_KINDS) as [ReportKind, (typeof REPORT_KINDS)[ReportKind]][]).map(([k, v]) => ({ label: v.label, description: v.description, report: k })),
          { placeHolder: `Which report of ${id}?` },
        )
      )?.report;
    if (!kind) return undefined;
    const { label, extension } = REPORT_KINDS[kind];
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const file =
      target ??
      (await vscode.window.showSaveDialog({ title: `Load Test: ${label} of ${id}`, defaultUri: folder && vscode.Uri.joinPath(folder, `${id}.${extension}`), filters: { [label]: [extension] } }));
    if (!file) return undefined;
    await vscode.workspace.fs.writeFile(file, Buffer.from(reportText(kind, result, history.store.loadTimeSeries(result.test_id))));
    void vscode.window.showInformationMessage(`Load Test: wrote the ${label} of ${id} to ${vscode.workspace.asRelativePath(file)}`, 'Open').then((choice) => {
      if (choice) void vscode.commands.executeCommand('vscode.open', file);
    });
    return file;
  });

  register('loadtest.deleteRun', async (arg?: RunArgument) => {
    const id = idOf(arg) ?? (await pickRun('Delete which run from the history?'));
    if (!id) return undefined;
    const result = history.result(id);
    const what = result ? `${verdictWord(result)} · ${headlineText(result)}` : 'without a result';
    const choice = await vscode.window.showWarningMessage(`Delete run ${id} (${what}) and everything stored of it?`, { modal: true, detail: 'Its result, time series and histograms go from the history; this cannot be undone.' }, 'Delete');
    if (choice !== 'Delete') return undefined;
    const clearedBaseline = await history.delete(id);
    void vscode.window.showInformationMessage(`Load Test: deleted ${id}${clearedBaseline ? `; ${clearedBaseline} has no baseline now` : ''}.`);
    return id;
  });

  register('loadtest.refreshHistory', () => history.refresh());
}
