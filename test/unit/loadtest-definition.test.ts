import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDefinition, toTestConfig, validateDefinition, type LoadTestDefinition } from '../../orchestrator/loadtest-definition';
import { ROOT } from '../support/processes';
import schema from '../../schemas/loadtest.schema.json';
import { MAX_CONCURRENCY, MAX_CONNECTIONS, MAX_MESSAGE_COUNT, MAX_STREAMS, MAX_TEST_MESSAGE_DELAY_S, MAX_TIMEOUT_MS, MIN_TARGET_THROUGHPUT, MIN_TIMEOUT_MS } from '../../protocol/test-config-limits';

const errorsOf = (value: unknown): string[] => {
  const r = validateDefinition(value);
  assert.equal(r.ok, false, 'expected the definition to be rejected');
  return (r as { errors: string[] }).errors;
};

const base = { test_type: 'AVALANCHE', message_count_per_driver: 10, target: 'http://127.0.0.1:8080/ping' };

describe('.loadtest.json definitions', () => {
  it('every example in examples/ is valid', () => {
    const files = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.loadtest.json'));
    assert.ok(files.length >= 2);
    for (const f of files) {
      const r = parseDefinition(readFileSync(join(ROOT, 'examples', f), 'utf8'));
      assert.ok(r.ok, `${f}: ${(r as { errors?: string[] }).errors?.join('; ')}`);
    }
  });

  it('a missing field is named, with what it is for', () => {
    const errors = errorsOf({ test_type: 'AVALANCHE', target: 'http://x/' });
    assert.ok(errors.some((e) => /^message_count_per_driver: is required \(How many requests/.test(e)), errors.join('\n'));
  });

  it('a wrong test_type lists the allowed values', () => {
    assert.ok(errorsOf({ ...base, test_type: 'FLOOD' }).some((e) => e.includes('test_type: must be one of "AVALANCHE", "TSUNAMI", got "FLOOD"')));
  });

  it('TSUNAMI needs a positive test_message_delay', () => {
    assert.ok(errorsOf({ ...base, test_type: 'TSUNAMI' }).some((e) => e.startsWith('test_message_delay: is required')));
    assert.ok(errorsOf({ ...base, test_type: 'TSUNAMI', test_message_delay: 0 }).some((e) => e.startsWith('test_message_delay:')));
  });

  it('server-side queries and their limits: a limit must name a query, a query name is checked', () => {
    const prometheus = { url: 'http://127.0.0.1:9090', queries: { server_rps: 'sum(rate(x[5s]))' } };
    assert.ok(validateDefinition({ ...base, prometheus, thresholds: { server: { server_rps: { min: 10 } } } }).ok);
    assert.deepEqual(errorsOf({ ...base, prometheus, thresholds: { server: { server_p99: { max: 5 } } } }), ['thresholds.server.server_p99: names no query; the queries of prometheus.queries are server_rps']);
    assert.match(errorsOf({ ...base, thresholds: { server: { lag: { max: 1 } } } })[0], /^thresholds.server.lag: names no query; add "prometheus"/);
    assert.ok(errorsOf({ ...base, prometheus: { url: 'http://p/', queries: { 'Bad-Name': 'up' } } }).some((e) => e.startsWith('prometheus.queries')), 'a bad query name is refused');
    assert.ok(errorsOf({ ...base, prometheus: { queries: { up: 'up' } } }).some((e) => e.startsWith('prometheus.url: is required')));
  });

  it('a misspelt field gets a suggestion', () => {
    assert.ok(errorsOf({ ...base, target_thoughput: 5 }).some((e) => e.includes('target_thoughput: is not a known field')));
    assert.ok(errorsOf({ ...base, 'message-count-per-driver': 5 }).some((e) => e.includes('did you mean "message_count_per_driver"')));
  });

  it('a target that is not an http URL says what is expected', () => {
    const errors = errorsOf({ ...base, target: 'ftp://x' });
    assert.deepEqual(errors, ['target: An http:// or https:// URL, e.g. http://127.0.0.1:8080/ping.; got "ftp://x"']);
    assert.ok(errorsOf({ ...base, target: { url: 'nope' } }).some((e) => e.startsWith('target.url:')));
    assert.ok(errorsOf({ ...base, target: { url: 'http://x/', method: 'FETCH' } }).some((e) => e.startsWith('target.method: must be one of')));
  });

  it('JSON syntax errors give the line and column', () => {
    const r = parseDefinition('{\n  "test_type": "AVALANCHE",\n  oops\n}');
    assert.equal(r.ok, false);
    assert.match((r as { errors: string[] }).errors[0], /line 3, column/);
  });

  it('becomes a test_config under the spec’s names, with our extensions', () => {
    const r = validateDefinition({ ...base, test_type: 'TSUNAMI', test_message_delay: 0.5, target_throughput: 3, max_connections: 2 });
    assert.ok(r.ok);
    const config = toTestConfig(r.definition, 'id-1', { id: 'o', names: ['o'] }, ['a', 'b']);
    assert.equal(config.test_id, 'id-1');
    assert.equal(config.test_message_delay, 0.5);
    assert.equal(config.message_count_per_driver, 10);
    assert.deepEqual(config.target, { url: 'http://127.0.0.1:8080/ping', method: 'GET', headers: undefined, body: undefined, timeout_ms: 10_000 });
    assert.deepEqual(config.driver_ids, ['a', 'b']);
    assert.equal(config.max_connections, 2);
  });

  it('each model takes its own limit: concurrency for AVALANCHE, max_connections for TSUNAMI', () => {
    const tsunami = validateDefinition({ ...base, test_type: 'TSUNAMI', test_message_delay: 0.5, concurrency: 2 });
    assert.equal(tsunami.ok, false);
    assert.match((tsunami as { errors: string[] }).errors[0], /^concurrency: applies to AVALANCHE only.*use max_connections/);
    const avalanche = validateDefinition({ ...base, test_type: 'AVALANCHE', max_connections: 2 });
    assert.match((avalanche as { errors: string[] }).errors[0], /^max_connections: applies to TSUNAMI only/);
  });

  describe('max_streams: requests in flight on one HTTP/2 connection', () => {
    const https = { ...base, target: 'https://127.0.0.1:8443/ping', http2: true };

    it('is taken with http2 and an https target, and reaches the drivers', () => {
      assert.equal(validateDefinition({ ...https, max_streams: 32 }).ok, true);
      assert.equal(toTestConfig({ ...https, max_streams: 32 } as LoadTestDefinition, 't', { id: 'o', names: [] }, ['a']).max_streams, 32);
      assert.equal(toTestConfig(https as LoadTestDefinition, 't', { id: 'o', names: [] }, ['a']).max_streams, undefined, 'absent: the drivers’ default');
    });

    it('http_engine names an engine of the protocol offered, or is refused saying what to do', () => {
      assert.equal(validateDefinition({ ...https, http_engine: 'node-http2' }).ok, true);
      assert.equal(validateDefinition({ ...https, http_engine: 'undici' }).ok, true);
      assert.equal(toTestConfig({ ...https, http_engine: 'node-http2' } as LoadTestDefinition, 't', { id: 'o', names: [] }, ['a']).http_engine, 'node-http2');
      assert.deepEqual(errorsOf({ ...https, http2: undefined, http_engine: 'node-http2' }), [
        'http_engine: node-http2 is the HTTP/2 engine; add "http2": true (to an https:// target that offers HTTP/2), or leave http_engine out for HTTP/1.1',
      ]);
      assert.deepEqual(errorsOf({ ...https, http_engine: 'lean-http1' }), [
        'http_engine: lean-http1 sends HTTP/1.1 only, and this test offers HTTP/2 (http2: true); leave http_engine out (HTTP/2 goes to node-http2), name undici, or leave http2 out',
      ]);
    });

    it('without http2, or to a plain http target, is refused, saying what to do', () => {
      assert.deepEqual(errorsOf({ ...https, http2: undefined, max_streams: 8 }), [
        'max_streams: applies to HTTP/2 only; add "http2": true (to an https:// target that offers HTTP/2), or leave max_streams out: over HTTP/1.1 each connection carries one request at a time',
      ]);
      assert.deepEqual(errorsOf({ ...base, http2: true, max_streams: 8 }), [
        'max_streams: HTTP/2 is offered to https:// targets only, and http://127.0.0.1:8080 is plain http, where each connection carries one request at a time; use an https:// target or leave max_streams out',
      ]);
    });

    it('past 100 streams, or past 100,000 requests in flight for TSUNAMI (max_connections × max_streams), is refused', () => {
      assert.ok(errorsOf({ ...https, max_streams: 101 }).some((e) => e.startsWith('max_streams: must be <= 100')));
      assert.ok(errorsOf({ ...https, max_streams: 0 }).some((e) => e.startsWith('max_streams: must be >= 1')));
      const tsunami = { ...https, test_type: 'TSUNAMI', test_message_delay: 0.001 };
      assert.deepEqual(errorsOf({ ...tsunami, max_connections: 20_000, max_streams: 10 }), [
        'max_streams: 20,000 connections × 10 streams is 200,000 requests in flight per driver, above the limit of 100,000; lower max_streams or max_connections',
      ]);
      assert.equal(validateDefinition({ ...tsunami, max_connections: 10_000, max_streams: 10 }).ok, true);
    });
  });

  describe('the bounds an agent applies, refused here first, by field', () => {
    it('a concurrency or a connection limit of a billion is refused, naming the field', () => {
      assert.ok(errorsOf({ ...base, concurrency: 1e9 }).some((e) => e.startsWith('concurrency: must be <= 10000')));
      assert.ok(errorsOf({ ...base, test_type: 'TSUNAMI', test_message_delay: 0.1, max_connections: 1e9 }).some((e) => e.startsWith('max_connections: must be <= 100000')));
    });

    it('a timeout_ms of 0 or less is refused, in a target and in a mix', () => {
      assert.ok(errorsOf({ ...base, target: { url: 'http://127.0.0.1:8080/ping', timeout_ms: 0 } }).some((e) => e.startsWith('target.timeout_ms: must be >= 1')));
      assert.ok(errorsOf({ ...base, target: undefined, requests: [{ name: 'a', url: 'http://127.0.0.1:8080/a', timeout_ms: -1 }] }).some((e) => e.startsWith('requests[0].timeout_ms: must be >= 1')));
    });

    it('a TSUNAMI delay or a cap that would need a timer past 2^31 ms is refused', () => {
      assert.ok(errorsOf({ ...base, test_type: 'TSUNAMI', test_message_delay: 3e6 }).some((e) => e.startsWith('test_message_delay: must be <= 1000')));
      assert.ok(errorsOf({ ...base, target_throughput: 1e-7 }).some((e) => e.startsWith('target_throughput: must be >= 0.001')));
    });

    it('the schema states the same numbers as the limits the agents apply', () => {
      const properties = schema.properties as Record<string, { maximum?: number; minimum?: number; properties?: Record<string, { maximum?: number; minimum?: number }> }>;
      const target = (schema.properties.target.oneOf[1] as { properties: { timeout_ms: { minimum: number; maximum: number } } }).properties.timeout_ms;
      const mixRequest = schema.properties.requests.items.properties.timeout_ms;
      assert.equal(properties.concurrency.maximum, MAX_CONCURRENCY);
      assert.equal(properties.max_connections.maximum, MAX_CONNECTIONS);
      assert.equal(properties.max_streams.maximum, MAX_STREAMS);
      assert.equal(properties.message_count_per_driver.maximum, MAX_MESSAGE_COUNT);
      assert.equal(properties.warm_up_count_per_driver.maximum, MAX_MESSAGE_COUNT);
      assert.equal(properties.target_throughput.minimum, MIN_TARGET_THROUGHPUT);
      assert.equal((schema.then.properties.test_message_delay as { maximum: number }).maximum, MAX_TEST_MESSAGE_DELAY_S);
      for (const t of [target, mixRequest]) {
        assert.equal(t.minimum, MIN_TIMEOUT_MS);
        assert.equal(t.maximum, MAX_TIMEOUT_MS);
      }
    });

    it('a definition at the bounds is accepted', () => {
      assert.equal(validateDefinition({ ...base, concurrency: MAX_CONCURRENCY, target_throughput: MIN_TARGET_THROUGHPUT, target: { url: 'http://127.0.0.1:8080/ping', timeout_ms: MAX_TIMEOUT_MS } }).ok, true);
      assert.equal(validateDefinition({ ...base, test_type: 'TSUNAMI', test_message_delay: MAX_TEST_MESSAGE_DELAY_S, max_connections: MAX_CONNECTIONS }).ok, true);
    });
  });

  describe('how long a test runs: a count, a duration or stages', () => {
    const target = 'http://127.0.0.1:8080/ping';
    const ramp = { test_type: 'TSUNAMI', target, stages: [{ duration_s: 10, target_rate: 100 }, { duration_s: 20, target_rate: 100 }] };

    it('takes duration_s for both models, and stages with their start value', () => {
      assert.ok(validateDefinition({ test_type: 'AVALANCHE', duration_s: 30, target }).ok);
      assert.ok(validateDefinition({ test_type: 'TSUNAMI', test_message_delay: 0.01, duration_s: 30, target }).ok);
      assert.ok(validateDefinition({ ...ramp, start_rate: 10 }).ok, 'TSUNAMI stages need no test_message_delay');
      assert.ok(validateDefinition({ test_type: 'AVALANCHE', target, start_concurrency: 2, stages: [{ duration_s: 10, target_concurrency: 32 }] }).ok);
    });

    it('refuses two of them, naming both and saying what to do', () => {
      assert.deepEqual(errorsOf({ ...base, duration_s: 30 }), ['message_count_per_driver and duration_s: give only one; a test runs to a request count, for a duration, or through stages (whose durations add up to its length)']);
    });

    it('refuses none of them, naming all three', () => {
      const [error] = errorsOf({ test_type: 'AVALANCHE', target });
      assert.match(error, /^message_count_per_driver: is required .*duration_s .*stages/);
    });

    it('names the stage and the field a stage lacks or must not have', () => {
      const errors = errorsOf({ ...ramp, stages: [{ duration_s: 10, target_rate: 100 }, { duration_s: 10, target_rate: 100 }, { duration_s: 5, target_concurrency: 8 }] });
      assert.ok(errors.includes("stages[2].target_rate: is required for a TSUNAMI stage (requests per second over all drivers at the stage's end)"), errors.join('\n'));
      assert.ok(errors.includes('stages[2].target_concurrency: applies to AVALANCHE only; a TSUNAMI stage gives target_rate'), errors.join('\n'));
    });

    it('names the stage of a field the schema refuses', () => {
      assert.ok(errorsOf({ ...ramp, stages: [{ duration_s: 0, target_rate: 1 }] }).some((e) => e.startsWith('stages[0].duration_s: must be > 0')));
      assert.ok(errorsOf({ ...ramp, stages: [{ duration_s: 1, target_rate: 1, ramp: true }] }).some((e) => e.startsWith('stages[0].ramp: is not a known field')));
    });

    it('start values and pacing fields belong to their model', () => {
      assert.ok(errorsOf({ ...ramp, start_concurrency: 3 }).includes('start_concurrency: applies to AVALANCHE stages only; a TSUNAMI test ramps from start_rate'));
      assert.ok(errorsOf({ ...ramp, test_message_delay: 0.01 }).includes('test_message_delay: a TSUNAMI test with stages is paced by their target_rate; leave test_message_delay out'));
      assert.ok(errorsOf({ test_type: 'AVALANCHE', duration_s: 5, target, start_rate: 3 })[0].startsWith('start_rate: applies to TSUNAMI stages only'));
    });

    it('judges the bounds on the totals, naming the stage', () => {
      assert.ok(errorsOf({ ...ramp, stages: [{ duration_s: 10, target_rate: 20_000_000 }] }).some((e) => e.startsWith('stages[0].target_rate')));
      assert.ok(errorsOf({ ...ramp, stages: [{ duration_s: 700_000, target_rate: 1 }] }).some((e) => /duration_s/.test(e)));
    });

    it('a stage’s thresholds take the test’s shape; a server limit must name a query', () => {
      assert.ok(validateDefinition({ ...ramp, stages: [{ duration_s: 10, target_rate: 100, thresholds: { p99_latency_ms: 50, error_rate: 0.01 } }] }).ok);
      assert.deepEqual(errorsOf({ ...ramp, stages: [{ duration_s: 10, target_rate: 100, thresholds: { server: { cpu: { max: 1 } } } }] }), [
        'stages[0].thresholds.server.cpu: names no query; add "prometheus": {"url": …, "queries": {"cpu": "PROMQL"}}',
      ]);
    });

    it('becomes a test_config with the totals and each driver’s bound', () => {
      const config = toTestConfig(validateDefinition(ramp).ok ? (ramp as never) : (undefined as never), 't', { id: 'o', names: [] }, ['a', 'b']);
      assert.equal(config.duration_s, 30);
      assert.equal(config.start_rate, 0);
      assert.equal(config.message_count_per_driver, 1250, '(500 + 2,000) ÷ 2 drivers');
      assert.deepEqual(config.stages, ramp.stages);
      assert.equal(config.driver_ids?.length, 2);
    });
  });
});
