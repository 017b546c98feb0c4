// The run as the history keeps it (metrics-store.ts): every report as it arrives (a restarted
// orchestrator resumes from them), each second's point and counts, the live changes, the merged
// histograms and the result.
import type { MetricsStore } from '../metrics-store';
import type { RunOutput } from './run-output';

export function storeOutput(store: MetricsStore): RunOutput {
  return {
    name: 'store',
    triggered: (testId, at, deadlineAt) => store.updateTest(testId, { triggered_at: at, deadline_at: deadlineAt }),
    report: (testId, report) => store.appendReport(testId, report),
    controls: (testId, log) => store.updateTest(testId, { control_log: log }),
    second: (snapshot, point, interval) => {
      store.appendPoint(snapshot.test_id, point);
      if (interval) store.appendInterval(snapshot.test_id, interval);
    },
    end: (result, histograms) => {
      store.saveHistograms(result.test_id, histograms);
      store.saveResult(result);
    },
  };
}
