// A request's bytes for the lean engine, encoded once per dispatch-options object: the driver sends
// the same object for every request of a plain test (and one per request of a mix), so the head
// and body are encoded on the first request and every later one is a single socket write of the
// same buffer. A templated request (its path or body filled per request) is a new object each
// time and is encoded for that request.
import type { Dispatcher } from 'undici';

const encoded = Symbol('lean request bytes');

type Encodable = Dispatcher.DispatchOptions & { [encoded]?: Buffer };

/** A request the lean engine refuses to write: the same cases undici refuses (InvalidArgumentError). */
export class InvalidRequest extends Error {
  readonly code = 'LT_ERR_INVALID_REQUEST';
}

// A CR, LF or NUL in a request line or header would let a value write another header or request.
const UNSAFE = /[\r\n\0]/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** The bytes of `options` for `host` (the Host header's value), cached on the options object. */
export function requestBytes(options: Dispatcher.DispatchOptions, host: string): Buffer {
  const cached = (options as Encodable)[encoded];
  if (cached) return cached;
  const bytes = encode(options, host);
  // Only a frozen options object cannot carry it; those are encoded each time.
  if (Object.isExtensible(options)) (options as Encodable)[encoded] = bytes;
  return bytes;
}

/** Refuses a method or path that is not one (both engines check the same). */
export function checkRequestLine(method: string, path: string): void {
  if (!TOKEN.test(method)) throw new InvalidRequest(`invalid request method ${JSON.stringify(method)}`);
  if (UNSAFE.test(path) || path.includes(' ')) throw new InvalidRequest(`invalid request path ${JSON.stringify(path)}`);
}

/** Refuses a header name that is not a token, or a value that would write another header. */
export function checkHeader(name: string, value: string): void {
  if (!TOKEN.test(name)) throw new InvalidRequest(`invalid header name ${JSON.stringify(name)}`);
  if (UNSAFE.test(value)) throw new InvalidRequest(`invalid value for header ${name}`);
}

function encode(options: Dispatcher.DispatchOptions, host: string): Buffer {
  const method = options.method;
  const path = options.path;
  checkRequestLine(method, path);
  let head = `${method} ${path} HTTP/1.1\r\n`;
  let hasHost = false;
  let hasLength = false;
  let hasConnection = false;
  const headers = flatHeaders(options.headers);
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    const value = headers[i + 1];
    checkHeader(name, value);
    const lower = name.toLowerCase();
    if (lower === 'host') hasHost = true;
    else if (lower === 'content-length') hasLength = true;
    else if (lower === 'connection') hasConnection = true;
    else if (lower === 'transfer-encoding') throw new InvalidRequest('a transfer-encoding header is not sent: the body is sent whole, with its content-length');
    head += `${name}: ${value}\r\n`;
  }
  if (!hasHost) head += `host: ${host}\r\n`;
  if (!hasConnection) head += 'connection: keep-alive\r\n';
  const body = bodyBytes(options.body);
  // A GET or HEAD without a body says nothing of length, as undici does; any other method says 0.
  if (!hasLength && (body.length > 0 || !(method === 'GET' || method === 'HEAD'))) head += `content-length: ${body.length}\r\n`;
  head += '\r\n';
  const headBytes = Buffer.from(head, 'latin1');
  return body.length === 0 ? headBytes : Buffer.concat([headBytes, body]);
}

export function flatHeaders(headers: Dispatcher.DispatchOptions['headers']): string[] {
  if (!headers) return [];
  if (Array.isArray(headers)) return headers.map(String);
  const out: string[] = [];
  for (const [name, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) out.push(name, String(v));
  }
  return out;
}

export function bodyBytes(body: Dispatcher.DispatchOptions['body']): Buffer {
  if (body === null || body === undefined) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new InvalidRequest('the driver sends string and byte bodies only');
}
