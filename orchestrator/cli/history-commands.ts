// The history's commands, which read and write the store only (no broker needed):
//   baseline set ID|last     makes a finished run the baseline of its test file
//   baseline show            lists the baselines
//   baseline clear FILE      forgets a file's baseline
//   compare A B              compares two runs (ids, "last", "baseline")
import { UsageError } from '../../common/cli-options';
import { compareRuns, loadRun } from '../compare/compare-runs';
import { lastRun, resolvePair } from '../compare/run-refs';
import { Baselines, sourceFileKey } from '../history/baselines';
import type { MetricsStore } from '../metrics-store';
import { formatComparison } from './comparison-format';

export function baselineCommand(store: MetricsStore, args: string[], out: (text: string) => void): number {
  const [action, ref, ...extra] = args;
  if (extra.length) throw new UsageError(`baseline ${action}: unexpected ${extra.join(' ')}`);
  const baselines = new Baselines(store);
  switch (action) {
    case 'set': {
      if (!ref) throw new UsageError('baseline set needs a test id (or "last"), e.g. baseline set lt-20261206-201321-06c4');
      const id = ref === 'last' ? lastRun(store) : ref;
      if (!id) throw new UsageError('baseline set last: no finished run in the history');
      const key = baselines.set(id, Date.now());
      out(`${id} is now the baseline of ${key}\n`);
      return 0;
    }
    case 'show': {
      const all = Object.entries(baselines.all());
      if (!all.length) out('No baselines. Set one with: lt-orchestrator baseline set ID\n');
      for (const [key, b] of all) out(`${key}  ${b.test_id}  (set ${new Date(b.set_at).toISOString().slice(0, 16).replace('T', ' ')} UTC)\n`);
      return 0;
    }
    case 'clear': {
      if (!ref) throw new UsageError('baseline clear needs the test file (or "name: NAME" for a run without a file)');
      const key = ref.startsWith('name: ') ? ref : sourceFileKey(store, ref);
      out(baselines.clear(key) ? `${key} has no baseline now\n` : `${key} had no baseline\n`);
      return 0;
    }
    default:
      throw new UsageError(action ? `baseline ${action}: say set, show or clear` : 'baseline needs set, show or clear');
  }
}

/** Exit 0 when the runs compare within their file's regression limits (or it has none), 1 when one is broken. */
export function compareCommand(store: MetricsStore, a: string, b: string, out: (text: string) => void, json?: (text: string) => void): number {
  const [baselineId, currentId] = resolvePair(store, a, b);
  const current = loadRun(store, currentId);
  const comparison = compareRuns(loadRun(store, baselineId), current, current.test.definition.regression);
  out(formatComparison(comparison));
  json?.(JSON.stringify(comparison, null, 2));
  return comparison.regression && !comparison.regression.passed ? 1 : 0;
}
