// Full tests over the real broker: agents as separate processes, a real lt-target process, and
// the orchestrator core that the CLI and the extension run.
import assert from 'node:assert/strict';
import type { Orchestrator } from '../../orchestrator/orchestrator';
import type { LoadTestDefinition } from '../../orchestrator/loadtest-definition';
import { decodeHistogram, mergeHistograms } from '../../protocol/latency-histogram';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readLatencyLog } from '../../agents/latency-log';
import { startFleet } from '../support/fleet';
import { tempDir, waitFor, type TargetProcess } from '../support/processes';
import type { TestResult } from '../../orchestrator/result-model';

async function runToEnd(orchestrator: Orchestrator, definition: LoadTestDefinition): Promise<TestResult> {
  const run = await orchestrator.startTest(definition, { waitForDriversMs: 30_000 });
  return orchestrator.waitForEnd(run.testId);
}

function assertCountsAddUp(result: TestResult, perDriver: number, drivers: number): void {
  assert.equal(result.status, 'complete');
  assert.equal(result.per_driver.length, drivers);
  for (const d of result.per_driver) {
    assert.equal(d.state, 'complete', `${d.node_id} completed`);
    assert.equal(d.requests_sent, perDriver, `${d.node_id} sent every request`);
    assert.equal(d.responses, perDriver, `${d.node_id} got every response`);
  }
  assert.equal(result.aggregate.requests_sent, perDriver * drivers);
  assert.equal(result.aggregate.errors, 0);
}

async function assertTargetSaw(target: TargetProcess, result: TestResult): Promise<void> {
  const counters = await target.counters();
  const reported = result.per_driver.reduce((sum, d) => sum + (d.requests_sent ?? 0), 0);
  assert.equal(counters.requests_sent, reported, 'the target received exactly what the drivers report sending');
  assert.equal(counters.responses_sent, reported);
}

for (const drivers of [2, 8]) {
  describe(`a distributed test with ${drivers} drivers`, function () {
    let target: TargetProcess;
    let orchestrator: Orchestrator;

    beforeEach(async function () {
      ({ target, orchestrator } = await startFleet(`d${drivers}`, drivers));
    });

    it('AVALANCHE: every driver sends its requests, and the target’s count equals the drivers’ sum', async () => {
      const perDriver = drivers === 2 ? 2000 : 400;
      const result = await runToEnd(orchestrator, { test_type: 'AVALANCHE', message_count_per_driver: perDriver, concurrency: 4, drivers, target: `${target.url}/ping` });
      assertCountsAddUp(result, perDriver, drivers);
      await assertTargetSaw(target, result);
      assert.ok(result.aggregate.latency && result.aggregate.latency.count === perDriver * drivers, 'every response is in the merged histogram');
      const series = orchestrator.getTimeSeries(result.test_id)!;
      assert.ok(series.length >= 1, 'a time series point was stored');
      assert.equal(series.at(-1)!.requests_sent, perDriver * drivers);
    });

    it('TSUNAMI: requests go out on the delay’s schedule, and counts add up', async () => {
      const perDriver = 40;
      const delay = 0.025;
      const result = await runToEnd(orchestrator, { test_type: 'TSUNAMI', test_message_delay: delay, message_count_per_driver: perDriver, drivers, target: `${target.url}/ping` });
      assertCountsAddUp(result, perDriver, drivers);
      await assertTargetSaw(target, result);
      for (const d of result.per_driver) {
        // The last request is due at (count - 1) × delay: no driver can finish earlier
        // (less the rounding of elapsed_ms to whole milliseconds).
        assert.ok(d.elapsed_s! >= (perDriver - 1) * delay - 0.001, `${d.node_id} ran ${d.elapsed_s} s`);
      }
    });
  });
}

describe('request scheduling', function () {
  it('the throughput cap holds each driver to target_throughput, not in bursts at the start', async () => {
    const { target, orchestrator } = await startFleet('capped', 2);
    const cap = 100;
    const count = 150;
    const result = await runToEnd(orchestrator, { test_type: 'AVALANCHE', message_count_per_driver: count, concurrency: 8, target_throughput: cap, drivers: 2, target: `${target.url}/ping` });
    assertCountsAddUp(result, count, 2);
    for (const d of result.per_driver) {
      // Request k is due at k / cap seconds; uncapped, 150 requests take a few milliseconds here.
      assert.ok(d.elapsed_s! >= (count - 1) / cap - 0.001, `${d.node_id} finished in ${d.elapsed_s} s; the cap allows no less than ${(count - 1) / cap} s`);
      assert.ok(d.requests_sent! / d.elapsed_s! <= cap * 1.02, `${d.node_id} averaged ${d.requests_sent! / d.elapsed_s!} req/s`);
    }
    const points = orchestrator.getTimeSeries(result.test_id)!.filter((p) => p.t >= 1);
    assert.ok(points.length >= 1);
    assert.ok(points.every((p) => p.requests_sent <= 2 * cap * (p.t + 0.5)), `no burst ahead of schedule: ${JSON.stringify(points.map((p) => [p.t, p.requests_sent]))}`);
  });

  it('TSUNAMI is an open schedule: a slow target does not slow the sending', async () => {
    const { target, orchestrator } = await startFleet('open', 1, { targetArgs: ['--latency', '200'] });
    const result = await runToEnd(orchestrator, { test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 30, drivers: 1, target: `${target.url}/ping` });
    assertCountsAddUp(result, 30, 1);
    const [d] = result.per_driver;
    // Sending one request after each 200 ms response would take 30 × 0.2 = 6 s.
    assert.ok(d.elapsed_s! < 3, `30 requests every 10 ms against a 200 ms target took ${d.elapsed_s} s`);
    assert.ok(d.latency!.min >= 200, 'each latency includes the target’s 200 ms');
  });

  it('latency is counted from each request’s due time: a wait for a connection shows in the corrected figures only', async () => {
    // One connection and a 100 ms target: at 50 req/s the requests wait for the connection,
    // and that wait counts in the corrected latency.
    const { target, orchestrator } = await startFleet('co', 1, { targetArgs: ['--latency', '100'] });
    const result = await runToEnd(orchestrator, { test_type: 'TSUNAMI', test_message_delay: 0.02, message_count_per_driver: 20, max_connections: 1, drivers: 1, target: `${target.url}/ping` });
    const a = result.aggregate;
    // Relative bounds only: on a shared machine any single latency may stretch, but the waiting for
    // the one connection (about 2 s of queue for the last request) dwarfs the target's own 100 ms.
    assert.ok(a.latency!.max > 1000, `the last request was due at 0.38 s but answered near 2 s (corrected max ${a.latency!.max})`);
    assert.ok(a.uncorrected!.median < a.latency!.median / 2, `the uncorrected median (${a.uncorrected!.median}) leaves the queueing out of the corrected one (${a.latency!.median})`);
  });
});

describe('what drivers measure about themselves', function () {
  it('TSUNAMI with too few connections for a target stall: the wait is counted, warned about, and shows in the corrected percentiles only', async () => {
    const { target, orchestrator } = await startFleet('stall', 1);
    // 200 requests per second on at most 2 connections: plenty, until the target stalls.
    const run = await orchestrator.startTest({ test_type: 'TSUNAMI', test_message_delay: 0.005, max_connections: 2, message_count_per_driver: 600, drivers: 1, target: `${target.url}/ping` }, { waitForDriversMs: 30_000 });
    await waitFor(() => run.snapshot().aggregate.requests_sent > 100, 'the run to be under way');
    const stall = await fetch(`${target.url}/stall?ms=500`, { method: 'POST' });
    assert.equal(stall.status, 202);
    const result = await orchestrator.waitForEnd(run.testId);
    assertCountsAddUp(result, 600, 1);
    const { latency, uncorrected } = result.aggregate;
    // About 100 of the 600 requests fell due during the 500 ms stall while both connections were blocked.
    assert.ok(latency!.p99! > 250, `corrected p99 ${latency!.p99} ms`);
    assert.ok(uncorrected!.max >= 400, `the requests in flight during the stall waited (uncorrected max ${uncorrected!.max} ms)`);
    assert.ok(uncorrected!.p99! < 100, `only those few did, from the socket write (uncorrected p99 ${uncorrected!.p99} ms)`);
    const [d] = result.per_driver;
    assert.ok(d.waited_for_connection! >= 50, `${d.waited_for_connection} requests waited for a connection`);
    assert.equal(d.connection_limit, 2);
    assert.ok(d.send_lag_ms && d.send_lag_ms.max >= 400, `the driver reports how late it had to send: ${JSON.stringify(d.send_lag_ms)}`);
    assert.equal(result.warnings.length, 1, result.warnings.join('\n'));
    assert.match(result.warnings[0], /schedule not held: \d+ of 600 requests waited for a free connection \(all 2 connections busy\).*raise max_connections/);
    assert.ok(d.first_send_at! >= result.triggered_at! - 1000 && d.first_send_at! <= result.ended_at!, 'first_send_at lies within the test');
    assert.ok(d.send_window_ms! >= (599 / 200) * 1000 - 1, `sends spread over ${d.send_window_ms} ms`);
  });

  it('with --latency-log, every latency is written for exact offline percentiles', async () => {
    const logs = tempDir('latency-log');
    const { target, orchestrator } = await startFleet('rawlog', 1, { targetArgs: ['--jitter', '5'], agentArgs: ['--latency-log', logs] });
    const result = await runToEnd(orchestrator, { test_type: 'AVALANCHE', message_count_per_driver: 1000, concurrency: 8, drivers: 1, target: `${target.url}/ping` });
    const raw = readLatencyLog(readFileSync(join(logs, `rawlog-1-${result.test_id}.u32`)));
    assert.equal(raw.length, 1000);
    const sorted = [...raw].sort((a, b) => a - b);
    for (const [p, reported] of [[50, result.aggregate.latency!.median], [99, result.aggregate.latency!.p99!]] as const) {
      const exact = sorted[Math.ceil((p / 100) * sorted.length) - 1] / 1000;
      assert.ok(Math.abs(reported - exact) <= exact * 0.001 + 0.001, `p${p}: histogram ${reported} ms, exact ${exact} ms`);
    }
  });
});

describe('errors', function () {
  it('an injected error rate is counted by kind and status code, and fails an error-rate threshold', async () => {
    const { target, orchestrator } = await startFleet('errors', 2, { targetArgs: ['--error-rate', '0.3'] });
    const result = await runToEnd(orchestrator, { test_type: 'AVALANCHE', message_count_per_driver: 500, concurrency: 4, drivers: 2, target: `${target.url}/ping`, thresholds: { error_rate: 0.05 } });
    const a = result.aggregate;
    assert.equal(a.requests_sent, 1000);
    assert.equal(a.responses, 1000, 'an HTTP 500 is still a response');
    assert.equal(a.errors, a.error_kinds.http_5xx, 'every error is a 5xx');
    assert.equal(a.status_codes['500'], a.errors);
    assert.equal(a.status_codes['200'] + a.status_codes['500'], 1000);
    // 30% of 1000 is 300; a binomial spread of ±70 is more than 4 standard deviations.
    assert.ok(a.errors > 230 && a.errors < 370, `${a.errors} errors for a 30% error rate`);
    assert.equal(result.thresholds.passed, false);
    assert.equal(result.verdict.passed, false);
    assert.match(result.thresholds.checks[0].text, /^error rate \d+(\.\d+)?% <= 5%$/);
  });
});

describe('global percentiles', function () {
  it('are those of all drivers’ latencies pooled: one slow driver among fast ones is not averaged away', async () => {
    const { target, orchestrator } = await startFleet('pool', 3, { targetArgs: ['--driver-latency', 'pool-3=40'] });
    const result = await runToEnd(orchestrator, { test_type: 'AVALANCHE', message_count_per_driver: 300, concurrency: 4, drivers: 3, target: `${target.url}/ping` });
    assertCountsAddUp(result, 300, 3);
    const slow = result.per_driver.find((d) => d.node_id === 'pool-3')!;
    const fast = result.per_driver.filter((d) => d.node_id !== 'pool-3');
    assert.ok(slow.latency!.median >= 40);
    const g = result.aggregate.latency!;
    assert.equal(g.approximate, false);
    // Two thirds of all latencies are fast, so the pooled median is a fast one...
    assert.ok(g.median < 40, `global median ${g.median} ms`);
    // ...and the slowest third dominates p90, which an average of per-driver p90s would hide.
    assert.ok(g.p90! >= 40, `global p90 ${g.p90} ms`);
    const meanOfP90s = (slow.latency!.p90! + fast[0].latency!.p90! + fast[1].latency!.p90!) / 3;
    assert.ok(g.p90! > meanOfP90s + 5, `global p90 ${g.p90} ms vs mean of drivers' p90s ${meanOfP90s} ms`);
    // The same figures from the drivers' final histograms as stored, pooled independently.
    const finals = new Map<string, string>();
    for (const r of orchestrator.store.loadReports(result.test_id)) if (r.histogram) finals.set(r.node_id, r.histogram);
    const pooled = mergeHistograms([...finals.values()].map(decodeHistogram));
    assert.equal(pooled.totalCount, 900);
    assert.equal(g.p99, Math.round(pooled.getValueAtPercentile(99)) / 1000);
    assert.equal(g.median, Math.round(pooled.getValueAtPercentile(50)) / 1000);
  });
});

describe('tests back to back on the same drivers', function () {
  // Each agent heartbeats "running" its test until the final report has reached Kafka, so at every
  // test's end a heartbeat naming it is in flight beside that report; the next test may be
  // created before the orchestrator reads it.
  it('each completes with every request: the last test’s heartbeat does not end a driver’s part in the next', async () => {
    const { target, orchestrator } = await startFleet('again', 2);
    for (let i = 0; i < 10; i++) {
      const result = await runToEnd(orchestrator, { test_type: 'AVALANCHE', message_count_per_driver: 20, concurrency: 2, drivers: 2, target: `${target.url}/ping` });
      assert.equal(result.verdict.passed, true, `test ${i + 1} of 10: ${result.verdict.reason}`);
      assertCountsAddUp(result, 20, 2);
    }
    assert.equal((await target.counters()).requests_sent, 10 * 20 * 2);
  });
});
