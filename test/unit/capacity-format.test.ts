import assert from 'node:assert/strict';
import { resolveCapacityConfig } from '../../orchestrator/capacity/capacity-config';
import { capacityJson, formatCapacityProgress, formatCapacityResult, formatCapacityTable } from '../../orchestrator/capacity/capacity-format';
import { CapacitySearch, type StepFigures } from '../../orchestrator/capacity/capacity-search';

const step = (rate: number, over: Partial<StepFigures> = {}): StepFigures => ({
  phase: 'step',
  planned_rate: rate,
  achieved_rate: rate * 0.995,
  requests_sent: rate * 10,
  responses: rate * 10,
  errors: {},
  error_rate: 0,
  p50_ms: 1.2,
  p99_ms: 38,
  max_ms: 60,
  server: { cpu: 0.42 },
  ...over,
});

function searched() {
  const config = resolveCapacityConfig({ start_rate: 2050, max_rate: 50_000, growth: 2, refine_steps: 0, slo: { p99_latency_ms: 200, server: { cpu: { max: 0.9 } } } });
  const search = new CapacitySearch(config, 2);
  search.record(step(2050));
  search.record(step(4100, { server: { cpu: 0.71 } }));
  search.record(step(8200, { p99_ms: 412, error_rate: 0.0042, server: { cpu: 0.88 } }));
  return search.result();
}

describe('the capacity search in the terminal', () => {
  it('prints a step table: offered and achieved rate, p50, p99, errors, each server query, the verdict', () => {
    assert.equal(
      formatCapacityTable(searched()),
      [
        'step  offered req/s  achieved req/s  p50 ms  p99 ms  errors   cpu  verdict',
        '1             2,050           2,040     1.2      38      0%  0.42  pass: p99 38 ms ≤ 200 ms, errors 0% ≤ 1%, cpu 0.42 ≤ 0.9',
        '2             4,100           4,080     1.2      38      0%  0.71  pass: p99 38 ms ≤ 200 ms, errors 0% ≤ 1%, cpu 0.71 ≤ 0.9',
        '3             8,200           8,159     1.2     412   0.42%  0.88  FAIL: p99 412 ms > 200 ms',
      ].join('\n'),
    );
  });

  it('ends with the capacity, each driver\'s share and the first failure', () => {
    const text = formatCapacityResult(searched());
    assert.ok(text.endsWith('\n\ncapacity: 4,100 req/s (2,050 per driver); first failure at 8,200 req/s: p99 412 ms > 200 ms\n'), text);
  });

  it('ends with the drivers sentence when the drivers were the limit, the step marked DRIVERS', () => {
    const search = new CapacitySearch(resolveCapacityConfig({ start_rate: 1000, growth: 2 }), 1);
    search.record(step(1000));
    search.record(step(2000, { achieved_rate: 1500 }));
    const text = formatCapacityResult(search.result());
    assert.match(text, /\n2 +2,000 +1,500 .* DRIVERS: drivers were the limit: offered 1,500 of 2,000 req\/s planned\n/);
    assert.ok(text.endsWith('no capacity: the drivers offered at most 1,500 req/s: add drivers or workers (the SLO held up to 1,000 req/s)\n'), text);
  });

  it('prints a progress line as each step starts and as it is judged', () => {
    assert.equal(formatCapacityProgress({ kind: 'started', testId: 't-9', rate: 100, drivers: 2 }), 'capacity search: test t-9 on 2 drivers, starting at 100 req/s');
    assert.equal(formatCapacityProgress({ kind: 'step_started', step: 2, phase: 'step 2', rate: 4100 }), 'step 2: offering 4,100 req/s…');
    const judged = searched().steps[2];
    assert.equal(
      formatCapacityProgress({ kind: 'step_judged', step: judged, next: null }),
      'step 3: 8,200 req/s FAIL: p99 412 ms > 200 ms (achieved 8,159 req/s, p50 1.2 ms, p99 412 ms, errors 0.42%)',
    );
    assert.match(formatCapacityProgress({ kind: 'step_judged', step: searched().steps[0], next: 4100 }), /; next 4,100 req\/s$/);
  });

  it('--json writes capacity_rps, first_failure {rate, limit} and the steps first, then the other fields', () => {
    const json = JSON.parse(capacityJson(searched()));
    assert.deepEqual(Object.keys(json).slice(0, 3), ['capacity_rps', 'first_failure', 'steps']);
    assert.equal(json.capacity_rps, 4100);
    assert.equal(json.first_failure.rate, 8200);
    assert.equal(json.first_failure.limit, 'p99_latency_ms');
    assert.equal(json.steps.length, 3);
    assert.deepEqual(Object.keys(json.steps[0]).sort(), ['achieved_rate', 'error_rate', 'errors', 'p50_ms', 'p99_ms', 'pass', 'phase', 'rate', 'server', 'step', 'text']);
    assert.equal(json.ended, 'found');
    assert.equal(json.per_driver_rps, 2050);
  });
});
