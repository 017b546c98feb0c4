import assert from 'node:assert/strict';
import { DriverAgent } from '../../agents/driver-agent';
import { createLogger } from '../../common/logger';
import {
  MAX_CONCURRENCY,
  MAX_CONNECTIONS,
  MAX_MESSAGE_COUNT,
  MAX_TEST_MESSAGE_DELAY_S,
  MAX_TIMEOUT_MS,
  MAX_TIMER_MS,
  MIN_TARGET_THROUGHPUT,
  testConfigProblems,
} from '../../protocol/test-config-limits';
import { topicNames, type TestConfigMessage } from '../../protocol/wire-protocol';
import { FakeBus } from '../support/fake-bus';
import { FakeClock } from '../support/fake-clock';

const base: TestConfigMessage = { test_id: 't', test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 10, target: { url: 'http://127.0.0.1:8080/ping', method: 'GET', timeout_ms: 1000 } };
const tsunami: TestConfigMessage = { ...base, test_type: 'TSUNAMI', test_message_delay: 0.01 };

describe('the bounds of a test_config', () => {
  it('a config within every bound has no problem', () => {
    assert.deepEqual(testConfigProblems(base), []);
    assert.deepEqual(testConfigProblems({ ...tsunami, test_message_delay: MAX_TEST_MESSAGE_DELAY_S, max_connections: MAX_CONNECTIONS }), []);
    assert.deepEqual(testConfigProblems({ ...base, concurrency: MAX_CONCURRENCY, target_throughput: MIN_TARGET_THROUGHPUT, message_count_per_driver: MAX_MESSAGE_COUNT }), []);
  });

  it('a concurrency or a connection limit that would size arrays of a billion is refused, naming the field', () => {
    assert.deepEqual(testConfigProblems({ ...base, concurrency: 1e9 }), ['concurrency: 1,000,000,000 is above the limit of 10,000']);
    assert.deepEqual(testConfigProblems({ ...tsunami, max_connections: 1e9 }), ['max_connections: 1,000,000,000 is above the limit of 100,000']);
  });

  it('max_streams: at most 100 streams on a connection, and a TSUNAMI driver’s max_connections × max_streams within its 100,000 slots', () => {
    const h2 = { http2: true, target: { url: 'https://127.0.0.1:8443/ping', method: 'GET', timeout_ms: 1000 } };
    assert.deepEqual(testConfigProblems({ ...base, ...h2, max_streams: 101 }), ['max_streams: 101 is above the limit of 100']);
    assert.deepEqual(testConfigProblems({ ...tsunami, ...h2, max_connections: 50_000 }), [
      'max_streams: 50,000 connections × 10 streams is 500,000 requests in flight per driver, above the limit of 100,000; lower max_streams or max_connections',
    ]);
    assert.deepEqual(testConfigProblems({ ...tsunami, max_connections: 50_000 }), [], 'without HTTP/2 a connection carries one');
  });

  it('a deadline of 0 or less, or beyond ten minutes, is refused', () => {
    assert.deepEqual(testConfigProblems({ ...base, target: { ...base.target!, timeout_ms: 0 } }), ['target.timeout_ms: 0 ms is no deadline; give at least 1 ms']);
    assert.deepEqual(testConfigProblems({ ...base, target: { ...base.target!, timeout_ms: -5 } }), ['target.timeout_ms: -5 ms is no deadline; give at least 1 ms']);
    assert.deepEqual(testConfigProblems({ ...base, target: { ...base.target!, timeout_ms: MAX_TIMEOUT_MS + 1 } }), ['target.timeout_ms: 600,001 ms is above the limit of 600,000 ms']);
  });

  it('in a mix, each request’s deadline is checked under its own name', () => {
    const mix = [
      { name: 'a', weight: 1, url: 'http://127.0.0.1:8080/a', method: 'GET', timeout_ms: 1000 },
      { name: 'b', weight: 1, url: 'http://127.0.0.1:8080/b', method: 'GET', timeout_ms: 0 },
    ];
    assert.deepEqual(testConfigProblems({ ...base, requests: mix }), ['requests[1].timeout_ms: 0 ms is no deadline; give at least 1 ms']);
  });

  it('a delay or a cap that would need a timer past 2^31 ms is refused', () => {
    assert.ok(MAX_TEST_MESSAGE_DELAY_S * 1000 * 64 < MAX_TIMER_MS, 'even a worker among 64 waits less than the longest timer');
    assert.deepEqual(testConfigProblems({ ...tsunami, test_message_delay: 3e6 }), ['test_message_delay: 3,000,000 s is above the limit of 1,000 s']);
    assert.deepEqual(testConfigProblems({ ...base, target_throughput: 1e-7 }), ['target_throughput: 1e-7 requests per second is below the limit of 0.001 (one request every 1,000 s)']);
  });

  it('an AVALANCHE’s test_message_delay is not read, so it is not judged', () => {
    assert.deepEqual(testConfigProblems({ ...base, test_message_delay: 1e9 }), []);
  });

  it('every problem of a config is said at once', () => {
    assert.equal(testConfigProblems({ ...base, concurrency: 1e9, message_count_per_driver: 1e12, target: { ...base.target!, timeout_ms: 0 } }).length, 3);
  });
});

describe('an agent given a config outside the bounds', () => {
  const TOPICS = topicNames('');
  let clock: FakeClock;
  let bus: FakeBus;
  let agent: DriverAgent;

  beforeEach(async () => {
    clock = new FakeClock();
    bus = new FakeBus(() => clock.now());
    agent = new DriverAgent({ bus, topics: TOPICS, nodeId: 'd1', nodeIp: '10.0.0.1', defaultTarget: 'http://127.0.0.1:9/', logger: createLogger('agent', 'error', () => {}), version: 'test', clock });
    await agent.start();
  });
  afterEach(() => agent.shutdown());

  async function finalReportOf(config: Record<string, unknown>) {
    await bus.deliver(TOPICS.test_config, { test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 20, ...config });
    await bus.deliver(TOPICS.trigger, { test_id: config.test_id, trigger: 'YES' });
    const deadline = Date.now() + 5000;
    for (;;) {
      const final = bus.sent(TOPICS.metrics).find((m) => m.test_id === config.test_id && m.test_status === 'complete');
      if (final) return final;
      if (Date.now() > deadline) throw new Error('no final report');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it('refuses it before sending anything, with a final report naming each field', async () => {
    const final = await finalReportOf({ test_id: 'huge', concurrency: 1e9, target: { url: 'http://127.0.0.1:9/', timeout_ms: -1 } });
    assert.deepEqual(final.errors, { invalid_config: 1 });
    assert.equal(final.requests_sent, 0);
    assert.equal(
      final.error_detail,
      "the config is outside this agent's limits: concurrency: 1,000,000,000 is above the limit of 10,000; target.timeout_ms: -1 ms is no deadline; give at least 1 ms",
    );
    assert.equal(agent.state, 'idle', 'and is free for the next test');
  });

  it('refuses a TSUNAMI whose delay Node could not time', async () => {
    const final = await finalReportOf({ test_id: 'slow', test_type: 'TSUNAMI', test_message_delay: 3e6 });
    assert.match(String(final.error_detail), /test_message_delay: 3,000,000 s is above the limit of 1,000 s/);
  });
});
