// HTTPS targets, as real ones are: nginx with TLS offering HTTP/2 and HTTP/1.1, a certificate from
// a private authority that agents trust with --target-ca, and a self-signed one for tls_insecure.
// nginx logs each request's protocol, so the test knows which version carried the load.
import assert from 'node:assert/strict';
import { summaryTable } from '../../orchestrator/cli/test-report-format';
import type { LoadTestDefinition } from '../../orchestrator/loadtest-definition';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { startAgents, startNginxProcess, startOrchestrator } from '../support/processes';

describe('https targets', function () {
  it('HTTP/1.1 and HTTP/2 over TLS, trusting a private authority; untrusted certificates fail as tls errors unless the test accepts any', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('https');
    const nginx = await startNginxProcess({ tls: true });
    const https = nginx.https!;
    await startAgents(2, 'tls', { kafka, prefix, extraArgs: ['--target-ca', https.caFile] });
    const orchestrator = await startOrchestrator(kafka, prefix);
    const run = async (definition: Partial<LoadTestDefinition>) => {
      const started = await orchestrator.startTest({ test_type: 'AVALANCHE', message_count_per_driver: 300, concurrency: 4, drivers: 2, target: `${https.url}/ping`, ...definition } as LoadTestDefinition, { waitForDriversMs: 30_000 });
      return orchestrator.waitForEnd(started.testId);
    };

    const h1 = await run({});
    assert.equal(h1.verdict.passed, true, h1.verdict.reason);
    assert.equal(h1.aggregate.responses, 600);
    assert.deepEqual(https.protocols(), { 'HTTP/1.1': 600 }, 'without http2 the agents speak HTTP/1.1 over TLS');

    const h2 = await run({ http2: true });
    assert.equal(h2.verdict.passed, true, h2.verdict.reason);
    assert.deepEqual(https.protocols(), { 'HTTP/1.1': 600, 'HTTP/2.0': 600 }, 'with http2 every request went over HTTP/2');
    assert.deepEqual(h2.per_driver.map((d) => d.http_engine), ['node-http2', 'node-http2'], 'HTTP/2 goes to the driver’s HTTP/2 engine');
    assert.match(summaryTable(h2), /^HTTP engine: HTTP\/2 on Node's http2 \(every driver\)$/m);
    const h2OnUndici = await run({ http2: true, http_engine: 'undici' });
    assert.equal(h2OnUndici.verdict.passed, true, h2OnUndici.verdict.reason);
    assert.deepEqual(h2OnUndici.per_driver.map((d) => d.http_engine), ['undici', 'undici'], 'a test may name undici for HTTP/2');
    assert.deepEqual(https.protocols(), { 'HTTP/1.1': 600, 'HTTP/2.0': 1200 }, 'undici spoke HTTP/2 too');

    // Streams: 8 requests in flight per driver, 4 on each connection, so 2 connections per driver where one stream each takes 8.
    const connectionsOf = async (definition: Partial<LoadTestDefinition>) => {
      const before = await nginx.acceptedConnections();
      const result = await run({ http2: true, concurrency: 8, ...definition });
      assert.equal(result.verdict.passed, true, result.verdict.reason);
      assert.equal(result.aggregate.responses, 600);
      // less the connection of the first status read
      return (await nginx.acceptedConnections()) - before - 1;
    };
    assert.equal(await connectionsOf({ max_streams: 4 }), 2 * 2);
    assert.equal(await connectionsOf({ max_streams: 1 }), 2 * 8);
    assert.deepEqual(https.protocols(), { 'HTTP/1.1': 600, 'HTTP/2.0': 2400 });

    // Agents that do not trust the authority: every request fails, named as a TLS error.
    const otherPrefix = uniquePrefix('https-untrusted');
    await startAgents(1, 'untrusting', { kafka, prefix: otherPrefix });
    const strangers = await startOrchestrator(kafka, otherPrefix);
    const untrusted = await strangers.waitForEnd((await strangers.startTest({ test_type: 'AVALANCHE', message_count_per_driver: 50, concurrency: 2, drivers: 1, target: `${https.url}/ping` }, { waitForDriversMs: 30_000 })).testId);
    assert.equal(untrusted.verdict.passed, false);
    assert.deepEqual(untrusted.aggregate.error_kinds, { tls: 50 });
    assert.match(untrusted.verdict.reason, /every one of 50 requests failed/);
    const insecure = await strangers.waitForEnd((await strangers.startTest({ test_type: 'AVALANCHE', message_count_per_driver: 50, concurrency: 2, drivers: 1, target: `${https.url}/ping`, tls_insecure: true }, { waitForDriversMs: 30_000 })).testId);
    assert.equal(insecure.verdict.passed, true, insecure.verdict.reason);
  });
});
