// Prometheus feeding the orchestrator: a test's named PromQL queries are asked every second while
// it runs, kept in the result, the store and the time series, shown in the summary, and judged by
// server-side thresholds; a Prometheus that does not answer is a warning, never a failed test.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../common/free-port';
import { MetricsStore } from '../../orchestrator/metrics-store';
import type { TestResult } from '../../orchestrator/result-model';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { runBin, startAgents, startTargetProcess, tempDir, type TargetProcess } from '../support/processes';
import { prometheusFixture } from '../support/prometheus-fixture';

describe('server-side figures from Prometheus', function () {
  let kafka: string;
  let prefix: string;
  let target: TargetProcess;
  let suite: string;
  let prometheusUrl: string;

  beforeEach(async () => {
    kafka = await kafkaBootstrap();
    prefix = uniquePrefix('server');
    suite = prefix.replace(/\W/g, '');
    const prometheus = await prometheusFixture();
    prometheusUrl = prometheus.url;
    target = await startTargetProcess(['--latency', '5']);
    prometheus.setTargets('lt-target', suite, [new URL(target.url).host], { suite });
    await startAgents(2, 'srv', { kafka, prefix, orchestrator: 'server-cli' });
  });

  const run = async (definition: object) => {
    const dir = tempDir('server');
    const file = join(dir, 'server.loadtest.json');
    writeFileSync(file, JSON.stringify(definition));
    const store = join(dir, 'store');
    const json = join(dir, 'result.json');
    const r = await runBin('lt-orchestrator', ['run', file, '--kafka', kafka, '--topic-prefix', prefix, '--id', 'server-cli', '--store', store, '--json', json, '--quiet']);
    return { ...r, result: JSON.parse(readFileSync(json, 'utf8')) as TestResult, store: new MetricsStore(store) };
  };

  const definition = (url: string, server: object) => ({
    test_type: 'TSUNAMI',
    test_message_delay: 0.01,
    message_count_per_driver: 400,
    target: `${target.url}/ping`,
    drivers: 2,
    prometheus: {
      url,
      queries: {
        received: `sum(lt_target_requests_received_total{suite="${suite}"})`,
        server_rps: `sum(rate(lt_target_requests_received_total{suite="${suite}"}[3s]))`,
        server_p99_ms: `1000 * histogram_quantile(0.99, sum by (le) (rate(lt_target_response_seconds_bucket{suite="${suite}"}[3s])))`,
      },
    },
    thresholds: { error_rate: 0.01, server },
  });

  it('keeps each query’s series in the result, the store and the time series, shows it in the summary, and passes server thresholds that hold', async () => {
    const r = await run(definition(prometheusUrl, { server_p99_ms: { max: 2000 }, received: { max: 1_000_000 } }));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const server = r.result.server!;
    assert.equal(server.url, prometheusUrl);
    const byName = Object.fromEntries(server.queries.map((q) => [q.name, q]));
    assert.ok(byName.received.samples >= 2, `${byName.received.samples} samples of received`);
    assert.ok(byName.received.max! <= 800 && byName.received.max! > 0, `the target counted up to ${byName.received.max}`);
    assert.ok(byName.server_rps.max! > 50, `server rate peaked at ${byName.server_rps.max}/s`);
    assert.ok(byName.server_p99_ms.max! >= 5, `the 5 ms server’s p99 is at least 5 ms: ${byName.server_p99_ms.max}`);
    assert.match(r.stdout, /Server side, from Prometheus at http:\/\/127\.0\.0\.1:\d+, every second during the test:/);
    assert.match(r.stdout, /^server_p99_ms\s+\d+/m);
    assert.match(r.stdout, /PASS\s+server server_p99_ms \(highest sample\) [\d.]+ <= 2000/);
    assert.match(r.stdout, /Result: PASSED: 800 of 800 requests, error rate 0% within its limit of 1%, 2 other thresholds met/);
    const stored = r.store.loadResult(r.result.test_id)!;
    assert.deepEqual(stored.server, r.result.server);
    const points = r.store.loadTimeSeries(r.result.test_id);
    assert.ok(points.some((p) => typeof p.server?.received === 'number'), 'the time series carries the server values');
  });

  it('fails a test whose server-side limit is exceeded, naming the query and its value', async () => {
    const r = await run(definition(prometheusUrl, { server_p99_ms: { max: 1 } }));
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.result.verdict.reason, /^FAILED: server server_p99_ms \(highest sample\) [\d.]+ <= 1$/);
    assert.match(r.stdout, /FAIL\s+server server_p99_ms/);
  });

  it('a Prometheus that does not answer is a warning, and a server limit without samples fails the test unless it is optional', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const failed = await run(definition(nobody, { server_p99_ms: { max: 1 } }));
    assert.equal(failed.code, 1, failed.stdout + failed.stderr);
    assert.ok(failed.result.warnings.some((w) => w.startsWith(`prometheus: no answer from ${nobody} (ECONNREFUSED): server-side figures are missing for`)), failed.result.warnings.join('\n'));
    assert.match(failed.stdout, /FAIL\s+server server_p99_ms \(highest sample\) no sample from Prometheus \(see the warnings\) <= 1 \(mark the limit "optional": true/);
    assert.match(failed.result.verdict.reason, /^FAILED: server server_p99_ms \(highest sample\) no sample from Prometheus/);

    const optional = await run(definition(nobody, { server_p99_ms: { max: 1, optional: true } }));
    assert.equal(optional.code, 0, optional.stdout + optional.stderr);
    assert.match(optional.stdout, /SKIP\s+server server_p99_ms \(highest sample\) not judged \(optional\): no sample from Prometheus/);
    assert.match(optional.result.verdict.reason, new RegExp(`^PASSED: 800 of 800 requests, error rate 0% within its limit of 1%, 1 optional not judged \\(no data from Prometheus\\); \\d+ warnings?: (.*; )?prometheus: no answer from ${nobody} \\(ECONNREFUSED\\)`));
  });

  it('a query with an empty answer (a misspelt metric) is a warning naming it, and its limit fails the test', async () => {
    const d = definition(prometheusUrl, { misspelt: { max: 1000 } });
    (d.prometheus.queries as Record<string, string>).misspelt = `sum(lt_target_requests_recieved_total{suite="${suite}"})`;
    const r = await run(d);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.ok(r.result.warnings.some((w) => /^misspelt: the query `sum\(lt_target_requests_recieved_total.*` gave an empty result in all \d+ answers; check its metric name and labels/.test(w)), r.result.warnings.join('\n'));
    assert.match(r.result.verdict.reason, /^FAILED: server misspelt \(highest sample\) no sample from Prometheus/);
  });

  it('a query Prometheus refuses is named in the warnings', async () => {
    const d = definition(prometheusUrl, {});
    (d.prometheus.queries as Record<string, string>).broken = 'sum(rate(';
    const r = await run(d);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(r.result.warnings.some((w) => /^broken: Prometheus refused the query: bad_data: .*parse error/.test(w)), r.result.warnings.join('\n'));
  });
});
