// A finished test as the reports receive it, with every part a report shows: a TSUNAMI test by
// stages (a ramp 0 → 300/s over 10 s, then 300/s for 10 s) on three drivers, a mix of two
// requests, a rate set live, server queries, thresholds of which one is a stage's own that failed
// and one was not judged; its time series; and a comparison against a baseline with each
// judgement and two regression limits. The figures hang together (the drivers add up to the
// aggregate, the stages to the run) so a report that shows one of them in the wrong place shows.
import type { Comparison } from '../../orchestrator/compare/comparison-model';
import type { DriverStats, LatencySummary, TestResult, TimePoint } from '../../orchestrator/result-model';

export const T0 = Date.UTC(2026, 11, 7, 9, 30, 0);

const latency = (p50: number, p99: number, count: number): LatencySummary => ({ mean: p50 * 1.2, median: p50, min: p50 / 3, max: p99 * 2.4, p90: p50 * 1.9, p95: p50 * 2.4, p99, approximate: false, count });

function driver(node_id: string, sent: number, errors: number, p99: number): DriverStats {
  return {
    node_id,
    state: 'complete',
    requests_sent: sent,
    responses: sent,
    errors,
    error_rate: errors / sent,
    error_kinds: errors ? { http_5xx: errors } : {},
    status_codes: errors ? { '200': sent - errors, '503': errors } : { '200': sent },
    rate: 100.2,
    average_rate: sent / 20.02,
    elapsed_s: 20.02,
    latency: latency(4.21, p99, sent),
    uncorrected: latency(4.1, p99 - 3, sent),
    reports: 21,
    stopped: false,
    send_lag_ms: null,
    waited_for_connection: 0,
    connection_limit: 64,
    http_engine: 'lean-http1',
    first_send_at: T0 + 40,
    send_window_ms: 19_980,
    report_timestamp: T0 + 20_400,
    warm_up: null,
  };
}

export function reportResult(): TestResult {
  const per_driver = [driver('ci-runner-1', 1500, 2, 58.3), driver('ci-runner-2', 1500, 0, 61.9), driver('ci-runner-3', 1497, 1, 57.2)];
  const sent = 4497;
  const errors = 3;
  return {
    test_id: 'lt-20261207-093000-5d1e',
    name: 'checkout ramp',
    test_type: 'TSUNAMI',
    status: 'complete',
    created_at: T0 - 1200,
    triggered_at: T0,
    ended_at: T0 + 20_900,
    elapsed_s: 20.9,
    config: {
      test_id: 'lt-20261207-093000-5d1e',
      test_type: 'TSUNAMI',
      test_message_delay: 0,
      message_count_per_driver: 1500,
      duration_s: 20,
      target: { url: 'http://127.0.0.1:8080/cart', method: 'GET', timeout_ms: 10_000 },
      driver_ids: per_driver.map((d) => d.node_id),
    },
    participants: per_driver.map((d) => d.node_id),
    planned_requests: 4500,
    aggregate: {
      drivers: 3,
      drivers_reporting: 3,
      requests_sent: sent,
      responses: sent,
      errors,
      error_rate: errors / sent,
      errors_unknown_from: [],
      requests_with_unknown_errors: 0,
      histogram_missing_from: [],
      rate: 0,
      latency: latency(4.21, 61.9, sent),
      uncorrected: latency(4.1, 58.9, sent),
      error_kinds: { http_5xx: 3 },
      status_codes: { '200': sent - errors, '503': errors },
      warm_up: null,
    },
    per_driver,
    warnings: ['ci-runner-3: 3 requests short of its plan at the end of its window (within the tolerance)'],
    server: {
      url: 'http://127.0.0.1:9090',
      queries: [{ name: 'cpu', query: 'avg(rate(process_cpu_seconds_total[5s]))', samples: 20, last: 0.41, min: 0.05, max: 0.63, mean: 0.37 }],
      warnings: [],
    },
    per_request: [
      { name: 'GET /cart', share: 0.75, requests_sent: 3373, responses: 3373, errors: 3, error_rate: 3 / 3373, rate: 168.6, latency: latency(3.94, 55.1, 3373) },
      { name: 'POST /cart/items', share: 0.25, requests_sent: 1124, responses: 1124, errors: 0, error_rate: 0, rate: 56.2, latency: latency(5.02, 70.4, 1124) },
    ],
    throughput: sent / 20.02,
    run_s: 20.02,
    computed_at: T0 + 20_900,
    deadline_at: T0 + 45_000,
    planned_s: 20,
    stages: [
      stage('stage 1', 0, 10, 150, 149.6, 1496, 1, 3.8, 22.4),
      stage('stage 2', 10, 5, 300, 299.2, 1496, 2, 4.6, 61.7),
      stage('set 1', 15, 5, 300, 301, 1505, 0, 4.4, 58.2),
    ],
    control_log: [{ at: T0 + 15_000, t: 15, action: 'set', value: 300, by: 'REST', text: 'rate set to 300/s at 09:30:15 UTC by REST', control_id: 'c-1', phase: 'set 1', applied_at: T0 + 15_080 }],
    thresholds: {
      passed: false,
      checks: [
        { name: 'error_rate', limit: 0.01, actual: errors / sent, passed: true, text: 'error rate 0.0667% <= 1%' },
        { name: 'p99_latency_ms', limit: 100, actual: 61.9, passed: true, text: 'p99 latency 61.9 ms <= 100 ms' },
        { name: 'stage 2.p99_latency_ms', limit: 50, actual: 61.7, passed: false, text: 'stage 2: p99 latency 61.7 ms <= 50 ms', stage: 'stage 2' },
        { name: 'server.cpu.max', limit: 0.9, actual: null, passed: true, skipped: true, text: 'server cpu max not judged (optional): Prometheus gave no sample <= 0.9' },
      ],
    },
    verdict: { passed: false, reason: 'FAILED: stage 2: p99 latency 61.7 ms <= 50 ms' },
    ending: [],
  };
}

function stage(phase: string, from_s: number, duration_s: number, planned: number, achieved: number, sent: number, errors: number, p50: number, p99: number): NonNullable<TestResult['stages']>[number] {
  return {
    phase,
    started_at: T0 + from_s * 1000 + 40,
    ended_at: T0 + (from_s + duration_s) * 1000 + 40,
    duration_s,
    planned_rate: planned,
    achieved_rate: achieved,
    requests_sent: sent,
    responses: sent,
    errors,
    error_kinds: errors ? { http_5xx: errors } : {},
    error_rate: errors / sent,
    latency: { mean: p50 * 1.2, min: p50 / 3, p50, p90: p50 * 1.9, p95: p50 * 2.4, p99, max: p99 * 2.4 },
    uncorrected_p99: p99 - 3,
    send_lag_p99: 0.8,
    waited_for_connection: 0,
    settled: true,
    per_driver: [],
    server: { cpu: { samples: duration_s, mean: 0.2 + planned / 1000, min: 0.05, max: 0.63 } },
  };
}

/** One point a second: the rate follows the plan (a ramp, then flat), latency rises with it. */
export function reportSeries(): TimePoint[] {
  const points: TimePoint[] = [];
  let sent = 0;
  for (let t = 1; t <= 20; t++) {
    const planned = Math.min(300, 30 * t);
    const rate = planned * (0.985 + 0.01 * Math.sin(t));
    sent += rate;
    const p50 = 3.5 + planned / 300;
    points.push({
      t,
      timestamp: T0 + t * 1000,
      requests_sent: Math.round(sent),
      responses: Math.round(sent) - 2,
      errors: t > 12 ? 2 : t > 4 ? 1 : 0,
      rate,
      latency: { mean: p50 * 1.2, p50, p90: p50 * 1.9, p95: p50 * 2.4, p99: 10 + planned / 6 + 3 * Math.cos(t), max: 30 + planned / 4 },
      per_driver: { 'ci-runner-1': { rate: rate / 3, requests_sent: Math.round(sent / 3) }, 'ci-runner-2': { rate: rate / 3, requests_sent: Math.round(sent / 3) }, 'ci-runner-3': { rate: rate / 3, requests_sent: Math.round(sent / 3) } },
      server: { cpu: 0.05 + planned / 500 },
      planned,
      phase: t <= 10 ? 'stage 1' : t <= 15 ? 'stage 2' : 'set 1',
    });
  }
  return points;
}

export function reportComparison(): Comparison {
  return {
    baseline: { test_id: 'lt-20261130-180000-aa01', name: 'checkout ramp', created_at: Date.UTC(2026, 10, 30, 18, 0, 0), status: 'complete', passed: true, seconds: 20 },
    current: { test_id: 'lt-20261207-093000-5d1e', name: 'checkout ramp', created_at: T0 - 1200, status: 'complete', passed: false, seconds: 20 },
    scopes: [
      {
        scope: 'test',
        name: '',
        figures: [
          { figure: 'p50_latency_ms', label: 'p50 latency', unit: 'ms', baseline: 4.3, current: 4.21, delta: -0.09, relative: -0.09 / 4.3, noise: 0.25, judgement: 'noise' },
          { figure: 'p99_latency_ms', label: 'p99 latency', unit: 'ms', baseline: 48.2, current: 61.9, delta: 13.7, relative: 13.7 / 48.2, noise: 4.1, judgement: 'worse' },
          { figure: 'max_latency_ms', label: 'max latency', unit: 'ms', baseline: null, current: 148.6, delta: null, relative: null, noise: null, judgement: 'unknown' },
          { figure: 'throughput', label: 'throughput', unit: 'req/s', baseline: 221.3, current: 224.6, delta: 3.3, relative: 3.3 / 221.3, noise: 2.1, judgement: 'better' },
          { figure: 'error_rate', label: 'error rate', unit: 'fraction', baseline: 0.0002, current: 0.000667, delta: 0.000467, relative: 2.335, noise: 0.0009, judgement: 'noise' },
        ],
      },
      {
        scope: 'request',
        name: 'GET /cart',
        figures: [{ figure: 'p99_latency_ms', label: 'p99 latency', unit: 'ms', baseline: 44, current: 55.1, delta: 11.1, relative: 11.1 / 44, noise: 3.8, judgement: 'worse' }],
      },
      {
        scope: 'stage',
        name: 'stage 2',
        figures: [{ figure: 'p99_latency_ms', label: 'p99 latency', unit: 'ms', baseline: 47.5, current: 61.7, delta: 14.2, relative: 14.2 / 47.5, noise: 5, judgement: 'worse' }],
      },
    ],
    regression: {
      passed: false,
      checks: [
        { figure: 'p99_latency_ms', limit: '+10%', allowed: 4.82, delta: 13.7, noise: 4.1, passed: false, text: 'p99 latency 61.9 ms against 48.2 ms in the baseline: +28.4%, beyond the +10% limit (noise ±8.5%)' },
        { figure: 'throughput', limit: '-5%', allowed: -11.07, delta: 3.3, noise: 2.1, passed: true, text: 'throughput 225 req/s against 221 req/s in the baseline: +1.5%, within the -5% limit' },
      ],
    },
    method: 'Noise: 95% interval of the difference of the two runs’ means, from their per-second values (Welch).',
  };
}
