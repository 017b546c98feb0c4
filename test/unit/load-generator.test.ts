import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { classifyError } from '../../agents/latency-recorder';
import { LoadGenerator } from '../../agents/load-generator';
import type { RequestPlan } from '../../agents/request-plan';
import { freePort } from '../../common/free-port';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** An HTTP server on loopback whose behaviour each test sets. */
async function localServer(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function closeServer(server: Server | TcpServer): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((r) => server.close(() => r()));
}

function plan(url: string, fields: Partial<RequestPlan> = {}): RequestPlan {
  return { url: new URL(url), method: 'GET', headers: {}, timeoutMs: 5000, count: 10, intervalMs: 0, maxInFlight: 4, connections: 4, ...fields };
}

/** Blocks the event loop, as a long garbage collection or a busy neighbour would. */
function blockFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('the load generator (against local servers)', () => {
  const servers: (Server | TcpServer)[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map(closeServer));
  });
  const serve = async (handler: Handler) => {
    const s = await localServer(handler);
    servers.push(s.server);
    return s.url;
  };

  it('sends exactly its count and records every status', async () => {
    let n = 0;
    const url = await serve((_req, res) => {
      res.statusCode = ++n % 5 === 0 ? 503 : 200;
      res.end();
    });
    const generator = new LoadGenerator(plan(url, { count: 50 }));
    await generator.start();
    const snapshot = generator.recorder.snapshot();
    assert.equal(snapshot.requests_sent, 50);
    assert.equal(snapshot.responses, 50);
    assert.deepEqual(snapshot.status_codes, { '200': 40, '503': 10 });
    assert.deepEqual(snapshot.errors, { http_5xx: 10 });
    assert.equal(n, 50, 'the server saw each request once');
  });

  it('never has more than its in-flight limit outstanding', async () => {
    let open = 0;
    let most = 0;
    const url = await serve((_req, res) => {
      most = Math.max(most, ++open);
      setTimeout(() => {
        open--;
        res.end();
      }, 5);
    });
    await new LoadGenerator(plan(url, { count: 60, maxInFlight: 3, connections: 3 })).start();
    assert.equal(most, 3);
  });

  it('after a late timer, sends what fell due at once and counts the lateness in the corrected latency', async () => {
    const url = await serve((_req, res) => res.end());
    // TSUNAMI-like: one request every 10 ms, open (not limited by what is in flight).
    const generator = new LoadGenerator(plan(url, { count: 40, intervalMs: 10, maxInFlight: Infinity }));
    const done = generator.start();
    await new Promise((r) => setTimeout(r, 50));
    blockFor(150);
    await done;
    const r = generator.recorder;
    // About 15 of the 40 requests fell due during the block and went out together once it ended:
    // the latest tenth of them went out more than 50 ms late.
    assert.ok(r.sendLag.getValueAtPercentile(90) >= 50_000, `send lag p90 ${r.sendLag.getValueAtPercentile(90)} µs`);
    assert.ok(r.corrected.maxValue >= 100_000, `corrected max ${r.corrected.maxValue} µs includes the 150 ms block`);
    assert.ok(r.uncorrected.maxValue < r.corrected.maxValue, 'measured from the send, the block does not show');
    // The schedule did not drift by the block: the last request was due 390 ms after the start.
    assert.ok(r.lastSentAt - generator.startedAt < 390 + 100, `last send ${Math.round(r.lastSentAt - generator.startedAt)} ms after start`);
  });

  it('stop() sends nothing more and resolves once the requests in flight settle', async () => {
    const url = await serve((_req, res) => setTimeout(() => res.end(), 20));
    const generator = new LoadGenerator(plan(url, { count: 1000, maxInFlight: 2, connections: 2 }));
    const done = generator.start();
    await new Promise((r) => setTimeout(r, 100));
    generator.stop();
    await done;
    const r = generator.recorder;
    assert.ok(generator.wasStopped);
    assert.ok(r.requestsSent > 0 && r.requestsSent < 1000);
    assert.equal(r.responses + r.errorTotal, r.requestsSent, 'every request sent was answered or failed');
  });

  it('destroy() abandons requests in flight, which end as failures, and resolves', async () => {
    const url = await serve(() => {}); // never answers
    const generator = new LoadGenerator(plan(url, { count: 4, maxInFlight: 4 }));
    const done = generator.start();
    await new Promise((r) => setTimeout(r, 100));
    await generator.destroy();
    await done;
    const r = generator.recorder;
    assert.equal(r.requestsSent, 4);
    assert.equal(r.responses, 0);
    assert.equal(r.errorTotal, 4);
  });

  describe('error classification, each kind produced for real', () => {
    const failuresOf = async (url: string, fields: Partial<RequestPlan> = {}) => {
      const generator = new LoadGenerator(plan(url, { count: 2, maxInFlight: 1, connections: 1, ...fields }));
      await generator.start();
      return generator.recorder.snapshot().errors;
    };

    it('timeout: the server takes longer than the timeout', async () => {
      const url = await serve((_req, res) => setTimeout(() => res.end(), 2000));
      assert.deepEqual(await failuresOf(url, { timeoutMs: 100 }), { timeout: 2 });
    });

    it('connection_refused: nothing listens on the port', async () => {
      assert.deepEqual(await failuresOf(`http://127.0.0.1:${await freePort()}`), { connection_refused: 2 });
    });

    it('connection_reset: the server drops the connection mid-request', async () => {
      const url = await serve((req) => req.socket.destroy());
      assert.deepEqual(await failuresOf(url), { connection_reset: 2 });
    });

    it('http_4xx and http_5xx: answers with those statuses', async () => {
      assert.deepEqual(await failuresOf(await serve((_req, res) => ((res.statusCode = 404), res.end()))), { http_4xx: 2 });
      assert.deepEqual(await failuresOf(await serve((_req, res) => ((res.statusCode = 500), res.end()))), { http_5xx: 2 });
    });

    it('other: the server answers with something that is not HTTP', async () => {
      const tcp = createTcpServer((socket) => socket.end('NOT HTTP AT ALL\r\n\r\n').on('error', () => {}).setTimeout(200, () => socket.destroy()));
      await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
      servers.push(tcp);
      assert.deepEqual(await failuresOf(`http://127.0.0.1:${(tcp.address() as AddressInfo).port}`), { other: 2 });
    });

    it('maps the codes of every kind it knows', () => {
      const kind = (code: string) => classifyError(Object.assign(new Error(code), { code }));
      assert.deepEqual(
        ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'HPE_INVALID_CONSTANT'].map(kind),
        ['timeout', 'timeout', 'connection_refused', 'connection_reset', 'connection_reset', 'connection_reset', 'other'],
      );
    });
  });
});
