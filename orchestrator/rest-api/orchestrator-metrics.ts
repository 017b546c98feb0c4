// The orchestrator's own figures for Prometheus: drivers by health, the current (or last) test,
// and malformed messages skipped per topic.
import { formatPrometheus, type MetricFamily } from '../../common/prometheus-text';
import type { Orchestrator } from '../orchestrator';
import type { TestSnapshot } from '../result-model';

function latestTest(orchestrator: Orchestrator): TestSnapshot | undefined {
  const active = orchestrator.activeRun();
  if (active) return active.current();
  const last = orchestrator.listTests().find((t) => t.status !== 'created');
  return last ? orchestrator.getTest(last.test_id) : undefined;
}

export function orchestratorMetrics(orchestrator: Orchestrator): string {
  const drivers = orchestrator.drivers();
  const families: MetricFamily[] = [
    {
      name: 'lt_drivers',
      help: 'Registered drivers by health.',
      type: 'gauge',
      samples: (['alive', 'lost', 'left'] as const).map((health) => ({ labels: { health }, value: drivers.filter((d) => d.health === health).length })),
    },
    {
      name: 'lt_skipped_messages_total',
      help: 'Messages skipped because they were not JSON or not of their topic’s shape.',
      type: 'counter',
      samples: Object.entries(orchestrator.intake.skipped).map(([topic, value]) => ({ labels: { topic }, value })),
    },
    { name: 'lt_test_running', help: '1 while a test runs.', type: 'gauge', samples: [{ value: orchestrator.activeRun() ? 1 : 0 }] },
  ];
  const test = latestTest(orchestrator);
  if (test) {
    const labels = { test_id: test.test_id };
    const a = test.aggregate;
    const gauge = (name: string, help: string, value: number) => families.push({ name, help, type: 'gauge', samples: [{ labels, value }] });
    gauge('lt_test_requests_sent', 'Requests sent by all drivers in the current or last test.', a.requests_sent);
    gauge('lt_test_responses', 'Responses received by all drivers in the current or last test.', a.responses);
    gauge('lt_test_errors', 'Failed requests in the current or last test.', a.errors);
    gauge('lt_test_rate', 'Responses per second across drivers, now.', a.rate);
    if (a.latency) {
      const quantiles: [string, number | null][] = [['0.5', a.latency.median], ['0.9', a.latency.p90], ['0.95', a.latency.p95], ['0.99', a.latency.p99], ['1', a.latency.max]];
      families.push({
        name: 'lt_test_latency_ms',
        help: 'Latency across all drivers in milliseconds, by quantile.',
        type: 'gauge',
        samples: quantiles.filter(([, v]) => v !== null).map(([quantile, value]) => ({ labels: { ...labels, quantile }, value: value! })),
      });
    }
  }
  return formatPrometheus(families);
}
