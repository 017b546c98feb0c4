// A fleet of simulated drivers for the orchestrator's scale benchmark: N drivers register,
// heartbeat every second and, once triggered, publish real-format cumulative reports (with
// HdrHistograms) every second through the real broker, as N lt-agents would, without sending any
// HTTP. One process speaks for all of them, so the orchestrator's own cost can be measured apart.
import { createLogger } from '../common/logger';
import { createLatencyHistogram, encodeHistogram } from '../protocol/latency-histogram';
import { KafkaBus } from '../protocol/kafka-bus';
import { encodeHeartbeat, encodeMetrics, encodeRegister, parseTestConfig, parseTrigger, topicNames, type TopicNames } from '../protocol/wire-protocol';

/** How many seconds a simulated test reports for (the last report is the final one). */
export const FLEET_TEST_SECONDS = 10;

export interface FleetOptions {
  kafka: string;
  prefix: string;
  drivers: number;
  /** requests each simulated driver "answers" per second */
  ratePerDriver: number;
}

export interface Fleet {
  ids: string[];
  /** bytes published per second while a test ran (reports and heartbeats) */
  bytesPerSecond(): number;
  /** heartbeat or report rounds that could not be published */
  failures(): number;
  close(): Promise<void>;
}

/** The cumulative histogram after `seconds` of a driver answering `rate` requests per second, encoded once for all drivers. */
function histogramAfter(seconds: number, rate: number): string {
  const h = createLatencyHistogram();
  // A spread of latencies from 1 to 40 ms, as a real target's would be.
  for (let i = 0; i < 40; i++) h.recordValueWithCount(1000 + i * 1000, Math.max(1, Math.round((seconds * rate) / 40)));
  return encodeHistogram(h);
}

export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const topics: TopicNames = topicNames(options.prefix);
  const bus = await KafkaBus.connect({ brokers: [options.kafka], clientId: 'bench-fleet', logger: createLogger('fleet', 'error') });
  await bus.ensureTopics(Object.values(topics));
  const ids = Array.from({ length: options.drivers }, (_, i) => `sim-${String(i + 1).padStart(4, '0')}`);
  let running: { testId: string; started: number; seconds: number } | undefined;
  const configs = new Set<string>();
  let bytes = 0;
  let measuredSince = 0;
  let measuredUntil = 0;
  let failures = 0;

  const publishAll = (topic: string, make: (id: string) => string) => {
    const messages = ids.map((id) => ({ key: id, value: make(id) }));
    if (running) for (const m of messages) bytes += m.value.length;
    return bus.publishBatch(topic, messages);
  };

  const heartbeat = () =>
    publishAll(topics.heartbeat, (id) => encodeHeartbeat({ node_id: id, heartbeat: 'YES', timestamp: Date.now(), node_IP: '192.0.2.1', state: running ? 'running' : 'idle', test_id: running?.testId, orchestrator: 'bench' }));

  const report = (final: boolean) => {
    const test = running!;
    test.seconds++;
    const count = test.seconds * options.ratePerDriver;
    const histogram = histogramAfter(test.seconds, options.ratePerDriver);
    const metrics = { mean_latency: 20.5, median_latency: 20, min_latency: 1, max_latency: 40 };
    return publishAll(topics.metrics, (id) =>
      encodeMetrics({
        node_id: id,
        test_id: test.testId,
        report_id: `${test.testId}:${id}:${test.seconds}`,
        report_kind: 'cumulative',
        test_status: final ? 'complete' : 'running',
        metrics,
        p90_latency: 36,
        p95_latency: 38,
        p99_latency: 40,
        histogram,
        requests_sent: count,
        responses: count,
        errors: {},
        status_codes: { '200': count },
        elapsed_ms: test.seconds * 1000,
        first_send_at: test.started,
        timestamp: Date.now(),
      }),
    );
  };

  const subscription = await bus.subscribe({
    groupId: `bench-fleet-${process.pid}-${Date.now()}`,
    topics: [
      { topic: topics.test_config, from: 'now' },
      { topic: topics.trigger, from: 'now' },
    ],
    onMessage: async (m) => {
      if (m.topic === topics.test_config) {
        const parsed = parseTestConfig(m.value);
        if (parsed.ok) configs.add(parsed.message.test_id);
      } else {
        const parsed = parseTrigger(m.value);
        if (!parsed.ok || !configs.has(parsed.message.test_id) || running) return;
        running = { testId: parsed.message.test_id, started: Date.now(), seconds: 0 };
        bytes = 0;
        measuredSince = Date.now();
      }
    },
  });
  await publishAll(topics.register, (id) => encodeRegister({ node_id: id, node_IP: '192.0.2.1', message_type: 'DRIVER_NODE_REGISTER', orchestrator: 'bench' }));

  /** Reports for `seconds` seconds after a trigger, then a final one; heartbeats throughout. */
  let reportsLeft = 0;
  const tick = setInterval(() => {
    heartbeat().catch(() => failures++);
    if (!running) return;
    if (reportsLeft === 0) reportsLeft = FLEET_TEST_SECONDS;
    reportsLeft--;
    const final = reportsLeft === 0;
    report(final)
      .catch(() => failures++)
      .finally(() => {
        if (!final) return;
        measuredUntil = Date.now();
        running = undefined;
      });
  }, 1000);

  return {
    ids,
    failures: () => failures,
    bytesPerSecond: () => (measuredUntil > measuredSince ? bytes / ((measuredUntil - measuredSince) / 1000) : 0),
    close: async () => {
      clearInterval(tick);
      await subscription.close();
      await bus.close();
    },
  };
}
