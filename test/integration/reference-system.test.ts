// The reference system under test on real processes: PostgreSQL writer and streaming reader,
// three app instances behind HAProxy, Prometheus scraping them, loaded by real agents.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import type { TestResult } from '../../orchestrator/result-model';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { isAlive } from '../../common/background-process';
import { freePort } from '../../common/free-port';
import { startReferenceSystem, stopReferenceSystem, type RunningSystem, type SystemPorts } from '../../system-under-test/reference-system';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { ROOT, runBin, startAgent, startAgents, startOrchestrator, startTargetProcess, tempDir, waitFor } from '../support/processes';
import { startPrometheus } from '../../monitoring/prometheus-server';
import { startRestApi } from '../../orchestrator/rest-api/rest-api';
import { queryValue } from '../support/prometheus-fixture';
import { LoadGenerator } from '../../agents/load-generator';
import type { EngineName } from '../../agents/http-engine/http-connection';

async function counterOf(url: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(url)).text();
  return text.split('\n').filter((l) => pattern.test(l)).reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe('the reference system under test', function () {
  let stateDir: string;
  let ports: SystemPorts;
  let system: RunningSystem;

  before(async function () {
    this.timeout(180_000);
    stateDir = tempDir('sut');
    chmodSync(stateDir, 0o755); // the postgres user must reach its folders below it
    const port = () => freePort();
    ports = { proxy: await port(), proxyStats: await port(), apps: [await port(), await port(), await port()], writer: await port(), readers: [await port()], prometheus: await port() };
    system = await startReferenceSystem({ stateDir, ports });
  });

  after(async function () {
    this.timeout(120_000);
    await stopReferenceSystem(stateDir);
  });

  /** `lt-orchestrator run FILE` with its JSON and CSV outputs, as CI would run it; asserts it exits 0. */
  const runFromCli = async (file: string, kafka: string, prefix: string, id: string) => {
    const dir = dirname(file);
    const [json, csv] = [join(dir, 'result.json'), join(dir, 'result.csv')];
    const r = await runBin('lt-orchestrator', ['run', file, '--kafka', kafka, '--topic-prefix', prefix, '--id', id, '--store', join(dir, 'store'), '--json', json, '--csv', csv, '--quiet']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return { stdout: r.stdout, result: JSON.parse(readFileSync(json, 'utf8')) as TestResult, csv: readFileSync(csv, 'utf8') };
  };

  /** A counter of the apps' /metrics summed over every instance (lines matching `pattern`). */
  const appsCount = (pattern: RegExp) => Promise.all(system.apps.map((a) => counterOf(`${a.url}/metrics`, pattern))).then((n) => n.reduce((x, y) => x + y, 0));

  it('a write through the proxy is visible on the streaming reader, and read back through the proxy', async () => {
    const created = await fetch(`${system.proxyUrl}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'written in a test', payload: { n: 42 } }) });
    assert.equal(created.status, 201);
    const { id } = (await created.json()) as { id: number };
    const password = readFileSync(join(stateDir, 'postgres', 'app-password'), 'utf8').trim();
    const reader = new pg.Client({ ...system.readers[0], user: 'sut', password, database: 'sut' });
    await reader.connect();
    try {
      const row = await waitFor(async () => (await reader.query('SELECT name FROM items WHERE id = $1', [id])).rows[0], 'the row on the reader', 10_000);
      assert.equal(row.name, 'written in a test');
      assert.equal((await reader.query('SELECT pg_is_in_recovery() AS standby')).rows[0].standby, true, 'the reader is a standby');
    } finally {
      await reader.end();
    }
    const read = await fetch(`${system.proxyUrl}/items/${id}`);
    assert.equal(read.status, 200);
    const item = (await read.json()) as { id: number; name: string; payload: unknown; created_at: string };
    assert.deepEqual({ id: item.id, name: item.name, payload: item.payload }, { id, name: 'written in a test', payload: { n: 42 } });
    assert.ok(!Number.isNaN(Date.parse(item.created_at)));
    assert.equal((await fetch(`${system.proxyUrl}/items`, { method: 'POST', body: '{"nam": "x"}' })).status, 400, 'a bad body is refused, naming the field');
  });

  it('real agents load it through the proxy: each instance serves its share, and Prometheus sees the same counts', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('sut');
    await startAgents(2, 'sut', { kafka, prefix });
    const orchestrator = await startOrchestrator(kafka, prefix);
    const before = await Promise.all(system.apps.map((a) => counterOf(`${a.url}/metrics`, /^sut_http_requests_total\{route="\/items\/\{id\}",method="GET",code="200"/)));
    const run = await orchestrator.startTest({ test_type: 'AVALANCHE', message_count_per_driver: 600, concurrency: 6, target: `${system.proxyUrl}/items/7`, drivers: 2 }, { waitForDriversMs: 30_000 });
    const result = await orchestrator.waitForEnd(run.testId);
    assert.equal(result.aggregate.responses, 1200);
    assert.equal(result.aggregate.errors, 0);
    const after = await Promise.all(system.apps.map((a) => counterOf(`${a.url}/metrics`, /^sut_http_requests_total\{route="\/items\/\{id\}",method="GET",code="200"/)));
    const served = after.map((n, i) => n - before[i]);
    assert.equal(served.reduce((a, b) => a + b, 0), 1200, `the instances served ${served.join(' + ')}`);
    for (const [i, n] of served.entries()) assert.ok(n >= 300, `${system.apps[i].name} served ${n} of 1200 (round robin: about 400 each)`);

    const url = system.prometheusUrl!;
    const total = after.reduce((a, b) => a + b, 0);
    await waitFor(async () => (await queryValue(url, 'sum(sut_http_requests_total{route="/items/{id}",code="200"})')) === total, `Prometheus to count ${total} item reads`, 30_000);
    await waitFor(async () => ((await queryValue(url, 'sum(haproxy_backend_http_responses_total{proxy="apps",code="2xx"})')) ?? 0) >= 1200, 'HAProxy’s own count in Prometheus', 30_000);
    assert.equal(await queryValue(url, 'count(sut_replication_lag_seconds{reader="reader-1"})'), 3, 'every app exports the reader’s replication lag');
  });

  it('both HTTP engines through HAProxy to the apps: reads, writes, 404s and bad bodies, counted alike', async () => {
    const requests = [
      { url: `${system.proxyUrl}/items/7`, method: 'GET', status: '200' },
      { url: `${system.proxyUrl}/items/999999999`, method: 'GET', status: '404' },
      { url: `${system.proxyUrl}/items`, method: 'POST', body: '{"name": "from both engines"}', status: '201' },
      { url: `${system.proxyUrl}/items`, method: 'POST', body: '{"nam": "x"}', status: '400' },
    ];
    for (const r of requests) {
      const seen = [];
      for (const engine of ['lean-http1', 'undici'] as EngineName[]) {
        const generator = new LoadGenerator({ url: new URL(r.url), method: r.method, headers: r.body ? { 'content-type': 'application/json' } : {}, body: r.body, timeoutMs: 10_000, count: 150, intervalMs: 0, open: false, maxInFlight: 6, engine });
        await generator.start();
        const { requests_sent, responses, status_codes } = generator.recorder.snapshot();
        seen.push({ requests_sent, responses, status_codes });
      }
      assert.deepEqual(seen[0], { requests_sent: 150, responses: 150, status_codes: { [r.status]: 150 } }, `${r.method} ${r.url}: lean`);
      assert.deepEqual(seen[1], seen[0], `${r.method} ${r.url}: undici`);
    }
  });

  it('a mix of reads and writes loads the reader and the writer in their shares, with figures per request that add up to the totals', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('mix');
    await startAgents(2, 'mix', { kafka, prefix, orchestrator: 'mix-cli' });
    const queries = () => Promise.all(['reader', 'writer'].map((role) => appsCount(new RegExp(`^sut_db_queries_total\\{role="${role}",outcome="ok"`))));
    const [readsBefore, writesBefore] = await queries();
    const dir = tempDir('mix');
    const file = join(dir, 'mix.loadtest.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'reads and writes',
        test_type: 'TSUNAMI',
        test_message_delay: 0.004,
        message_count_per_driver: 500,
        drivers: 2,
        requests: [
          { name: 'read_item', weight: 80, url: `${system.proxyUrl}/items/{random:1:1000}` },
          { name: 'create_item', weight: 20, url: `${system.proxyUrl}/items`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "item {seq} from {driver}"}' },
        ],
        thresholds: { error_rate: 0 },
      }),
    );
    const { stdout, result, csv } = await runFromCli(file, kafka, prefix, 'mix-cli');
    const [read, create] = result.per_request!;
    assert.deepEqual([read.name, read.requests_sent, read.errors, create.name, create.requests_sent, create.errors], ['read_item', 800, 0, 'create_item', 200, 0]);
    assert.equal(read.responses + create.responses, result.aggregate.responses, 'the names add up to the total');
    assert.equal(read.latency!.count! + create.latency!.count!, result.aggregate.latency!.count);
    assert.match(stdout, /^read_item\s+80%\s+800\s+800\s+0\s/m);
    assert.match(stdout, /^create_item\s+20%\s+200\s+200\s+0\s/m);
    assert.match(csv, /,\(request create_item\),complete,200,200,0,0,/);
    const [readsAfter, writesAfter] = await queries();
    assert.equal(readsAfter - readsBefore, 800, 'every read went to a reader');
    assert.equal(writesAfter - writesBefore, 200, 'every write went to the writer');
  });

  it('a scenario creates items and reads each back from the replica: every 404 the apps answered is a check_failed of step read, and unique data rows are each used once over 3 drivers', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('scenario');
    await startAgents(3, 'scenario', { kafka, prefix, orchestrator: 'scenario-cli' });
    const reads404 = () => appsCount(/^sut_http_requests_total\{route="\/items\/\{id\}",method="GET",code="404"/);
    const readsOk = () => appsCount(/^sut_http_requests_total\{route="\/items\/\{id\}",method="GET",code="200"/);
    const [missedBefore, readBefore] = [await reads404(), await readsOk()];
    const dir = tempDir('scenario');
    const run = `run-${Date.now()}`;
    const users = Array.from({ length: 30 }, (_, i) => `${run}-user-${i}`);
    writeFileSync(join(dir, 'users.csv'), `user,plan\n${users.map((u) => `${u},basic`).join('\n')}\n`);
    const file = join(dir, 'journey.loadtest.json');
    writeFileSync(
      file,
      JSON.stringify({
        name: 'create and read back',
        test_type: 'AVALANCHE',
        concurrency: 2,
        message_count_per_driver: 10,
        drivers: 3,
        scenario: {
          steps: [
            { name: 'create', url: `${system.proxyUrl}/items`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "{user}", "payload": {"plan": "{plan}"}}', capture: { id: '$.id' }, check: { status: 201 } },
            { name: 'read', url: `${system.proxyUrl}/items/{id}`, check: { status: 200 } },
          ],
        },
        data: { file: 'users.csv', mode: 'unique' },
        // A replica that has not replayed the write yet answers 404: counted, not judged here; every create must pass.
        thresholds: { error_rate: 1, steps: { create: { error_rate: 0 } } },
      }),
    );
    const { stdout, result, csv } = await runFromCli(file, kafka, prefix, 'scenario-cli');
    const [create, read] = result.per_request!;
    assert.deepEqual([create.name, create.requests_sent, create.errors, read.name, read.requests_sent], ['create', 30, 0, 'read', 30]);
    assert.equal(create.responses + read.responses, result.aggregate.responses, 'the steps add up to the total');
    assert.equal(create.requests_sent + read.requests_sent, result.aggregate.requests_sent);
    assert.deepEqual({ ...result.iterations, rate: undefined, duration: undefined }, { started: 30, completed: 30 - read.errors, failed: read.errors, abandoned: 0, rate: undefined, duration: undefined });
    // The server and the client agree: the apps' 404s on reads are the read step's check_failed, and nothing else is an error.
    const missed = (await reads404()) - missedBefore;
    const served = (await readsOk()) - readBefore;
    assert.equal(read.errors_by_kind?.check_failed ?? 0, missed, `the apps answered ${missed} reads 404`);
    assert.equal(read.errors, missed, 'no other error on the read step');
    assert.equal(served + missed, 30);
    assert.equal(result.status, 'complete');
    assert.deepEqual(result.thresholds.checks.filter((c) => c.name.startsWith('steps.')).map((c) => [c.text, c.passed]), [['step create: error rate 0% <= 0%', true]]);
    // unique: every row once, over the three drivers, as the database holds them.
    const password = readFileSync(join(stateDir, 'postgres', 'app-password'), 'utf8').trim();
    const writer = new pg.Client({ ...system.writer, user: 'sut', password, database: 'sut' });
    await writer.connect();
    try {
      const { rows } = await writer.query<{ name: string; plan: string }>("SELECT name, payload->>'plan' AS plan FROM items WHERE name LIKE $1", [`${run}-%`]);
      assert.deepEqual(rows.map((row) => row.name).sort(), [...users].sort(), 'each row of users.csv made one item');
      assert.ok(rows.every((row) => row.plan === 'basic'), 'the second column filled the body too');
    } finally {
      await writer.end();
    }
    assert.match(stdout, /^By step/m);
    assert.match(stdout, /^Scenario iterations: 30 started, \d+ completed/m);
    assert.match(csv, /,\(step read\),complete,30,30,/);
    assert.match(csv, /,\(iterations\),complete,30,/);
  });

  it('a .http file’s sign-in and the request that uses its token, imported and run: every account read carried a valid token', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('signin');
    await startAgents(1, 'signin', { kafka, prefix, orchestrator: 'signin-cli' });
    const dir = tempDir('signin');
    writeFileSync(
      join(dir, 'api.http'),
      [`@host = ${system.proxyUrl}`, '', '# @name signin', 'POST {{host}}/signin', 'Content-Type: application/json', '', '{"user": "ann"}', '', '###', '', '# @name account', 'GET {{host}}/account', 'Authorization: Bearer {{signin.response.body.$.token}}', ''].join('\n'),
    );
    const file = join(dir, 'account.loadtest.json');
    const imported = await runBin('lt-orchestrator', ['import-http', join(dir, 'api.http'), '--request', 'account', '--out', file]);
    assert.equal(imported.code, 0, imported.stdout + imported.stderr);
    const account = () => Promise.all(['200', '401'].map((code) => appsCount(new RegExp(`^sut_http_requests_total\\{route="/account",method="GET",code="${code}"`))));
    const [okBefore, refusedBefore] = await account();
    const { result } = await runFromCli(file, kafka, prefix, 'signin-cli');
    const [signin, read] = result.per_request!;
    assert.deepEqual([signin.name, read.name, signin.errors, read.errors], ['signin', 'account', 0, 0]);
    assert.equal(result.iterations!.started, 100, '10 iterations a second for 10 s, the imported load');
    assert.equal(read.responses, result.iterations!.completed);
    const [okAfter, refusedAfter] = await account();
    assert.equal(okAfter - okBefore, read.responses, 'the apps answered every account read with the token accepted');
    assert.equal(refusedAfter - refusedBefore, 0, 'and refused none');
    // Without the captured token the same request is refused: the token is what let it through.
    assert.equal((await fetch(`${system.proxyUrl}/account`)).status, 401);
  });

  it('the writer killed mid-test: creates fail as check_failed of step create, the server agrees, and the test fails saying so', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('writer');
    await startAgents(2, 'writer', { kafka, prefix });
    const orchestrator = await startOrchestrator(kafka, prefix);
    const created = (code: string) => appsCount(new RegExp(`^sut_http_requests_total\\{route="/items",method="POST",code="${code}"`));
    const [okBefore, failedBefore] = [await created('201'), await created('503')];
    const run = await orchestrator.startTest(
      {
        test_type: 'TSUNAMI',
        stages: [{ duration_s: 8, target_rate: 40 }],
        drivers: 2,
        scenario: {
          steps: [
            { name: 'create', url: `${system.proxyUrl}/items`, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name": "before and after {seq}"}', capture: { id: '$.id' }, check: { status: 201 }, timeout_ms: 2000 },
            { name: 'read', url: `${system.proxyUrl}/items/{id}`, check: { status: [200, 404] } },
          ],
        },
      },
      { waitForDriversMs: 30_000 },
    );
    const writerPid = Number(readFileSync(join(stateDir, 'postgres', 'writer.pid'), 'utf8').trim());
    try {
      await waitFor(() => ((orchestrator.getTest(run.testId) as TestResult | undefined)?.iterations?.completed ?? 0) >= 60, 'iterations before the kill', 30_000);
      process.kill(writerPid, 'SIGQUIT'); // an immediate shutdown, as a crash: no checkpoint, clients cut off
      await waitFor(() => !isAlive(writerPid), 'the writer to be gone', 30_000);
      const result = await orchestrator.waitForEnd(run.testId);
      const [create, read] = result.per_request!;
      const failedOnServer = (await created('503')) - failedBefore;
      const okOnServer = (await created('201')) - okBefore;
      assert.ok(failedOnServer > 0, 'the apps answered some creates 503 once the writer was gone');
      assert.equal(create.errors_by_kind?.check_failed ?? 0, failedOnServer, `the create step's check_failed are the apps' 503s (${failedOnServer})`);
      assert.equal(create.responses - (create.errors_by_kind?.check_failed ?? 0), okOnServer, 'and its passes the 201s');
      assert.equal(read.errors, 0, 'the reads of items that were created went on: the reader still serves');
      assert.equal(read.requests_sent, okOnServer, 'a failed create stopped its iteration before the read');
      assert.equal(result.iterations!.failed, create.errors);
      assert.equal(result.verdict.passed, false);
      assert.match(result.verdict.reason, /error rate/);
    } finally {
      await startReferenceSystem({ stateDir, ports }); // the writer back, for the tests after this one
    }
  });

  it('every panel of the Grafana dashboard has data in the system’s Prometheus after a test', async () => {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('grafana');
    const agents = await Promise.all(['graf-1', 'graf-2'].map((id) => startAgent(id, { kafka, prefix, extraArgs: ['--metrics-port', '0'] })));
    const orchestrator = await startOrchestrator(kafka, prefix);
    const api = await startRestApi(orchestrator, { host: '127.0.0.1', port: 0 });
    const target = await startTargetProcess();
    // The system's own Prometheus: a second start finds it and hands back a way to add targets.
    const prometheus = await startPrometheus({ port: ports.prometheus!, stateDir: join(stateDir, 'prometheus') });
    const host = (url: string) => new URL(url).host;
    prometheus.setTargets('lt-agent', 'grafana-test', agents.map((a) => host(/metrics for Prometheus at (\S+)/.exec(a.output())![1])));
    prometheus.setTargets('lt-orchestrator', 'grafana-test', [host(api.url)]);
    prometheus.setTargets('lt-target', 'grafana-test', [host(target.url)]);
    try {
      const run = await orchestrator.startTest(
        {
          test_type: 'TSUNAMI',
          test_message_delay: 0.005,
          message_count_per_driver: 800,
          drivers: 2,
          requests: [
            { name: 'read', weight: 4, url: `${system.proxyUrl}/items/{random:1:1000}` },
            { name: 'write', weight: 1, url: `${system.proxyUrl}/items`, method: 'POST', body: '{"name":"g{seq}"}' },
          ],
        },
        { waitForDriversMs: 30_000 },
      );
      await orchestrator.waitForEnd(run.testId);
      const dashboard = JSON.parse(readFileSync(join(ROOT, 'monitoring', 'grafana', 'dashboards', 'loadtest.json'), 'utf8')) as { panels: { type: string; title: string; targets?: { expr: string; datasource: { uid: string } }[] }[] };
      const queries = dashboard.panels.filter((p) => p.type !== 'row').flatMap((p) => p.targets!.map((t) => ({ panel: p.title, expr: t.expr, uid: t.datasource.uid })));
      assert.ok(queries.length >= 15, `${queries.length} queries`);
      assert.ok(queries.every((q) => q.uid === 'lt-prometheus'), 'every panel reads the provisioned datasource');
      const empty: string[] = [];
      for (const q of queries) {
        const has = await waitFor(async () => (await queryValue(system.prometheusUrl!, q.expr)) !== undefined, q.expr, 20_000).catch(() => false);
        if (!has) empty.push(`${q.panel}: ${q.expr}`);
      }
      assert.deepEqual(empty, [], 'panels without data');
    } finally {
      for (const job of ['lt-agent', 'lt-orchestrator', 'lt-target'] as const) prometheus.removeTargets(job, 'grafana-test');
      await api.close();
    }
  });

  it('a second start finds it running, and stop leaves nothing running', async () => {
    const again = await startReferenceSystem({ stateDir, ports });
    assert.equal(again.alreadyRunning, true);
    assert.equal(again.proxyUrl, system.proxyUrl);
    const pids = ['haproxy.pid', 'apps/app-1.pid', 'apps/app-2.pid', 'apps/app-3.pid', 'prometheus/prometheus.pid', 'postgres/writer.pid', 'postgres/reader-1.pid'].map((f) => Number(readFileSync(join(stateDir, f), 'utf8')));
    assert.ok(pids.every(isAlive));
    const stopped = await stopReferenceSystem(stateDir);
    assert.deepEqual(stopped, ['HAProxy', 'app-1', 'app-2', 'app-3', 'Prometheus', 'PostgreSQL reader-1', 'PostgreSQL writer']);
    assert.deepEqual(pids.filter(isAlive), [], 'no process of the system is left');
    assert.deepEqual(await stopReferenceSystem(stateDir), [], 'a second stop finds nothing');
  });
});
