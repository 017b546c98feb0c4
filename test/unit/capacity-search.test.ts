import assert from 'node:assert/strict';
import { resolveCapacityConfig, type CapacityConfig } from '../../orchestrator/capacity/capacity-config';
import { CapacitySearch, capacityExitCode, driverShortfall, judgeStep, roundRate, type StepFigures } from '../../orchestrator/capacity/capacity-search';

/** A step that the drivers offered in full, with the given latency and errors. */
export function figures(rate: number, over: Partial<StepFigures> = {}): StepFigures {
  const sent = rate * 10;
  return { phase: 'step', planned_rate: rate, achieved_rate: rate, requests_sent: sent, responses: sent, errors: {}, error_rate: 0, p50_ms: 2, p99_ms: 10, max_ms: 20, ...over };
}

/** Runs a search whose server passes every rate up to `limit` and fails above it with p99 500 ms; the rates offered, in order. */
function rates(config: CapacityConfig, limit: number, drivers = 1): { offered: number[]; search: CapacitySearch } {
  const search = new CapacitySearch(config, drivers);
  const offered: number[] = [];
  for (let rate = search.nextRate(); rate !== null; rate = search.nextRate()) {
    offered.push(rate);
    assert.ok(offered.length < 100, 'the search ends');
    search.record(figures(rate, rate <= limit ? {} : { p99_ms: 500 }));
  }
  return { offered, search };
}

const config = (over: Partial<CapacityConfig> = {}) => resolveCapacityConfig({ start_rate: 100, max_rate: 50_000, growth: 2, refine_steps: 3, slo: { p99_latency_ms: 200 }, ...over });

describe('the capacity search (pure)', () => {
  describe('the order of its steps', () => {
    it('grows by `growth` from start_rate until the first failing step, then bisects for refine_steps steps', () => {
      const { offered, search } = rates(config(), 1000);
      // 100, 200, 400, 800 pass; 1,600 fails; then 1,200 (fails), 1,000 (passes), 1,100 (fails)
      assert.deepEqual(offered, [100, 200, 400, 800, 1600, 1200, 1000, 1100]);
      const result = search.result();
      assert.equal(result.ended, 'found');
      assert.equal(result.capacity_rps, 1000);
      assert.deepEqual(result.first_failure && { rate: result.first_failure.rate, limit: result.first_failure.limit }, { rate: 1100, limit: 'p99_latency_ms' });
      assert.equal(capacityExitCode(result), 0);
    });

    it('runs exactly refine_steps bisection steps, none with refine_steps 0', () => {
      for (const refine of [0, 1, 2, 5]) {
        const { offered } = rates(config({ refine_steps: refine }), 1000);
        assert.equal(offered.length, 5 + refine, `refine_steps ${refine}: ${offered.join(', ')}`);
      }
      const { search } = rates(config({ refine_steps: 0 }), 1000);
      assert.equal(search.result().capacity_rps, 800);
      assert.equal(search.result().first_failure?.rate, 1600);
    });

    it('stops bisecting when the interval cannot be split any more at whole rates, or is within 1%', () => {
      const { offered, search } = rates(config({ start_rate: 2, max_rate: 10, refine_steps: 10 }), 2);
      assert.deepEqual(offered, [2, 4, 3]);
      assert.equal(search.result().capacity_rps, 2);
      const fine = rates(config({ start_rate: 1000, max_rate: 100_000, refine_steps: 10 }), 1234).offered;
      // 1,000 passes, 2,000 fails, then 1,500 1,250 1,130 1,190 1,220 1,240 1,230: 1,220-1,230 is within 1%
      assert.deepEqual(fine, [1000, 2000, 1500, 1250, 1130, 1190, 1220, 1240, 1230]);
    });

    it('caps the last growth step at max_rate and, when that passes too, reports max_rate as the capacity (exit 0)', () => {
      const { offered, search } = rates(config({ max_rate: 1000 }), 1_000_000, 2);
      assert.deepEqual(offered, [100, 200, 400, 800, 1000]);
      const result = search.result();
      assert.equal(result.ended, 'max_rate_reached');
      assert.equal(result.capacity_rps, 1000);
      assert.equal(result.per_driver_rps, 500);
      assert.equal(result.first_failure, null);
      assert.match(result.summary, /^capacity: at least 1,000 req\/s \(500 per driver\): every step met the SLO up to max_rate/);
      assert.equal(capacityExitCode(result), 0);
    });

    it('ends without a capacity when the start rate already fails (exit 1)', () => {
      const { offered, search } = rates(config(), 50);
      assert.deepEqual(offered, [100]);
      const result = search.result();
      assert.equal(result.ended, 'failed_at_start');
      assert.equal(result.capacity_rps, null);
      assert.match(result.summary, /the start rate already failed: first failure at 100 req\/s: p99 500 ms > 200 ms/);
      assert.equal(capacityExitCode(result), 1);
    });

    it('rounds rates to three significant figures and always grows', () => {
      assert.equal(roundRate(6151.7), 6150);
      assert.equal(roundRate(12_345), 12_300);
      assert.equal(roundRate(12.34), 12);
      assert.equal(roundRate(0.1234), 0.123);
      const { offered } = rates(config({ start_rate: 1, growth: 1.001, max_rate: 4, refine_steps: 0 }), 2);
      assert.deepEqual(offered, [1, 2, 3]);
      const growth = rates(config({ start_rate: 100, growth: 1.5, max_rate: 10_000, refine_steps: 0 }), 1000).offered;
      assert.deepEqual(growth, [100, 150, 225, 338, 507, 761, 1140]);
    });

    it('reports the total capacity and each driver\'s share', () => {
      const result = rates(config({ refine_steps: 0 }), 1000, 2).search.result();
      assert.equal(result.capacity_rps, 800);
      assert.equal(result.per_driver_rps, 400);
      assert.equal(result.summary, 'capacity: 800 req/s (400 per driver); first failure at 1,600 req/s: p99 500 ms > 200 ms');
    });
  });

  describe('judging a step against the SLO', () => {
    it('fails on p99 latency above its limit, saying by how much', () => {
      assert.deepEqual(judgeStep(figures(100, { p99_ms: 412 }), { p99_latency_ms: 200 }), { pass: false, limit: 'p99_latency_ms', text: 'p99 412 ms > 200 ms' });
      assert.deepEqual(judgeStep(figures(100, { p99_ms: 150 }), { p99_latency_ms: 200 }), { pass: true, text: 'p99 150 ms ≤ 200 ms' });
    });

    it('fails on the error rate above its limit', () => {
      assert.deepEqual(judgeStep(figures(100, { error_rate: 0.041, errors: { http_503: 41 } }), { error_rate: 0.01 }), { pass: false, limit: 'error_rate', text: 'errors 4.1% > 1%' });
    });

    it('fails on a server query beyond its max or min, naming the query', () => {
      const slo = { server: { cpu: { max: 0.8 }, replicas: { min: 3 } } };
      assert.deepEqual(judgeStep(figures(100, { server: { cpu: 0.93, replicas: 3 } }), slo), { pass: false, limit: 'server:cpu', text: 'cpu 0.93 > 0.8' });
      assert.deepEqual(judgeStep(figures(100, { server: { cpu: 0.5, replicas: 2 } }), slo), { pass: false, limit: 'server:replicas', text: 'replicas 2 < 3' });
    });

    it('fails a server limit without a sample, unless it is optional', () => {
      assert.deepEqual(judgeStep(figures(100, { server: {} }), { server: { cpu: { max: 0.8 } } }), { pass: false, limit: 'server:cpu', text: 'cpu no sample' });
      assert.equal(judgeStep(figures(100, { server: {} }), { server: { cpu: { max: 0.8, optional: true } } }).pass, true);
    });

    it('fails a latency limit when nothing was answered', () => {
      assert.equal(judgeStep(figures(100, { p99_ms: null, error_rate: 1 }), { p99_latency_ms: 200 }).limit, 'p99_latency_ms');
    });

    it('names p99 first when several limits fail in one step, and lists them all', () => {
      const v = judgeStep(figures(100, { p99_ms: 1200, error_rate: 0.3, server: { cpu: 0.99 } }), { p99_latency_ms: 200, error_rate: 0.01, server: { cpu: { max: 0.8 } } });
      assert.equal(v.limit, 'p99_latency_ms');
      assert.equal(v.text, 'p99 1,200 ms > 200 ms, errors 30% > 1%, cpu 0.99 > 0.8');
    });

    it('judges the error rate by default at 1%', () => {
      assert.equal(resolveCapacityConfig({}).slo.error_rate, 0.01);
      assert.equal(judgeStep(figures(100, { error_rate: 0.02 }), resolveCapacityConfig({}).slo).limit, 'error_rate');
    });
  });

  describe('a step the drivers could not offer', () => {
    it('is told apart by an achieved rate under 97% of the plan, waits for connections, or late sends', () => {
      assert.equal(driverShortfall(figures(1000, { achieved_rate: 980 }), 1000, 1), undefined);
      assert.equal(driverShortfall(figures(1000, { achieved_rate: 960 }), 1000, 1), 'offered 960 of 1,000 req/s planned');
      assert.equal(driverShortfall(figures(1000, { waited_for_connection: 50 }), 1000, 1), undefined); // 0.5% of 10,000
      assert.equal(driverShortfall(figures(1000, { waited_for_connection: 500 }), 1000, 1), '500 of 10,000 requests waited for a free connection');
      assert.equal(driverShortfall(figures(1000, { send_lag_p99_ms: 15 }), 1000, 1), undefined);
      assert.equal(driverShortfall(figures(1000, { send_lag_p99_ms: 45 }), 1000, 1), 'requests went out late (send lag p99 45 ms)');
      // At 10 req/s per driver a request is due every 100 ms: lag below two intervals is still on schedule.
      assert.equal(driverShortfall(figures(20, { send_lag_p99_ms: 150 }), 20, 2), undefined);
    });

    it('ends the search with the drivers sentence and no capacity, even when earlier steps passed (exit 1)', () => {
      const search = new CapacitySearch(config(), 2);
      search.record(figures(100));
      search.record(figures(200));
      // 400 planned, 310 offered, and latency looks awful: the driver's queue, not the server's limit.
      const step = search.record(figures(400, { achieved_rate: 310, p99_ms: 900 }));
      assert.equal(step.pass, false);
      assert.equal(step.drivers_limited, true);
      assert.equal(step.limit, undefined);
      assert.equal(search.nextRate(), null);
      const result = search.result();
      assert.equal(result.ended, 'drivers_limit');
      assert.equal(result.capacity_rps, null);
      assert.equal(result.first_failure, null);
      assert.equal(result.passed_up_to_rps, 200);
      assert.equal(result.drivers_offered_at_most_rps, 310);
      assert.equal(result.summary, 'no capacity: the drivers offered at most 310 req/s: add drivers or workers (the SLO held up to 200 req/s)');
      assert.equal(capacityExitCode(result), 1);
    });

    it('is still the server\'s failure when the server failed what was offered: errors, or p99 without the drivers\' queue', () => {
      // A queueing server: latency grew, connections ran out, and it also answered 503.
      const errors = new CapacitySearch(config(), 1);
      errors.record(figures(100));
      const failed = errors.record(figures(200, { waited_for_connection: 300, errors: { http_5xx: 400 }, error_rate: 0.2, p99_ms: 3000 }));
      assert.equal(failed.limit, 'error_rate');
      assert.equal(failed.text, 'errors 20% without timeouts > 1% (the drivers fell short too: 300 of 2,000 requests waited for a free connection)');
      assert.equal(errors.nextRate(), 150, 'the search bisects below the failure');
      const latency = new CapacitySearch(config(), 1);
      latency.record(figures(100));
      const slow = latency.record(figures(200, { waited_for_connection: 300, p99_ms: 3000, uncorrected_p99_ms: 800 }));
      assert.equal(slow.limit, 'p99_latency_ms');
      assert.match(slow.text, /^p99 800 ms uncorrected > 200 ms \(the drivers fell short too/);
      assert.equal(latency.nextRate(), 150);
      assert.deepEqual(latency.result().first_failure && { rate: latency.result().first_failure!.rate, limit: latency.result().first_failure!.limit }, { rate: 200, limit: 'p99_latency_ms' });
      // The drivers' own queue made the corrected p99 long; the server answered in 5 ms: the drivers were the limit.
      const drivers = new CapacitySearch(config(), 1);
      drivers.record(figures(100));
      assert.equal(drivers.record(figures(200, { waited_for_connection: 300, p99_ms: 3000, uncorrected_p99_ms: 5 })).drivers_limited, true);
      assert.equal(drivers.result().ended, 'drivers_limit');
    });

    it('ends the search during bisection too, never reporting the bracket as a capacity', () => {
      const search = new CapacitySearch(config(), 1);
      search.record(figures(100));
      search.record(figures(200, { p99_ms: 500 }));
      assert.equal(search.nextRate(), 150);
      search.record(figures(150, { waited_for_connection: 200, p99_ms: 500 }));
      const result = search.result();
      assert.equal(result.ended, 'drivers_limit');
      assert.equal(result.capacity_rps, null);
    });

    it('a step that met the SLO with late sends passes (corrected latency counts them); with requests waiting for a connection it is the drivers’ limit', () => {
      const search = new CapacitySearch(config(), 1);
      const step = search.record(figures(100, { send_lag_p99_ms: 40 }));
      assert.equal(step.pass, true, step.text);
      assert.equal(step.drivers_limited, undefined);
      assert.equal(search.nextRate(), 200);
      const waited = search.record(figures(200, { waited_for_connection: 50 }));
      assert.equal(waited.drivers_limited, true, waited.text);
      assert.equal(search.result().ended, 'drivers_limit');
    });

    it('judges a short step on the errors the server gave: timeouts may be waits in the drivers', () => {
      const search = new CapacitySearch(config(), 1);
      search.record(figures(100));
      const step = search.record(figures(200, { waited_for_connection: 300, errors: { timeout: 90 }, error_rate: 90 / 400 }));
      assert.equal(step.drivers_limited, true, step.text);
      assert.equal(search.result().ended, 'drivers_limit');
    });
  });

  it('stopped mid-way: no capacity, the steps so far', () => {
    const search = new CapacitySearch(config(), 1);
    search.record(figures(100));
    search.stop();
    const result = search.result();
    assert.equal(result.ended, 'stopped');
    assert.equal(result.capacity_rps, null);
    assert.equal(result.steps.length, 1);
    assert.equal(result.summary, 'no capacity: the search was stopped (the SLO held up to 100 req/s)');
    assert.throws(() => search.record(figures(200)), /has ended/);
  });
});
