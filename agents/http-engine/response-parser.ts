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
          const after = this.readHead(data, pos, end);
          if (after < 0) return this.wait(data, pos, end, 'response head');
          pos = after;
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

  /**
   * Reads a head from `pos`: one pass, a line at a time. Returns the offset just past it, or -1
   * when it has not all arrived (nothing is kept: it is read again whole with the rest). Sets the
   * state for the body.
   */
  private readHead(data: Buffer, pos: number, end: number): number {
    const statusEnd = lineEndAt(data, pos, end);
    if (statusEnd < 0) return -1;
    // "HTTP/1.x SSS" then a space and a reason, or the end of the line.
    if (
      statusEnd - pos < 12 ||
      data[pos] !== 72 || data[pos + 1] !== 84 || data[pos + 2] !== 84 || data[pos + 3] !== 80 ||
      data[pos + 4] !== 47 || data[pos + 5] !== 49 || data[pos + 6] !== 46
    ) {
      throw new MalformedResponse(`not an HTTP/1.x status line: ${quote(data, pos, statusEnd)}`);
    }
    const minor = data[pos + 7] - 48;
    const d1 = data[pos + 9] - 48;
    const d2 = data[pos + 10] - 48;
    const d3 = data[pos + 11] - 48;
    if ((minor !== 0 && minor !== 1) || data[pos + 8] !== 32 || !digit(d1) || !digit(d2) || !digit(d3) || (statusEnd > pos + 12 && data[pos + 12] !== 32) || d1 < 1) {
      throw new MalformedResponse(`a malformed status line: ${quote(data, pos, statusEnd)}`);
    }
    const status = d1 * 100 + d2 * 10 + d3;
    let length = -1;
    let chunked = false;
    let transferEncoded = false;
    let keepAlive = minor === 1;
    let line = statusEnd + 2;
    for (;;) {
      const lineEnd = lineEndAt(data, line, end);
      if (lineEnd < 0) return -1;
      if (lineEnd === line) {
        line += 2;
        break;
      }
      let colon = line;
      while (colon < lineEnd && data[colon] !== 58) colon++;
      if (colon === line || colon === lineEnd) throw new MalformedResponse(`a malformed header line: ${quote(data, line, lineEnd)}`);
      const nameLength = colon - line;
      // Whitespace before the colon (or a line folded onto the one before) is refused, as RFC 9112 says.
      if (data[colon - 1] === 32 || data[colon - 1] === 9 || data[line] === 32 || data[line] === 9) {
        throw new MalformedResponse(`whitespace in a header name: ${quote(data, line, lineEnd)}`);
      }
      if (nameLength === 14 && sameName(data, line, 'content-length')) {
        const n = decimal(data, colon + 1, lineEnd);
        if (length >= 0 && length !== n) throw new MalformedResponse('two different content-length headers');
        length = n;
      } else if (nameLength === 17 && sameName(data, line, 'transfer-encoding')) {
        transferEncoded = true;
        // Chunked must be the last coding applied; any other framing ends with the connection.
        chunked = valueIs(data, colon + 1, lineEnd, 'chunked') || /(^|,)\s*chunked\s*$/i.test(data.toString('latin1', colon + 1, lineEnd));
      } else if (nameLength === 10 && sameName(data, line, 'connection')) {
        if (valueIs(data, colon + 1, lineEnd, 'keep-alive')) keepAlive = true;
        else if (valueIs(data, colon + 1, lineEnd, 'close')) keepAlive = false;
        else {
          const value = data.toString('latin1', colon + 1, lineEnd).toLowerCase();
          if (/(^|,)\s*close\s*(,|$)/.test(value)) keepAlive = false;
          else if (/(^|,)\s*keep-alive\s*(,|$)/.test(value)) keepAlive = true;
        }
      }
      line = lineEnd + 2;
    }
    if (status < 200) {
      if (status === 101) throw new MalformedResponse('the server switched protocols (101), which a load test does not ask for');
      // 100 Continue, 103 Early Hints: an interim head; the response follows.
      this.state = State.Head;
      return line;
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
    return line;
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


/** The header name at `at` equals `lower` (already lower case, of the same length), ignoring case. */
function sameName(data: Buffer, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) if ((data[at + i] | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

/**
 * Where the line at `from` ends (its CR), or -1 when its LF has not arrived. A bare LF, or a CR
 * not followed by LF, is malformed (RFC 9112 lets a recipient refuse both; undici does).
 */
function lineEndAt(data: Buffer, from: number, end: number): number {
  // A loop over the bytes: a head's lines are short, and a native indexOf per line costs more.
  for (let i = from; i < end; i++) {
    const c = data[i];
    if (c === CR) {
      if (i + 1 >= end) return -1;
      if (data[i + 1] !== LF) throw new MalformedResponse(`a CR without LF: ${quote(data, from, i)}`);
      return i;
    }
    if (c === LF) throw new MalformedResponse(`a line ended by LF alone: ${quote(data, from, i)}`);
  }
  return -1;
}

/** The header value in [from, to), optional whitespace around it, is `lower` ignoring case. */
function valueIs(data: Buffer, from: number, to: number, lower: string): boolean {
  while (from < to && (data[from] === 32 || data[from] === 9)) from++;
  while (to > from && (data[to - 1] === 32 || data[to - 1] === 9)) to--;
  return to - from === lower.length && sameName(data, from, lower);
}

/** A Content-Length value: decimal digits, optional whitespace around them. */
function decimal(data: Buffer, from: number, to: number): number {
  let i = from;
  while (i < to && (data[i] === 32 || data[i] === 9)) i++;
  let n = 0;
  let digits = 0;
  for (; i < to && data[i] >= 48 && data[i] <= 57; i++) {
    n = n * 10 + data[i] - 48;
    digits++;
  }
  while (i < to && (data[i] === 32 || data[i] === 9)) i++;
  if (digits === 0 || digits > 15 || i !== to) throw new MalformedResponse(`an invalid content-length: ${quote(data, from, to)}`);
  return n;
}

function quote(data: Buffer, from: number, to: number): string {
  return JSON.stringify(data.toString('latin1', from, Math.min(to, from + 40)));
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
