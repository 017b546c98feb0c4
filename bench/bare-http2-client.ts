// The floor Node allows for HTTP/2: sessions of Node's own `http2` module, each keeping STREAMS
// GETs in flight (a stream answered, the next one opened on its session), every latency recorded
// into an HDR histogram, as the driver records it. Nothing else: no pool, no error kinds, no
// deadlines (any error ends the run). The benchmark runs it beside h2load and the driver, whose
// HTTP/2 engine runs on the same module.
//
//   node dist/bare-http2-client.js URL SESSIONS STREAMS REQUESTS [CA-FILE]   →   one JSON line (floor-measurement.ts)
import { readFileSync } from 'node:fs';
import { connect, constants, type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';
import { createLatencyHistogram, type Histogram } from '../protocol/latency-histogram';
import { CountedRun, floorMain, measureWarm } from './floor-measurement';

/** One run: `count` requests over the sessions. */
class Http2Run extends CountedRun {
  constructor(
    readonly headers: OutgoingHttpHeaders,
    count: number,
    readonly histogram: Histogram,
  ) {
    super(count);
  }

  /** Opens one stream; when it ends, the next on the same session. */
  send(session: ClientHttp2Session): void {
    this.sent++;
    const sentAt = performance.now();
    // Node gives every stream an emitter of its own: listeners per request are the least its API allows.
    const stream = session.request(this.headers, { endStream: true });
    stream.once('response', (headers) => {
      if (headers[':status'] !== 200) this.reject(new Error(`the target answered ${headers[':status']}`));
    });
    stream.once('error', this.reject);
    stream.once('end', () => {
      this.histogram.recordValue(Math.max(1, Math.round((performance.now() - sentAt) * 1000)));
      this.answered++;
      if (this.sent < this.count) this.send(session);
      else if (this.answered === this.count) this.resolve();
    });
    stream.resume();
  }
}

function open(url: URL, ca: Buffer | undefined, run: Http2Run): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(url.origin, ca ? { ca } : {}, () => resolve(session));
    session.once('error', (error) => {
      reject(error);
      run.reject(error);
    });
  });
}

/** Opens the sessions, sends `count` requests with `streams` in flight on each, closes them. */
async function send(url: URL, ca: Buffer | undefined, sessions: number, streams: number, count: number, histogram: Histogram): Promise<void> {
  const headers = { [constants.HTTP2_HEADER_METHOD]: 'GET', [constants.HTTP2_HEADER_PATH]: `${url.pathname}${url.search}` };
  const run = new Http2Run(headers, count, histogram);
  const connected = await Promise.all(Array.from({ length: sessions }, () => open(url, ca, run)));
  for (let i = 0; i < Math.min(sessions * streams, count); i++) run.send(connected[i % sessions]);
  try {
    await run.done;
  } finally {
    for (const session of connected) session.destroy();
  }
}

floorMain('node dist/bare-http2-client.js URL SESSIONS STREAMS REQUESTS [CA-FILE]', async ([target, sessions, streams, count, caFile]) => {
  if (!target || !Number(sessions) || !Number(streams) || !Number(count)) return 'usage';
  const url = new URL(target);
  const ca = caFile ? readFileSync(caFile) : undefined;
  const histogram = createLatencyHistogram();
  // Sessions of its own for each run: the counted run opens them, as an agent's test does.
  await measureWarm(Number(count), (n) => send(url, ca, Number(sessions), Number(streams), n, histogram), histogram);
});
