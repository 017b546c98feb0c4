import assert from 'node:assert/strict';
import type { DriverStats } from '../../orchestrator/result-model';
import { scheduleWarnings } from '../../orchestrator/schedule-warnings';
import { perSecond } from '../../orchestrator/metrics-aggregator';
import type { TestConfigMessage } from '../../protocol/wire-protocol';

const driver = (fields: Partial<DriverStats>): DriverStats => withRates({
  node_id: 'd1',
  state: 'complete',
  requests_sent: 1000,
  responses: 1000,
  errors: 0,
  error_rate: 0,
  error_kinds: {},
  status_codes: {},
  rate: null,
  average_rate: null,
  elapsed_s: 1,
  latency: null,
  uncorrected: null,
  reports: 2,
  stopped: false,
  send_lag_ms: { p50: 0.5, p99: 2, max: 5 },
  waited_for_connection: 0,
  connection_limit: 1000,
  http_engine: 'lean-http1',
  first_send_at: null,
  send_window_ms: null,
  report_timestamp: null,
  warm_up: null,
  ...fields,
});
/** The average rate follows from the driver's counts and run, as metrics-aggregator.ts makes it. */
const withRates = (d: DriverStats): DriverStats => ({ ...d, average_rate: perSecond(d.responses, d.elapsed_s) });
const tsunami: TestConfigMessage = { test_id: 't', test_type: 'TSUNAMI', test_message_delay: 0.001, message_count_per_driver: 1000 };
const capped: TestConfigMessage = { test_id: 't', test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 1000, target_throughput: 100, concurrency: 2 };

describe('schedule warnings', () => {
  it('none when the schedule was held', () => {
    assert.deepEqual(scheduleWarnings(tsunami, [driver({})]), []);
  });

  it('requests that waited for a connection: how many, of how many, the lag, and what to do', () => {
    const [w] = scheduleWarnings(tsunami, [driver({ waited_for_connection: 812, connection_limit: 16, send_lag_ms: { p50: 900, p99: 2300, max: 2400 } })]);
    assert.equal(w, 'd1: schedule not held: 812 of 1,000 requests waited for a free connection (all 16 connections busy); send lag p50 900 ms, p99 2,300 ms, max 2,400 ms. The target answered more slowly than the schedule needs: raise max_connections, or lower the rate.');
  });

  it('a driver behind its schedule with connections to spare is the bottleneck itself', () => {
    const [w] = scheduleWarnings(tsunami, [driver({ send_lag_ms: { p50: 3, p99: 45, max: 60 } })]);
    assert.match(w, /^d1: schedule not held: requests went out late with connections to spare \(send lag p99 45 ms.*use more drivers/);
  });

  const latency = (mean: number) => ({ mean, median: mean, min: mean, max: mean, p90: mean, p95: mean, p99: mean, approximate: false, count: 392 });

  it('an AVALANCHE cap not reached because of too few requests in flight says what they allow at the latency seen', () => {
    const [w] = scheduleWarnings(capped, [driver({ responses: 392, elapsed_s: 10, send_lag_ms: null, latency: latency(50), uncorrected: latency(50) })]);
    assert.equal(w, 'd1: reached 39.2 req/s of its 100 req/s cap: 2 requests in flight at a mean latency of 50 ms allow about 40 req/s; raise concurrency to reach the cap.');
  });

  it('an AVALANCHE cap not reached although the requests in flight allowed it blames the driver itself', () => {
    const [w] = scheduleWarnings(capped, [driver({ responses: 800, elapsed_s: 10, send_lag_ms: null, latency: latency(1), uncorrected: latency(1) })]);
    assert.equal(w, 'd1: reached 80.0 req/s of its 100 req/s cap: 2 requests in flight at a mean latency of 1.0 ms would allow about 2,000 req/s, so the driver itself fell behind (CPU or event loop, as on a machine it shares with the target): use more drivers, or lower the cap.');
  });

  it('an AVALANCHE cap not reached with the latency unknown names both causes', () => {
    const [w] = scheduleWarnings({ ...capped, concurrency: undefined }, [driver({ responses: 392, elapsed_s: 10, send_lag_ms: null })]);
    assert.match(w, /^d1: reached 39\.2 req\/s of its 100 req\/s cap: the default number of requests in flight may be too few at this latency \(raise concurrency\), or the driver itself fell behind/);
  });

  const warmed: TestConfigMessage = { ...tsunami, warm_up_count_per_driver: 200 };

  it('a warm-up asked for and reported done, without errors, raises nothing', () => {
    assert.deepEqual(scheduleWarnings(warmed, [driver({ warm_up: { requests_sent: 200, responses: 200, errors: 0, done: true } })]), []);
  });

  it('a driver that sent measured requests without reporting a warm-up is named: its figures include a cold start', () => {
    const [w] = scheduleWarnings(warmed, [driver({ warm_up: null })]);
    assert.equal(w, 'd1: reported no warm-up: its figures include its first requests, sent cold (an agent that does not know warm_up_count_per_driver?).');
  });

  it('a driver still in its warm-up, with no measured request yet, is not warned about', () => {
    assert.deepEqual(scheduleWarnings(warmed, [driver({ state: 'running', requests_sent: 0, responses: 0, warm_up: { requests_sent: 50, responses: 49, errors: 0, done: false } })]), []);
  });

  it('warm-up requests that failed are said, apart from the figures', () => {
    const [w] = scheduleWarnings(warmed, [driver({ warm_up: { requests_sent: 200, responses: 180, errors: 20, done: true } })]);
    assert.equal(w, 'd1: 20 of its 200 warm-up requests failed (they are not in the figures).');
  });
});
