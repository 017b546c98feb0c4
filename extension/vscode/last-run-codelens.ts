// The last run of a .loadtest.json above it: "last: PASSED · p99 12.3 ms (+14.6% vs baseline) ·
// 4,010 req/s · 2 h ago", from the history (matched by the file's path as the store names it), a
// click opening that result in the dashboard; and, when the file has a baseline that is another
// run, a lens that compares the two. The change against the baseline is the comparison's own
// (compareRuns, as `lt-orchestrator compare` gives it). The lenses are asked for again whenever the
// history changes (a run ending here or in a terminal) and once a minute for "2 h ago".
import * as vscode from 'vscode';
import { errorMessage, type Logger } from '../../common/logger';
import type { FigureDelta } from '../../orchestrator/compare/comparison-model';
import { changeText, JUDGEMENT_TEXT, noiseText } from '../../orchestrator/reports/comparison-text';
import type { RunHistory } from './run-history';
import { lastRunLensText } from './run-text';

const TICK_MS = 60_000;

export class LastRunCodeLensProvider implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscription: vscode.Disposable;
  private readonly ticker: NodeJS.Timeout;

  constructor(
    private readonly history: RunHistory,
    private readonly log: Logger,
  ) {
    this.subscription = history.onDidChange(() => this.changed.fire());
    // Only while a load test file is shown is there an "ago" to keep true.
    this.ticker = setInterval(() => {
      if (vscode.window.visibleTextEditors.some((e) => e.document.uri.path.endsWith('.loadtest.json'))) this.changed.fire();
    }, TICK_MS);
  }

  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (document.uri.scheme !== 'file') return [];
    try {
      return this.lenses(document);
    } catch (error) {
      this.log.warn(`the last run of ${document.uri.fsPath}: ${errorMessage(error)}`);
      return [];
    }
  }

  private lenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const key = this.history.keyOfFile(document.uri.fsPath);
    const last = this.history.lastRunOf(key);
    const result = last && this.history.result(last);
    if (!last || !result) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    const baseline = this.history.baselineOf(key);
    const p99 = baseline && baseline.test_id !== last ? this.p99Against(baseline.test_id, last) : undefined;
    const tooltip = [`${result.test_id}: ${result.verdict.reason}`, p99 ? `${p99.label} against baseline ${baseline!.test_id}: ${changeText(p99)}, ${JUDGEMENT_TEXT[p99.judgement]} (noise ${noiseText(p99)})` : '', 'Click to open it in the dashboard']
      .filter(Boolean)
      .join('\n');
    const lenses = [new vscode.CodeLens(top, { title: lastRunLensText(result, p99, Date.now()), command: 'loadtest.openRun', arguments: [last], tooltip })];
    if (p99) lenses.push(new vscode.CodeLens(top, { title: '$(diff) Compare with baseline', command: 'loadtest.compareRuns', arguments: [baseline!.test_id, last], tooltip: `${baseline!.test_id} against ${last}` }));
    return lenses;
  }

  /** The p99 of the comparison; undefined when it cannot be made (a baseline deleted or unreadable): the lens then says the run alone. */
  private p99Against(baselineId: string, currentId: string): FigureDelta | undefined {
    try {
      return this.history.comparison(baselineId, currentId).scopes[0]?.figures.find((f) => f.figure === 'p99_latency_ms');
    } catch (error) {
      this.log.warn(`comparing ${currentId} with its baseline ${baselineId}: ${errorMessage(error)}`);
      return undefined;
    }
  }

  dispose(): void {
    clearInterval(this.ticker);
    this.subscription.dispose();
    this.changed.dispose();
  }
}
