// The status bar item: alive drivers; while a test runs, its live request rate; after it, its verdict.
import * as vscode from 'vscode';
import type { TestResult } from '../../orchestrator/result-model';
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
    if (!o) {
      this.item.text = '$(debug-disconnect) Load Test: not connected';
      this.item.tooltip = `Waiting for Kafka at ${this.service.currentSettings.brokers.join(',')}. Click to open the dashboard.`;
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
