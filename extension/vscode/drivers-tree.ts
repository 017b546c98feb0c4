// The Drivers view: one item per registered driver, refreshed when the registry or a running
// test changes, and once a second while visible so that "heartbeat N s ago" keeps time.
import * as vscode from 'vscode';
import type { LoadTestService } from './loadtest-service';
import type { DriverInfo, TestResult, TestSnapshot } from '../../orchestrator/result-model';

export class DriversTreeProvider implements vscode.TreeDataProvider<DriverInfo>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;
  private test: TestSnapshot | undefined;
  private ticker: NodeJS.Timeout | undefined;

  constructor(private readonly service: LoadTestService) {
    this.subscription = service.onEvent((e) => {
      if (e.kind === 'update' || e.kind === 'test') this.test = e.test;
      if (e.kind === 'end') this.test = e.result;
      this.refresh();
    });
  }

  refresh(): void {
    this.changed.fire();
  }

  /** The relative times tick only while someone can see them. */
  setVisible(visible: boolean): void {
    if (visible && !this.ticker) this.ticker = setInterval(() => this.refresh(), 1000);
    if (!visible && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  getChildren(element?: DriverInfo): DriverInfo[] {
    if (element) return [];
    return this.service.orchestrator?.drivers() ?? [];
  }

  getTreeItem(d: DriverInfo): vscode.TreeItem {
    const state = d.health !== 'alive' ? d.health : d.activity === 'running' ? 'running' : 'alive';
    const item = new vscode.TreeItem(`${d.node_id}`, vscode.TreeItemCollapsibleState.None);
    const part = this.test?.per_driver.find((p) => p.node_id === d.node_id);
    const sent = part?.requests_sent;
    const result = this.test && 'verdict' in this.test ? (this.test as TestResult) : undefined;
    // After a test, each participant says how its part ended, as the verdict does.
    const partText = part && result ? `last test: ${part.state.replace('_', ' ')}` : '';
    const ending = result?.ending.find((e) => e.node_id === d.node_id);
    const seconds = Math.max(0, Math.round((Date.now() - d.last_seen) / 1000));
    item.description = [d.node_IP, state, d.rejected_commands ? `refused ${d.rejected_commands} command(s)` : '', `heartbeat ${seconds} s ago`, sent !== undefined && sent !== null ? `${sent.toLocaleString('en-US')} sent` : '', partText].filter(Boolean).join(' · ');
    item.iconPath = new vscode.ThemeIcon(
      state === 'running' ? 'pulse' : state === 'alive' ? 'pass' : state === 'lost' ? 'error' : 'circle-slash',
      new vscode.ThemeColor(state === 'lost' ? 'errorForeground' : state === 'left' ? 'disabledForeground' : 'testing.iconPassed'),
    );
    item.tooltip = new vscode.MarkdownString(
      [
        `**${d.node_id}** — ${state}`,
        `IP: ${d.node_IP || 'unknown'}`,
        `Last heartbeat: ${new Date(d.last_seen).toLocaleTimeString()}`,
        d.current_test ? `Test: ${d.current_test}` : '',
        result && part ? `Test ${result.test_id}: ${result.verdict.reason}` : '',
        ending ? `Its part: ${ending.state.replace('_', ' ')} (${ending.reason})` : '',
        d.cpu_percent !== undefined ? `CPU: ${d.cpu_percent}% · event-loop lag ${d.event_loop_lag_ms ?? 0} ms` : '',
        d.agent_version ? `Agent: ${d.agent_version}` : '',
        d.foreign ? `⚠ serves orchestrator "${d.orchestrator}": it ignores this one` : '',
        d.signed_commands ? 'Obeys only signed commands' : '',
        d.rejected_commands ? `⚠ refused ${d.rejected_commands} command(s); latest: ${d.last_rejection ?? ''}` : '',
      ]
        .filter(Boolean)
        .join('\n\n'),
    );
    item.contextValue = `driver-${state}`;
    return item;
  }

  dispose(): void {
    this.setVisible(false);
    this.subscription.dispose();
    this.changed.dispose();
  }
}
