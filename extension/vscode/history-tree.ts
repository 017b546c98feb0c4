// The History view, beside Drivers: the stored runs grouped by the test file they came from (or
// "name: X" for a run without a file, or "(no file)"), newest first, each with its verdict and
// headline figures; the baseline of each file is marked. It refreshes when the history changes
// (RunHistory watches the store), and every 30 s while visible so that "5 min ago" keeps time.
import * as vscode from 'vscode';
import type { TestListing } from '../../orchestrator/result-model';
import { NO_FILE, type RunHistory } from './run-history';
import { agoText, headlineText, runTime, unfinishedText, verdictWord } from './run-text';

export interface FileNode {
  kind: 'file';
  key: string;
  runs: RunNode[];
}

export interface RunNode {
  kind: 'run';
  key: string;
  listing: TestListing;
}

export type HistoryNode = FileNode | RunNode;

const TICK_MS = 30_000;

/**
 * A run's context value, which the History view's menus (package.json) match: "loadtest-run", then
 * "finished" or "unfinished", then "baseline" for its file's baseline or "has-baseline" for a run
 * of a file whose baseline is another run.
 */
export function runContext(finished: boolean, isBaseline: boolean, hasBaseline: boolean): string {
  return ['loadtest-run', finished ? 'finished' : 'unfinished', finished && isBaseline ? 'baseline' : '', finished && hasBaseline && !isBaseline ? 'has-baseline' : ''].filter(Boolean).join(' ');
}

export class HistoryTreeProvider implements vscode.TreeDataProvider<HistoryNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;
  private ticker: NodeJS.Timeout | undefined;
  private groups: FileNode[] = [];

  constructor(private readonly history: RunHistory) {
    this.subscription = history.onDidChange(() => this.refresh());
  }

  refresh(): void {
    this.changed.fire();
  }

  setVisible(visible: boolean): void {
    if (visible && !this.ticker) this.ticker = setInterval(() => this.refresh(), TICK_MS);
    if (!visible && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = undefined;
    }
  }

  /** The runs grouped by file, the group of the newest run first (the listing is newest first). */
  private group(): FileNode[] {
    const byKey = new Map<string, FileNode>();
    for (const listing of this.history.list()) {
      const key = this.history.keyOf(listing);
      let group = byKey.get(key);
      if (!group) byKey.set(key, (group = { kind: 'file', key, runs: [] }));
      group.runs.push({ kind: 'run', key, listing });
    }
    return [...byKey.values()];
  }

  getChildren(element?: HistoryNode): HistoryNode[] {
    if (element) return element.kind === 'file' ? element.runs : [];
    this.groups = this.group();
    return this.groups;
  }

  getParent(element: HistoryNode): HistoryNode | undefined {
    return element.kind === 'run' ? this.groups.find((g) => g.key === element.key) : undefined;
  }

  /** The node of a run in the history as it is now (for the tests, and for commands given an id). */
  nodeOf(testId: string): RunNode | undefined {
    for (const group of this.getChildren() as FileNode[]) {
      const node = group.runs.find((r) => r.listing.test_id === testId);
      if (node) return node;
    }
    return undefined;
  }

  getTreeItem(node: HistoryNode): vscode.TreeItem {
    return node.kind === 'file' ? this.fileItem(node) : this.runItem(node);
  }

  private fileItem(node: FileNode): vscode.TreeItem {
    const item = new vscode.TreeItem(node.key, vscode.TreeItemCollapsibleState.Expanded);
    item.id = `file:${node.key}`;
    const baseline = this.history.baselineOf(node.key);
    item.description = `${node.runs.length} run${node.runs.length === 1 ? '' : 's'}${baseline ? ` · baseline ${baseline.test_id}` : ''}`;
    item.iconPath = new vscode.ThemeIcon(node.key.startsWith('name: ') || node.key === NO_FILE ? 'symbol-namespace' : 'file');
    item.contextValue = 'loadtest-run-group';
    return item;
  }

  private runItem(node: RunNode): vscode.TreeItem {
    const l = node.listing;
    const result = l.passed === undefined ? undefined : this.history.result(l.test_id);
    const baseline = this.history.baselineOf(node.key);
    const isBaseline = baseline?.test_id === l.test_id;
    const label = result ? `${verdictWord(result)} · ${headlineText(result)}` : unfinishedText(l);
    const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.None);
    item.id = `run:${l.test_id}`;
    item.description = [isBaseline ? 'baseline' : '', agoText(runTime(l), Date.now()), l.test_id].filter(Boolean).join(' · ');
    item.iconPath = isBaseline
      ? new vscode.ThemeIcon('star-full', new vscode.ThemeColor(result?.verdict.passed === false ? 'testing.iconFailed' : 'testing.iconPassed'))
      : result
        ? new vscode.ThemeIcon(result.verdict.passed ? 'pass' : 'error', new vscode.ThemeColor(result.verdict.passed ? 'testing.iconPassed' : 'testing.iconFailed'))
        : new vscode.ThemeIcon(l.status === 'running' ? 'sync~spin' : 'circle-slash');
    item.contextValue = runContext(result !== undefined, isBaseline, baseline !== undefined);
    item.tooltip = new vscode.MarkdownString(
      [
        `**${l.test_id}**${l.name ? ` — ${l.name}` : ''}`,
        result ? result.verdict.reason : unfinishedText(l),
        `${l.source_file ? `From ${l.source_file}, ` : ''}${l.test_type} on ${l.drivers} driver(s), ${new Date(runTime(l)).toLocaleString()}`,
        l.requests_sent !== undefined ? `${l.requests_sent.toLocaleString('en-US')} requests, ${(l.errors ?? 0).toLocaleString('en-US')} errors` : '',
        isBaseline ? `The baseline of ${node.key}` : '',
      ]
        .filter(Boolean)
        .join('\n\n'),
    );
    if (result) item.command = { title: 'Open Run', command: 'loadtest.openRun', arguments: [l.test_id] };
    return item;
  }

  dispose(): void {
    this.setVisible(false);
    this.subscription.dispose();
    this.changed.dispose();
  }
}
