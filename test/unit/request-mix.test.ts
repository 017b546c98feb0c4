import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoadGenerator } from '../../agents/load-generator';
import { planFor } from '../../agents/request-plan';
import { compileFill, placeholderProblems, staticFill, weightedCycle } from '../../protocol/request-mix';
import { decodeHistogram } from '../../protocol/latency-histogram';
import type { TestConfigMessage } from '../../protocol/wire-protocol';
import { toTestConfig, validateDefinition, type LoadTestDefinition } from '../../orchestrator/loadtest-definition';

describe('a weighted mix of requests', () => {
  it('the cycle gives each request its share, spread through the cycle rather than in blocks', () => {
    const cycle = weightedCycle([80, 20]);
    assert.deepEqual([...cycle], [0, 0, 1, 0, 0]);
    const three = weightedCycle([1, 1, 2]);
    assert.deepEqual([...three].sort(), [0, 1, 2, 2]);
    assert.notEqual(three[0], three[1], 'the heaviest request is not sent twice in a row when it need not be');
    const odd = weightedCycle([33.3, 66.7]);
    const share = [...odd].filter((k) => k === 0).length / odd.length;
    assert.ok(Math.abs(share - 0.333) < 0.002, `share ${share}`);
    assert.ok(weightedCycle([1, 1_000_000]).includes(0), 'a tiny weight still gets a slot');
  });

  it('placeholders are filled per request, and a text without any is returned as is', () => {
    const fill = compileFill('/items/{random:5:7}?n={seq}&d={driver}', 'd1');
    for (let seq = 0; seq < 50; seq++) assert.match(fill(seq), new RegExp(`^/items/[567]\\?n=${seq}&d=d1$`));
    const fixed = compileFill('/ping', 'd1');
    assert.equal(fixed(3), '/ping');
    assert.equal(staticFill('/items/{random:5:7}/{seq}'), '/items/5/0');
    assert.deepEqual(placeholderProblems('/x/{random:9:1}/{rand}/{sequence}'), ['{random:9:1}: MIN is above MAX', '{sequence}: not a placeholder; use {seq}, {driver} or {random:MIN:MAX}']);
  });

  const mixDefinition = (requests: object[]): LoadTestDefinition => ({ test_type: 'AVALANCHE', message_count_per_driver: 100, requests } as unknown as LoadTestDefinition);

  it('a definition’s mix: names unique, one origin, known placeholders; exactly one of target and requests', () => {
    const read = { name: 'read', weight: 4, url: 'http://h:1/items/{random:1:10}' };
    assert.ok(validateDefinition(mixDefinition([read, { name: 'write', url: 'http://h:1/items', method: 'POST', body: '{"n":{seq}}' }])).ok);
    const errors = (value: object) => (validateDefinition(value) as { errors: string[] }).errors;
    assert.deepEqual(errors(mixDefinition([read, { name: 'read', url: 'http://h:1/x' }])), ['requests[1].name: "read" names another request too; each name is a row of the results']);
    assert.deepEqual(errors(mixDefinition([read, { name: 'other', url: 'http://elsewhere:1/x' }])), ['requests[1].url: every request of a mix goes to one origin (http://h:1, as the first does), not http://elsewhere:1']);
    assert.deepEqual(errors(mixDefinition([{ name: 'r', url: 'http://h:1/{random:3:1}' }])), ['requests[0].url: {random:3:1}: MIN is above MAX']);
    assert.match(errors({ test_type: 'AVALANCHE', message_count_per_driver: 1 })[0], /^target: is required .* or "requests" for a weighted mix, or "scenario" for a user journey$/);
    assert.match(errors({ ...mixDefinition([read]), target: 'http://h:1/' })[0], /^target and requests: give one/);
  });

  it('on the wire a spec-only driver finds one target: the heaviest request, placeholders fixed', () => {
    const definition = mixDefinition([
      { name: 'write', weight: 1, url: 'http://h:1/items', method: 'POST' },
      { name: 'read', weight: 4, url: 'http://h:1/items/{random:1:10}' },
    ]);
    const config = toTestConfig(definition, 't1', { id: 'o', names: ['o'] }, ['d1']);
    assert.deepEqual(config.target, { url: 'http://h:1/items/1', method: 'GET', headers: undefined, body: undefined, timeout_ms: 10_000 });
    assert.equal(config.requests!.length, 2);
  });

  it('an agent refuses a mix that goes to more than one origin, whatever the orchestrator checked', () => {
    const config = { test_id: 't', test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 1, requests: [
      { name: 'a', weight: 1, url: 'http://allowed:1/', method: 'GET', timeout_ms: 1000 },
      { name: 'b', weight: 1, url: 'http://other:1/', method: 'GET', timeout_ms: 1000 },
    ] } as TestConfigMessage;
    assert.throws(() => planFor(config, 'http://x/', {}), /more than one origin/);
  });

  describe('sent by the load generator', () => {
    let server: Server;
    let url: string;
    const seen: { method: string; path: string; body: string }[] = [];
    before(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (d: Buffer) => (body += d.toString()));
        req.on('end', () => {
          seen.push({ method: req.method!, path: req.url!, body });
          res.writeHead(req.url!.startsWith('/missing') ? 404 : 200).end('ok');
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }));

    it('sends each request its share with placeholders filled, and the figures by name add up to the totals', async () => {
      seen.length = 0;
      const config = {
        test_id: 't', test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 500, concurrency: 4,
        requests: [
          { name: 'read', weight: 3, url: `${url}/items/{random:1:9}`, method: 'GET', timeout_ms: 2000 },
          { name: 'write', weight: 1, url: `${url}/items`, method: 'POST', body: '{"n":{seq},"by":"{driver}"}', timeout_ms: 2000 },
          { name: 'gone', weight: 1, url: `${url}/missing`, method: 'GET', timeout_ms: 2000 },
        ],
      } as TestConfigMessage;
      const generator = new LoadGenerator(planFor(config, 'http://unused/', {}, 'd7'));
      await generator.start();
      const reads = seen.filter((s) => s.method === 'GET' && s.path.startsWith('/items/'));
      const writes = seen.filter((s) => s.method === 'POST');
      assert.equal(reads.length, 300);
      assert.equal(writes.length, 100);
      assert.ok(reads.every((s) => /^\/items\/[1-9]$/.test(s.path)));
      assert.ok(new Set(reads.map((s) => s.path)).size > 3, 'the random ids vary');
      assert.ok(writes.every((s) => /^\{"n":\d+,"by":"d7"\}$/.test(s.body)));
      const snapshot = generator.recorder.snapshot();
      const per = snapshot.per_request!;
      assert.deepEqual(Object.keys(per), ['read', 'write', 'gone']);
      assert.equal(per.read.requests_sent + per.write.requests_sent + per.gone.requests_sent, snapshot.requests_sent);
      assert.equal(per.read.responses + per.write.responses + per.gone.responses, snapshot.responses);
      assert.equal(per.gone.errors, 100, 'the 404s are the "gone" request’s errors');
      assert.equal(per.read.errors + per.write.errors + per.gone.errors, Object.values(snapshot.errors).reduce((a, b) => a + b, 0));
      assert.equal(decodeHistogram(per.read.histogram!).totalCount, 300);
    });
  });
});
