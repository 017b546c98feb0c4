// HTTP/2 that multiplexes: the load generator and its connection pool against a real node:http2
// server with TLS (a certificate from a private authority made with openssl, trusted as
// lt-agent --target-ca trusts one). The server counts its sessions (connections), the streams it
// holds at once on each, and what it answered, so each test checks what reached the wire.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { constants, createSecureServer, type Http2SecureServer, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoadGenerator } from '../../agents/load-generator';
import { planFor, type RequestPlan } from '../../agents/request-plan';
import type { Scenario } from '../../protocol/scenario';
import type { TestConfigMessage } from '../../protocol/wire-protocol';
import { makeTestCertificates } from '../../target-server/nginx-target';

interface SessionSeen {
  session: ServerHttp2Session;
  /** streams received on it */
  streams: number;
  /** streams received and not answered yet */
  open: number;
  most: number;
  closed: boolean;
}

/** What the server saw, and the stream handler each test sets. */
interface H2Target {
  url: string;
  sessions: SessionSeen[];
  /** responses the server wrote */
  answered: number;
  /** streams the client reset (RST_STREAM) before they were answered */
  cancelledByClient: number;
  /** the most streams open at once over all sessions */
  mostInFlight: number;
  methods: Record<string, number>;
}

type StreamHandler = (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, seen: SessionSeen, answer: (delayMs?: number) => void) => void;

for (const engine of ['node-http2', 'undici'] as const)
describe(`HTTP/2 streams on ${engine} (against a local node:http2 server with TLS)`, function () {
  this.timeout(20_000);
  let dir: string;
  let tls: { key: string; cert: string; ca: string };
  const servers: (Http2SecureServer | HttpsServer)[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lt-h2-'));
    const files = makeTestCertificates(dir);
    tls = { key: readFileSync(files.keyFile, 'utf8'), cert: readFileSync(files.certFile, 'utf8'), ca: readFileSync(files.caFile, 'utf8') };
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    for (const s of servers) if ('closeAllConnections' in s) s.closeAllConnections();
    await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
  });

  /** A TLS server speaking HTTP/2 only; `handle` decides what each stream gets (answer() sends 200 "pong"). */
  async function h2Target(handle: StreamHandler = (_s, _h, _seen, answer) => answer()): Promise<H2Target> {
    const target: H2Target = { url: '', sessions: [], answered: 0, cancelledByClient: 0, mostInFlight: 0, methods: {} };
    let inFlight = 0;
    const server = createSecureServer({ key: tls.key, cert: tls.cert });
    server.on('session', (session) => {
      const seen: SessionSeen = { session, streams: 0, open: 0, most: 0, closed: false };
      target.sessions.push(seen);
      session.on('close', () => (seen.closed = true));
      session.on('error', () => {});
    });
    server.on('stream', (stream, headers) => {
      const seen = target.sessions.find((s) => s.session === stream.session)!;
      seen.streams++;
      seen.most = Math.max(seen.most, ++seen.open);
      target.mostInFlight = Math.max(target.mostInFlight, ++inFlight);
      const method = String(headers[':method']);
      target.methods[method] = (target.methods[method] ?? 0) + 1;
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        seen.open--;
        inFlight--;
      };
      stream.on('error', () => {});
      stream.on('close', () => {
        if (!done && !seen.closed) target.cancelledByClient++;
        finish();
      });
      const answer = (delayMs = 0) => {
        const send = () => {
          if (stream.destroyed || stream.closed) return;
          finish();
          target.answered++;
          stream.respond({ ':status': 200, 'content-type': 'text/plain' });
          stream.end('pong');
        };
        if (delayMs > 0) setTimeout(send, delayMs);
        else send();
      };
      // A POST's body is read before the answer, as a real server would.
      stream.resume();
      handle(stream, headers, seen, answer);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    target.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/ping`;
    return target;
  }

  const h2Plan = (url: string, fields: Partial<RequestPlan> = {}): RequestPlan => ({
    url: new URL(url),
    method: 'GET',
    headers: {},
    timeoutMs: 5000,
    count: 200,
    intervalMs: 0,
    open: false,
    maxInFlight: 10,
    maxStreams: 10,
    tls: { http2: true, ca: [tls.ca], insecure: false },
    engine,
    ...fields,
  });

  const run = async (plan: RequestPlan) => {
    const generator = new LoadGenerator(plan);
    await generator.start();
    return { generator, snapshot: generator.recorder.snapshot() };
  };

  describe('requests share connections', () => {
    it('N requests in flight (AVALANCHE) go on ceil(N / max_streams) connections, max_streams on each, every request counted once', async () => {
      const target = await h2Target((_s, _h, _seen, answer) => answer(2));
      const { snapshot } = await run(h2Plan(target.url, { count: 600, maxInFlight: 25, maxStreams: 10 }));
      assert.equal(target.sessions.length, 3, 'ceil(25 / 10) connections');
      assert.deepEqual(
        target.sessions.map((s) => s.most),
        [10, 10, 5],
      );
      assert.equal(snapshot.requests_sent, 600);
      assert.equal(snapshot.responses, 600);
      assert.deepEqual(snapshot.errors, {});
      assert.equal(target.answered, 600, 'the server answered each request once');
      assert.equal(
        target.sessions.reduce((a, s) => a + s.streams, 0),
        600,
      );
    });

    it('a POST shares its connection as a GET does (undici would otherwise hold it behind the other streams)', async () => {
      const target = await h2Target((_s, _h, _seen, answer) => answer(5));
      const { snapshot } = await run(h2Plan(target.url, { count: 100, method: 'POST', body: '{"n":1}', headers: { 'content-type': 'application/json' }, maxInFlight: 10 }));
      assert.equal(snapshot.responses, 100);
      assert.deepEqual(target.methods, { POST: 100 });
      assert.equal(target.sessions.length, 1);
      assert.equal(target.sessions[0].most, 10);
    });

    it('TSUNAMI keeps up to max_connections × max_streams in flight, on no more than max_connections', async () => {
      // 2 connections × 4 streams against a server that takes 100 ms: at 200 requests per second
      // 20 would be in flight, so the 8 fill and the rest wait in the generator, counted.
      const target = await h2Target((_s, _h, _seen, answer) => answer(100));
      const { generator, snapshot } = await run(h2Plan(target.url, { count: 100, open: true, intervalMs: 5, maxInFlight: 8, maxStreams: 4 }));
      assert.equal(target.sessions.length, 2);
      assert.equal(target.mostInFlight, 8);
      assert.equal(generator.connectionLimit, 2, 'the result states max_connections');
      assert.equal(snapshot.responses, 100);
      assert.ok(snapshot.waited_for_connection! > 0, 'requests that found every stream busy are counted');
    });

    it('the open model takes a free stream before opening a connection', async () => {
      // About 1 request in flight (40/s × 20 ms): one connection of 10 streams carries them all,
      // those due while it connects included (10 would take a 250 ms handshake).
      const target = await h2Target((_s, _h, _seen, answer) => answer(20));
      const { snapshot } = await run(h2Plan(target.url, { count: 60, open: true, intervalMs: 25, maxInFlight: 100, maxStreams: 10 }));
      assert.equal(snapshot.responses, 60);
      assert.equal(target.sessions.length, 1);
      assert.equal(snapshot.waited_for_connection ?? 0, 0);
    });
  });

  describe('a failure ends what failed, and no more', () => {
    it('a stream the server resets (RST_STREAM) fails only its request, as stream_reset; the connection carries on', async () => {
      let n = 0;
      const codes = [constants.NGHTTP2_INTERNAL_ERROR, constants.NGHTTP2_CANCEL, constants.NGHTTP2_PROTOCOL_ERROR];
      let resets = 0;
      const target = await h2Target((stream, _h, _seen, answer) => {
        if (++n % 10 === 0) {
          resets++;
          stream.close(codes[resets % codes.length]);
        } else answer(2);
      });
      const { snapshot } = await run(h2Plan(target.url, { count: 300, maxInFlight: 10 }));
      assert.equal(resets, 30);
      assert.deepEqual(snapshot.errors, { stream_reset: 30 });
      assert.equal(snapshot.responses, 270);
      assert.equal(target.answered, 270);
      assert.equal(target.sessions.length, 1, 'no connection was closed for a stream');
    });

    // RFC 9113 §8.7: a stream refused (REFUSED_STREAM) was not processed, and may be sent again.
    const retries = engine === 'node-http2';
    it(retries
      ? 'a stream the server refused (REFUSED_STREAM) goes again once on the same connection; refused twice, it fails as stream_reset'
      : 'a stream the server refused (REFUSED_STREAM) fails as stream_reset (undici does not send it again)', async () => {
      let n = 0;
      let refused = 0;
      const target = await h2Target((stream, _h, _seen, answer) => {
        // Twenty streams apart: a refused stream goes again within the next ten (10 in flight), and is not refused twice.
        if (++n % 20 === 10) {
          refused++;
          stream.close(constants.NGHTTP2_REFUSED_STREAM);
        } else answer(2);
      });
      const { snapshot } = await run(h2Plan(target.url, { count: 300, maxInFlight: 10 }));
      const streams = target.sessions.reduce((a, s) => a + s.streams, 0);
      assert.equal(target.sessions.length, 1, 'no connection was closed for a stream');
      if (retries) {
        assert.deepEqual(snapshot.errors, {}, 'every refused stream was answered when sent again');
        assert.equal(snapshot.responses, 300);
        assert.equal(streams, 300 + refused, 'one stream more per refusal');
      } else {
        assert.deepEqual(snapshot.errors, { stream_reset: refused });
        assert.equal(snapshot.responses, 300 - refused);
        assert.equal(streams, 300);
      }
      assert.equal(snapshot.requests_sent, 300, 'a request sent again is one request');

      const always = await h2Target((stream) => stream.close(constants.NGHTTP2_REFUSED_STREAM));
      const { snapshot: refusedAlways } = await run(h2Plan(always.url, { count: 20, maxInFlight: 5 }));
      assert.deepEqual(refusedAlways.errors, { stream_reset: 20 });
      assert.equal(always.sessions.reduce((a, s) => a + s.streams, 0), retries ? 40 : 20, retries ? 'each sent twice, no more' : 'each sent once');
    });

    it('a request past its deadline cancels its own stream; the other requests on the connection are answered', async () => {
      let n = 0;
      const target = await h2Target((_s, _h, _seen, answer) => {
        // Every tenth request is never answered; the rest are, meanwhile.
        if (++n % 10 !== 0) answer(2);
      });
      const { snapshot } = await run(h2Plan(target.url, { count: 200, maxInFlight: 10, timeoutMs: 300 }));
      assert.deepEqual(snapshot.errors, { timeout: 20 });
      assert.equal(snapshot.responses, 180);
      assert.equal(target.answered, 180);
      assert.equal(target.sessions.length, 1);
      await waitFor(() => target.cancelledByClient === 20);
    });

    it('a connection that answers nothing during a request’s deadline is retired: the next requests open a new one', async () => {
      // The first connection answers nothing; later ones answer everything.
      const target = await h2Target((_s, _h, seen, answer) => {
        if (seen !== target.sessions[0]) answer(2);
      });
      const { snapshot } = await run(h2Plan(target.url, { count: 60, maxInFlight: 10, timeoutMs: 300 }));
      assert.deepEqual(snapshot.errors, { timeout: 10 }, 'only the requests on the stuck connection timed out');
      assert.equal(snapshot.responses, 50);
      assert.equal(target.sessions.length, 2);
      await waitFor(() => target.sessions[0].closed);
    });

    // A graceful GOAWAY (NO_ERROR, last stream id the last one the server took): undici 7 closes
    // the socket on it and fails every request in flight; the HTTP/2 engine lets them finish.
    const goawayFails = engine === 'undici';
    for (const how of ['GOAWAY', 'closing the connection'] as const) {
      const fails = how !== 'GOAWAY' || goawayFails;
      const what = how === 'GOAWAY' ? 'sending a graceful GOAWAY' : how;
      it(`the server ${what} mid-test ${fails ? 'fails the requests in flight as connection_reset' : 'lets the requests in flight finish'}; the next ones open a new connection`, async () => {
        let failedAt = -1;
        const target = await h2Target((_s, _h, seen, answer) => {
          answer(5);
          if (seen === target.sessions[0] && seen.streams === 50) {
            // After this stream, and while requests are in flight on the connection.
            failedAt = seen.open;
            setImmediate(() => (how === 'GOAWAY' ? seen.session.goaway(constants.NGHTTP2_NO_ERROR) : seen.session.destroy()));
          }
        });
        const { snapshot } = await run(h2Plan(target.url, { count: 300, maxInFlight: 10 }));
        assert.ok(failedAt > 1, 'several requests were in flight');
        // Node's server, destroying a session, resets its open streams (RST_STREAM NO_ERROR) before
        // it closes the socket, and those resets may arrive in a read before the close: the HTTP/2
        // engine tells what it saw, a stream reset, for those. undici sees only the closed socket.
        const reset = (snapshot.errors.connection_reset ?? 0) + (snapshot.errors.stream_reset ?? 0);
        if (fails) {
          assert.ok(reset >= 1 && reset <= 10, `the requests in flight on the connection failed (${reset})`);
          const kinds = engine === 'undici' ? ['connection_reset'] : ['connection_reset', 'stream_reset'];
          assert.deepEqual(Object.keys(snapshot.errors).filter((kind) => !kinds.includes(kind)), [], `errors: ${JSON.stringify(snapshot.errors)}`);
        } else {
          assert.deepEqual(snapshot.errors, {}, 'every request the server took was answered');
          assert.equal(target.sessions[0].open, 0, 'nothing the first connection took was left unanswered');
        }
        assert.equal(snapshot.requests_sent, 300);
        assert.equal(snapshot.responses + reset, 300, 'every request counted once');
        assert.ok(snapshot.responses <= target.answered, 'no response counted that the server did not send');
        assert.equal(target.sessions.length, 2, 'the next requests went on one new connection');
        assert.ok(target.sessions[1].streams >= 250 - reset);
      });
    }
  });

  it('a scenario’s steps share connections too, each iteration holding one stream at a time; captures read the HTTP/2 responses', async () => {
    let created = 0;
    const target = await h2Target((stream, headers) => {
      stream.on('end', () => {
        if (stream.destroyed || stream.closed) return;
        target.answered++;
        const read = /^\/items\/(\d+)$/.exec(String(headers[':path']));
        // A read of an id never created (a capture gone wrong) is a 404.
        stream.respond({ ':status': read ? (Number(read[1]) <= created ? 200 : 404) : 201, 'content-type': 'application/json' });
        stream.end(JSON.stringify({ id: read ? Number(read[1]) : ++created }));
      });
    });
    const origin = new URL(target.url).origin;
    const scenario: Scenario = {
      steps: [
        { name: 'create', url: `${origin}/items`, method: 'POST', body: '{"name": "n"}', capture: { id: '$.id' }, check: { status: 201 } },
        { name: 'read', url: `${origin}/items/{id}`, check: { status: 200 } },
      ],
    };
    const config: TestConfigMessage = { test_id: 't', test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 100, concurrency: 10, http2: true, max_streams: 5, http_engine: engine, target: { url: `${origin}/items`, method: 'POST', timeout_ms: 5000 }, scenario };
    const { snapshot } = await run(planFor(config, origin, {}, 'd1', [tls.ca]));
    assert.deepEqual(snapshot.errors, {});
    assert.deepEqual({ ...snapshot.iterations, histogram: undefined }, { started: 100, completed: 100, failed: 0, abandoned: 0, histogram: undefined });
    assert.equal(target.sessions.length, 2, 'ceil(10 iterations in flight / 5 streams)');
    assert.deepEqual(target.methods, { POST: 100, GET: 100 });
  });

  it('a server that answers in HTTP/1.1 gets one request per connection, as many connections as requests in flight', async () => {
    let open = 0;
    let most = 0;
    const sockets = new Set<unknown>();
    const server = createHttpsServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      sockets.add(req.socket);
      most = Math.max(most, ++open);
      setTimeout(() => {
        open--;
        res.end('pong');
      }, 2);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/ping`;
    const { snapshot } = await run(h2Plan(url, { count: 200, maxInFlight: 8, maxStreams: 10 }));
    assert.equal(snapshot.responses, 200);
    assert.equal(sockets.size, 8);
    assert.equal(most, 8);
  });
});

async function waitFor(condition: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
