// The lean engine's response framing, fed every response split at every byte boundary (and in
// random pieces): each split must frame the response exactly as the whole does, and a malformed
// response must fail however it arrives, never wait for ever or run past its bytes.
import assert from 'node:assert/strict';
import { MalformedResponse, ResponseParser } from '../../agents/http-engine/response-parser';

interface Framed {
  status: number;
  keepAlive: boolean;
  /** bytes after the response's end */
  leftOver: number;
}

type Outcome = Framed | 'malformed' | 'needs more' | 'ended by the close';

/** Feeds `pieces` one after another, each from a reused buffer as a plain connection reads them. */
function frame(pieces: Buffer[], headRequest = false): Outcome {
  const parser = new ResponseParser();
  parser.begin(headRequest);
  const shared = Buffer.alloc(1 << 16, 0x2a);
  try {
    for (let i = 0; i < pieces.length; i++) {
      // Stale bytes past the piece, as in a reused read buffer: framing must not read them.
      shared.fill(0x0d);
      pieces[i].copy(shared);
      const leftOver = parser.execute(shared, 0, pieces[i].length);
      if (leftOver >= 0) {
        const after = pieces.slice(i + 1).reduce((n, p) => n + p.length, 0);
        return { status: parser.status, keepAlive: parser.keepAlive, leftOver: leftOver + after };
      }
    }
  } catch (error) {
    assert.ok(error instanceof MalformedResponse, `not a MalformedResponse: ${error}`);
    return 'malformed';
  }
  return parser.closed() ? 'ended by the close' : 'needs more';
}

const RESPONSES: [string, string, Outcome][] = [
  ['Content-Length', 'HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 5\r\n\r\nhello', { status: 200, keepAlive: true, leftOver: 0 }],
  ['no reason phrase', 'HTTP/1.1 204\r\n\r\n', { status: 204, keepAlive: true, leftOver: 0 }],
  ['chunked, extensions, trailers', 'HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, chunked\r\n\r\n5;a=1;b="x;y"\r\nhello\r\nA \r\n0123456789\r\n0\r\nX-Sum: 15\r\nX-More: y\r\n\r\n', { status: 200, keepAlive: true, leftOver: 0 }],
  ['1xx first', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: <a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n', { status: 201, keepAlive: true, leftOver: 0 }],
  ['Connection: close', 'HTTP/1.1 503 Busy\r\nCONNECTION: Close\r\nContent-Length: 2\r\n\r\nno', { status: 503, keepAlive: false, leftOver: 0 }],
  ['HTTP/1.0 keep-alive', 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok', { status: 200, keepAlive: true, leftOver: 0 }],
  ['HTTP/1.0 without keep-alive', 'HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok', { status: 200, keepAlive: false, leftOver: 0 }],
  ['304 with the representation\'s length', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n', { status: 304, keepAlive: true, leftOver: 0 }],
  ['bytes after the response', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1', { status: 200, keepAlive: true, leftOver: 8 }],
  ['a body until the close', 'HTTP/1.1 200 OK\r\n\r\nall of it', 'ended by the close'],
  ['a head cut short', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n', 'needs more'],
  ['not HTTP', 'SSH-2.0-OpenSSH_9.2\r\n\r\n', 'malformed'],
  ['HTTP/2 preface', 'HTTP/2 200\r\n\r\n', 'malformed'],
  ['a status of two digits', 'HTTP/1.1 20 OK\r\n\r\n', 'malformed'],
  ['a header without a colon', 'HTTP/1.1 200 OK\r\nContent-Length 2\r\n\r\nok', 'malformed'],
  ['a folded header', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  2\r\nContent-Length: 0\r\n\r\n', 'malformed'],
  ['a negative length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'malformed'],
  ['a chunk without its CRLF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd0\r\n\r\n', 'malformed'],
  ['a line ended by LF alone', 'HTTP/1.1 200 OK\nContent-Length: 0\n\n', 'malformed'],
  ['a CR without LF', 'HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n', 'malformed'],
  ['a chunk size line of junk', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n', 'malformed'],
];

describe('the lean engine\'s response framing', () => {
  for (const [name, text, expected] of RESPONSES) {
    it(`${name}: whole, split at every byte, and in random pieces`, () => {
      const bytes = Buffer.from(text, 'latin1');
      assert.deepEqual(frame([bytes]), expected, 'whole');
      for (let at = 1; at < bytes.length; at++) {
        assert.deepEqual(frame([bytes.subarray(0, at), bytes.subarray(at)]), expected, `split at byte ${at}`);
      }
      // Every byte on its own, then random cuts into up to eight pieces (a fixed seed: the same cuts each run).
      assert.deepEqual(frame([...bytes].map((b) => Buffer.from([b]))), expected, 'a byte at a time');
      let seed = 7;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      for (let round = 0; round < 200; round++) {
        const cuts = [...new Set(Array.from({ length: 1 + Math.floor(random() * 7) }, () => 1 + Math.floor(random() * (bytes.length - 1))))].sort((a, b) => a - b);
        const pieces = [0, ...cuts].map((from, i) => bytes.subarray(from, cuts[i] ?? bytes.length));
        assert.deepEqual(frame(pieces), expected, `cut at ${cuts.join(', ')}`);
      }
    });
  }

  it('a HEAD response ends at its head, whatever its Content-Length', () => {
    assert.deepEqual(frame([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n')], true), { status: 200, keepAlive: true, leftOver: 0 });
  });

  it('a head that never ends is malformed past 64 KiB, not awaited for ever', () => {
    const endless = Buffer.from(`HTTP/1.1 200 OK\r\nX-Long: ${'a'.repeat(70 * 1024)}`);
    assert.equal(frame([endless.subarray(0, 30_000), endless.subarray(30_000)]), 'malformed');
  });
});
