// The names a person gives runs on the command line (and REST): a test id, "last" (the newest
// finished run) or "baseline" (the baseline of the file the other run came from).
import { Baselines, runKey } from '../history/baselines';
import type { MetricsStore } from '../metrics-store';
import { OrchestratorError } from '../orchestrator-error';
import type { TestListing } from '../result-model';

/** The newest finished run, of the file or name `key` when given, other than `except`. */
export function lastRun(store: MetricsStore, key?: string, except?: string): string | undefined {
  return lastRunIn(store.list(), key, except);
}

/** lastRun over a listing already read (newest first, as MetricsStore.list gives it): the editor lists once per change. */
export function lastRunIn(listings: readonly TestListing[], key?: string, except?: string): string | undefined {
  for (const listing of listings) {
    if (listing.test_id === except || listing.passed === undefined) continue;
    if (key !== undefined && runKey(listing) !== key) continue;
    return listing.test_id;
  }
  return undefined;
}

/**
 * The two runs `compare A B` names, as test ids. "last" is the newest finished run (of the other
 * side's file when the other side is an id); "baseline" is the baseline of the other side's file.
 */
export function resolvePair(store: MetricsStore, a: string, b: string): [string, string] {
  const baselines = new Baselines(store);
  const keyOf = (id: string) => {
    const test = store.loadTest(id);
    if (!test) throw new OrchestratorError(`no stored test ${id}`, 'not_found');
    return runKey(test);
  };
  const concrete = (ref: string) => ref !== 'last' && ref !== 'baseline';
  const resolveLast = (other?: string) => {
    const key = other ? keyOf(other) : undefined;
    const id = lastRun(store, key, other);
    if (!id) throw new OrchestratorError(`"last": no finished run${key ? ` of ${key}` : ''} in the history${other ? ` other than ${other}` : ''}`, 'not_found');
    return id;
  };
  const resolveBaseline = (other: string) => {
    const key = keyOf(other);
    const baseline = key ? baselines.of(key) : undefined;
    if (!baseline) throw new OrchestratorError(`"baseline": ${key ?? `test ${other}`} has no baseline; set one with: lt-orchestrator baseline set ID`, 'not_found');
    return baseline.test_id;
  };
  let first = concrete(a) ? a : undefined;
  let second = concrete(b) ? b : undefined;
  if (!first && !second) {
    // "baseline last" (or "last baseline"): the newest run and its file's baseline.
    if (a === b) throw new OrchestratorError(`compare ${a} ${b}: name two different runs`, 'invalid');
    const last = resolveLast();
    return a === 'last' ? [last, resolveBaseline(last)] : [resolveBaseline(last), last];
  }
  if (!first) first = a === 'last' ? resolveLast(second) : resolveBaseline(second!);
  if (!second) second = b === 'last' ? resolveLast(first) : resolveBaseline(first);
  for (const id of [first, second]) if (!store.has(id)) throw new OrchestratorError(`no stored test ${id}`, 'not_found');
  return [first, second];
}
