// The files a run's result is written to, as `run` and `report` write them: JSON and CSV of the
// result, JUnit XML for CI's test view, one self-contained HTML page for people, a short Markdown
// summary for a pull request (also appended to $GITHUB_STEP_SUMMARY when that is set). During a
// run they are an output of it (outputs/run-output.ts), written as it ends.
import { writeFileSync } from 'node:fs';
import type { RunOutput } from '../outputs/run-output';
import { resultToCsv, stagesToCsv } from '../result-export';
import type { TestResult, TimePoint } from '../result-model';
import { writeStepSummary } from '../reports/markdown-summary';
import { reportText } from '../reports/report-kinds';

export interface ReportFiles {
  json?: string;
  csv?: string;
  junit?: string;
  html?: string;
  summaryMd?: string;
}

export function wantsReportFiles(files: ReportFiles): boolean {
  return Object.values(files).some((file) => file !== undefined);
}

/** Writes the files asked for; returns a line per file written (and for the step summary). */
export function writeReportFiles(result: TestResult, series: TimePoint[], files: ReportFiles): string[] {
  const written: string[] = [];
  if (files.json) writeFileSync(files.json, JSON.stringify(result, null, 2));
  if (files.csv) {
    writeFileSync(files.csv, resultToCsv(result));
    // The phases' table beside it: FILE.csv -> FILE.stages.csv
    if (result.stages?.length) writeFileSync(files.csv.replace(/(\.csv)?$/i, '.stages.csv'), stagesToCsv(result));
  }
  if (files.junit) {
    writeFileSync(files.junit, reportText('junit', result, series));
    written.push(`JUnit report: ${files.junit}`);
  }
  if (files.html) {
    writeFileSync(files.html, reportText('html', result, series));
    written.push(`HTML report: ${files.html}`);
  }
  if (files.summaryMd) {
    const markdown = reportText('markdown', result, series);
    writeFileSync(files.summaryMd, markdown);
    written.push(`Markdown summary: ${files.summaryMd}`);
    if (writeStepSummary(markdown)) written.push('Markdown summary added to $GITHUB_STEP_SUMMARY');
  }
  return written;
}

/** The files as an output of a run: the time series gathered second by second, the files written at its end. */
export function reportFilesOutput(files: ReportFiles, say: (line: string) => void): RunOutput {
  const series: TimePoint[] = [];
  return {
    name: 'report files',
    second: (_snapshot, point) => void series.push(point),
    end: (result) => {
      for (const line of writeReportFiles(result, series, files)) say(line);
    },
  };
}
