// A finished run judged against a baseline: the comparison is kept in its result, and a regression
// limit it breaks fails its verdict, with the line that says which and by how much. The run does
// this as it ends (TestRun's `baseline`), before its outputs see the result, so that every surface
// (the store, CLI, REST, the editor, the reports) tells the same verdict.
import { Baselines } from '../history/baselines';
import type { MetricsStore } from '../metrics-store';
import { OrchestratorError } from '../orchestrator-error';
import type { TestResult } from '../result-model';
import { compareRuns, loadRun, type StoredRun } from './compare-runs';

/**
 * The current run's result with its comparison against `baseline` (the current file's regression
 * limits judged): a broken limit fails the verdict, saying which and by how much.
 */
export function judgedAgainst(baseline: StoredRun, current: StoredRun): TestResult {
  const comparison = compareRuns(baseline, current, current.test.definition.regression);
  const result: TestResult = { ...current.result, comparison };
  if (comparison.regression && !comparison.regression.passed) {
    const broken = `regression against baseline ${baseline.result.test_id}: ${comparison.regression.checks.filter((c) => !c.passed).map((c) => c.text).join('; ')}`;
    result.verdict = { passed: false, reason: result.verdict.passed ? `FAILED: ${broken}` : `${result.verdict.reason}; ${broken}` };
  }
  return result;
}

/**
 * The baseline a run of `testId` is judged against: `baselineId`, or the baseline of its file
 * (not_found when it has none, saying how to set one).
 */
export function baselineFor(store: MetricsStore, key: string | undefined, baselineId?: string): StoredRun {
  const chosen = baselineId ?? (key ? new Baselines(store).of(key)?.test_id : undefined);
  if (!chosen) throw new OrchestratorError(`${key ?? 'this test'} has no baseline yet: run it once, then "lt-orchestrator baseline set last" (or name a stored run: --baseline ID)`, 'not_found');
  return loadRun(store, chosen);
}
