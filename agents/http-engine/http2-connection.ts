// The driver's HTTP/2 engine: one connection is one session of Node's own `http2` module, carrying
// as many requests at once as the pool gives it (max_streams). undici's HTTP/2 runs on the same
// module with a request queue, a retry layer and per-request objects on top, and costs about a
// third more per request; this is the module and the handler calls, nothing else.
//
// What it does:
// - connects on the first request, on a TLS socket of its own that offers h2 and http/1.1 (ALPN),
//   trusts the pool's authorities and resumes the pool's latest TLS session;
// - the server chose HTTP/1.1: the connection tells the pool (which opens lean HTTP/1.1
//   connections from then on) and hands the requests it was given to an undici Client that sends
//   them one at a time, as undici does for an HTTP/2 connection answered in HTTP/1.1;
// - a request is a stream; a stream the server resets fails that request alone (stream_reset), and
//   the connection carries on; a request past its deadline has its stream cancelled (RST_STREAM);
// - a stream the server refused unprocessed (REFUSED_STREAM, or past a GOAWAY's last stream id)
//   goes again once (RFC 9113 §8.7), its deadline running on;
// - a graceful GOAWAY (NO_ERROR) lets the streams the server took finish on the old session, and
//   the connection opens a new one for the next requests and the refused ones; a GOAWAY with an
//   error, a reset or closed socket fails every stream with the connection's error, and the pool
//   hears at once that the connection is gone, so that it opens another for the next request.
import { connect as http2Connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { Client, type Dispatcher } from 'undici';
import type { ConnectionHandler, HttpConnection } from './http-connection';
import { ConnectionClosed, connectTls, socketHost, type LeanTlsOptions } from './lean-connection';
import { bodyBytes, checkHeader, checkRequestLine, flatHeaders } from './request-bytes';

/** What the pool hears from one of its HTTP/2 connections. */
export interface Http2ConnectionEvents {
  /** the server chose HTTP/1.1 for this connection (ALPN) */
  http1(): void;
  /** the connection takes no new stream: closed, failed to connect, or a GOAWAY with an error (a graceful one opens a new session) */
  gone(): void;
}

/** The connection did not connect within the pool's connect timeout. */
export class ConnectTimeout extends Error {
  readonly code = 'ETIMEDOUT';
}

/** A request as the session takes it, built once per dispatch-options object (see request-bytes.ts). */
interface Http2Request {
  headers: OutgoingHttpHeaders;
  body: Buffer | undefined;
}

const built = Symbol('http2 request');
type Buildable = Dispatcher.DispatchOptions & { [built]?: Http2Request };

// Headers that mean something to an HTTP/1.1 connection only; HTTP/2 forbids them (RFC 9113 §8.2.2).
const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

export function http2Request(options: Dispatcher.DispatchOptions): Http2Request {
  const cached = (options as Buildable)[built];
  if (cached) return cached;
  const request = buildRequest(options);
  if (Object.isExtensible(options)) (options as Buildable)[built] = request;
  return request;
}

function buildRequest(options: Dispatcher.DispatchOptions): Http2Request {
  const { method, path } = options;
  checkRequestLine(method, path);
  const headers: OutgoingHttpHeaders = { ':method': method, ':path': path };
  const flat = flatHeaders(options.headers);
  for (let i = 0; i < flat.length; i += 2) {
    const value = flat[i + 1];
    checkHeader(flat[i], value);
    const name = flat[i].toLowerCase();
    if (CONNECTION_HEADERS.has(name)) continue;
    // Host is the :authority pseudo-header over HTTP/2.
    const key = name === 'host' ? ':authority' : name;
    const existing = headers[key];
    headers[key] = existing === undefined ? value : ([] as string[]).concat(existing as string | string[], value);
  }
  const body = bodyBytes(options.body);
  if (body.length > 0 && headers['content-length'] === undefined) headers['content-length'] = String(body.length);
  return { headers, body: body.length > 0 ? body : undefined };
}

const endStream = { endStream: true };
const openStream = { endStream: false };
const noHeaders: Buffer[] = [];
const noop = (): void => {};

/** One request on one stream; the stream's listeners are shared functions that find it here. */
class Exchange {
  status = 0;
  settled = false;
  /** the stream of the latest attempt, and its session */
  stream: ClientHttp2Stream | undefined;
  session: ClientHttp2Session | undefined;
  /** times sent again after the server refused it unprocessed */
  retries = 0;
  constructor(
    readonly options: Dispatcher.DispatchOptions,
    readonly handler: ConnectionHandler,
    readonly connection: Http2Connection,
  ) {}

  /** The handler's abort: cancels the stream alone (RST_STREAM CANCEL) and fails the request. */
  readonly abort = (error: Error): void => {
    if (this.settled) return;
    this.settled = true;
    if (this.stream && !this.stream.destroyed) this.stream.close(constants.NGHTTP2_CANCEL);
    this.handler.onError(error);
  };

  fail(error: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.handler.onError(error);
  }
}

const exchangeOf = Symbol('exchange');
type TaggedStream = ClientHttp2Stream & { [exchangeOf]: Exchange };

// Each listener ignores a stream that is no longer its exchange's latest attempt.
function onResponse(this: TaggedStream, headers: IncomingHttpHeaders): void {
  const exchange = this[exchangeOf];
  if (exchange.settled || exchange.stream !== this) return;
  exchange.status = Number(headers[':status']);
  exchange.handler.onHeaders(exchange.status, exchange.handler.readsResponse === false ? noHeaders : rawHeadersOf(headers), noop, '');
}

function onData(this: TaggedStream, chunk: Buffer): void {
  const exchange = this[exchangeOf];
  if (!exchange.settled && exchange.stream === this) exchange.handler.onData(chunk);
}

function onEnd(this: TaggedStream): void {
  const exchange = this[exchangeOf];
  // Ended without a response: a reset without an error code (CANCEL), told apart on 'close'.
  if (exchange.settled || exchange.status === 0 || exchange.stream !== this) return;
  exchange.settled = true;
  exchange.handler.onComplete(null);
}

/**
 * A stream the server refused (REFUSED_STREAM, or past a GOAWAY's last stream id) was not
 * processed (RFC 9113 §8.7): it goes again, once, on this connection's session or a new one, as a
 * browser does; the request's deadline runs on. Any other error fails the request.
 */
function onError(this: TaggedStream, error: Error): void {
  const exchange = this[exchangeOf];
  if (exchange.settled || exchange.stream !== this) return;
  if (this.rstCode === constants.NGHTTP2_REFUSED_STREAM && exchange.status === 0 && exchange.retries < MAX_RETRIES) {
    exchange.retries++;
    exchange.connection.send(exchange);
  } else exchange.fail(error);
}

const MAX_RETRIES = 1;

/**
 * Closed without a response or an error: reset by the server with NO_ERROR or CANCEL while the
 * session carries on (stream_reset, as undici says), or ended with its session, which is closing
 * (a GOAWAY came) or gone (connection_reset). A server tearing a connection down may reset its
 * streams (NO_ERROR) just before its GOAWAY and close, in another read: the verdict waits for the
 * reads already in, and a stream reset with NO_ERROR before any answer (which no server does to a
 * stream it means to serve) stops the connection taking new streams, so that none is sent onto a
 * connection about to close.
 */
function onClose(this: TaggedStream): void {
  const exchange = this[exchangeOf];
  if (exchange.settled || exchange.stream !== this) return;
  const code = this.rstCode;
  if (code === constants.NGHTTP2_NO_ERROR && exchange.status === 0) exchange.connection.serverEnding = true;
  const session = exchange.session!;
  setImmediate(() => {
    if (exchange.stream !== this) return;
    if (session.closed || session.destroyed) exchange.fail(new ConnectionClosed('the connection closed before the response ended'));
    else exchange.fail(new StreamReset(`the server reset the stream before the response ended (code ${code ?? 'none'})`));
  });
}

/** The server reset a stream with a code Node does not raise as an error (CANCEL). */
export class StreamReset extends Error {
  readonly code = 'ERR_HTTP2_STREAM_ERROR';
}

/** A response's headers as undici hands them: [name, value, ...] as Buffers (scenarios read them). */
function rawHeadersOf(headers: IncomingHttpHeaders): Buffer[] {
  const raw: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith(':') || value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) raw.push(Buffer.from(name, 'latin1'), Buffer.from(String(v), 'latin1'));
  }
  return raw;
}

export class Http2Connection implements HttpConnection {
  private state: 'idle' | 'connecting' | 'ready' | 'http1' | 'closed' = 'idle';
  private socket: TLSSocket | undefined;
  private session: ClientHttp2Session | undefined;
  /** requests given (or refused, to go again) while no session was ready, sent in order once one is */
  private queue: Exchange[] = [];
  /** sessions a graceful GOAWAY ended, finishing the streams the server took */
  private readonly draining = new Set<ClientHttp2Session>();
  /** the connection the requests go to once the server chose HTTP/1.1 */
  private http1: Client | undefined;
  private closing: Promise<void> | undefined;
  private readonly hostname: string;
  private readonly port: number;
  /** the server reset a stream with NO_ERROR before answering it: it is ending the connection */
  serverEnding = false;

  constructor(
    private readonly url: URL,
    private readonly tls: LeanTlsOptions,
    private readonly connectTimeoutMs: number,
    private readonly events: Http2ConnectionEvents,
  ) {
    this.hostname = socketHost(url);
    this.port = Number(url.port) || 443;
  }

  /** Whether the session is up and takes new streams. */
  get connected(): boolean {
    const session = this.session;
    return this.state === 'ready' && !this.serverEnding && session !== undefined && !session.closed && !session.destroyed;
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: ConnectionHandler): boolean {
    switch (this.state) {
      case 'http1':
        return this.http1!.dispatch(options, handler as unknown as Dispatcher.DispatchHandler);
      case 'closed':
        process.nextTick(() => handler.onError(new ConnectionClosed('the connection was closed')));
        return false;
      default:
        this.send(new Exchange(options, handler, this));
        return true;
    }
  }

  /** Sends `exchange` (new, or refused and going again) on the session if one takes streams, else once one does. */
  send(exchange: Exchange): void {
    switch (this.state) {
      case 'ready':
        this.start(exchange);
        return;
      case 'idle':
      case 'connecting':
        this.queue.push(exchange);
        if (this.state === 'idle') this.open();
        return;
      default:
        process.nextTick(() => exchange.fail(new ConnectionClosed('the connection closed before the server took this request')));
    }
  }

  private start(exchange: Exchange): void {
    const { options, handler } = exchange;
    let request: Http2Request;
    try {
      request = http2Request(options);
    } catch (error) {
      // Never within the caller's turn: the load generator is in the middle of sending.
      process.nextTick(() => exchange.fail(error as Error));
      return;
    }
    if (exchange.retries === 0) {
      handler.onConnect(exchange.abort);
      // The handler may abort in onConnect (its deadline passed while connecting).
      if (exchange.settled) return;
    } else if (exchange.settled) return;
    const session = this.session!;
    let stream: TaggedStream;
    try {
      stream = session.request(request.headers, request.body ? openStream : endStream) as TaggedStream;
    } catch (error) {
      // The session is closing or gone: the request was not sent.
      process.nextTick(() => exchange.fail(new ConnectionClosed(`the connection takes no new stream: ${(error as Error).message}`)));
      return;
    }
    exchange.session = session;
    exchange.stream = stream;
    stream[exchangeOf] = exchange;
    stream.on('response', onResponse);
    if (handler.readsResponse === false) stream.resume();
    else stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
    if (request.body) stream.end(request.body);
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    switch (this.state) {
      case 'ready':
        this.closing = new Promise((resolve) => this.session!.close(resolve));
        break;
      case 'http1':
        this.closing = this.http1!.close();
        break;
      case 'connecting':
        // Those waiting are sent once connected, then the session closes (see connected()).
        this.closing = new Promise((resolve) => this.socket!.once('close', () => resolve()));
        break;
      default:
        this.state = 'closed';
        this.closing = Promise.resolve();
    }
    return this.closing;
  }

  destroy(error?: Error): Promise<void> {
    const wasState = this.state;
    this.state = 'closed';
    const waiting = this.queue;
    this.queue = [];
    const failure = error ?? new ConnectionClosed('the connection was destroyed');
    for (const exchange of waiting) exchange.fail(failure);
    if (wasState === 'http1') return this.http1!.destroy(failure);
    for (const session of this.draining) session.destroy(error);
    if (this.session) this.session.destroy(error);
    else this.socket?.destroy();
    return Promise.resolve();
  }

  private open(): void {
    this.state = 'connecting';
    const socket = connectTls(this.hostname, this.port, this.tls, ['h2', 'http/1.1']);
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(new ConnectTimeout(`no connection to ${this.url.host} within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
    const failed = (error: Error) => {
      clearTimeout(timer);
      this.failConnecting(error);
    };
    const closed = () => failed(new ConnectionClosed('the server closed the connection while connecting'));
    socket.once('error', failed);
    socket.once('close', closed);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', failed);
      socket.off('close', closed);
      if (this.state !== 'connecting') return;
      if (socket.alpnProtocol === 'h2') this.connected_(socket);
      else this.fallBackToHttp1(socket);
    });
    this.socket = socket;
  }

  private failConnecting(error: Error): void {
    if (this.state !== 'connecting') return;
    this.state = 'closed';
    this.events.gone();
    const waiting = this.queue;
    this.queue = [];
    for (const exchange of waiting) exchange.fail(error);
  }

  private connected_(socket: TLSSocket): void {
    const session = http2Connect(this.url.origin, { createConnection: () => socket, settings: { enablePush: false } });
    this.session = session;
    this.state = 'ready';
    this.serverEnding = false;
    // A session's error also fails its streams, each with the same error; the listener keeps it from being thrown.
    session.on('error', noop);
    session.once('goaway', (code: number) => {
      // Graceful (NO_ERROR): Node closes the session, which finishes the streams the server took;
      // the next requests, and those it refused, go on a new session of this connection. Any
      // other code: Node destroys the session, and its close tells the pool.
      if (code !== constants.NGHTTP2_NO_ERROR || this.session !== session || this.closing) return;
      this.draining.add(session);
      this.session = undefined;
      this.state = 'idle';
    });
    session.once('close', () => {
      this.draining.delete(session);
      if (this.session !== session) return;
      if (this.state === 'ready') this.state = 'closed';
      this.events.gone();
    });
    const waiting = this.queue;
    this.queue = [];
    for (const exchange of waiting) this.start(exchange);
    // close() while connecting: those waiting have gone out, and the session ends after them.
    if (this.closing) session.close();
  }

  /**
   * The server answers in HTTP/1.1 only. This TLS connection is not reused: the requests given to
   * it go, one at a time, to an undici Client of their own, which reconnects as it needs.
   */
  private fallBackToHttp1(socket: TLSSocket): void {
    socket.destroy();
    this.state = 'http1';
    const tls = this.tls;
    this.http1 = new Client(this.url.origin, {
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connectTimeout: this.connectTimeoutMs,
      headersTimeout: 0,
      bodyTimeout: 0,
      connect: { rejectUnauthorized: tls.rejectUnauthorized, ...(tls.secureContext ? { secureContext: tls.secureContext } : {}) },
    });
    this.events.http1();
    const waiting = this.queue;
    this.queue = [];
    for (const exchange of waiting) {
      // One refused by an HTTP/2 session of this connection has had its onConnect: it cannot start again on undici.
      if (exchange.retries > 0) exchange.fail(new ConnectionClosed('the server answered in HTTP/1.1 on reconnecting'));
      else this.http1.dispatch(exchange.options, exchange.handler as unknown as Dispatcher.DispatchHandler);
    }
    if (this.closing) void this.http1.close();
  }
}
