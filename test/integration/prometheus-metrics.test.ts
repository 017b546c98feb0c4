// Every component's /metrics in Prometheus' format, scraped by a real Prometheus: the agents', the
// target's and the orchestrator's counts of one test agree with each other and with the result.
import assert from 'node:assert/strict';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { startAgent, startOrchestrator, startTargetProcess, waitFor } from '../support/processes';
import { prometheusFixture, queryValue } from '../support/prometheus-fixture';
import { startRestApi } from '../../orchestrator/rest-api/rest-api';

const hostPort = (url: string) => new URL(url).host;

describe('metrics for Prometheus', function () {
  it('agents, target and orchestrator expose a test’s counts and latency histograms, and a real Prometheus scrapes the same figures', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('prom');
    const prometheus = await prometheusFixture();
    const target = await startTargetProcess(['--latency', '2']);
    const agents = await Promise.all(['prom-1', 'prom-2'].map((id) => startAgent(id, { kafka, prefix, extraArgs: ['--metrics-port', '0'] })));
    const agentUrls = agents.map((a) => /metrics for Prometheus at (\S+)/.exec(a.output())![1]);
    const orchestrator = await startOrchestrator(kafka, prefix);
    const api = await startRestApi(orchestrator, { host: '127.0.0.1', port: 0 });
    const job = prefix.replace(/\W/g, '');
    prometheus.setTargets('lt-agent', job, agentUrls.map(hostPort), { suite: job });
    prometheus.setTargets('lt-target', job, [hostPort(target.url)], { suite: job });
    prometheus.setTargets('lt-orchestrator', job, [hostPort(api.url)], { suite: job });
    try {
      const run = await orchestrator.startTest({ test_type: 'AVALANCHE', message_count_per_driver: 400, concurrency: 4, target: `${target.url}/ping`, drivers: 2 }, { waitForDriversMs: 30_000 });
      const result = await orchestrator.waitForEnd(run.testId);
      assert.equal(result.aggregate.requests_sent, 800);

      // Each agent's own endpoint.
      for (const [i, url] of agentUrls.entries()) {
        const text = await (await fetch(url)).text();
        const id = `prom-${i + 1}`;
        assert.match(text, new RegExp(`^lt_agent_requests_sent_total\\{node_id="${id}"\\} 400$`, 'm'));
        assert.match(text, new RegExp(`^lt_agent_latency_seconds_count\\{test_id="${run.testId}",node_id="${id}"\\} 400$`, 'm'));
        assert.match(text, new RegExp(`^lt_agent_latency_seconds_bucket\\{test_id="${run.testId}",le="\\+Inf",node_id="${id}"\\} 400$`, 'm'));
        assert.match(text, /^lt_agent_heartbeats_sent_total\{node_id="[^"]+"\} [1-9]\d*$/m);
        assert.match(text, /^lt_agent_process_cpu_seconds_total \d/m, 'the process figures too');
      }
      // The target's, in Prometheus text.
      const targetText = await (await fetch(`${target.url}/metrics`)).text();
      assert.match(targetText, /^lt_target_requests_received_total 800$/m);
      assert.match(targetText, /^lt_target_responses_sent_total\{code="200"\} 800$/m);
      assert.match(targetText, /^lt_target_response_seconds_count 800$/m);
      assert.match(targetText, /^lt_target_response_seconds_bucket\{le="0\.001"\} 0$/m, 'a 2 ms server answers nothing within 1 ms');

      // The same figures through Prometheus' query API, once it has scraped them.
      const sel = `{suite="${job}"}`;
      const agree = async (promql: string, expected: number) =>
        waitFor(async () => (await queryValue(prometheus.url, promql)) === expected, `${promql} = ${expected} in Prometheus`, 30_000);
      await agree(`sum(lt_agent_requests_sent_total${sel})`, 800);
      await agree(`sum(lt_agent_latency_seconds_count${sel})`, 800);
      await agree(`lt_target_requests_received_total${sel}`, 800);
      await agree(`lt_test_requests_sent{suite="${job}",test_id="${run.testId}"}`, 800);
      await agree(`sum(lt_messages_received_total{suite="${job}",topic="heartbeat"}) > bool 0`, 1);
      // The orchestrator keeps up with its topics: what it has not read yet is a handful at most.
      const orchestratorText = await (await fetch(`${api.url}/metrics`)).text();
      const lag = Number(/^lt_kafka_consumer_lag_messages\{topic="metrics"\} (\d+)$/m.exec(orchestratorText)?.[1]);
      assert.ok(lag >= 0 && lag <= 5, `consumer lag on metrics: ${lag}`);
      // Pooled percentile from the agents' buckets: the server adds 2 ms, so p50 lies between 2 and 25 ms.
      const p50 = await queryValue(prometheus.url, `histogram_quantile(0.5, sum by (le) (lt_agent_latency_seconds_bucket${sel}))`);
      assert.ok(p50 !== undefined && p50 >= 0.002 && p50 <= 0.025, `pooled p50 ${p50} s`);
    } finally {
      for (const name of ['lt-agent', 'lt-target', 'lt-orchestrator'] as const) prometheus.removeTargets(name, job);
      await api.close();
    }
  });
});
