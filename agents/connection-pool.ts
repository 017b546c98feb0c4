// The driver's connections to the target: one connection (the lean engine's, or an undici
// Client) each carrying one request at a time. undici's own Pool may hand a request to a
// connection that is still connecting or busy, where it waits unseen behind another request; here
// a request goes to an idle connection or a new one, so a request handed over is a request on the
// wire (or connecting), and any wait for a connection happens in the load generator, where it is measured.
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { Client } from 'undici';
import type { EngineName, HttpConnection } from './http-engine/http-connection';
import { LeanConnection } from './http-engine/lean-connection';
import type { TargetTls } from './request-plan';

export interface ConnectionOptions {
  /** milliseconds allowed to connect */
  connectTimeoutMs: number;
  tls?: TargetTls;
  /** the lean HTTP/1.1 engine unless named otherwise (http-connection.ts chooses) */
  engine?: EngineName;
}

export class ConnectionPool {
  private readonly idle: HttpConnection[] = [];
  private readonly all = new Set<HttpConnection>();

  constructor(
    private readonly origin: string,
    private limit: number,
    private readonly options: ConnectionOptions,
  ) {
    this.url = new URL(origin);
    const tls = options.tls;
    // Node's own authorities stay trusted beside the ones given. One context for every connection:
    // built per connection from ~140 certificates, it costs tens of milliseconds of CPU each.
    this.connect = tls ? { rejectUnauthorized: !tls.insecure, ...(tls.ca?.length ? { secureContext: createSecureContext({ ca: [...rootCertificates, ...tls.ca] }) } : {}) } : undefined;
  }

  private readonly connect: { rejectUnauthorized: boolean; secureContext?: SecureContext } | undefined;
  private readonly url: URL;

  /** An idle connection, or a new one while under the limit; undefined when all are busy. */
  acquire(): HttpConnection | undefined {
    const client = this.idle.pop();
    if (client) return client;
    if (this.all.size >= this.limit) return undefined;
    const created = this.options.engine === 'undici' ? this.undiciClient() : new LeanConnection(this.url, this.connect);
    this.all.add(created);
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
      // With HTTP/2 the connection still carries one request at a time: a connection per request in flight, as with HTTP/1.1.
      ...(this.options.tls?.http2 ? { allowH2: true, maxConcurrentStreams: 1 } : {}),
    });
  }

  /** A live change to a closed test's concurrency may need more connections than it started with. */
  raiseLimit(limit: number): void {
    this.limit = Math.max(this.limit, limit);
  }

  /** The connection's request is over: it serves the next one (either engine reconnects it if it closed). */
  release(client: HttpConnection): void {
    if (this.all.has(client)) this.idle.push(client);
  }

  /** Closes a connection whose request failed or passed its deadline, wherever the request was. */
  discard(client: HttpConnection, error?: Error): void {
    if (!this.all.delete(client)) return;
    (error ? client.destroy(error) : client.destroy()).catch(() => {});
  }

  get size(): number {
    return this.all.size;
  }

  /** Lets requests in flight finish, then closes every connection. */
  async close(): Promise<void> {
    const clients = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
  }

  /** Closes every connection at once, failing requests in flight. */
  async destroy(): Promise<void> {
    const clients = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(clients.map((c) => c.destroy().catch(() => {})));
  }
}
