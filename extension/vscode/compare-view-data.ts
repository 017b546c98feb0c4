// What the compare view draws of a run, read from the history: its latency distribution from its
// merged histogram (decoded here, sent as points) and its rate and p99 each second. No `vscode`
// here, so it is unit-tested.
import type { StoredRun } from '../../orchestrator/compare/compare-runs';
import { percentileCurve } from '../../orchestrator/compare/percentile-curve';
import type { TimePoint } from '../../orchestrator/result-model';
import type { RunCurves } from '../webview/compare-protocol';

export function runCurves(run: StoredRun, series: readonly TimePoint[], label: string): RunCurves {
  let percentiles: RunCurves['percentiles'] = [];
  try {
    if (run.histograms?.latency) percentiles = percentileCurve(run.histograms.latency);
  } catch {
    // a damaged histogram: the page says this run has no curve, the rest still compares
  }
  return {
    test_id: run.result.test_id,
    label,
    percentiles,
    t: series.map((p) => p.t),
    rate: series.map((p) => p.rate),
    p99: series.map((p) => p.latency?.p99 ?? null),
  };
}
