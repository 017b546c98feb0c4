// HTTP/1.1 response framing for the lean engine (RFC 9112): it finds where each response ends
// (Content-Length, chunked with extensions and trailers, or the close of the connection) and
// whether the connection may carry the next request. It reads only the status and the three
// headers that framing needs; the body's bytes are counted, never copied. A response may arrive
// split at any byte: an unfinished head or line is kept (copied, since a plain connection reads
// into one shared buffer) until the rest arrives.

/** A response that cannot be framed: reported as an `other` error, and its connection closed. */
export class MalformedResponse extends Error {
  readonly code = 'LT_ERR_MALFORMED_RESPONSE';
}

const enum State {
  Idle,
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
}

const CR = 13;
const LF = 10;
const CRLF = Buffer.from('\r\n', 'latin1');
const END_OF_HEAD = Buffer.from('\r\n\r\n', 'latin1');
/** a head (or a chunk-size line, or the trailers) longer than this is malformed, not awaited */
const MAX_HEAD_BYTES = 64 * 1024;

export class ResponseParser {
  private state = State.Idle;
  /** bytes of an unfinished head or line, waiting for the rest */
  private pending: Buffer | undefined;
  private remaining = 0;
  private headRequest = false;
  private trailerBytes = 0;
  /** the final (non-1xx) status of the response being read; 0 until its head is read */
  status = 0;
  /** whether the connection may carry another request after this response */
  keepAlive = true;

  /** A request was written: its response is next. */
  begin(headRequest: boolean): void {
    this.state = State.Head;
    this.pending = undefined;
    this.headRequest = headRequest;
    this.status = 0;
    this.keepAlive = true;
    this.trailerBytes = 0;
  }

  /** true while a response is expected or being read */
  get reading(): boolean {
    return this.state !== State.Idle;
  }

  /** true once any byte of the response has arrived */
  get started(): boolean {
    return this.status !== 0 || this.pending !== undefined || (this.state !== State.Head && this.state !== State.Idle);
  }

  /**
   * Reads `data[start, end)`. Returns how many of its bytes follow the end of the response when
   * it ended within this data (0 for a response that ended with the data), or -1 when more is
   * needed. Throws MalformedResponse.
   */
  execute(data: Buffer, start: number, end: number): number {
    if (this.pending) {
      data = Buffer.concat([this.pending, data.subarray(start, end)]);
      start = 0;
      end = data.length;
      this.pending = undefined;
    }
    let pos = start;
    for (;;) {
      switch (this.state) {
        case State.Idle:
          throw new MalformedResponse('the server sent bytes no request asked for');
        case State.Head: {
          const at = boundedIndexOf(data, END_OF_HEAD, pos, end);
          if (at < 0) return this.wait(data, pos, end, 'response head');
          this.readHead(data, pos, at + 2);
          pos = at + 4;
          // A response without a body (HEAD, 204, 304, a length of 0) ends at its head.
          if ((this.state as State) === State.Idle) return end - pos;
          break;
        }
        case State.Length: {
          const n = Math.min(this.remaining, end - pos);
          pos += n;
          this.remaining -= n;
          if (this.remaining === 0) return this.finish(end - pos);
          return -1;
        }
        case State.ChunkSize: {
          const at = boundedIndexOf(data, CRLF, pos, end);
          if (at < 0) return this.wait(data, pos, end, 'chunk size line');
          const size = chunkSize(data, pos, at);
          pos = at + 2;
          if (size === 0) {
            this.state = State.Trailers;
          } else {
            this.remaining = size;
            this.state = State.ChunkData;
          }
          break;
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, end - pos);
          pos += n;
          this.remaining -= n;
          if (this.remaining > 0) return -1;
          this.state = State.ChunkDataEnd;
          break;
        }
        case State.ChunkDataEnd: {
          if (end - pos < 2) return this.wait(data, pos, end, 'chunk end');
          if (data[pos] !== CR || data[pos + 1] !== LF) throw new MalformedResponse('a chunk is longer than its size says');
          pos += 2;
          this.state = State.ChunkSize;
          break;
        }
        case State.Trailers: {
          const at = boundedIndexOf(data, CRLF, pos, end);
          if (at < 0) return this.wait(data, pos, end, 'trailers');
          this.trailerBytes += at + 2 - pos;
          if (this.trailerBytes > MAX_HEAD_BYTES) throw new MalformedResponse(`the trailers are longer than ${MAX_HEAD_BYTES} bytes`);
          const empty = at === pos;
          pos = at + 2;
          if (empty) return this.finish(end - pos);
          break;
        }
        case State.UntilClose:
          return -1;
      }
      if (pos > end) throw new MalformedResponse('framing ran past the data');
    }
  }

  /**
   * The connection closed while the response was being read: a response framed by the close ends
   * here (true); any other is cut short (false).
   */
  closed(): boolean {
    const ended = this.state === State.UntilClose;
    if (ended) this.state = State.Idle;
    return ended;
  }

  /** Forgets the response (its request failed). */
  reset(): void {
    this.state = State.Idle;
    this.pending = undefined;
  }

  private finish(leftOver: number): number {
    this.state = State.Idle;
    return leftOver;
  }

  private wait(data: Buffer, pos: number, end: number, what: string): number {
    if (end - pos > MAX_HEAD_BYTES) throw new MalformedResponse(`the ${what} is longer than ${MAX_HEAD_BYTES} bytes`);
    // A copy: a plain connection's data lives in a buffer the next read overwrites.
    if (end > pos) this.pending = Buffer.from(data.subarray(pos, end));
    return -1;
  }

  /** Reads a head whose last header line ends at `headEnd` (its CRLF included); sets the state for the body. */
  private readHead(data: Buffer, pos: number, headEnd: number): void {
    // "HTTP/1.x SSS" then a space and a reason, or the end of the line.
    if (
      headEnd - pos < 14 ||
      data[pos] !== 72 || data[pos + 1] !== 84 || data[pos + 2] !== 84 || data[pos + 3] !== 80 ||
      data[pos + 4] !== 47 || data[pos + 5] !== 49 || data[pos + 6] !== 46
    ) {
      throw new MalformedResponse(`not an HTTP/1.x status line: ${JSON.stringify(data.toString('latin1', pos, Math.min(headEnd, pos + 40)))}`);
    }
    const minor = data[pos + 7] - 48;
    const d1 = data[pos + 9] - 48;
    const d2 = data[pos + 10] - 48;
    const d3 = data[pos + 11] - 48;
    const after = data[pos + 12];
    if ((minor !== 0 && minor !== 1) || data[pos + 8] !== 32 || !digit(d1) || !digit(d2) || !digit(d3) || (after !== 32 && after !== CR) || d1 < 1) {
      throw new MalformedResponse(`a malformed status line: ${JSON.stringify(data.toString('latin1', pos, Math.min(headEnd, pos + 40)))}`);
    }
    const status = d1 * 100 + d2 * 10 + d3;
    let length = -1;
    let chunked = false;
    let transferEncoded = false;
    let keepAlive = minor === 1;
    let line = boundedIndexOf(data, CRLF, pos, headEnd) + 2;
    while (line < headEnd) {
      const lineEnd = boundedIndexOf(data, CRLF, line, headEnd);
      const colon = boundedIndexOf1(data, 58, line, lineEnd);
      if (colon <= line) throw new MalformedResponse(`a malformed header line: ${JSON.stringify(data.toString('latin1', line, Math.min(lineEnd, line + 40)))}`);
      const nameLength = colon - line;
      // Whitespace before the colon (or a line folded onto the one before) is refused, as RFC 9112 says.
      if (data[colon - 1] === 32 || data[colon - 1] === 9 || data[line] === 32 || data[line] === 9) {
        throw new MalformedResponse(`whitespace in a header name: ${JSON.stringify(data.toString('latin1', line, Math.min(lineEnd, line + 40)))}`);
      }
      if (nameLength === 14 && sameName(data, line, 'content-length')) {
        const value = headerValue(data, colon + 1, lineEnd);
        if (!/^\d{1,15}$/.test(value)) throw new MalformedResponse(`an invalid content-length: ${JSON.stringify(value)}`);
        const n = Number(value);
        if (length >= 0 && length !== n) throw new MalformedResponse('two different content-length headers');
        length = n;
      } else if (nameLength === 17 && sameName(data, line, 'transfer-encoding')) {
        transferEncoded = true;
        // Chunked must be the last coding applied; any other framing ends with the connection.
        chunked = /(^|,)\s*chunked\s*$/i.test(headerValue(data, colon + 1, lineEnd));
      } else if (nameLength === 10 && sameName(data, line, 'connection')) {
        const value = headerValue(data, colon + 1, lineEnd).toLowerCase();
        if (/(^|,)\s*close\s*(,|$)/.test(value)) keepAlive = false;
        else if (/(^|,)\s*keep-alive\s*(,|$)/.test(value)) keepAlive = true;
      }
      line = lineEnd + 2;
    }
    if (status < 200) {
      if (status === 101) throw new MalformedResponse('the server switched protocols (101), which a load test does not ask for');
      // 100 Continue, 103 Early Hints: an interim head; the response follows.
      this.state = State.Head;
      return;
    }
    this.status = status;
    this.keepAlive = keepAlive;
    if (this.headRequest || status === 204 || status === 304) {
      this.state = State.Idle;
    } else if (transferEncoded) {
      // RFC 9112 6.3 lets Transfer-Encoding override Content-Length but calls a message with both a
      // likely smuggling attempt, best handled as an error; undici refuses it too.
      if (length >= 0) throw new MalformedResponse('both Transfer-Encoding and Content-Length');
      if (chunked) this.state = State.ChunkSize;
      else {
        this.keepAlive = false;
        this.state = State.UntilClose;
      }
    } else if (length >= 0) {
      this.remaining = length;
      this.state = length === 0 ? State.Idle : State.Length;
    } else {
      this.keepAlive = false;
      this.state = State.UntilClose;
    }
  }
}

function digit(d: number): boolean {
  return d >= 0 && d <= 9;
}

/** buffer.indexOf bounded to [from, end): bytes past `end` may be another read's. */
function boundedIndexOf(data: Buffer, needle: Buffer, from: number, end: number): number {
  if (end - from < needle.length) return -1;
  const at = data.indexOf(needle, from);
  return at >= 0 && at + needle.length <= end ? at : -1;
}

function boundedIndexOf1(data: Buffer, byte: number, from: number, end: number): number {
  const at = data.indexOf(byte, from);
  return at >= 0 && at < end ? at : -1;
}

/** The header name at `at` equals `lower` (already lower case, of the same length), ignoring case. */
function sameName(data: Buffer, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) if ((data[at + i] | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

function headerValue(data: Buffer, from: number, to: number): string {
  return data.toString('latin1', from, to).trim();
}

/** A chunk-size line: hex digits, then optional extensions after ';' (ignored). */
function chunkSize(data: Buffer, from: number, to: number): number {
  let size = 0;
  let digits = 0;
  let i = from;
  for (; i < to; i++) {
    const c = data[i];
    const v = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (v < 0) break;
    if (++digits > 12) throw new MalformedResponse('a chunk size too large');
    size = size * 16 + v;
  }
  if (digits === 0) throw new MalformedResponse(`a malformed chunk size line: ${JSON.stringify(data.toString('latin1', from, Math.min(to, from + 40)))}`);
  // After the digits: optional whitespace, then extensions (";name=value") or the end of the line.
  while (i < to && (data[i] === 32 || data[i] === 9)) i++;
  if (i < to && data[i] !== 59) throw new MalformedResponse(`a malformed chunk size line: ${JSON.stringify(data.toString('latin1', from, Math.min(to, from + 40)))}`);
  return size;
}
