// The extension's entry: builds each object once, hands it to context.subscriptions, and on
// deactivation waits for the orchestrator to leave Kafka cleanly.
import * as vscode from 'vscode';
import { registerCommands } from './vscode/commands';
import { DashboardPanel } from './vscode/dashboard-panel';
import { DriversTreeProvider } from './vscode/drivers-tree';
import { LoadTestCodeLensProvider } from './vscode/loadtest-codelens';
import { createChannelLogger } from './vscode/log-channel';
import { LoadTestService } from './vscode/loadtest-service';
import { onSettingsChanged } from './vscode/settings';
import { LoadTestStatusBar } from './vscode/status-bar';

let service: LoadTestService | undefined;

/** What tests and other extensions can reach. */
export interface LoadTestApi {
  service: LoadTestService;
  tree: DriversTreeProvider;
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
  context.subscriptions.push(
    tree,
    treeView,
    treeView.onDidChangeVisibility((e) => tree.setVisible(e.visible)),
    // A dashboard open before a window reload comes back with it.
    vscode.window.registerWebviewPanelSerializer(DashboardPanel.viewType, {
      deserializeWebviewPanel: async (panel) => DashboardPanel.revive(panel, context.extensionUri, service!, exportCsv),
    }),
    new LoadTestStatusBar(service),
    vscode.languages.registerCodeLensProvider({ pattern: '**/*.loadtest.json' }, new LoadTestCodeLensProvider()),
    onSettingsChanged(() => void service?.reloadSettings()),
  );
  registerCommands(context, service, log);
  void service.start();
  return { service, tree };
}

export async function deactivate(): Promise<void> {
  await service?.dispose();
  service = undefined;
}
