// The HTTP target for trying the product and for its tests: GET /ping answers {"message":"pong"},
// POST /signin {"user": NAME} gives a token that GET /account requires (a journey for scenarios),
// GET /metrics counts what it received and answered (Prometheus text, or JSON). Plain node:http
// rather than express: the target must never be the bottleneck when drivers are measured against it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, processRegistry, Registry, registerHdrHistogram, sendMetrics } from '../common/metrics-exposition';
import { createLatencyHistogram } from '../protocol/latency-histogram';
import { DRIVER_HEADER } from '../protocol/wire-protocol';
import { ServiceQueue } from './service-queue';


export interface TargetOptions {
  port: number;
  host: string;
  /** milliseconds added to every load response */
  latencyMs: number;
  /** up to this many milliseconds more, uniformly random per response */
  jitterMs: number;
  /** fraction (0..1) of load requests answered with 500 */
  errorRate: number;
  /** extra milliseconds for requests from particular drivers (by their x-loadtest-driver header) */
  driverLatencyMs: Record<string, number>;
  /**
   * Requests per second the target can serve (0: no limit): above it requests queue, and one that
   * would wait longer than `queueLimitMs` is answered 503 at once (service-queue.ts).
   */
  capacityRps: number;
  /** milliseconds a request may wait in the capacity queue before it is refused */
  queueLimitMs: number;
}

export interface TargetCounters {
  requests_sent: number;
  responses_sent: number;
}

export interface RunningTarget {
  url: string;
  port: number;
  counters(): TargetCounters;
  close(): Promise<void>;
}

export const DEFAULT_TARGET_OPTIONS: TargetOptions = { port: 8080, host: '127.0.0.1', latencyMs: 0, jitterMs: 0, errorRate: 0, driverLatencyMs: {}, capacityRps: 0, queueLimitMs: 1000 };

const PONG = Buffer.from('{"message":"pong"}');
const INJECTED_ERROR = Buffer.from('{"error":"injected failure"}');
const NOT_FOUND = Buffer.from('{"error":"not found"}');
const OVERLOADED = Buffer.from('{"error":"over capacity"}');
const SIGN_IN_FIRST = Buffer.from('{"error":"sign in first: POST /signin {\\"user\\": \\"NAME\\"}, then send Authorization: Bearer TOKEN"}');
const BAD_SIGN_IN = Buffer.from('{"error":"send {\\"user\\": \\"NAME\\"}, NAME of 1 to 100 letters, digits or _.@-"}');
const USER = /^[A-Za-z0-9_.@-]{1,100}$/;

export async function startTarget(options: Partial<TargetOptions> = {}): Promise<RunningTarget> {
  const settings: TargetOptions = { ...DEFAULT_TARGET_OPTIONS, ...options };
  // "sent" as the spec names it: requests the drivers sent and this server received.
  const counters: TargetCounters = { requests_sent: 0, responses_sent: 0 };
  const started = Date.now();
  const registry = new Registry();
  const received = new Counter({ name: 'lt_target_requests_received_total', help: 'Load requests received (every request but GET /metrics).', registers: [registry] });
  const responses = new Counter({ name: 'lt_target_responses_sent_total', help: 'Responses sent to load requests, by status code.', labelNames: ['code'], registers: [registry] });
  const byStatus = { 200: responses.labels('200'), 400: responses.labels('400'), 401: responses.labels('401'), 404: responses.labels('404'), 500: responses.labels('500'), 503: responses.labels('503') };
  // Tokens this process signed: a user name and its HMAC under a key made at start.
  const signingKey = randomBytes(32);
  const mac = (user: string) => createHmac('sha256', signingKey).update(user).digest('base64url');
  const tokenUser = (authorization: string | undefined): string | undefined => {
    const match = /^Bearer ([A-Za-z0-9_.@-]{1,100})\.([A-Za-z0-9_-]{43})$/.exec(authorization ?? '');
    return match && timingSafeEqual(Buffer.from(match[2]), Buffer.from(mac(match[1]))) ? match[1] : undefined;
  };
  const inFlight = new Gauge({ name: 'lt_target_requests_in_flight', help: 'Load requests received and not answered yet.', registers: [registry] });
  new Gauge({ name: 'lt_target_uptime_seconds', help: 'Seconds since the target started.', registers: [registry], collect() { this.set((Date.now() - started) / 1000); } });
  // Time from a request's arrival to its answer, in µs: what the server itself adds, delays included.
  const responseTime = createLatencyHistogram();
  registerHdrHistogram(registry, 'lt_target_response_seconds', 'Time from receiving a load request to answering it, in seconds.', () => [{ labels: {}, histogram: responseTime }]);

  const answer = (res: ServerResponse, status: keyof typeof byStatus, body: Buffer, arrivedAt: number) => {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length });
    res.end(body);
    counters.responses_sent++;
    byStatus[status].inc();
    inFlight.dec();
    responseTime.recordValue(Math.max(1, Math.round((performance.now() - arrivedAt) * 1000)));
  };

  const serveMetrics = (req: IncomingMessage, res: ServerResponse, query: string) => {
    const wantsJson = /application\/json/.test(req.headers.accept ?? '') || /(^|&)format=json(&|$)/.test(query);
    if (wantsJson) {
      const body = Buffer.from(JSON.stringify(counters));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
      return;
    }
    void sendMetrics(res, [registry, processRegistry('lt_target_')]);
  };

  // Until this epoch time every response waits, as a stalled server's would.
  let stalledUntil = 0;
  const stall = (res: ServerResponse, query: string) => {
    const ms = Number(/(?:^|&)ms=(\d+(?:\.\d+)?)/.exec(query)?.[1]);
    if (!Number.isFinite(ms) || ms <= 0 || ms > 600_000) {
      res.writeHead(400, { 'content-type': 'application/json' });
      return void res.end('{"error":"POST /stall?ms=N with N from 1 to 600000"}');
    }
    stalledUntil = Math.max(stalledUntil, Date.now() + ms);
    res.writeHead(202, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ stalled_until: stalledUntil }));
  };

  const queue = settings.capacityRps > 0 ? new ServiceQueue(settings.capacityRps, settings.queueLimitMs) : undefined;

  /** The body of a sign-in, at most 4 KiB (more is not a sign-in). */
  const readSignIn = (req: IncomingMessage, then: (body: string | undefined) => void) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body = body.length < 4096 ? body + chunk : body));
    req.on('end', () => then(body.length <= 4096 ? body : undefined));
  };

  /** The answer to a load request other than /ping. */
  const journey = (req: IncomingMessage, path: string, body: string | undefined): [keyof typeof byStatus, Buffer] => {
    if (path === '/signin' && req.method === 'POST') {
      let user: unknown;
      try {
        user = (JSON.parse(body ?? '') as { user?: unknown }).user;
      } catch {
        user = undefined;
      }
      if (typeof user !== 'string' || !USER.test(user)) return [400, BAD_SIGN_IN];
      return [200, Buffer.from(JSON.stringify({ token: `${user}.${mac(user)}` }))];
    }
    if (path === '/account' && req.method === 'GET') {
      const user = tokenUser(req.headers.authorization);
      return user ? [200, Buffer.from(JSON.stringify({ user }))] : [401, SIGN_IN_FIRST];
    }
    return [404, NOT_FOUND];
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === '/metrics' && req.method === 'GET') return serveMetrics(req, res, q === -1 ? '' : url.slice(q + 1));
    if (path === '/stall' && req.method === 'POST') return stall(res, q === -1 ? '' : url.slice(q + 1));
    if (path === '/signin' && req.method === 'POST') return readSignIn(req, (body) => load(req, res, path, body));
    // Drain any request body before answering so keep-alive connections stay usable.
    req.resume();
    load(req, res, path, undefined);
  };

  const load = (req: IncomingMessage, res: ServerResponse, path: string, body: string | undefined) => {
    counters.requests_sent++;
    received.inc();
    inFlight.inc();
    const arrivedAt = performance.now();
    const driver = req.headers[DRIVER_HEADER];
    // The capacity queue comes first: the normal latency is what a request sees once it is served.
    const admitted = queue ? queue.admit(arrivedAt) : 0;
    if (admitted === null) return answer(res, 503, OVERLOADED, arrivedAt);
    // A timer waits at least 1 ms: below that (an idle server's service time) answer at once, so a
    // target under its capacity keeps its normal latency. The queue's accounting is unaffected.
    const queued = admitted >= 1 ? admitted : 0;
    const delay = queued + settings.latencyMs + (settings.jitterMs > 0 ? Math.random() * settings.jitterMs : 0) + (typeof driver === 'string' ? settings.driverLatencyMs[driver] ?? 0 : 0);
    const respond = (): void => {
      const wait = stalledUntil - Date.now();
      if (wait > 0) return void setTimeout(respond, wait);
      if (path !== '/ping') return answer(res, ...journey(req, path, body), arrivedAt);
      if (settings.errorRate > 0 && Math.random() < settings.errorRate) return answer(res, 500, INJECTED_ERROR, arrivedAt);
      answer(res, 200, PONG, arrivedAt);
    };
    if (delay > 0) setTimeout(respond, delay);
    else respond();
  };

  const server: Server = createServer({ keepAliveTimeout: 60_000 }, handle);
  server.headersTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = settings.host.includes(':') ? `[${settings.host}]` : settings.host;
  return {
    url: `http://${host}:${port}`,
    port,
    counters: () => ({ ...counters }),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
