// The Drivers view: one item per registered driver, refreshed when the registry or a running
// test changes, and once a second while visible so that "heartbeat N s ago" keeps time. Beyond
// GROUP_ABOVE drivers they are grouped by host, each group saying how its drivers are, so that a
// fleet of hundreds stays readable.
import * as vscode from 'vscode';
import type { LoadTestService } from './loadtest-service';
import type { DriverInfo, TestResult, TestSnapshot } from '../../orchestrator/result-model';
import { groupByHost, type HostGroup } from './host-groups';
import { connectionText, type ConnectionText } from '../webview/connection-text';

/** The row above the drivers while Kafka does not answer: their heartbeats are then as of its last answer. */
interface KafkaNotice {
  kafka: ConnectionText;
}
type Node = DriverInfo | HostGroup | KafkaNotice;

/** What the view says of a driver: its health unless alive, else whether it runs a test. */
const driverState = (d: DriverInfo): string => (d.health !== 'alive' ? d.health : d.activity === 'running' ? 'running' : 'alive');
const isGroup = (n: Node): n is HostGroup => 'drivers' in n;
const isNotice = (n: Node): n is KafkaNotice => 'kafka' in n;

export class DriversTreeProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
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

  getChildren(element?: Node): Node[] {
    if (element) return isGroup(element) ? element.drivers : [];
    const drivers = groupByHost(this.service.orchestrator?.drivers() ?? []);
    // Before the first connection the view's welcome text says what to do; after it, an outage shows here.
    const kafka = connectionText(this.service.connectionSummary());
    return kafka.problem && this.service.orchestrator ? [{ kafka }, ...drivers] : drivers;
  }

  /** A test's per-driver figures by node id, made once per refresh rather than searched per item. */
  private partsFor: { test: TestSnapshot; parts: Map<string, TestSnapshot['per_driver'][number]> } | undefined;

  private part(nodeId: string): TestSnapshot['per_driver'][number] | undefined {
    if (!this.test) return undefined;
    if (this.partsFor?.test !== this.test) this.partsFor = { test: this.test, parts: new Map(this.test.per_driver.map((p) => [p.node_id, p])) };
    return this.partsFor.parts.get(nodeId);
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (isNotice(node)) return this.noticeItem(node);
    if (isGroup(node)) return this.groupItem(node);
    const d = node;
    const state = driverState(d);
    const item = new vscode.TreeItem(`${d.node_id}`, vscode.TreeItemCollapsibleState.None);
    const part = this.part(d.node_id);
    const sent = part?.requests_sent;
    const result = this.test && 'verdict' in this.test ? (this.test as TestResult) : undefined;
    // After a test, each participant says how its part ended, as the verdict does.
    const partText = part && result ? `last test: ${part.state.replace('_', ' ')}` : '';
    const ending = result?.ending.find((e) => e.node_id === d.node_id);
    const seconds = Math.max(0, Math.round((Date.now() - d.last_seen) / 1000));
    item.description = [d.node_IP, state, d.duplicate ? 'two agents share this id' : '', d.rejected_commands ? `refused ${d.rejected_commands} command(s)` : '', `heartbeat ${seconds} s ago`, sent !== undefined && sent !== null ? `${sent.toLocaleString('en-US')} sent` : '', partText].filter(Boolean).join(' · ');
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
        d.duplicate ? `⚠ ${d.duplicate}; tests do not pick it meanwhile` : '',
        d.signed_commands ? 'Obeys only signed commands' : '',
        d.rejected_commands ? `⚠ refused ${d.rejected_commands} command(s); latest: ${d.last_rejection ?? ''}` : '',
      ]
        .filter(Boolean)
        .join('\n\n'),
    );
    item.contextValue = `driver-${state}`;
    return item;
  }

  private noticeItem({ kafka }: KafkaNotice): vscode.TreeItem {
    const item = new vscode.TreeItem(kafka.short, vscode.TreeItemCollapsibleState.None);
    item.id = 'kafka-notice';
    item.description = 'drivers as of its last answer';
    item.tooltip = kafka.detail;
    item.iconPath = new vscode.ThemeIcon('debug-disconnect', new vscode.ThemeColor('errorForeground'));
    item.contextValue = 'kafka-notice';
    return item;
  }

  private groupItem(group: HostGroup): vscode.TreeItem {
    const count = (state: string) => group.drivers.filter((d) => driverState(d) === state).length;
    const lost = count('lost');
    const states = [['running', count('running')], ['alive', count('alive')], ['lost', lost], ['left', count('left')]].filter(([, n]) => n);
    // A host with a lost driver opens by itself: that is where to look.
    const item = new vscode.TreeItem(group.host, lost ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `host:${group.host}`;
    item.description = `${group.drivers.length} driver${group.drivers.length === 1 ? '' : 's'} · ${states.map(([s, n]) => `${n} ${s}`).join(' · ')}`;
    item.iconPath = new vscode.ThemeIcon('server', lost ? new vscode.ThemeColor('errorForeground') : undefined);
    item.contextValue = 'driver-host';
    return item;
  }

  dispose(): void {
    this.setVisible(false);
    this.subscription.dispose();
    this.changed.dispose();
  }
}
