// The driver's connections to the target. Over HTTP/1.1 (the lean engine's, or an undici Client)
// a connection carries one request at a time; over HTTP/2 (the HTTP/2 engine's, or an undici
// Client) up to `streams` at once. undici's own Pool may hand a request to a connection that is still connecting or busy,
// where it waits unseen behind another request; here a request goes to a connection with a free
// stream, or a new one, so a request handed over is a request on the wire (or connecting), and
// any wait for a connection happens in the load generator, where it is measured.
//
// A request that fails takes with it what it failed on, and no more:
// - Over HTTP/1.1 its connection: a request refused, reset or past its deadline leaves a
//   connection undici (or the lean engine) is still unwinding, or a response half read.
// - Over HTTP/2, a request past its deadline: its stream alone is cancelled (RST_STREAM, by its
//   handler) and freed; the other requests on the connection carry on. If the connection answered
//   nothing at all while that request was on it, it looks stuck: it is retired (no new request
//   goes to it, those in flight end as they will, answered or at their own deadlines, then it
//   closes), and the next requests open a new one, as over HTTP/1.1.
// - Over HTTP/2, a stream the server reset (RST_STREAM): that request fails (stream_reset); the
//   connection carries on.
// - Over HTTP/2, the connection failing (GOAWAY, a reset or closed socket, a connect or TLS error):
//   the requests on it fail with the connection's error (connection_reset, connection_refused,
//   tls), and the pool drops it at once: the next requests open a new connection. An undici
//   Client is destroyed then, so that none of them is sent again on a reconnect. A graceful
//   GOAWAY (NO_ERROR) is no failure on the HTTP/2 engine: the streams the server took finish, and
//   the connection opens a new session for the next requests and sends again the ones the server
//   refused unprocessed (http2-connection.ts). undici 7 closes the socket on any GOAWAY, failing
//   every request in flight, those the server would still have answered too. nginx sends one after
//   keepalive_requests (1000 by default): with undici and 10 streams, about 0.9% of requests.
// - Over HTTP/2, any other failure (one the connection may or may not survive): the connection is
//   retired, so that no request is sent on it again and none is failed by the pool.
import { createSecureContext, rootCertificates } from 'node:tls';
import { buildConnector, Client, type Dispatcher } from 'undici';
import type { ConnectionHandler, EngineName, HttpConnection } from './http-engine/http-connection';
import { Http2Connection } from './http-engine/http2-connection';
import type { ErrorKind } from './latency-recorder';
import { LeanConnection, type LeanTlsOptions } from './http-engine/lean-connection';
import type { TargetTls } from './request-plan';

export interface ConnectionOptions {
  /** milliseconds allowed to connect */
  connectTimeoutMs: number;
  tls?: TargetTls;
  /** the lean HTTP/1.1 engine unless named otherwise (http-connection.ts chooses); node-http2 needs tls.http2 */
  engine?: EngineName;
  /** requests in flight at once on one HTTP/2 connection (max_streams); absent: 1 */
  streams?: number;
  /**
   * The most connections, whatever the protocol (TSUNAMI's max_connections). Absent: as many as
   * the requests in flight need, `limit` over the streams of a connection (AVALANCHE's
   * concurrency, which a server answering in HTTP/1.1 gets on as many connections).
   */
  maxConnections?: number;
}

/** One connection of the pool and the requests it carries; the handle a request is sent on. */
export class PooledConnection implements HttpConnection {
  /** requests on it now */
  active = 0;
  /** requests it has answered; a request notes the count when sent, to tell at its deadline whether any answer came meanwhile */
  answered = 0;
  /** open: takes requests; retired: ends those it has, then closes; closed: dropped by the pool */
  state: 'open' | 'retired' | 'closed' = 'open';

  constructor(
    readonly connection: HttpConnection,
    /** requests it may carry at once: the pool's streams, 1 once the server answered in HTTP/1.1 */
    public capacity: number,
    /** the undici Client under an HTTP/2 connection, for its state */
    readonly client?: Client,
  ) {}

  /** more than one request at a time: a failed request's stream, not the connection, is what ends */
  get multiplexed(): boolean {
    return this.capacity > 1;
  }

  /** an HTTP/2 connection still up (a stream reset on it leaves it serving) */
  get connected(): boolean {
    if (this.client) return Boolean(this.client.stats.connected);
    return this.connection instanceof Http2Connection && this.connection.connected;
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: ConnectionHandler): boolean {
    return this.connection.dispatch(options, handler);
  }

  close(): Promise<void> {
    return this.connection.close();
  }

  destroy(error?: Error): Promise<void> {
    return error ? this.connection.destroy(error) : this.connection.destroy();
  }
}

export class ConnectionPool {
  /** open connections with a free stream; the last is taken first, so requests gather on few connections */
  private readonly available: PooledConnection[] = [];
  /** every connection not yet closed, retired ones included (close and destroy reach them) */
  private readonly all = new Set<PooledConnection>();
  /** connections taking requests */
  private open = 0;
  /** requests a new connection carries: the option's streams, 1 once the server answered in HTTP/1.1 */
  private streams: number;
  /** TLS settings of every connection, and (the engines' own) the latest session to resume */
  private readonly connect: LeanTlsOptions | undefined;
  /** the server answered an HTTP/2 connection in HTTP/1.1: the lean engine opens the next ones */
  private serverSpeaksHttp1 = false;
  private readonly url: URL;
  /** one connector for the HTTP/2 connections: TLS sessions resumed across them, and ALPN's choice seen */
  private readonly connector: ReturnType<typeof buildConnector> | undefined;

  constructor(
    private readonly origin: string,
    /** requests in flight at once over all connections */
    private limit: number,
    private readonly options: ConnectionOptions,
  ) {
    this.url = new URL(origin);
    this.streams = Math.max(1, options.streams ?? 1);
    const tls = options.tls;
    // Node's own authorities stay trusted beside the ones given. One context for every connection:
    // built per connection from ~140 certificates, it costs tens of milliseconds of CPU each.
    this.connect = tls ? { rejectUnauthorized: !tls.insecure, ...(tls.ca?.length ? { secureContext: createSecureContext({ ca: [...rootCertificates, ...tls.ca] }) } : {}) } : undefined;
    if (options.engine === 'undici' && tls?.http2) this.connector = buildConnector({ ...this.connect, allowH2: true, timeout: options.connectTimeoutMs });
  }

  /**
   * A connection with a free stream, else a new one. The load generator asks only when a request
   * may go (`full` is false), except a scenario's later steps, which take one even past the limit
   * for the moment a server answering in HTTP/1.1 lowers it (see noteHttp1).
   */
  acquire(): PooledConnection {
    const available = this.available;
    const last = available.length - 1;
    if (last >= 0) {
      const c = available[last];
      if (++c.active >= c.capacity) available.pop();
      return c;
    }
    const created = this.create();
    created.active = 1;
    if (created.capacity > 1) available.push(created);
    return created;
  }

  /** No free stream, and no room for another connection: a request must wait for one to settle. */
  get full(): boolean {
    return this.available.length === 0 && this.open >= this.connectionLimit;
  }

  private get connectionLimit(): number {
    return this.options.maxConnections ?? Math.ceil(this.limit / this.streams);
  }

  private create(): PooledConnection {
    let created: PooledConnection;
    const { engine, tls } = this.options;
    if (engine === 'node-http2' && tls?.http2 && !this.serverSpeaksHttp1) created = this.nodeHttp2Connection();
    else if (engine !== 'undici') created = new PooledConnection(new LeanConnection(this.url, this.connect), 1);
    else if (!tls?.http2) created = new PooledConnection(this.undiciClient(), 1);
    else created = this.http2Connection();
    this.all.add(created);
    this.open++;
    return created;
  }

  private undiciClient(): Client {
    return new Client(this.origin, {
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connectTimeout: this.options.connectTimeoutMs,
      // The load generator's deadline covers headers and body; undici's per-phase timers
      // would only add work per request.
      headersTimeout: 0,
      bodyTimeout: 0,
      ...(this.connect ? { connect: this.connect } : {}),
    });
  }

  /** HTTP/2 offered, on the driver's HTTP/2 engine: the pool hears when it takes no new stream, or is answered in HTTP/1.1. */
  private nodeHttp2Connection(): PooledConnection {
    const connection = new Http2Connection(this.url, this.connect!, this.options.connectTimeoutMs, {
      http1: () => this.noteHttp1(created),
      gone: () => this.drop(created),
    });
    const created = new PooledConnection(connection, this.streams);
    return created;
  }

  /**
   * HTTP/2 offered: undici writes up to `streams` requests at once on the connection (its
   * `pipelining`; maxConcurrentStreams only tells nghttp2 what to assume before the server's
   * SETTINGS). A request the pool hands over is written at once, never queued in undici behind
   * the others, as long as the server allows `streams` concurrent streams (RFC 9113 recommends at
   * least 100; MAX_STREAMS is 100).
   */
  private http2Connection(): PooledConnection {
    const connector = this.connector!;
    const client: Client = new Client(this.origin, {
      pipelining: this.streams,
      maxConcurrentStreams: this.streams,
      allowH2: true,
      keepAliveTimeout: 30_000,
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: (options, callback) =>
        connector(options, (...result) => {
          const socket = result[1] as { alpnProtocol?: string | false } | null;
          if (socket && socket.alpnProtocol !== 'h2') this.noteHttp1(created);
          callback(...result);
        }),
    });
    const created = new PooledConnection(client, this.streams, client);
    // A connection that closes leaves the pool at once, and its Client goes with it (see the top of
    // the file). undici has just put the requests that were in flight on it back in its queue to
    // send again on a new connection; destroyed, it fails them instead, with the connection's error.
    client.on('disconnect', (_origin, _targets, error) => {
      this.drop(created);
      if (!client.destroyed) client.destroy(error).catch(() => {});
    });
    return created;
  }

  /**
   * The server chose HTTP/1.1: this connection, and every one opened after it, carries one request
   * at a time. A connection opened before the first answer came may have been given more; they
   * wait in undici behind each other, once, at the start (their wait counts in their latency).
   */
  private noteHttp1(c: PooledConnection): void {
    this.streams = 1;
    this.serverSpeaksHttp1 = true;
    if (c.client) c.client.pipelining = 1;
    if (c.capacity === 1) return;
    c.capacity = 1;
    const at = this.available.indexOf(c);
    if (at >= 0 && c.active >= 1) this.available.splice(at, 1);
  }

  /** A live change to a closed test's concurrency may need more connections than it started with. */
  raiseLimit(limit: number): void {
    this.limit = Math.max(this.limit, limit);
  }

  /** The request on `c` was answered: its stream serves the next one (either engine reconnects a connection that closed). */
  release(c: PooledConnection): void {
    c.answered++;
    this.free(c);
  }

  /** One request fewer on `c`. An open connection is in `available` exactly while it carries fewer than its capacity. */
  private free(c: PooledConnection): void {
    if (c.active-- === c.capacity && c.state === 'open') this.available.push(c);
  }

  /**
   * The request on `c` failed with `kind`: `expired` when its deadline passed (its handler has
   * cancelled its stream), `answeredAtSend` being `c.answered` when it was sent. The rules are at
   * the top of the file.
   */
  failed(c: PooledConnection, kind: ErrorKind, expired: boolean, error: Error | undefined, answeredAtSend: number): void {
    if (c.state === 'closed') return;
    if (!c.multiplexed) {
      c.active--;
      this.discard(c, error);
      return;
    }
    if (expired) {
      if (c.answered === answeredAtSend) this.retire(c);
    } else if (kind === 'stream_reset' && c.connected) {
      // The server reset this stream, and is alive.
      c.answered++;
    } else {
      // The connection failed under this request, or may have. undici is still inside its handler
      // of the failure: for a lost connection it emits 'disconnect' next, and that listener
      // destroys the Client (destroyed here, it would be destroyed with the requests undici is
      // about to queue again). Whatever else the connection carries ends as it will.
      this.retire(c);
    }
    this.free(c);
  }

  /** No new request goes to `c`; it closes once those it carries have ended. */
  private retire(c: PooledConnection): void {
    if (c.state !== 'open') return;
    c.state = 'retired';
    this.open--;
    const at = this.available.indexOf(c);
    if (at >= 0) this.available.splice(at, 1);
    c.close()
      .catch(() => {})
      .finally(() => this.all.delete(c));
  }

  /** Closes `c` at once, failing whatever it still carries with `error`. */
  private discard(c: PooledConnection, error?: Error): void {
    if (c.state === 'closed') return;
    this.drop(c);
    c.destroy(error).catch(() => {});
  }

  /** `c` takes no more requests and is no longer the pool's to close. */
  private drop(c: PooledConnection): void {
    if (c.state === 'closed') return;
    if (c.state === 'open') this.open--;
    c.state = 'closed';
    this.all.delete(c);
    const at = this.available.indexOf(c);
    if (at >= 0) this.available.splice(at, 1);
  }

  /** connections taking requests */
  get size(): number {
    return this.open;
  }

  /** Lets requests in flight finish, then closes every connection. */
  async close(): Promise<void> {
    const all = this.take();
    await Promise.all(all.map((c) => c.close().catch(() => {})));
  }

  /** Closes every connection at once, failing requests in flight. */
  async destroy(): Promise<void> {
    const all = this.take();
    await Promise.all(all.map((c) => c.destroy().catch(() => {})));
  }

  private take(): PooledConnection[] {
    const all = [...this.all];
    for (const c of all) c.state = 'closed';
    this.all.clear();
    this.available.length = 0;
    this.open = 0;
    return all;
  }
}
