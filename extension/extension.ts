// The extension's entry: builds each object once, hands it to context.subscriptions, and on
// deactivation waits for the orchestrator to leave Kafka cleanly.
import * as vscode from 'vscode';
import { registerCommands } from './vscode/commands';
import { ComparePanel } from './vscode/compare-panel';
import { DashboardPanel } from './vscode/dashboard-panel';
import { DriversTreeProvider } from './vscode/drivers-tree';
import { registerHistoryCommands } from './vscode/history-commands';
import { HistoryTreeProvider } from './vscode/history-tree';
import { HTTP_FILES, HttpFileCodeLensProvider } from './vscode/http-file-codelens';
import { registerHttpFileCommands } from './vscode/http-file-commands';
import { LastRunCodeLensProvider } from './vscode/last-run-codelens';
import { LoadTestCodeLensProvider } from './vscode/loadtest-codelens';
import { createChannelLogger } from './vscode/log-channel';
import { LoadTestService } from './vscode/loadtest-service';
import { RunHistory } from './vscode/run-history';
import { onSettingsChanged } from './vscode/settings';
import { LoadTestStatusBar } from './vscode/status-bar';
import type { ComparePageState } from './webview/compare-protocol';

let service: LoadTestService | undefined;

/** What tests and other extensions can reach. */
export interface LoadTestApi {
  service: LoadTestService;
  tree: DriversTreeProvider;
  history: RunHistory;
  historyTree: HistoryTreeProvider;
  /** what the dashboard and the compare view show now, if open */
  shown(): { dashboard?: { testId: string; stored: boolean }; compare?: ComparePageState };
}

export function activate(context: vscode.ExtensionContext): LoadTestApi {
  const channel = vscode.window.createOutputChannel('Load Test', { log: true });
  context.subscriptions.push(channel);
  const log = createChannelLogger(channel);
  const workspaceRoot = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  service = new LoadTestService(log, workspaceRoot, context.secrets);
  const tree = new DriversTreeProvider(service);
  const treeView = vscode.window.createTreeView('loadtest.drivers', { treeDataProvider: tree, showCollapseAll: false });
  tree.setVisible(treeView.visible);
  const exportCsv = (id: string) => void vscode.commands.executeCommand('loadtest.exportCsv', id);
  const history = new RunHistory(service, log);
  const historyTree = new HistoryTreeProvider(history);
  const historyView = vscode.window.createTreeView('loadtest.history', { treeDataProvider: historyTree, showCollapseAll: true });
  historyTree.setVisible(historyView.visible);
  const lastRunLens = new LastRunCodeLensProvider(history, log);
  context.subscriptions.push(
    tree,
    treeView,
    treeView.onDidChangeVisibility((e) => tree.setVisible(e.visible)),
    history,
    historyTree,
    historyView,
    historyView.onDidChangeVisibility((e) => historyTree.setVisible(e.visible)),
    // A dashboard or a compare view open before a window reload comes back with it.
    vscode.window.registerWebviewPanelSerializer(DashboardPanel.viewType, {
      deserializeWebviewPanel: async (panel) => DashboardPanel.revive(panel, context.extensionUri, service!, exportCsv),
    }),
    vscode.window.registerWebviewPanelSerializer(ComparePanel.viewType, {
      deserializeWebviewPanel: async (panel, state: ComparePageState | undefined) => ComparePanel.revive(panel, context.extensionUri, history, state),
    }),
    new LoadTestStatusBar(service),
    vscode.languages.registerCodeLensProvider({ pattern: '**/*.loadtest.json' }, new LoadTestCodeLensProvider()),
    lastRunLens,
    vscode.languages.registerCodeLensProvider({ pattern: '**/*.loadtest.json' }, lastRunLens),
    vscode.languages.registerCodeLensProvider(HTTP_FILES, new HttpFileCodeLensProvider()),
    onSettingsChanged(() => void service?.reloadSettings()),
    // The results folder may be another now: the history reads (and watches) it.
    onSettingsChanged(() => history.refresh()),
  );
  const runDefinition = registerCommands(context, service, history, log);
  registerHttpFileCommands(context, runDefinition, log);
  registerHistoryCommands(context, service, history, log);
  void service.start();
  return { service, tree, history, historyTree, shown: () => ({ dashboard: DashboardPanel.shown, compare: ComparePanel.shown }) };
}

export async function deactivate(): Promise<void> {
  await service?.dispose();
  service = undefined;
}
