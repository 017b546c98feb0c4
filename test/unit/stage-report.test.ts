import assert from 'node:assert/strict';
import { controlLines, stageTable } from '../../orchestrator/cli/test-report-format';
import { stagesToCsv } from '../../orchestrator/result-export';
import type { StageStats, TestResult } from '../../orchestrator/result-model';

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0);

const stage = (phase: string, extra: Partial<StageStats> = {}): StageStats => ({
  phase,
  started_at: T0,
  ended_at: T0 + 10_000,
  duration_s: 10,
  planned_rate: 2000,
  achieved_rate: 1995.5,
  requests_sent: 19_955,
  responses: 19_950,
  errors: 5,
  error_kinds: { http_5xx: 5 },
  error_rate: 5 / 19_955,
  latency: { mean: 2, min: 0.5, p50: 1.5, p90: 3, p95: 4, p99: 12.5, max: 40 },
  uncorrected_p99: 10,
  send_lag_p99: 1,
  waited_for_connection: 0,
  settled: true,
  per_driver: [],
  server: { server_rps: { samples: 10, mean: 1990, min: 1900, max: 2050 } },
  ...extra,
});

const result = {
  test_id: 't1',
  test_type: 'TSUNAMI',
  stages: [stage('stage 1'), stage('set 1', { ended_at: undefined, settled: false, planned_rate: 3000, server: undefined })],
  control_log: [{ at: T0 + 10_000, t: 10, action: 'set', value: 3000, by: 'REST', text: 'rate set to 3,000/s at 12:00:10 UTC by REST', control_id: 'c1', phase: 'set 1', applied_at: T0 + 10_100 }],
} as unknown as TestResult;

describe('the stage table and the control log in the CLI and CSV', () => {
  it('prints one row per phase with planned and achieved rate, percentiles, errors and the server’s means', () => {
    const lines = stageTable(result);
    const text = lines.join('\n');
    assert.match(lines[0], /^By phase/);
    assert.match(text, /phase\s+planned req\/s\s+achieved req\/s\s+p50\s+p90\s+p99\s+max\s+errors\s+error rate\s+server_rps \(mean\)/);
    assert.match(text, /stage 1\s+2,000\s+1,996\s+1\.50\s+3\.00\s+12\.5\s+40\.0\s+5\s+0\.0251%\s+1,990/);
    assert.match(text, /set 1\s+3,000 .*not settled/);
  });

  it('says each live change on a line', () => {
    assert.deepEqual(controlLines(result), ['Live changes:', '  rate set to 3,000/s at 12:00:10 UTC by REST']);
  });

  it('writes the phases as CSV rows, with the server means as columns', () => {
    const [header, first, second] = stagesToCsv(result).trim().split('\n');
    assert.match(header, /^test_id,phase,started_at,ended_at,duration_s,planned,achieved_req_per_s,.*,settled,server_server_rps_mean$/);
    assert.match(first, /^t1,stage 1,2026-11-21T12:00:00.000Z,2026-11-21T12:00:10.000Z,10,2000,1995.5,19955,19950,5,/);
    assert.match(second, /^t1,set 1,2026-11-21T12:00:00.000Z,,10,3000,.*,false,$/);
  });
});
