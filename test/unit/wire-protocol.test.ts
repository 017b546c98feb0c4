import assert from 'node:assert/strict';
import { decodeHistogram } from '../../protocol/latency-histogram';
import {
  encodeHeartbeat,
  encodeMetrics,
  encodeRegister,
  encodeTestConfig,
  EncodeError,
  parseHeartbeat,
  parseMetrics,
  parseRegister,
  parseTestConfig,
  parseStop,
  parseTrigger,
  topicNames,
  nodeIdProblem,
} from '../../protocol/wire-protocol';
import { hostname } from 'node:os';

const ok = <T>(r: { ok: true; message: T } | { ok: false; reason: string }): T => {
  if (!r.ok) assert.fail(`expected a parsed message, got: ${r.reason}`);
  return r.message;
};
const reason = (r: { ok: boolean; reason?: string }): string => {
  assert.equal(r.ok, false, 'expected the message to be rejected');
  return r.reason!;
};

describe('wire protocol', () => {
  describe('topics', () => {
    it('are named exactly as the spec says, with an optional prefix', () => {
      assert.deepEqual(topicNames(), { register: 'register', test_config: 'test_config', trigger: 'trigger', metrics: 'metrics', heartbeat: 'heartbeat', stop: 'test_stop', control: 'test_control' });
      assert.equal(topicNames('ci-1.').metrics, 'ci-1.metrics');
    });
  });

  describe('what we emit', () => {
    it('a test_config has numbers, not numeric strings, and the delay in seconds', () => {
      const json = JSON.parse(encodeTestConfig({ test_id: 't1', test_type: 'TSUNAMI', test_message_delay: 0.25, message_count_per_driver: 100 }));
      assert.deepEqual(json, { test_id: 't1', test_type: 'TSUNAMI', test_message_delay: 0.25, message_count_per_driver: 100 });
    });

    it('a register and a heartbeat carry the spec fields exactly', () => {
      assert.deepEqual(JSON.parse(encodeRegister({ node_id: 'n', node_IP: '10.0.0.2', message_type: 'DRIVER_NODE_REGISTER' })), {
        node_id: 'n',
        node_IP: '10.0.0.2',
        message_type: 'DRIVER_NODE_REGISTER',
      });
      const beat = JSON.parse(encodeHeartbeat({ node_id: 'n', heartbeat: 'YES', timestamp: 1_700_000_000_000 }));
      assert.equal(beat.heartbeat, 'YES');
      assert.equal(typeof beat.timestamp, 'number');
    });

    it('refuses to encode a message with a non-finite latency or a missing id', () => {
      const metrics = { mean_latency: NaN, median_latency: 1, min_latency: 1, max_latency: 1 };
      assert.throws(() => encodeMetrics({ node_id: 'n', test_id: 't', report_id: 'r', metrics }), EncodeError);
      assert.throws(() => encodeTestConfig({ test_id: '', test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 1 }), EncodeError);
      assert.throws(() => encodeTestConfig({ test_id: 't', test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 1.5 }), EncodeError);
    });

    it('what it emits, it reads back unchanged', () => {
      const message = {
        node_id: 'n1',
        test_id: 't1',
        report_id: 't1:n1:3',
        metrics: { mean_latency: 1.5, median_latency: 1.2, min_latency: 0.3, max_latency: 9 },
        report_kind: 'cumulative' as const,
        p90_latency: 2,
        p95_latency: 3,
        p99_latency: 8,
        test_status: 'running' as const,
        requests_sent: 10,
        responses: 9,
        errors: { timeout: 1 },
        status_codes: { '200': 9 },
        elapsed_ms: 1000,
        timestamp: 1_700_000_000_000,
      };
      const roundTrip = { ...message, first_send_at: 1_700_000_000_123, send_window_ms: 990.5, send_lag_ms: { p50: 0.01, p99: 0.2, max: 1.5 } };
      assert.deepEqual(JSON.parse(JSON.stringify(ok(parseMetrics(encodeMetrics(roundTrip))))), roundTrip);
    });
  });

  describe('what we accept from other implementations', () => {
    it('numeric strings as numbers and test_type in any case', () => {
      const config = ok(parseTestConfig('{"test_id":"7","test_type":"tsunami","test_message_delay":"0.5","message_count_per_driver":"20"}'));
      assert.equal(config.test_type, 'TSUNAMI');
      assert.equal(config.test_message_delay, 0.5);
      assert.equal(config.message_count_per_driver, 20);
    });

    it('node_IP, node_ip, nodeIp and node_ID variants', () => {
      for (const text of ['{"node_id":"a","node_IP":"1.2.3.4"}', '{"node_ID":"a","node_ip":"1.2.3.4"}', '{"nodeId":"a","nodeIp":"1.2.3.4","message_type":"driver_node_register"}']) {
        const m = ok(parseRegister(text));
        assert.equal(m.node_id, 'a');
        assert.equal(m.node_IP, '1.2.3.4');
      }
    });

    it('a heartbeat with a missing, second-based or date-string timestamp', () => {
      const receivedAt = 1_800_000_000_000;
      assert.equal(ok(parseHeartbeat('{"node_id":"a","heartbeat":"YES"}', receivedAt)).timestamp, receivedAt);
      assert.equal(ok(parseHeartbeat('{"node_id":"a","heartbeat":"YES","timestamp":1700000000}', receivedAt)).timestamp, 1_700_000_000_000);
      assert.equal(ok(parseHeartbeat('{"node_id":"a","heartbeat":"YES","timestamp":"2024-01-01T00:00:00Z"}', receivedAt)).timestamp, Date.parse('2024-01-01T00:00:00Z'));
      assert.equal(ok(parseHeartbeat('{"node_id":"a","heartbeat":"YES","timestamp":"soon"}', receivedAt)).timestamp, receivedAt);
    });

    it('a metrics message without our extensions, with latencies as strings and extra fields', () => {
      const m = ok(parseMetrics('{"node_id":"x","test_id":"t","report_id":"r1","metrics":{"mean_latency":"2.5","median_latency":"2","min_latency":"1","max_latency":"9"},"something_else":true}'));
      assert.equal(m.metrics!.mean_latency, 2.5);
      assert.equal(m.histogram, undefined);
      assert.equal(m.requests_sent, undefined);
    });

    it('a report without report_id is named by where it was read, the same on every reading', () => {
      const text = '{"node_id":"x","test_id":"t","metrics":{"mean_latency":2,"median_latency":2,"min_latency":1,"max_latency":3},"requests_sent":5}';
      const origin = { topic: 'metrics', partition: 0, offset: '42' };
      const first = ok(parseMetrics(text, origin));
      assert.equal(first.report_id, 'metrics/0@42');
      assert.equal(ok(parseMetrics(text, { ...origin })).report_id, first.report_id, 'a redelivery or a resumed orchestrator reads the same id');
      assert.notEqual(ok(parseMetrics(text, { ...origin, offset: '43' })).report_id, first.report_id);
    });

    it('metrics values "" or null (the spec template) as "no data", not a dropped message', () => {
      for (const empty of ['""', 'null']) {
        const m = ok(parseMetrics(`{"node_id":"x","test_id":"t","metrics":{"mean_latency":${empty},"median_latency":${empty},"min_latency":${empty},"max_latency":${empty}},"num_requests":0}`));
        assert.equal(m.metrics, null);
        assert.equal(m.requests_sent, 0);
      }
    });

    it('flat figures at the top level, and metrics sent as a JSON string', () => {
      const flat = ok(parseMetrics('{"node_id":"x","test_id":"t","mean_latency":3,"median_latency":2,"min_latency":1,"max_latency":9,"requests":40}'));
      assert.deepEqual(flat.metrics, { mean_latency: 3, median_latency: 2, min_latency: 1, max_latency: 9 });
      assert.equal(flat.requests_sent, 40);
      const text = ok(parseMetrics(JSON.stringify({ node_id: 'x', test_id: 't', metrics: JSON.stringify({ mean_latency: 3, median_latency: 2, min_latency: 1, max_latency: 9 }) })));
      assert.equal(text.metrics!.max_latency, 9);
    });

    it('request counts under the names others use', () => {
      for (const name of ['num_requests', 'requests', 'request_count', 'total_requests', 'count']) {
        assert.equal(ok(parseMetrics(`{"node_id":"x","test_id":"t","metrics":{"mean_latency":1,"median_latency":1,"min_latency":1,"max_latency":1},"${name}":"17"}`)).requests_sent, 17, name);
      }
      assert.equal(ok(parseMetrics('{"node_id":"x","test_id":"t","metrics":{"mean_latency":1,"median_latency":1,"min_latency":1,"max_latency":1,"num_requests":5}}')).requests_sent, 5, 'inside metrics too');
    });

    it('a latencies array becomes an exact histogram, one response per latency', () => {
      const m = ok(parseMetrics('{"node_id":"x","test_id":"t","metrics":{"mean_latency":"","median_latency":"","min_latency":"","max_latency":""},"latencies":[1.5,2,250]}'));
      const h = decodeHistogram(m.histogram!);
      assert.equal(h.totalCount, 3);
      assert.equal(h.maxValue >= 249_000 && h.maxValue <= 251_000, true);
      assert.equal(m.responses, 3);
    });

    it('our extensions beside metrics, and inside it from agents of earlier versions', () => {
      const old = ok(parseMetrics('{"node_id":"x","test_id":"t","metrics":{"mean_latency":1,"median_latency":1,"min_latency":1,"max_latency":4,"p99_latency":3.5,"histogram":"HISTO","uncorrected":{"mean_latency":1,"median_latency":1,"min_latency":1,"max_latency":2}}}'));
      assert.equal(old.p99_latency, 3.5);
      assert.equal(old.histogram, 'HISTO');
      assert.equal(old.uncorrected!.max_latency, 2);
      const encoded = JSON.parse(encodeMetrics({ node_id: 'x', test_id: 't', report_id: 'r', metrics: { mean_latency: 1, median_latency: 1, min_latency: 1, max_latency: 4 }, p99_latency: 3.5, histogram: 'HISTO' }));
      assert.deepEqual(Object.keys(encoded.metrics), ['mean_latency', 'median_latency', 'min_latency', 'max_latency'], 'the spec object holds its four fields only');
      assert.equal(encoded.p99_latency, 3.5);
      assert.equal(encoded.histogram, 'HISTO');
    });

    it('a warm-up in a config and in a report, round trip', () => {
      assert.equal(ok(parseTestConfig('{"test_id":"t","test_type":"AVALANCHE","message_count_per_driver":1,"warm_up_count_per_driver":40}')).warm_up_count_per_driver, 40);
      assert.equal(ok(parseTestConfig('{"test_id":"t","test_type":"AVALANCHE","message_count_per_driver":1,"warm_up_count_per_driver":0}')).warm_up_count_per_driver, undefined, '0 is none');
      const warm_up = { requests_sent: 40, responses: 39, errors: 1, done: true };
      const text = encodeMetrics({ node_id: 'x', test_id: 't', report_id: 'r', metrics: null, requests_sent: 0, warm_up });
      assert.deepEqual(ok(parseMetrics(text)).warm_up, warm_up);
    });

    it('max_streams as a whole number of at least 1, or not at all', () => {
      const streams = (value: string) => ok(parseTestConfig(`{"test_id":"t","test_type":"AVALANCHE","message_count_per_driver":1,"http2":true,"max_streams":${value}}`)).max_streams;
      assert.equal(streams('16'), 16);
      assert.equal(streams('"8"'), 8);
      assert.equal(streams('3.7'), 3);
      for (const nothing of ['0', '-2', '"many"', 'null']) assert.equal(streams(nothing), undefined, nothing);
      assert.throws(() => encodeTestConfig({ test_id: 't', test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 1, http2: true, max_streams: 2.5 }), EncodeError);
    });

    it('a trigger whose value is yes in any case', () => {
      assert.equal(ok(parseTrigger('{"test_id":"t","trigger":"yes"}')).trigger, 'YES');
    });
  });

  describe('what we skip, with the reason', () => {
    it('text that is not JSON', () => assert.match(reason(parseHeartbeat('hello')), /not JSON/));
    it('JSON that is not an object', () => assert.match(reason(parseRegister('[1,2]')), /not a JSON object/));
    it('an empty message', () => assert.match(reason(parseTrigger(null)), /empty/));
    it('a test_config of an unknown type', () => assert.match(reason(parseTestConfig('{"test_id":"t","test_type":"DRIZZLE","message_count_per_driver":1}')), /test_type/));
    it('a warm-up that is not a whole number', () => assert.match(reason(parseTestConfig('{"test_id":"t","test_type":"AVALANCHE","message_count_per_driver":1,"warm_up_count_per_driver":2.5}')), /warm_up_count_per_driver must be a whole number of at least 0/));
    it('a TSUNAMI config without a delay', () => assert.match(reason(parseTestConfig('{"test_id":"t","test_type":"TSUNAMI","message_count_per_driver":1}')), /test_message_delay/));
    it('a metrics message with no figures at all', () => assert.match(reason(parseMetrics('{"node_id":"x","test_id":"t","metrics":{"mean_latency":""}}')), /no latency figures, latencies or request count/));
    it('a message on the stop topic that does not say stop', () => assert.match(reason(parseStop('{"test_id":"t","metrics":"fast"}')), /without "stop": true/));
    it('a trigger that does not say YES', () => assert.match(reason(parseTrigger('{"test_id":"t","trigger":"MAYBE"}')), /expected "YES"/));
  });

  describe('identities: what a node_id and a node_IP may be', () => {
    const refusal = (r: { ok: boolean; reason?: string; refused?: string }) => {
      assert.equal(r.ok, false, 'expected the message to be refused');
      return r.refused;
    };

    it('our agents’ ids (HOST-N, --id) and the spec peers’ pass', () => {
      for (const id of [`${hostname()}-1`, 'ip-10-0-0-7.ec2.internal-12', 'd1', 'theirs', 'ours', 'spec-driver-1', 'load@host', 'host:7', 'a_b', 'x'.repeat(128)]) {
        assert.equal(nodeIdProblem(id), undefined, id);
        assert.equal(ok(parseHeartbeat(JSON.stringify({ node_id: id, heartbeat: 'YES', timestamp: 1 }))).node_id, id);
      }
    });

    it('a node_id that is not a short string of letters, digits and . _ : @ - is refused at intake, on every topic a driver sends on', () => {
      for (const node_id of ['x'.repeat(129), 'x'.repeat(100_000), 'a b', 'drop;table', 'é', '<script>', 7, true, { id: 'a' }, ['a']]) {
        assert.equal(refusal(parseHeartbeat(JSON.stringify({ node_id, heartbeat: 'YES', timestamp: 1 }))), 'node_id', JSON.stringify(node_id).slice(0, 20));
        assert.equal(refusal(parseRegister(JSON.stringify({ node_id, node_IP: '10.0.0.1' }))), 'node_id');
        assert.equal(refusal(parseMetrics(JSON.stringify({ node_id, test_id: 't', requests_sent: 1 }))), 'node_id');
      }
      assert.match(reason(parseHeartbeat(JSON.stringify({ node_id: 'x'.repeat(100_000), heartbeat: 'YES' }))), /^heartbeat refused: node_id "x{40}…" \(100000 characters\) breaks the rule/);
    });

    it('a node_IP that is not a string is refused, in a registration and in a heartbeat', () => {
      assert.equal(refusal(parseRegister('{"node_id":"a","node_IP":167772161}')), 'node_IP');
      assert.equal(refusal(parseRegister('{"node_id":"a","ip":{"v4":"10.0.0.1"}}')), 'node_IP');
      assert.equal(refusal(parseHeartbeat('{"node_id":"a","heartbeat":"YES","node_ip":[10,0,0,1]}')), 'node_IP');
      assert.equal(refusal(parseRegister(JSON.stringify({ node_id: 'a', node_IP: '1'.repeat(300) }))), 'node_IP');
      assert.equal(refusal(parseRegister('{"node_id":"a","node_IP":"10.0.0.1 evil"}')), 'node_IP');
      assert.equal(ok(parseRegister('{"node_id":"a","node_IP":" 10.0.0.1 "}')).node_IP, '10.0.0.1');
      assert.equal(ok(parseRegister('{"node_id":"a","node_IP":"fe80::1%eth0"}')).node_IP, 'fe80::1%eth0');
      assert.equal(ok(parseRegister('{"node_id":"a"}')).node_IP, '', 'a missing node_IP is only noted');
    });

    it('we never send an identity we would refuse', () => {
      assert.throws(() => encodeHeartbeat({ node_id: 'a b', heartbeat: 'YES', timestamp: 1 }), EncodeError);
      assert.throws(() => encodeRegister({ node_id: 'x'.repeat(129), node_IP: '10.0.0.1', message_type: 'DRIVER_NODE_REGISTER' }), EncodeError);
      assert.throws(() => encodeRegister({ node_id: 'a', node_IP: '10.0.0.1 x', message_type: 'DRIVER_NODE_REGISTER' }), EncodeError);
      assert.throws(() => encodeMetrics({ node_id: '', test_id: 't', report_id: 'r', metrics: null }), EncodeError);
    });
  });
});
