// A finished run judged against a baseline: the comparison is kept in its result, and a regression
// limit it breaks fails its verdict, with the line that says which and by how much. The store is
// rewritten so that every surface (CLI, REST, the editor, the reports) tells the same verdict.
import { Baselines } from '../history/baselines';
import type { MetricsStore } from '../metrics-store';
import { OrchestratorError } from '../orchestrator-error';
import type { TestResult } from '../result-model';
import type { Comparison } from './comparison-model';
import { compareRuns, loadRun } from './compare-runs';

/**
 * Compares the finished run `testId` with `baselineId`, or with its file's baseline when none is
 * given (not_found when its file has none). Returns the result as stored afterwards.
 */
export function judgeAgainstBaseline(store: MetricsStore, testId: string, baselineId?: string): { result: TestResult; comparison: Comparison } {
  const chosen = baselineId ?? new Baselines(store).forRun(testId)?.test_id;
  if (!chosen) {
    const test = store.loadTest(testId);
    throw new OrchestratorError(`${test?.source_file ?? test?.name ?? `test ${testId}`} has no baseline yet: set one with "lt-orchestrator baseline set ID" (a passing run), or name one with --baseline ID`, 'not_found');
  }
  if (chosen === testId) throw new OrchestratorError(`test ${testId} is its own baseline: compare it with another run`, 'invalid');
  const current = loadRun(store, testId);
  const comparison = compareRuns(loadRun(store, chosen), current, current.test.definition.regression);
  const result: TestResult = { ...current.result, comparison };
  if (comparison.regression && !comparison.regression.passed) {
    const broken = `regression against baseline ${chosen}: ${comparison.regression.checks.filter((c) => !c.passed).map((c) => c.text).join('; ')}`;
    result.verdict = { passed: false, reason: result.verdict.passed ? `FAILED: ${broken}` : `${result.verdict.reason}; ${broken}` };
  }
  store.saveResult(result);
  return { result, comparison };
}
