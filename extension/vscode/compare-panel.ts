// The compare view: two stored runs side by side, as the webview page (webview/compare.ts) draws
// them. Same rules as the dashboard: strict CSP, one bundled script, the theme's colours, a typed
// protocol. The host makes everything the page shows: the comparison (compareRuns, through the
// history's cache) and each run's curves (compare-view-data.ts); the page only draws and writes.
// One panel, showing the pair asked for last; it comes back after a window reload with its pair.
import * as vscode from 'vscode';
import { webviewPage } from './webview-html';
import { errorMessage } from '../../common/logger';
import type { ComparePageState, CompareView, HostToPage, PageToHost } from '../webview/compare-protocol';
import { runCurves } from './compare-view-data';
import type { RunHistory } from './run-history';
import { agoText } from './run-text';

export class ComparePanel implements vscode.Disposable {
  static readonly viewType = 'loadtest.compare';
  private static current: ComparePanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private pair: ComparePageState;

  /** Shows `currentId` against `baselineId`; returns the comparison shown. */
  static show(extensionUri: vscode.Uri, history: RunHistory, baselineId: string, currentId: string): CompareView {
    const view = ComparePanel.view(history, baselineId, currentId);
    if (ComparePanel.current) {
      ComparePanel.current.showPair({ baseline: baselineId, current: currentId }, view);
      ComparePanel.current.panel.reveal(undefined, false);
      return view;
    }
    const panel = vscode.window.createWebviewPanel(ComparePanel.viewType, 'Compare runs', { viewColumn: vscode.ViewColumn.Active, preserveFocus: false }, ComparePanel.options(extensionUri));
    ComparePanel.current = new ComparePanel(panel, extensionUri, history, { baseline: baselineId, current: currentId }, view);
    return view;
  }

  /** A panel open before a window reload, handed back with the pair its page kept. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, history: RunHistory, state: ComparePageState | undefined): void {
    ComparePanel.current?.dispose();
    if (!state?.baseline || !state.current) {
      panel.dispose();
      return;
    }
    panel.webview.options = ComparePanel.options(extensionUri);
    ComparePanel.current = new ComparePanel(panel, extensionUri, history, state);
  }

  /** The pair the panel shows, if one is open (for the tests). */
  static get shown(): ComparePageState | undefined {
    return ComparePanel.current?.pair;
  }

  private static options(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')] };
  }

  private static view(history: RunHistory, baselineId: string, currentId: string): CompareView {
    const comparison = history.comparison(baselineId, currentId);
    const curves = (testId: string) => {
      const run = history.load(testId);
      const name = run.result.name ? `${run.result.name}, ` : '';
      return runCurves(run, history.store.loadTimeSeries(testId), `${testId} (${name}${agoText(run.result.ended_at, Date.now())})`);
    };
    return { comparison, baseline: curves(baselineId), current: curves(currentId) };
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly history: RunHistory,
    pair: ComparePageState,
    /** the view of the pair, when already made */
    private view?: CompareView,
  ) {
    this.pair = pair;
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
    panel.title = ComparePanel.title(pair);
    panel.webview.html = this.html(extensionUri);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.webview.onDidReceiveMessage((message: PageToHost) => {
        if (message.type === 'ready') this.send();
        else if (message.type === 'open') void vscode.commands.executeCommand('loadtest.openRun', message.testId);
      }),
    );
  }

  private static title(pair: ComparePageState): string {
    return `Compare ${pair.current} with ${pair.baseline}`;
  }

  private showPair(pair: ComparePageState, view: CompareView): void {
    this.pair = pair;
    this.view = view;
    this.panel.title = ComparePanel.title(pair);
    this.post({ type: 'compare', view });
  }

  /** The whole view, when the page is (re)loaded (VS Code reloads a hidden webview when it is shown again). */
  private send(): void {
    try {
      this.view ??= ComparePanel.view(this.history, this.pair.baseline, this.pair.current);
      this.post({ type: 'compare', view: this.view });
    } catch (error) {
      this.post({ type: 'error', message: `${this.pair.current} cannot be compared with ${this.pair.baseline}: ${errorMessage(error)}` });
    }
  }

  private post(message: HostToPage): void {
    void this.panel.webview.postMessage(message);
  }

  private html(extensionUri: vscode.Uri): string {
    return webviewPage(this.panel.webview, extensionUri, { script: 'compare.js', stylesheet: 'compare.css', title: 'Compare runs', rootId: 'compare-app' });
  }

  dispose(): void {
    ComparePanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
