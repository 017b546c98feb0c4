// `lt-agent --metrics-port`: what this driver did, for Prometheus. Counters run over the agent's
// life (ended tests plus the running one); latency is the running (else the last) test's corrected
// histogram, labelled with its test id, so that Prometheus can pool drivers with sum by (le).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, processRegistry, Registry, registerHdrHistogram, sendMetrics } from '../common/metrics-exposition';
import type { AgentActivity } from './driver-agent';
import { ERROR_KINDS, noErrors } from './latency-recorder';

export function agentRegistry(nodeId: string, activity: () => AgentActivity): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node_id: nodeId });
  const registers = [registry];
  const total = (name: string, help: string, read: (a: AgentActivity) => number) =>
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(read(activity()));
      },
    });
  total('lt_agent_requests_sent_total', 'Requests this driver sent (or gave up on before sending), over all its tests.', (a) => a.finished.requests + (a.state === 'running' && a.test ? a.test.recorder.requestsSent : 0));
  total('lt_agent_responses_total', 'Responses this driver received, over all its tests.', (a) => a.finished.responses + (a.state === 'running' && a.test ? a.test.recorder.responses : 0));
  total('lt_agent_tests_total', 'Tests that ended on this driver.', (a) => a.finished.tests);
  total('lt_agent_heartbeats_sent_total', 'Heartbeats published to Kafka.', (a) => a.heartbeatsSent);
  total('lt_agent_heartbeats_failed_total', 'Heartbeats that could not be published.', (a) => a.heartbeatsFailed);
  total('lt_agent_rejected_commands_total', 'Commands refused (unsigned, badly signed, stale or replayed).', (a) => a.rejectedCommands);
  new Counter({
    name: 'lt_agent_errors_total',
    help: `Failed requests by kind (${ERROR_KINDS.join(', ')}), over all tests.`,
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      const a = activity();
      // Every kind from the start, at zero: a rate over a kind that never failed is 0, not "no data".
      const errors: Record<string, number> = { ...noErrors(), ...a.finished.errors };
      if (a.state === 'running' && a.test) for (const [kind, count] of Object.entries(a.test.recorder.errorsByKind())) errors[kind] = (errors[kind] ?? 0) + count;
      for (const [kind, count] of Object.entries(errors)) this.inc({ kind }, count);
    },
  });
  new Gauge({ name: 'lt_agent_running', help: '1 while a test runs on this driver.', registers, collect() { this.set(activity().state === 'running' ? 1 : 0); } });
  new Gauge({ name: 'lt_agent_requests_in_flight', help: 'Requests sent and not answered yet.', registers, collect() { this.set(activity().test?.inFlight ?? 0); } });
  registerHdrHistogram(registry, 'lt_agent_latency_seconds', 'Latency of the running (else the last) test on this driver, from each request’s due time (coordinated omission corrected), in seconds.', () => {
    const test = activity().test;
    return test ? [{ labels: { test_id: test.testId }, histogram: test.recorder.corrected }] : [];
  });
  return registry;
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves GET /metrics on HOST:PORT (0: any free port). */
export async function serveAgentMetrics(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const registries = [registry, processRegistry('lt_agent_')];
  const server: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') return void sendMetrics(res, registries);
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('GET /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
