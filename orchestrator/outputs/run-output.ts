// What consumes a run, the way k6's outputs do: the run feeds every output the same events in the
// same order (its trigger, each report as received, its live changes, each second, its end), and an
// output keeps, prints or writes what it needs. The store is one output; the terminal's progress and
// summary, and the JSON, CSV, JUnit, HTML and Markdown files are others. A new report is a new
// output, never a new call inside TestRun. An output that throws never stops the run: the run goes
// on, and its result says which output failed and what it could not do.
import type { MetricsMessage } from '../../protocol/wire-protocol';
import type { ControlLogEntry } from '../stages/control-log';
import type { RunHistograms, SecondInterval, TestResult, TestSnapshot, TimePoint } from '../result-model';

export interface RunOutput {
  /** how the run names this output when it fails ("store", "report files") */
  readonly name: string;
  /** the test was triggered; `deadlineAt` is when it ends by itself */
  triggered?(testId: string, at: number, deadlineAt: number | undefined): void;
  /** a driver's report as received (a new one, not a replay) */
  report?(testId: string, report: MetricsMessage & { received_at: number }): void;
  /** the live changes so far, whenever one is made or its outcome is known */
  controls?(testId: string, log: ControlLogEntry[]): void;
  /** one second of the test: the figures so far, the second's point of the time series, and its own counts and histogram */
  second?(snapshot: TestSnapshot, point: TimePoint, interval: SecondInterval | undefined): void;
  /** the run ended: its result (verdict, comparison with a baseline) and its merged histograms */
  end?(result: TestResult, histograms: RunHistograms): void;
}
