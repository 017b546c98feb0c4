import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeHistogram } from '../../protocol/latency-histogram';
import { LoadGenerator } from '../../agents/load-generator';
import { planFor } from '../../agents/request-plan';
import type { Scenario, WireTestData } from '../../protocol/scenario';
import type { TestConfigMessage } from '../../protocol/wire-protocol';

/** A small items API: POST /items creates (201, {"id"}), GET /items/ID reads (404 for an id never made), /signin gives a token. */
function itemsServer(options: { missEvery?: number } = {}): { server: Server; seen: string[]; start: () => Promise<string> } {
  const items = new Map<number, string>();
  const seen: string[] = [];
  let reads = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      const user = req.url === '/signin' ? ` user=${JSON.parse(body).user}` : '';
      seen.push(`${req.method} ${req.url}${user} ${req.headers.authorization ?? ''}`.trim());
      const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(value));
      };
      if (req.method === 'POST' && req.url === '/signin') return json(200, { token: `t-${JSON.parse(body).user}` }, { 'x-session': 's-1' });
      if (req.method === 'POST' && req.url === '/items') {
        const id = items.size + 1;
        items.set(id, JSON.parse(body).name);
        return json(201, { id });
      }
      const read = /^\/items\/(\d+)$/.exec(req.url ?? '');
      if (read) {
        reads++;
        const name = items.get(Number(read[1]));
        if (!name || (options.missEvery && reads % options.missEvery === 0)) return json(404, { error: 'no item' });
        return json(200, { id: Number(read[1]), name });
      }
      json(404, { error: 'no route' });
    });
  });
  return {
    server,
    seen,
    start: () => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
  };
}

const config = (scenario: Scenario, extra: Partial<TestConfigMessage> = {}): TestConfigMessage => ({
  test_id: 't1',
  test_type: 'AVALANCHE',
  test_message_delay: 0,
  message_count_per_driver: 20,
  concurrency: 4,
  target: { url: scenario.steps[0].url, method: 'GET', timeout_ms: 5000 },
  scenario,
  ...extra,
});

describe('a scenario on the load generator (against a local server)', () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) {
      s.closeAllConnections();
      s.close();
    }
  });
  const serve = async (options?: { missEvery?: number }) => {
    const s = itemsServer(options);
    servers.push(s.server);
    return { ...s, url: await s.start() };
  };

  it('runs each iteration’s steps in order, the captured id in the next step’s URL, with figures per step and per iteration', async () => {
    const { url, seen } = await serve();
    const scenario: Scenario = {
      steps: [
        { name: 'create', url: `${url}/items`, method: 'POST', body: '{"name": "item {seq}"}', capture: { id: '$.id' }, check: { status: 201 } },
        { name: 'read', url: `${url}/items/{id}`, check: { status: 200 } },
      ],
    };
    const generator = new LoadGenerator(planFor(config(scenario), url, {}, 'd1'));
    await generator.start();
    const s = generator.recorder.snapshot();
    assert.equal(s.requests_sent, 40, 'two requests per iteration');
    assert.deepEqual(s.errors, {});
    assert.deepEqual(
      Object.entries(s.per_request!).map(([name, c]) => [name, c.requests_sent, c.responses, c.errors]),
      [
        ['create', 20, 20, 0],
        ['read', 20, 20, 0],
      ],
    );
    assert.deepEqual({ ...s.iterations, histogram: undefined }, { started: 20, completed: 20, failed: 0, abandoned: 0, histogram: undefined });
    assert.equal(decodeHistogram(s.iterations!.histogram!).totalCount, 20, 'every iteration’s duration');
    const reads = seen.filter((l) => l.startsWith('GET /items/')).map((l) => Number(l.split('/')[2]));
    assert.deepEqual(
      reads.sort((a, b) => a - b),
      Array.from({ length: 20 }, (_, i) => i + 1),
      'each read asked for the id its own create returned',
    );
  });

  it('a check that fails is check_failed under its step, not http_4xx; the iteration stops or goes on as the step says', async () => {
    const { url, seen } = await serve({ missEvery: 3 });
    const scenario: Scenario = {
      steps: [
        { name: 'create', url: `${url}/items`, method: 'POST', body: '{"name": "n"}', capture: { id: '$.id' }, check: { status: 201 } },
        { name: 'read', url: `${url}/items/{id}`, check: { status: 200 } },
        { name: 'again', url: `${url}/items/{id}`, check: { json: { '$.name': 'n' } } },
      ],
    };
    const generator = new LoadGenerator(planFor(config(scenario, { concurrency: 1 }), url, {}, 'd1'));
    await generator.start();
    const s = generator.recorder.snapshot();
    // Reads are counted across both read steps; every 3rd is a 404, so both steps meet some.
    const reads = seen.filter((l) => l.startsWith('GET')).length;
    const misses = Math.floor(reads / 3);
    assert.ok(misses > 0);
    assert.equal((s.errors.check_failed ?? 0) + (s.errors.http_4xx ?? 0), misses, 'each 404 is one error');
    assert.equal(s.per_request!.read.errors_by_kind?.check_failed, s.per_request!.read.errors, 'the read step’s 404s are check_failed (its check names the status)');
    assert.equal(s.per_request!.read.errors_by_kind?.http_4xx, undefined);
    // "again" has no status check: a 404 there is http_4xx, and its json check is not reached.
    assert.equal(s.per_request!.again.errors_by_kind?.check_failed, undefined);
    assert.equal(s.per_request!.again.errors, s.per_request!.again.errors_by_kind?.http_4xx ?? 0);
    assert.equal(s.per_request!.again.requests_sent, 20 - s.per_request!.read.errors, 'a failed read stops its iteration (on_failure defaults to stop)');
    assert.equal(s.iterations!.failed, misses);
    assert.equal(s.iterations!.completed, 20 - misses);
  });

  it('captures a header and a JSON value, fills them in a header of the next step, and waits its think time', async () => {
    const { url, seen } = await serve();
    const scenario: Scenario = {
      steps: [
        { name: 'signin', url: `${url}/signin`, method: 'POST', body: '{"user": "u{seq}"}', capture: { token: '$.token', session: { header: 'X-Session' } }, think_time_ms: 50 },
        { name: 'create', url: `${url}/items`, method: 'POST', headers: { authorization: 'Bearer {token} {session}' }, body: '{"name": "x"}' },
      ],
    };
    const generator = new LoadGenerator(planFor(config(scenario, { message_count_per_driver: 3, concurrency: 1 }), url, {}, 'd1'));
    const started = performance.now();
    await generator.start();
    assert.ok(performance.now() - started >= 150, 'three think times of 50 ms, one after the other');
    assert.deepEqual(
      seen.filter((l) => l.startsWith('POST /items')),
      ['POST /items Bearer t-u0 s-1', 'POST /items Bearer t-u1 s-1', 'POST /items Bearer t-u2 s-1'],
    );
    const iterations = decodeHistogram(generator.recorder.snapshot().iterations!.histogram!);
    assert.ok(iterations.minNonZeroValue >= 50_000, 'an iteration’s duration includes its think time');
  });

  it('a check’s expected text may hold a variable: each iteration checks against its own', async () => {
    const { url } = await serve();
    const scenario: Scenario = {
      steps: [
        { name: 'create', url: `${url}/items`, method: 'POST', body: '{"name": "item {seq}"}', capture: { id: '$.id' } },
        { name: 'read', url: `${url}/items/{id}`, check: { json: { '$.name': 'item {seq}' } }, on_failure: 'continue' },
        // Item 1 is iteration 0's: every later iteration finds another name there.
        { name: 'first', url: `${url}/items/1`, check: { json: { '$.name': 'item {seq}' } } },
      ],
    };
    const generator = new LoadGenerator(planFor(config(scenario, { message_count_per_driver: 5, concurrency: 1 }), url, {}, 'd1'));
    await generator.start();
    const s = generator.recorder.snapshot();
    assert.equal(s.per_request!.read.errors, 0, 'each read finds its own iteration’s name');
    assert.equal(s.per_request!.first.errors_by_kind?.check_failed, 4, 'item 1 matches iteration 0 only');
    assert.deepEqual([s.iterations!.completed, s.iterations!.failed], [1, 4]);
  });

  it('a capture that finds nothing fails its step as check_failed and stops the iteration', async () => {
    const { url } = await serve();
    const scenario: Scenario = {
      steps: [
        { name: 'create', url: `${url}/items`, method: 'POST', body: '{"name": "x"}', capture: { id: '$.missing' } },
        { name: 'read', url: `${url}/items/{id}` },
      ],
    };
    const generator = new LoadGenerator(planFor(config(scenario, { message_count_per_driver: 5 }), url, {}, 'd1'));
    await generator.start();
    const s = generator.recorder.snapshot();
    assert.equal(s.per_request!.create.errors_by_kind?.check_failed, 5);
    assert.equal(s.per_request!.read.requests_sent, 0);
    assert.equal(s.iterations!.failed, 5);
  });

  it('a stop while iterations think ends them abandoned, and begins no further step', async () => {
    const { url, seen } = await serve();
    const scenario: Scenario = {
      steps: [
        { name: 'signin', url: `${url}/signin`, method: 'POST', body: '{"user": "u"}', capture: { token: '$.token' }, think_time_ms: 5_000 },
        { name: 'create', url: `${url}/items`, method: 'POST', body: '{"name": "x"}' },
      ],
    };
    const generator = new LoadGenerator(planFor(config(scenario, { message_count_per_driver: 100, concurrency: 3 }), url, {}, 'd1'));
    const done = generator.start();
    await new Promise((r) => setTimeout(r, 300));
    generator.stop();
    await done;
    const s = generator.recorder.snapshot();
    assert.deepEqual([s.iterations!.started, s.iterations!.abandoned, s.iterations!.completed], [3, 3, 0], 'three in flight, each thinking when stopped');
    assert.equal(seen.filter((l) => l.startsWith('POST /items')).length, 0);
    assert.equal(generator.wasStopped, true);
  });

  it('unique data: each of 3 drivers takes its own rows, no row twice, and a driver whose rows ran out begins no more', async () => {
    const { url, seen } = await serve();
    const data: WireTestData = { mode: 'unique', columns: ['user'], rows: Array.from({ length: 10 }, (_, i) => [`user${i}`]) };
    const scenario: Scenario = { steps: [{ name: 'signin', url: `${url}/signin`, method: 'POST', body: '{"user": "{user}"}' }] };
    const drivers = ['d1', 'd2', 'd3'];
    const generators = drivers.map((d) => new LoadGenerator(planFor(config(scenario, { data, driver_ids: drivers, message_count_per_driver: 100 }), url, {}, d)));
    await Promise.all(generators.map((g) => g.start()));
    const users = seen.map((l) => /user=(\S+)/.exec(l)![1]);
    assert.deepEqual([...users].sort(), data.rows.map((r) => r[0]).sort(), 'every row once, none twice');
    const sent = generators.map((g) => g.recorder.snapshot().requests_sent);
    assert.deepEqual(sent, [4, 3, 3], 'rows 0,3,6,9 / 1,4,7 / 2,5,8');
    assert.deepEqual(generators.map((g) => g.dataExhausted), [true, true, true]);
  });
});
