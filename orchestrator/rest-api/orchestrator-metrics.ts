// The orchestrator's own figures for Prometheus: drivers by health, messages heard and skipped per
// topic, whether Kafka is heard, and the current (or last) test's totals and latency. Every value
// is read from the orchestrator when Prometheus scrapes; nothing is counted twice.
import { Counter, Gauge, Registry } from '../../common/metrics-exposition';
import type { Orchestrator } from '../orchestrator';
import type { TestSnapshot } from '../result-model';

function latestTest(orchestrator: Orchestrator): TestSnapshot | undefined {
  const active = orchestrator.activeRun();
  if (active) return active.current();
  const last = orchestrator.listTests().find((t) => t.status !== 'created');
  return last ? orchestrator.getTest(last.test_id) : undefined;
}

export function orchestratorRegistry(orchestrator: Orchestrator): Registry {
  const registry = new Registry();
  const registers = [registry];
  new Gauge({
    name: 'lt_drivers',
    help: 'Registered drivers by health.',
    labelNames: ['health'],
    registers,
    collect() {
      const drivers = orchestrator.drivers();
      for (const health of ['alive', 'lost', 'left'] as const) this.set({ health }, drivers.filter((d) => d.health === health).length);
    },
  });
  /** A counter read at scrape time from counts the orchestrator keeps by one key (a topic, a reason). */
  const countsBy = (label: string) => (name: string, help: string, read: () => Record<string, number>) =>
    new Counter({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        this.reset();
        for (const [key, value] of Object.entries(read())) this.inc({ [label]: key }, value);
      },
    });
  const perTopic = countsBy('topic');
  perTopic('lt_messages_received_total', 'Well-formed messages received from Kafka, by topic (heartbeat, register, metrics, ...).', () => orchestrator.intake.received);
  perTopic('lt_skipped_messages_total', 'Messages skipped because they were not JSON or not of their topic’s shape.', () => orchestrator.intake.skipped);
  const byReason = countsBy('reason');
  byReason('lt_refused_identities_total', 'Driver messages refused at intake because their node_id or node_IP breaks the identity rule, by field.', () => orchestrator.intake.refused);
  byReason('lt_dropped_driver_messages_total', 'Driver messages dropped because their signature did not verify (unsigned, forged, stale, replayed).', () => orchestrator.dropped);
  new Gauge({
    name: 'lt_kafka_consumer_lag_messages',
    help: 'Messages published on each topic this orchestrator reads and not read by it yet.',
    labelNames: ['topic'],
    registers,
    async collect() {
      this.reset();
      const lag = await orchestrator.consumerLag().catch(() => ({}));
      for (const [topic, value] of Object.entries(lag)) this.set({ topic }, value as number);
    },
  });
  new Gauge({ name: 'lt_kafka_reachable', help: '1 while this orchestrator hears the Kafka broker.', registers, collect() { this.set(orchestrator.observation().reachable ? 1 : 0); } });
  new Gauge({ name: 'lt_test_running', help: '1 while a test runs.', registers, collect() { this.set(orchestrator.activeRun() ? 1 : 0); } });

  const perTest = (name: string, help: string, read: (t: TestSnapshot) => number | null | undefined, extraLabels: string[] = []) =>
    new Gauge({
      name,
      help,
      labelNames: ['test_id', ...extraLabels],
      registers,
      collect() {
        this.reset();
        const test = latestTest(orchestrator);
        const value = test && read(test);
        if (test && typeof value === 'number') this.set({ test_id: test.test_id }, value);
      },
    });
  perTest('lt_test_requests_sent', 'Requests sent by all drivers in the current or last test.', (t) => t.aggregate.requests_sent);
  perTest('lt_test_responses', 'Responses received by all drivers in the current or last test.', (t) => t.aggregate.responses);
  perTest('lt_test_errors', 'Failed requests in the current or last test.', (t) => t.aggregate.errors);
  perTest('lt_test_rate', 'Responses per second across drivers, now.', (t) => t.aggregate.rate);
  new Gauge({
    name: 'lt_test_latency_ms',
    help: 'Latency across all drivers in milliseconds, by quantile (pooled from the drivers’ histograms).',
    labelNames: ['test_id', 'quantile'],
    registers,
    collect() {
      this.reset();
      const test = latestTest(orchestrator);
      const l = test?.aggregate.latency;
      if (!test || !l) return;
      const quantiles: [string, number | null][] = [['0.5', l.median], ['0.9', l.p90], ['0.95', l.p95], ['0.99', l.p99], ['1', l.max]];
      for (const [quantile, value] of quantiles) if (value !== null) this.set({ test_id: test.test_id, quantile }, value);
    },
  });
  return registry;
}
