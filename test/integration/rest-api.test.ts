// The REST API over a live orchestrator with real agents: the happy path and every bad input.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import type { Orchestrator } from '../../orchestrator/orchestrator';
import { startRestApi, type RunningRestApi } from '../../orchestrator/rest-api/rest-api';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { inSuiteScope, startAgents, startOrchestrator, startTargetProcess, stopSuiteProcesses, waitFor, type TargetProcess } from '../support/processes';

describe('REST API', function () {
  let orchestrator: Orchestrator;
  let api: RunningRestApi;
  let target: TargetProcess;

  // One set of agents serves every test of this suite.
  before(async function () {
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('rest');
    await inSuiteScope(async () => {
      target = await startTargetProcess();
      await startAgents(2, 'rest', { kafka, prefix, orchestrator: 'test-orchestrator' });
      orchestrator = await startOrchestrator(kafka, prefix);
    });
    api = await startRestApi(orchestrator, { host: '127.0.0.1', port: 0 });
    await waitFor(() => orchestrator.registry.available().length === 2, 'both drivers');
  });
  after(async () => {
    await api?.close();
    await stopSuiteProcesses();
  });

  const call = async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const response = await fetch(`${api.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': contentType },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
  };
  let firstTestId = '';
  const definition = () => ({ test_type: 'AVALANCHE', message_count_per_driver: 300, drivers: 2, target: `${target.url}/ping` });

  describe('is safe from web pages a browser visits', () => {
    const raw = async (path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) => {
      // fetch() will not set Host or Origin: node's http does.
      const url = new URL(`${api.url}${path}`);
      return new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: init.method ?? 'GET', headers: init.headers }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject);
        req.end(init.body);
      });
    };
    const port = () => new URL(api.url).port;

    it('refuses a Host that is not this machine (a name rebound to 127.0.0.1)', async () => {
      const r = await raw('/api/drivers', { headers: { host: `attacker.example:${port()}` } });
      assert.equal(r.status, 403);
      assert.match(r.body, /is not this API's address/);
      assert.equal((await raw('/api/drivers', { headers: { host: `localhost:${port()}` } })).status, 200);
      assert.equal((await raw('/api/drivers', { headers: { host: `127.0.0.1:${Number(port()) + 1}` } })).status, 403, 'another port is another origin');
    });

    it('refuses a state-changing request from a foreign Origin, and reads from it change nothing', async () => {
      const body = JSON.stringify(definition());
      const tests = orchestrator.listTests().length;
      const post = (origin: string) => raw('/api/tests', { method: 'POST', headers: { host: `127.0.0.1:${port()}`, origin, 'content-type': 'application/json' }, body });
      const foreign = await post('https://attacker.example');
      assert.equal(foreign.status, 403);
      assert.match(foreign.body, /may not change anything/);
      assert.equal((await post('null')).status, 403, 'a sandboxed page sends Origin: null');
      assert.equal(orchestrator.listTests().length, tests, 'nothing was created');
      const own = await raw('/api/tests', { method: 'POST', headers: { host: `127.0.0.1:${port()}`, origin: `http://127.0.0.1:${port()}`, 'content-type': 'application/json' }, body: '{}' });
      assert.equal(own.status, 400, 'its own origin gets through to validation');
    });

    it('bound beyond loopback, it will not start without a token, and every request needs it', async () => {
      await assert.rejects(startRestApi(orchestrator, { host: '0.0.0.0', port: 0 }), /needs a token/);
      const open = await startRestApi(orchestrator, { host: '0.0.0.0', port: 0, token: 'a-token-of-enough-length' });
      try {
        const at = `http://127.0.0.1:${open.port}/api/drivers`;
        assert.equal((await fetch(at)).status, 401);
        assert.equal((await fetch(at, { headers: { authorization: 'Bearer wrong-token-of-enough-len' } })).status, 401);
        assert.equal((await fetch(at, { headers: { authorization: 'Bearer a-token-of-enough-length' } })).status, 200);
      } finally {
        await open.close();
      }
    });
  });

  describe('rejects bad input with a 4xx that names the problem', () => {
    it('a body that is not JSON', async () => {
      const r = await call('POST', '/api/tests', '{"test_type": ', 'application/json');
      assert.equal(r.status, 400);
      assert.match(r.body.error, /not valid JSON/);
    });
    it('a body over 1 MB (413)', async () => {
      const r = await call('POST', '/api/tests', JSON.stringify({ ...definition(), name: 'x'.repeat(3 * 1024 * 1024) }));
      assert.equal(r.status, 413);
      assert.match(r.body.error, /larger than 1 MB/);
    });
    it('a body sent as something other than JSON', async () => {
      const r = await call('POST', '/api/tests', 'test_type=AVALANCHE', 'application/x-www-form-urlencoded');
      assert.equal(r.status, 400);
      assert.match(r.body.error, /Content-Type: application\/json/);
    });
    it('a definition missing a field', async () => {
      const r = await call('POST', '/api/tests', { test_type: 'AVALANCHE', target: `${target.url}/ping` });
      assert.equal(r.status, 400);
      assert.ok(r.body.details.some((d: string) => d.startsWith('message_count_per_driver: is required')), JSON.stringify(r.body));
    });
    it('a definition with a wrong value', async () => {
      const r = await call('POST', '/api/tests/run', { ...definition(), test_type: 'FLOOD', concurrency: 0 });
      assert.equal(r.status, 400);
      assert.ok(r.body.details.some((d: string) => d.startsWith('test_type: must be one of')));
      assert.ok(r.body.details.some((d: string) => d.startsWith('concurrency: must be >= 1')));
    });
    it('a test needing more drivers than are alive', async () => {
      const r = await call('POST', '/api/tests', { ...definition(), drivers: 5 });
      assert.equal(r.status, 409);
      assert.match(r.body.error, /needs 5 drivers but 2 are available.*npx --yes --package \.\/loadtest-kafka-\d+\.\d+\.\d+\.tgz lt-agent/);
    });
    it('an unknown test, an unknown route, a bad wait', async () => {
      assert.equal((await call('GET', '/api/tests/nope')).status, 404);
      assert.equal((await call('POST', '/api/tests/nope/trigger')).status, 404);
      assert.equal((await call('GET', '/api/nothing')).status, 404);
      assert.equal((await call('POST', '/api/tests?wait_for_drivers=soon', definition())).status, 400);
    });
  });

  it('creates, triggers and reports a test, with its time series and history', async () => {
    const created = await call('POST', '/api/tests', { ...definition(), name: 'via rest' });
    assert.equal(created.status, 201);
    assert.equal(created.body.status, 'created');
    assert.deepEqual(created.body.participants.sort(), ['rest-1', 'rest-2']);
    const id = created.body.test_id;
    firstTestId = id;
    const triggered = await call('POST', `/api/tests/${id}/trigger`);
    assert.equal(triggered.status, 202);
    assert.equal((await call('POST', `/api/tests/${id}/trigger`)).status, 409, 'a second trigger is refused');
    const done = await waitFor(async () => {
      const r = await call('GET', `/api/tests/${id}`);
      return r.body.status === 'complete' && r.body;
    }, 'the test to complete');
    assert.equal(done.aggregate.requests_sent, 600);
    assert.equal(done.per_driver.length, 2);
    assert.equal(done.thresholds.passed, true);
    const series = await call('GET', `/api/tests/${id}/timeseries`);
    assert.ok(series.body.points.length >= 1);
    const list = await call('GET', '/api/tests');
    assert.ok(list.body.tests.some((t: { test_id: string; name: string }) => t.test_id === id && t.name === 'via rest'));
    const drivers = await call('GET', '/api/drivers');
    assert.deepEqual(drivers.body.drivers.map((d: { node_id: string }) => d.node_id), ['rest-1', 'rest-2']);
    const metrics = await call('GET', '/metrics');
    assert.match(metrics.body, /lt_drivers\{health="alive"\} 2/);
    assert.match(metrics.body, new RegExp(`lt_test_requests_sent\\{test_id="${id}"\\} 600`));
  });

  it('stops a running test: drivers end early and the result says stopped', async () => {
    const started = await call('POST', '/api/tests/run', { test_type: 'TSUNAMI', test_message_delay: 0.02, message_count_per_driver: 1000, drivers: 2, target: `${target.url}/ping` });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const id = started.body.test_id;
    await waitFor(async () => (await call('GET', `/api/tests/${id}`)).body.aggregate.requests_sent > 0, 'requests to flow');
    assert.equal((await call('POST', `/api/tests/${id}/stop`)).status, 202);
    const done = await waitFor(async () => {
      const r = await call('GET', `/api/tests/${id}`);
      return r.body.status === 'stopped' && r.body;
    }, 'the test to stop');
    assert.ok(done.aggregate.requests_sent < 2000, `stopped after ${done.aggregate.requests_sent} of 2000`);
    assert.ok(done.per_driver.every((d: { stopped: boolean }) => d.stopped));
    assert.equal((await call('POST', `/api/tests/${id}/stop`)).status, 409);
    // The earlier test is no longer held in memory, and is served whole from the store.
    const earlier = await call('GET', `/api/tests/${firstTestId}`);
    assert.equal(earlier.status, 200);
    assert.equal(earlier.body.status, 'complete');
    assert.equal(earlier.body.aggregate.requests_sent, 600);
    assert.equal((await call('POST', `/api/tests/${firstTestId}/trigger`)).status, 409);
  });

  it('cancels a test created but never triggered, and deletes finished tests; a running test must be stopped first', async () => {
    const created = await call('POST', '/api/tests', { ...definition(), name: 'never triggered' });
    assert.equal(created.status, 201);
    const id = created.body.test_id;
    const cancelled = await call('DELETE', `/api/tests/${id}`);
    assert.deepEqual([cancelled.status, cancelled.body], [200, { test_id: id, cancelled: true }]);
    assert.equal((await call('GET', `/api/tests/${id}`)).status, 404);
    assert.equal((await call('POST', `/api/tests/${id}/trigger`)).status, 404, 'nothing left to trigger');
    assert.ok(!(await call('GET', '/api/tests')).body.tests.some((t: { test_id: string }) => t.test_id === id));

    // The drivers are free for the next test at once, and a running test cannot be deleted.
    const started = await call('POST', '/api/tests/run', { test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 200, drivers: 2, target: `${target.url}/ping` });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const running = started.body.test_id;
    const refused = await call('DELETE', `/api/tests/${running}`);
    assert.equal(refused.status, 409);
    assert.match(refused.body.error, /is running; stop it first/);
    await waitFor(async () => (await call('GET', `/api/tests/${running}`)).body.status === 'complete', 'the test to complete');
    const deleted = await call('DELETE', `/api/tests/${running}`);
    assert.deepEqual([deleted.status, deleted.body], [200, { test_id: running, cancelled: false }]);
    assert.equal((await call('GET', `/api/tests/${running}`)).status, 404);
    assert.equal((await call('DELETE', `/api/tests/${running}`)).status, 404);
  });
});
