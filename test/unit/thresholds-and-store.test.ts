import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { MetricsStore } from '../../orchestrator/metrics-store';
import { evaluateThresholds } from '../../orchestrator/thresholds';
import { tempDir } from '../support/processes';
import type { AggregateStats } from '../../orchestrator/result-model';

const stats = (over: Partial<AggregateStats> = {}): AggregateStats => ({
  drivers: 1,
  drivers_reporting: 1,
  requests_sent: 1000,
  responses: 990,
  errors: 10,
  error_rate: 0.01,
  errors_unknown_from: [],
  requests_with_unknown_errors: 0,
  histogram_missing_from: [],
  rate: 0,
  latency: { mean: 5, median: 4, min: 1, max: 90, p90: 8, p95: 12, p99: 40, approximate: false, count: 990 },
  uncorrected: null,
  error_kinds: {},
  status_codes: {},
  warm_up: null,
  ...over,
});

describe('thresholds', () => {
  it('pass when every limit holds, and say each figure', () => {
    const r = evaluateThresholds({ p99_latency_ms: 50, error_rate: 0.02, min_throughput: 100 }, stats(), 150);
    assert.equal(r.passed, true);
    assert.deepEqual(r.checks.map((c) => c.text), ['p99 latency 40 ms <= 50 ms', 'error rate 1% <= 2%', 'throughput 150 req/s >= 100 req/s']);
  });

  it('fail when one limit is exceeded', () => {
    const r = evaluateThresholds({ p99_latency_ms: 30, error_rate: 0.02 }, stats(), 150);
    assert.equal(r.passed, false);
    assert.equal(r.checks.find((c) => !c.passed)!.name, 'p99_latency_ms');
  });

  it('judge the error rate against the default limit when the file sets only latency limits', () => {
    const r = evaluateThresholds({ p99_latency_ms: 1000 }, stats({ errors: 900, error_rate: 0.9 }), 150);
    assert.equal(r.passed, false);
    const check = r.checks.find((c) => c.name === 'default_error_rate')!;
    assert.equal(check.passed, false);
    assert.equal(check.text, 'error rate 90% <= 1% (default limit; set thresholds.error_rate to change it)');
  });

  it('let the file raise the error limit explicitly', () => {
    const r = evaluateThresholds({ p99_latency_ms: 1000, error_rate: 0.95 }, stats({ errors: 900, error_rate: 0.9 }), 150);
    assert.equal(r.passed, true);
    assert.deepEqual(r.checks.map((c) => c.name), ['p99_latency_ms', 'error_rate']);
  });

  it('judge errors on the drivers that count them, and name those that do not', () => {
    const some = evaluateThresholds(undefined, stats({ drivers: 2, drivers_reporting: 2, requests_sent: 1500, requests_with_unknown_errors: 500, errors_unknown_from: ['theirs'] }), 150);
    assert.equal(some.passed, true);
    assert.equal(some.checks[0].text, 'error rate 1% <= 1% (default limit; set thresholds.error_rate to change it) (judged on the drivers that count errors; theirs sent none)');
    const none = evaluateThresholds({ error_rate: 0.5 }, stats({ errors: 0, error_rate: 0, requests_with_unknown_errors: 1000, errors_unknown_from: ['theirs'] }), 150);
    assert.equal(none.passed, false);
    assert.equal(none.checks[0].actual, null);
    assert.equal(none.checks[0].text, 'error rate unknown (theirs sent no error counts) <= 50%');
  });

  it('say when a latency limit is judged on approximate percentiles', () => {
    const latency = { mean: 5, median: 4, min: 1, max: 90, p90: 8, p95: 12, p99: 40, approximate: true, count: 990 };
    const r = evaluateThresholds({ p99_latency_ms: 50 }, stats({ latency, histogram_missing_from: ['theirs'] }), 150);
    const check = r.checks.find((c) => c.name === 'p99_latency_ms')!;
    assert.equal(check.approximate, true);
    assert.match(check.text, /^p99 latency 40 ms <= 50 ms \(approximate: theirs sent no histogram/);
  });

  it('server-side limits judge the highest (max) or lowest (min) sample of their query; without samples they fail unless optional', () => {
    const server = {
      url: 'http://prom:9090',
      warnings: [],
      queries: [
        { name: 'server_p99_ms', query: 'q1', samples: 5, last: 12, min: 8, max: 30, mean: 15 },
        { name: 'server_rps', query: 'q2', samples: 5, last: 900, min: 400, max: 1000, mean: 800 },
        { name: 'lag_s', query: 'q3', samples: 0, last: null, min: null, max: null, mean: null },
        { name: 'queue', query: 'q4', samples: 0, last: null, min: null, max: null, mean: null },
      ],
    };
    const r = evaluateThresholds(
      { error_rate: 0.02, server: { server_p99_ms: { max: 25 }, server_rps: { min: 300 }, lag_s: { max: 1 }, queue: { max: 5, optional: true } } },
      stats(),
      150,
      server,
    );
    assert.deepEqual(
      r.checks.map((c) => [c.name, c.passed, c.skipped ?? false, c.text]),
      [
        ['error_rate', true, false, 'error rate 1% <= 2%'],
        ['server.server_p99_ms.max', false, false, 'server server_p99_ms (highest sample) 30 <= 25'],
        ['server.server_rps.min', true, false, 'server server_rps (lowest sample) 400 >= 300'],
        ['server.lag_s.max', false, false, 'server lag_s (highest sample) no sample from Prometheus (see the warnings) <= 1 (mark the limit "optional": true to let the test pass without it)'],
        ['server.queue.max', true, true, 'server queue (highest sample) not judged (optional): no sample from Prometheus (see the warnings) <= 5'],
      ],
    );
    assert.equal(r.passed, false);
  });

  it('fail when there is nothing to measure', () => {
    assert.equal(evaluateThresholds({ p99_latency_ms: 30 }, stats({ latency: null }), 0).passed, false);
  });
});

describe('metrics store', () => {
  const config = { test_id: 't-1', test_type: 'AVALANCHE' as const, test_message_delay: 0, message_count_per_driver: 5 };
  const definition = { test_type: 'AVALANCHE' as const, message_count_per_driver: 5, target: 'http://127.0.0.1/' };

  it('keeps tests across a new store on the same folder, and calls a triggered test without result interrupted', () => {
    const dir = tempDir('store-unit');
    const first = new MetricsStore(dir);
    first.saveTest({ test_id: 't-1', created_at: 1, triggered_at: 2, definition, config, participants: ['a'] });
    first.appendPoint('t-1', { t: 1, timestamp: 3, requests_sent: 5, responses: 5, errors: 0, rate: 5, latency: null, per_driver: {} });
    const reopened = new MetricsStore(dir);
    const [listing] = reopened.list();
    assert.equal(listing.test_id, 't-1');
    assert.equal(listing.status, 'interrupted');
    assert.equal(reopened.loadTimeSeries('t-1').length, 1);
  });

  it('skips a last line cut short by a crash', () => {
    const dir = tempDir('store-crash');
    const store = new MetricsStore(dir);
    store.saveTest({ test_id: 't-1', created_at: 1, definition, config, participants: [] });
    store.appendPoint('t-1', { t: 1, timestamp: 3, requests_sent: 5, responses: 5, errors: 0, rate: 5, latency: null, per_driver: {} });
    appendFileSync(join(dir, 'tests', 't-1', 'timeseries.ndjson'), '{"t":2,"timest');
    assert.equal(store.loadTimeSeries('t-1').length, 1);
  });

  it('refuses test ids that would leave its folder', () => {
    const store = new MetricsStore(tempDir('store-ids'));
    assert.throws(() => store.saveTest({ test_id: '../evil', created_at: 1, definition, config, participants: [] }), /cannot be stored/);
  });
});
