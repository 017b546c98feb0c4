// The report files of a finished run, as `run` and `report` write them: JUnit XML for CI's test
// view, one self-contained HTML page for people, a short Markdown summary for a pull request (and
// GitHub's step summary when $GITHUB_STEP_SUMMARY is set). Each from the stored run, so a report
// written later says what one written at the end of the run said.
import { writeFileSync } from 'node:fs';
import type { MetricsStore } from '../metrics-store';
import type { TestResult } from '../result-model';
import { writeStepSummary } from '../reports/markdown-summary';
import { reportText } from '../reports/report-kinds';

export interface ReportFiles {
  junit?: string;
  html?: string;
  summaryMd?: string;
}

/** Writes the files asked for; returns a line per file written (and for the step summary). */
export async function writeReportFiles(store: MetricsStore, result: TestResult, files: ReportFiles): Promise<string[]> {
  const written: string[] = [];
  if (files.junit) {
    writeFileSync(files.junit, reportText('junit', store, result));
    written.push(`JUnit report: ${files.junit}`);
  }
  if (files.html) {
    writeFileSync(files.html, reportText('html', store, result));
    written.push(`HTML report: ${files.html}`);
  }
  if (files.summaryMd) {
    const markdown = reportText('markdown', store, result);
    writeFileSync(files.summaryMd, markdown);
    written.push(`Markdown summary: ${files.summaryMd}`);
    if (await writeStepSummary(markdown)) written.push('Markdown summary added to $GITHUB_STEP_SUMMARY');
  }
  return written;
}
