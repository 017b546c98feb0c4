// The reports a stored run can be written as, and what each is made of: the one place that the
// CLI (`run --junit/--html/--summary-md`, `report ID`) and the editor's Export Report… both call,
// so that a report says the same whoever wrote it. Each is made from the stored run and from the
// comparison it was judged with (none when it was not run against a baseline).
import type { TestResult, TimePoint } from '../result-model';
import { htmlReport } from './html-report';
import { junitReport } from './junit-report';
import { markdownSummary } from './markdown-summary';

export type ReportKind = 'html' | 'junit' | 'markdown';

export const REPORT_KINDS: Record<ReportKind, { label: string; extension: string; description: string }> = {
  html: { label: 'HTML report', extension: 'html', description: 'one self-contained page: summary, charts, tables, the comparison' },
  junit: { label: 'JUnit XML', extension: 'xml', description: 'each threshold, regression limit and completeness check a test case, for CI' },
  markdown: { label: 'Markdown summary', extension: 'md', description: 'the verdict and headline figures, for a pull request' },
};

/** The report's text; the HTML report draws the run's time series (the store's timeseries.ndjson, or the seconds a running test gathered). */
export function reportText(kind: ReportKind, result: TestResult, series: readonly TimePoint[]): string {
  switch (kind) {
    case 'html':
      return htmlReport({ result, series: [...series], comparison: result.comparison });
    case 'junit':
      return junitReport(result, result.comparison);
    case 'markdown':
      return markdownSummary(result, result.comparison);
  }
}
