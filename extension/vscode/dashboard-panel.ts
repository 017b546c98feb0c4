// The dashboard webview: strict CSP (scripts only with this load's nonce, styles only from the
// extension), one bundled script, VS Code's theme colours. It receives an update about once a
// second while a test runs, nothing while hidden, and the whole state again when shown. It can
// also show a run of the history, read-only: that result and its series stay until the dashboard
// is asked for the live test again (Open Dashboard, Start Load Test).
import * as vscode from 'vscode';
import { webviewPage } from './webview-html';
import type { ConnectionSummary, HostToPage, PageToHost } from '../webview/dashboard-protocol';
import type { TestResult, TimePoint } from '../../orchestrator/result-model';
import type { LoadTestService } from './loadtest-service';

const LIVE_TITLE = 'Load Test Dashboard';

/** A run of the history as the dashboard shows it. */
export interface StoredView {
  result: TestResult;
  series: TimePoint[];
}

export class DashboardPanel implements vscode.Disposable {
  static readonly viewType = 'loadtest.dashboard';
  private static current: DashboardPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  static show(extensionUri: vscode.Uri, service: LoadTestService, onExportCsv: (testId: string) => void): DashboardPanel {
    if (DashboardPanel.current) {
      DashboardPanel.current.showStored(undefined);
      DashboardPanel.current.panel.reveal(undefined, true);
      return DashboardPanel.current;
    }
    const panel = vscode.window.createWebviewPanel(DashboardPanel.viewType, LIVE_TITLE, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, DashboardPanel.options(extensionUri));
    DashboardPanel.current = new DashboardPanel(panel, extensionUri, service, onExportCsv);
    return DashboardPanel.current;
  }

  /** A run of the history, read-only: its stored result and time series, no live update over them. */
  static showRun(extensionUri: vscode.Uri, service: LoadTestService, onExportCsv: (testId: string) => void, run: StoredView): DashboardPanel {
    const dashboard = DashboardPanel.current ?? DashboardPanel.show(extensionUri, service, onExportCsv);
    dashboard.showStored(run);
    dashboard.panel.reveal(undefined, true);
    return dashboard;
  }

  /** The run shown read-only, or undefined when the dashboard follows the live test. */
  private stored: StoredView | undefined;

  private showStored(run: StoredView | undefined): void {
    if (run === undefined && this.stored === undefined) return;
    this.stored = run;
    this.panel.title = run ? `Load Test: ${run.result.name ?? run.result.test_id}` : LIVE_TITLE;
    if (this.panel.visible) this.sendState();
  }

  /** What the open dashboard shows: a stored run's id, or the live test's (for the tests). */
  static get shown(): { testId: string; stored: boolean } | undefined {
    const d = DashboardPanel.current;
    if (!d) return undefined;
    if (d.stored) return { testId: d.stored.result.test_id, stored: true };
    const test = d.service.orchestrator?.activeRun()?.current() ?? d.service.lastTest;
    return test && { testId: test.test_id, stored: false };
  }

  /** A panel that was open before a window reload, handed back by VS Code's serializer. */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, service: LoadTestService, onExportCsv: (testId: string) => void): void {
    DashboardPanel.current?.dispose();
    panel.webview.options = DashboardPanel.options(extensionUri);
    DashboardPanel.current = new DashboardPanel(panel, extensionUri, service, onExportCsv);
  }

  private static options(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')] };
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly service: LoadTestService,
    onExportCsv: (testId: string) => void,
  ) {
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'icon.svg');
    panel.webview.html = this.html(extensionUri);
    this.disposables.push(
      panel.onDidDispose(() => this.dispose()),
      panel.onDidChangeViewState(() => {
        if (panel.visible) this.sendState();
      }),
      panel.webview.onDidReceiveMessage((message: PageToHost) => {
        if (message.type === 'ready') this.sendState();
        else if (message.type === 'stop') void vscode.commands.executeCommand('loadtest.stopTest');
        else if (message.type === 'exportCsv') onExportCsv(message.testId);
        else if (message.type === 'control') void this.control(message);
      }),
      service.onEvent((e) => {
        if (!panel.visible) return; // nothing is pushed to a hidden panel; it gets the whole state when shown
        // A stored run is shown as it was: the live test's figures do not come over it.
        if (this.stored && (e.kind === 'update' || e.kind === 'end' || e.kind === 'test')) return;
        if (e.kind === 'update') this.post({ type: 'update', test: e.test, point: e.point });
        else if (e.kind === 'end') this.post({ type: 'end', result: e.result });
        else if (e.kind === 'drivers') this.post({ type: 'drivers', drivers: e.drivers });
        else if (e.kind === 'test') this.post({ type: 'test', test: e.test });
        else if (e.kind === 'capacity') this.post({ type: 'capacity', capacity: e.capacity });
        else this.post({ type: 'connection', connection: this.connectionSummary() });
      }),
    );
  }

  private post(message: HostToPage): void {
    void this.panel.webview.postMessage(message);
  }

  private connectionSummary(): ConnectionSummary {
    return this.service.connectionSummary();
  }

  private sendState(): void {
    const o = this.service.orchestrator;
    if (this.stored) {
      this.post({ type: 'state', connection: this.connectionSummary(), drivers: o?.drivers() ?? [], test: this.stored.result, series: this.stored.series, capacity: null, stored: true });
      return;
    }
    const test = o?.activeRun()?.current() ?? this.service.lastTest ?? null;
    this.post({
      type: 'state',
      connection: this.connectionSummary(),
      drivers: o?.drivers() ?? [],
      test,
      series: test && o ? this.seriesOf(test.test_id) : [],
      capacity: this.service.capacity,
      stored: false,
    });
  }

  /** The dashboard's pause, resume and set: the same live control as REST's, named "dashboard" in the log. */
  private async control(message: Extract<PageToHost, { type: 'control' }>): Promise<void> {
    try {
      const o = this.service.connection.require();
      const field = o.getTest(message.testId)?.test_type === 'AVALANCHE' ? 'concurrency' : 'rate';
      await o.controlTest(message.testId, { action: message.action, ...(message.action === 'set' ? { [field]: message.value } : {}) }, 'dashboard');
    } catch (error) {
      void vscode.window.showErrorMessage(`Load Test: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** The test's stored series; a store that cannot be read is said, and the page shows no chart. */
  private seriesOf(testId: string): TimePoint[] {
    try {
      return this.service.orchestrator?.getTimeSeries(testId) ?? [];
    } catch (error) {
      void vscode.window.showErrorMessage(`Load Test: the dashboard cannot read the series of test ${testId}: ${error instanceof Error ? error.message : String(error)}`);
      return [];
    }
  }

  private html(extensionUri: vscode.Uri): string {
    return webviewPage(this.panel.webview, extensionUri, { script: 'dashboard.js', stylesheet: 'dashboard.css', title: 'Load Test Dashboard', rootId: 'app' });
  }

  dispose(): void {
    DashboardPanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }
}
