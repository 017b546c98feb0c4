// The lean HTTP/1.1 engine: one keep-alive connection on a `net` or `tls` socket, carrying one
// request at a time. A request is one write of bytes encoded once (request-bytes.ts); a response
// is framed by response-parser.ts, which reads the status and the three framing headers and
// counts the body without copying it. Every connection of the process, plain or TLS, reads into
// one shared buffer (`onread`), so a response costs no allocation.
//
// What it does, the same as an undici Client with pipelining 1:
// - connects on the first request, and again on the next request after the server closed it
//   (a close seen while idle is not an error: the request that follows opens a new connection);
// - a close that crosses a request already written, before its response ended, fails that request
//   (`connection_reset`), as does a reset; refused and TLS errors keep their codes;
// - a response framed by the end of the connection ends there; `Connection: close`, HTTP/1.0
//   without keep-alive, bytes past the response, or Transfer-Encoding beside Content-Length close
//   the connection after the response;
// - a malformed response fails its request (`other`) and closes the connection.
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type SecureContext, type TLSSocket } from 'node:tls';
import type { Dispatcher } from 'undici';
import type { ConnectionHandler, HttpConnection } from './http-connection';
import { requestBytes } from './request-bytes';
import { ResponseParser } from './response-parser';

/** The connection ended before the response did. */
export class ConnectionClosed extends Error {
  readonly code = 'LT_ERR_CLOSED';
}

export interface LeanTlsOptions {
  rejectUnauthorized: boolean;
  /** the authorities to trust, built once for every connection of a pool */
  secureContext?: SecureContext;
  /** the latest TLS session a connection of the pool was given, to resume on the next connect */
  session?: Buffer;
}

// Read callbacks run one at a time and the parser copies what it keeps, so one buffer serves all.
const sharedReadBuffer = Buffer.allocUnsafe(64 * 1024);
const noHeaders: Buffer[] = [];
const noop = (): void => {};

/** The host of `url` as a socket connects to it: an IPv6 address without its brackets. */
export function socketHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * A TLS connection to the target as both of the driver's engines open it: the pool's trust, SNI
 * for a name, and the latest session resumed (a reconnect skips the full handshake, as undici's do).
 */
export function connectTls(host: string, port: number, tls: LeanTlsOptions, alpn: string[], extra: object = {}): TLSSocket {
  const socket = tlsConnect({
    host,
    port,
    ...(isIP(host) ? {} : { servername: host }),
    ALPNProtocols: alpn,
    rejectUnauthorized: tls.rejectUnauthorized,
    ...(tls.secureContext ? { secureContext: tls.secureContext } : {}),
    ...(tls.session ? { session: tls.session } : {}),
    ...extra,
  });
  socket.on('session', (session: Buffer) => (tls.session = session));
  return socket;
}

export class LeanConnection implements HttpConnection {
  private socket: Socket | TLSSocket | undefined;
  private connected = false;
  /** the request in flight (connecting, written, or being answered) */
  private handler: ConnectionHandler | undefined;
  /** the request's bytes, while the connection is still connecting */
  private waiting: Buffer | undefined;
  private headRequest = false;
  private socketError: Error | undefined;
  private readonly parser = new ResponseParser();
  private ended = false;
  private closeAfterRequest: (() => void) | undefined;
  private readonly host: string;
  private readonly hostname: string;
  private readonly port: number;

  constructor(
    url: URL,
    private readonly tls?: LeanTlsOptions,
  ) {
    this.host = url.host;
    this.hostname = socketHost(url);
    this.port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  }

  dispatch(options: Dispatcher.DispatchOptions, handler: ConnectionHandler): boolean {
    let bytes: Buffer;
    try {
      if (this.ended) throw new ConnectionClosed('the connection was closed');
      if (this.handler) throw new Error('a lean connection carries one request at a time');
      bytes = requestBytes(options, this.host);
    } catch (error) {
      // Never within the caller's turn: the load generator is in the middle of sending.
      process.nextTick(() => handler.onError(error as Error));
      return false;
    }
    this.handler = handler;
    this.headRequest = options.method === 'HEAD';
    if (this.connected) this.write(bytes);
    else {
      this.waiting = bytes;
      if (!this.socket) this.open();
    }
    return true;
  }

  close(): Promise<void> {
    if (this.ended) return Promise.resolve();
    if (!this.handler) {
      this.end();
      return Promise.resolve();
    }
    return new Promise((resolve) => (this.closeAfterRequest = resolve));
  }

  destroy(error?: Error): Promise<void> {
    const handler = this.handler;
    this.handler = undefined;
    this.end();
    handler?.onError(error ?? new ConnectionClosed('the connection was destroyed'));
    return Promise.resolve();
  }

  private end(): void {
    this.ended = true;
    this.dropSocket();
    const resolve = this.closeAfterRequest;
    this.closeAfterRequest = undefined;
    resolve?.();
  }

  private open(): void {
    this.socketError = undefined;
    // Both read into the shared buffer: a TLS socket hands over its decrypted bytes the same way.
    const onread = { buffer: sharedReadBuffer, callback: (n: number, buffer: Uint8Array) => this.onData(socket, buffer as Buffer, n) };
    let socket: Socket | TLSSocket;
    if (this.tls) {
      // tls.connect documents `onread` (as net's); @types/node's ConnectionOptions lacks it.
      socket = connectTls(this.hostname, this.port, this.tls, ['http/1.1'], { onread } as object);
      socket.once('secureConnect', () => this.onConnected(socket));
    } else {
      socket = netConnect({ host: this.hostname, port: this.port, onread });
      socket.once('connect', () => this.onConnected(socket));
    }
    socket.setNoDelay(true);
    socket.on('error', (error: Error) => {
      if (socket === this.socket) this.socketError = error;
    });
    socket.once('close', () => this.onClosed(socket));
    this.socket = socket;
  }

  private onConnected(socket: Socket): void {
    if (socket !== this.socket) return;
    this.connected = true;
    const bytes = this.waiting;
    this.waiting = undefined;
    if (bytes && this.handler) this.write(bytes);
  }

  private write(bytes: Buffer): void {
    const handler = this.handler!;
    handler.onConnect(this.abort);
    // The handler may abort in onConnect (its deadline passed while connecting).
    if (this.handler !== handler) return;
    this.parser.begin(this.headRequest);
    this.socket!.write(bytes);
  }

  private readonly abort = (error: Error): void => this.fail(error);

  /** true: go on reading (an `onread` callback that returns false pauses the socket) */
  private onData(socket: Socket, data: Buffer, length: number): true {
    if (socket !== this.socket) return true;
    const handler = this.handler;
    if (!handler || !this.parser.reading) {
      // Bytes nobody asked for: the connection cannot be trusted with the next request.
      this.dropSocket();
      return true;
    }
    let leftOver: number;
    try {
      leftOver = this.parser.execute(data, 0, length);
    } catch (error) {
      this.fail(error as Error);
      return true;
    }
    if (leftOver >= 0) this.complete(handler, leftOver === 0 && this.parser.keepAlive);
    return true;
  }

  private onClosed(socket: Socket): void {
    if (socket !== this.socket) return;
    this.socket = undefined;
    this.connected = false;
    const handler = this.handler;
    if (!handler) return;
    if (this.parser.reading && this.parser.closed()) this.complete(handler, false);
    else this.fail(this.socketError ?? new ConnectionClosed(this.parser.started ? 'the server closed the connection before the response ended' : 'the server closed the connection before answering'));
  }

  /** The response ended: the connection is free (or closed) before the handler hears of it, so the handler may send the next request on it. */
  private complete(handler: ConnectionHandler, keepAlive: boolean): void {
    this.handler = undefined;
    const status = this.parser.status;
    if (!keepAlive) this.dropSocket();
    if (this.closeAfterRequest) this.end();
    handler.onHeaders(status, noHeaders, noop, '');
    handler.onComplete(null);
  }

  private fail(error: Error): void {
    const handler = this.handler;
    this.handler = undefined;
    this.waiting = undefined;
    this.parser.reset();
    this.dropSocket();
    if (this.closeAfterRequest) this.end();
    handler?.onError(error);
  }

  private dropSocket(): void {
    const socket = this.socket;
    if (!socket) return;
    this.socket = undefined;
    this.connected = false;
    socket.destroy();
  }
}
