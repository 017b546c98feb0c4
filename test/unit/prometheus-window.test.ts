import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusWatcher } from '../../orchestrator/prometheus-watcher';

// A server that answers Prometheus' instant-query API with a value that rises on every poll: the
// window of a stage must read the samples taken within it, not the whole test's.
describe("the server's queries over a stage's window", () => {
  let server: Server;
  let url: string;
  let value: number;
  beforeEach(async () => {
    value = 0;
    server = createServer((_req, res) => {
      value += 10;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: 'success', data: { resultType: 'scalar', result: [Date.now() / 1000, String(value)] } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('keeps timed samples, so a window gives its own mean, lowest and highest', async () => {
    const watcher = new PrometheusWatcher({ url, queries: { server_rps: 'sum(rate(x[5s]))' } });
    const before = Date.now();
    watcher.start();
    await new Promise((r) => setTimeout(r, 1300)); // two polls: at the start and a second later
    watcher.stop();
    const all = watcher.window(before, Date.now());
    assert.deepEqual(all.server_rps, { samples: 2, mean: 15, min: 10, max: 20 });
    assert.deepEqual(watcher.window(before - 10_000, before - 1), { server_rps: { samples: 0, mean: null, min: null, max: null } });
  });
});
