// Both HTTP engines (agents/http-engine/) against real servers: nginx (plain and TLS), lt-target,
// and, through real agents, which engine each test used as its result says. The scripted-server
// conformance suite (test/unit/http-engine-conformance.test.ts) covers the responses real servers
// do not send; here the servers are the ones people load.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { LoadGenerator } from '../../agents/load-generator';
import type { RequestPlan } from '../../agents/request-plan';
import type { EngineName } from '../../agents/http-engine/http-connection';
import { summaryTable } from '../../orchestrator/cli/test-report-format';
import type { LoadTestDefinition } from '../../orchestrator/loadtest-definition';
import { HAS_ECHO_MODULE } from '../../target-server/nginx-target';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { startAgents, startNginxProcess, startOrchestrator, startTargetProcess } from '../support/processes';

const ENGINES: EngineName[] = ['lean-http1', 'undici'];

async function outcome(engine: EngineName, url: string, fields: Partial<RequestPlan>) {
  const generator = new LoadGenerator({ url: new URL(url), method: 'GET', headers: {}, timeoutMs: 10_000, count: 400, intervalMs: 0, open: false, maxInFlight: 8, engine, ...fields });
  await generator.start();
  const { requests_sent, responses, status_codes, errors } = generator.recorder.snapshot();
  return { requests_sent, responses, status_codes, errors };
}

describe('both HTTP engines against real servers', function () {
  this.timeout(180_000);

  it('nginx (plain and TLS) and lt-target: every request answered alike by both engines, statuses and errors the same', async () => {
    const nginx = await startNginxProcess({ tls: true });
    const target = await startTargetProcess();
    const https = nginx.https!;
    const tls = { http2: false, ca: [readFileSync(https.caFile, 'utf8')], insecure: false };
    const cases: { name: string; url: string; plan?: Partial<RequestPlan>; status: string }[] = [
      { name: 'nginx GET', url: `${nginx.url}/ping`, status: '200' },
      { name: 'nginx HEAD', url: `${nginx.url}/ping`, plan: { method: 'HEAD' }, status: '200' },
      { name: 'nginx POST with a body', url: `${nginx.url}/ping`, plan: { method: 'POST', body: JSON.stringify({ n: 'x'.repeat(2000) }), headers: { 'content-type': 'application/json' } }, status: '200' },
      // nginx refuses a path outside its locations with 403 or 404 (as its prefix's html folder allows): an HTML body either way.
      { name: 'nginx 4xx with an HTML body', url: `${nginx.url}/no-such-page`, status: '4xx' },
      { name: 'nginx over TLS', url: `${https.url}/ping`, plan: { tls }, status: '200' },
      { name: 'nginx over TLS, 4xx', url: `${https.url}/nothing-here`, plan: { tls }, status: '4xx' },
      { name: 'lt-target GET', url: `${target.url}/ping`, status: '200' },
      { name: 'lt-target POST sign-in', url: `${target.url}/signin`, plan: { method: 'POST', body: '{"user":"a","password":"b"}', headers: { 'content-type': 'application/json' } }, status: '200' },
      { name: 'lt-target /metrics', url: `${target.url}/metrics`, status: '200' },
    ];
    // nginx's echo module answers chunked, with a delay: a real chunked body.
    if (HAS_ECHO_MODULE) cases.push({ name: 'nginx chunked, 50 ms late', url: `${nginx.url}/delay50`, plan: { count: 100, maxInFlight: 20 }, status: '200' });
    for (const c of cases) {
      const seen = [];
      for (const engine of ENGINES) seen.push(await outcome(engine, c.url, c.plan ?? {}));
      assert.deepEqual(seen[0], seen[1], `${c.name}: lean ${JSON.stringify(seen[0])}, undici ${JSON.stringify(seen[1])}`);
      const n = c.plan?.count ?? 400;
      const [status = '', answered = 0] = Object.entries(seen[0].status_codes)[0] ?? [];
      assert.equal(Object.keys(seen[0].status_codes).length, 1, `${c.name}: ${JSON.stringify(seen[0])}`);
      assert.ok(c.status === '4xx' ? /^4\d\d$/.test(status) : status === c.status, `${c.name}: ${JSON.stringify(seen[0])}`);
      assert.equal(answered, n);
      assert.equal(seen[0].responses, n);
    }
    const counted = await target.counters();
    assert.ok(counted.responses_sent >= 1200, `lt-target answered ${counted.responses_sent}`);
  });

  it('real agents: the result says which engine each test used, and a test may name undici', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('engines');
    const target = await startTargetProcess();
    await startAgents(2, 'engine', { kafka, prefix });
    const orchestrator = await startOrchestrator(kafka, prefix);
    const run = async (definition: Partial<LoadTestDefinition>) => {
      const started = await orchestrator.startTest({ test_type: 'AVALANCHE', message_count_per_driver: 500, concurrency: 4, drivers: 2, target: `${target.url}/ping`, ...definition } as LoadTestDefinition, { waitForDriversMs: 30_000 });
      return orchestrator.waitForEnd(started.testId);
    };
    const lean = await run({});
    assert.equal(lean.aggregate.responses, 1000);
    assert.deepEqual(lean.per_driver.map((d) => d.http_engine), ['lean-http1', 'lean-http1']);
    assert.match(summaryTable(lean), /^HTTP engine: lean HTTP\/1\.1 \(every driver\)$/m);

    const named = await run({ http_engine: 'undici' });
    assert.equal(named.aggregate.responses, 1000);
    assert.deepEqual(named.per_driver.map((d) => d.http_engine), ['undici', 'undici']);
    assert.match(summaryTable(named), /^HTTP engine: undici \(every driver\)$/m);

    const journey = await run({
      target: undefined,
      message_count_per_driver: 50,
      scenario: { origin: target.url, steps: [{ name: 'ping', url: '/ping' }, { name: 'again', url: '/ping' }] },
    });
    assert.equal(journey.aggregate.responses, 200);
    assert.deepEqual(journey.per_driver.map((d) => d.http_engine), ['undici', 'undici'], 'a scenario reads responses: undici');
  });
});
