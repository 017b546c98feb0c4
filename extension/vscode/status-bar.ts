// The status bar item: alive drivers; while a test runs, its live request rate; after it, its
// verdict. While Kafka does not answer (or refused us), that instead, and since when.
import * as vscode from 'vscode';
import type { TestResult } from '../../orchestrator/result-model';
import { connectionText } from '../webview/connection-text';
import type { LoadTestService } from './loadtest-service';

export class LoadTestStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('loadtest.status', vscode.StatusBarAlignment.Left, 50);
  private readonly subscription: vscode.Disposable;
  /** The verdict of the latest test that ended here, shown until the next one starts. */
  private last: TestResult | undefined;

  constructor(private readonly service: LoadTestService) {
    this.item.name = 'Load Test';
    this.item.command = 'loadtest.openDashboard';
    this.subscription = service.onEvent((e) => {
      if (e.kind === 'end') this.last = e.result;
      if (e.kind === 'test') this.last = undefined;
      this.render(e.kind === 'update' ? Math.round(e.test.aggregate.rate) : undefined);
    });
    this.render();
    this.item.show();
  }

  private render(rate?: number): void {
    const o = this.service.orchestrator;
    const kafka = connectionText(this.service.connectionSummary());
    this.item.backgroundColor = kafka.problem && o ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    if (!o || kafka.problem) {
      // Whether the orchestrator is up or not, a broker that does not answer is what to say first.
      const icon = this.service.connection.state.status === 'refused' ? '$(error)' : '$(debug-disconnect)';
      this.item.text = `${icon} Load Test: ${kafka.short}`;
      this.item.tooltip = `${kafka.detail} Click to open the dashboard.`;
      return;
    }
    const alive = o.drivers().filter((d) => d.health === 'alive').length;
    const running = o.activeRun();
    const drivers = `$(pulse) ${alive} driver${alive === 1 ? '' : 's'}`;
    if (running) {
      this.item.text = `${drivers}${rate !== undefined ? ` · ${rate.toLocaleString('en-US')} req/s` : ''}`;
      this.item.tooltip = `Test ${running.testId} running. Click to open the dashboard.`;
    } else if (this.last) {
      // The same verdict as the CLI's last line: a test that is not complete never shows as passed.
      const { verdict, status } = this.last;
      this.item.text = `${drivers} · ${verdict.passed ? '$(pass) passed' : `$(error) ${status === 'complete' ? 'failed' : status}`}`;
      this.item.tooltip = `Test ${this.last.test_id}: ${verdict.reason}. Click to open the dashboard.`;
    } else {
      this.item.text = drivers;
      this.item.tooltip = 'Load Test: click to open the dashboard.';
    }
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}
