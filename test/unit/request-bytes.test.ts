// A request's bytes for the lean engine: what goes on the wire, once per options object, and the
// requests it refuses to write (as undici refuses them).
import assert from 'node:assert/strict';
import type { Dispatcher } from 'undici';
import { InvalidRequest, requestBytes } from '../../agents/http-engine/request-bytes';

const options = (fields: Partial<Dispatcher.DispatchOptions>): Dispatcher.DispatchOptions => ({ path: '/ping', method: 'GET', headers: [], ...fields });

describe('the lean engine\'s request bytes', () => {
  it('a GET: request line, the headers given, Host and keep-alive, no length', () => {
    const bytes = requestBytes(options({ path: '/items/7?x=1', headers: ['x-loadtest-driver', 'd1', 'user-agent', 'lt-agent/1'] }), '127.0.0.1:8080');
    assert.equal(bytes.toString('latin1'), 'GET /items/7?x=1 HTTP/1.1\r\nx-loadtest-driver: d1\r\nuser-agent: lt-agent/1\r\nhost: 127.0.0.1:8080\r\nconnection: keep-alive\r\n\r\n');
  });

  it('a body: its length in bytes (UTF-8), after the head in the same buffer', () => {
    const bytes = requestBytes(options({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"café"}' }), 'h');
    assert.equal(bytes.toString('utf8'), 'POST /ping HTTP/1.1\r\ncontent-type: application/json\r\nhost: h\r\nconnection: keep-alive\r\ncontent-length: 16\r\n\r\n{"name":"café"}');
  });

  it('a POST without a body says its length is 0; a Host given is not repeated', () => {
    const bytes = requestBytes(options({ method: 'DELETE', headers: ['Host', 'example.test'] }), '127.0.0.1:1');
    assert.equal(bytes.toString('latin1'), 'DELETE /ping HTTP/1.1\r\nHost: example.test\r\nconnection: keep-alive\r\ncontent-length: 0\r\n\r\n');
  });

  it('is encoded once per options object: the same buffer for every later request', () => {
    const o = options({});
    assert.equal(requestBytes(o, 'h'), requestBytes(o, 'h'));
  });

  it('refuses what would write another header or request, naming it', () => {
    assert.throws(() => requestBytes(options({ headers: ['x-a', 'v\r\nx-b: injected'] }), 'h'), (e: Error) => e instanceof InvalidRequest && /header x-a/.test(e.message));
    assert.throws(() => requestBytes(options({ headers: ['bad name', 'v'] }), 'h'), /invalid header name/);
    assert.throws(() => requestBytes(options({ path: '/a b' }), 'h'), /invalid request path/);
    assert.throws(() => requestBytes(options({ path: '/a\r\n' }), 'h'), /invalid request path/);
    assert.throws(() => requestBytes(options({ method: 'GE T' }), 'h'), /invalid request method/);
    assert.throws(() => requestBytes(options({ headers: ['transfer-encoding', 'chunked'] }), 'h'), /transfer-encoding/);
  });
});
