// The status bar item: alive drivers, and while a test runs, its live request rate.
import * as vscode from 'vscode';
import type { LoadTestService } from './loadtest-service';

export class LoadTestStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('loadtest.status', vscode.StatusBarAlignment.Left, 50);
  private readonly subscription: vscode.Disposable;

  constructor(private readonly service: LoadTestService) {
    this.item.name = 'Load Test';
    this.item.command = 'loadtest.openDashboard';
    this.subscription = service.onEvent((e) => this.render(e.kind === 'update' ? Math.round(e.test.aggregate.rate) : undefined));
    this.render();
    this.item.show();
  }

  private render(rate?: number): void {
    const o = this.service.orchestrator;
    if (!o) {
      this.item.text = '$(debug-disconnect) Load Test: not connected';
      this.item.tooltip = `Waiting for Kafka at ${this.service.currentSettings.brokers.join(',')}. Click to open the dashboard.`;
      return;
    }
    const alive = o.drivers().filter((d) => d.health === 'alive').length;
    const running = o.activeRun();
    this.item.text = `$(pulse) ${alive} driver${alive === 1 ? '' : 's'}${running && rate !== undefined ? ` · ${rate.toLocaleString('en-US')} req/s` : ''}`;
    this.item.tooltip = running ? `Test ${running.testId} running. Click to open the dashboard.` : 'Load Test: click to open the dashboard.';
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
