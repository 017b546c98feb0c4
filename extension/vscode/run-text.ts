// How a stored run reads in the editor's small places: the CodeLens above its file, a row of the
// history view, a quick pick. The figures are written by figure-text.ts and the change against a
// baseline by comparison-text.ts, as the CLI and the reports write them. No `vscode` here, so the
// texts are unit-tested.
import type { FigureDelta } from '../../orchestrator/compare/comparison-model';
import { int, msText } from '../../orchestrator/figure-text';
import { relativeText } from '../../orchestrator/reports/comparison-text';
import type { TestListing, TestResult } from '../../orchestrator/result-model';

export const verdictWord = (result: Pick<TestResult, 'verdict'>): 'PASSED' | 'FAILED' => (result.verdict.passed ? 'PASSED' : 'FAILED');

type Headline = Pick<TestResult, 'aggregate' | 'throughput'>;

const p99Text = (result: Headline) => {
  const p99 = result.aggregate.latency?.p99;
  return `p99 ${p99 === null || p99 === undefined ? '-' : `${msText(p99)} ms`}`;
};
const rateText = (result: Headline) => `${int(result.throughput)} req/s`;

/** The figures a run is recognised by: "p99 12.3 ms · 4,010 req/s". */
export const headlineText = (result: Headline): string => `${p99Text(result)} · ${rateText(result)}`;

/** How long ago, in the largest unit that is at least 1: "just now", "40 s ago", "5 min ago", "2 h ago", "3 d ago". */
export function agoText(then: number, now: number): string {
  const s = Math.max(0, Math.floor((now - then) / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** When a run ended, or began when it has not. */
export const runTime = (run: Pick<TestListing, 'created_at' | 'ended_at'>): number => run.ended_at ?? run.created_at;

/**
 * The CodeLens of a file's last run: "last: PASSED · p99 12.3 ms (+14.6% vs baseline) · 4,010 req/s · 2 h ago".
 * `p99` is the comparison's p99 against the file's baseline, when it has one that is another run.
 */
export function lastRunLensText(result: TestResult, p99: FigureDelta | undefined, now: number): string {
  const change = p99 ? relativeText(p99) : '';
  return `last: ${verdictWord(result)} · ${p99Text(result)}${change ? ` (${change} vs baseline)` : ''} · ${rateText(result)} · ${agoText(result.ended_at, now)}`;
}

/** What a run without a result is: running, interrupted, unreadable (with why). */
export function unfinishedText(listing: TestListing): string {
  return listing.status === 'unreadable' ? `unreadable: ${listing.error ?? 'see the log'}` : listing.status;
}
