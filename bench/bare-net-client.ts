// The floor Node allows for HTTP/1.1: keep-alive GETs on `net` (or `tls`) sockets, one request
// at a time on each, its bytes encoded once; a response framed by its Content-Length alone; every
// latency recorded into an HDR histogram, as the driver records it. Nothing else: no pool, no
// error kinds, no deadlines (any error ends the run). The benchmark runs it beside wrk, so that
// what Node itself costs per request is told apart from what a driver adds.
//
//   node dist/bare-net-client.js URL CONNECTIONS REQUESTS [CA-FILE]   →   one JSON line (floor-measurement.ts)
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createLatencyHistogram, type Histogram } from '../protocol/latency-histogram';
import { CountedRun, floorMain, measureWarm } from './floor-measurement';

const HEAD_END = Buffer.from('\r\n\r\n');
// Plain sockets read into one buffer shared by every connection (`onread`), as the lean engine
// does: no allocation per read. A head split across reads is copied out of it.
const sharedReadBuffer = Buffer.allocUnsafe(64 * 1024);

/** One run: `count` requests over the connections, each sent as the one before it on its connection is answered. */
class BareRun extends CountedRun {
  constructor(
    readonly request: Buffer,
    count: number,
    readonly histogram: Histogram,
  ) {
    super(count);
  }
}

class BareConnection {
  /** bytes of a head not yet complete */
  private partial: Buffer | undefined;
  /** body bytes still to come; -1 while the head is being read */
  private bodyLeft = -1;
  private sentAt = 0;

  constructor(
    readonly socket: Socket,
    private readonly run: BareRun,
  ) {}

  send(): void {
    this.run.sent++;
    this.sentAt = performance.now();
    this.socket.write(this.run.request);
  }

  read(chunk: Buffer, length: number): true {
    let data = chunk;
    if (this.partial) {
      data = Buffer.concat([this.partial, chunk.subarray(0, length)]);
      length = data.length;
      this.partial = undefined;
    }
    let at = 0;
    while (at < length) {
      if (this.bodyLeft < 0) {
        const end = data.indexOf(HEAD_END, at);
        if (end < 0 || end >= length) {
          this.partial = Buffer.from(data.subarray(at, length));
          return true;
        }
        const head = data.toString('latin1', at, end);
        const contentLength = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (!head.startsWith('HTTP/1.1 200 ') || !contentLength) this.run.reject(new Error(`unexpected response: ${head}`));
        this.bodyLeft = Number(contentLength?.[1]);
        at = end + HEAD_END.length;
      }
      const body = Math.min(this.bodyLeft, length - at);
      this.bodyLeft -= body;
      at += body;
      if (this.bodyLeft === 0) this.complete();
    }
    return true;
  }

  private complete(): void {
    const run = this.run;
    this.bodyLeft = -1;
    run.histogram.recordValue(Math.max(1, Math.round((performance.now() - this.sentAt) * 1000)));
    run.answered++;
    if (run.sent < run.count) this.send();
    else if (run.answered === run.count) run.resolve();
  }
}

/** `tls` for an https URL: the authority to trust, or the system's when none is named. */
interface TlsOptions {
  ca?: Buffer;
}

function connect(url: URL, tls: TlsOptions | undefined, run: BareRun): Promise<BareConnection> {
  const port = Number(url.port) || (tls ? 443 : 80);
  return new Promise((resolve, reject) => {
    let connection: BareConnection;
    const socket = tls
      ? tlsConnect({ host: url.hostname, port, ...tls }, () => resolve(connection)).on('data', (data: Buffer) => connection.read(data, data.length))
      : netConnect({ host: url.hostname, port, onread: { buffer: sharedReadBuffer, callback: (n) => connection.read(sharedReadBuffer, n) } }, () => resolve(connection));
    connection = new BareConnection(socket.setNoDelay(true), run);
    socket.once('error', (error) => {
      reject(error);
      run.reject(error);
    });
    socket.once('close', () => {
      if (run.answered < run.count) run.reject(new Error('the server closed a connection'));
    });
  });
}

/** Opens the connections, sends `count` requests, closes them. */
async function send(url: URL, tls: TlsOptions | undefined, connections: number, count: number, histogram: Histogram): Promise<void> {
  const run = new BareRun(Buffer.from(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`, 'latin1'), count, histogram);
  const open = await Promise.all(Array.from({ length: Math.min(connections, count) }, () => connect(url, tls, run)));
  for (const connection of open) connection.send();
  try {
    await run.done;
  } finally {
    for (const connection of open) connection.socket.destroy();
  }
}

floorMain('node dist/bare-net-client.js URL CONNECTIONS REQUESTS [CA-FILE]', async ([target, connections, count, caFile]) => {
  if (!target || !Number(connections) || !Number(count)) return 'usage';
  const url = new URL(target);
  const tls = url.protocol === 'https:' ? (caFile ? { ca: readFileSync(caFile) } : {}) : undefined;
  const histogram = createLatencyHistogram();
  // Connections of its own for each run: the counted run opens them, as an agent's test does.
  await measureWarm(Number(count), (n) => send(url, tls, Number(connections), n, histogram), histogram);
});
