// One instance of the reference system's app: reads go to a database reader, writes to the
// writer, a sign-in issues a token that /account requires, and /metrics tells Prometheus what it served, how long it took, how busy its database
// pools are and how far each reader lags behind the writer.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Counter, Gauge, LATENCY_BUCKETS_SECONDS, processRegistry, PromHistogram, Registry, sendMetrics } from '../common/metrics-exposition';
import { APP_USER, DATABASE, type DatabaseEndpoint } from './database-cluster';

export interface AppOptions {
  port: number;
  host: string;
  /** this instance's name, in the x-sut-instance header and every metric */
  instance: string;
  writer: DatabaseEndpoint;
  readers: DatabaseEndpoint[];
  password: string;
  /** connections per database pool */
  poolSize?: number;
}

export interface RunningApp {
  url: string;
  port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) reject(new HttpError(413, `the body is larger than ${MAX_BODY_BYTES} bytes`));
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startApp(options: AppOptions): Promise<RunningApp> {
  const pool = (endpoint: DatabaseEndpoint) => new pg.Pool({ ...endpoint, user: APP_USER, password: options.password, database: DATABASE, max: options.poolSize ?? 10 });
  const writer = pool(options.writer);
  const readers = options.readers.map(pool);
  for (const p of [writer, ...readers]) p.on('error', () => {}); // an idle client's broken connection is replaced on next use
  let nextReader = 0;
  const reader = () => (readers.length ? readers[nextReader++ % readers.length] : writer);

  const registry = new Registry();
  registry.setDefaultLabels({ instance_name: options.instance });
  const registers = [registry];
  const requests = new Counter({ name: 'sut_http_requests_total', help: 'HTTP requests answered, by route, method and status code.', labelNames: ['route', 'method', 'code'], registers });
  const duration = new PromHistogram({ name: 'sut_http_request_duration_seconds', help: 'Time to answer, by route.', labelNames: ['route'], buckets: LATENCY_BUCKETS_SECONDS, registers });
  const queries = new Counter({ name: 'sut_db_queries_total', help: 'Database queries, by role (writer or reader) and outcome.', labelNames: ['role', 'outcome'], registers });
  new Gauge({
    name: 'sut_db_pool_waiting',
    help: 'Queries waiting for a database connection, by role.',
    labelNames: ['role'],
    registers,
    collect() {
      this.set({ role: 'writer' }, writer.waitingCount);
      this.set({ role: 'reader' }, readers.reduce((sum, p) => sum + p.waitingCount, 0));
    },
  });
  const lagSeconds = new Gauge({ name: 'sut_replication_lag_seconds', help: 'How far each reader’s replay is behind the writer, in seconds (0 when caught up).', labelNames: ['reader'], registers });
  const lagBytes = new Gauge({ name: 'sut_replication_lag_bytes', help: 'WAL the writer sent that each reader has not replayed yet, in bytes.', labelNames: ['reader'], registers });
  const readLag = async () => {
    const { rows } = await writer.query<{ name: string; seconds: number | null; bytes: string | null }>(
      'SELECT application_name AS name, EXTRACT(EPOCH FROM replay_lag)::float8 AS seconds, pg_wal_lsn_diff(sent_lsn, replay_lsn)::text AS bytes FROM pg_stat_replication',
    );
    lagSeconds.reset();
    lagBytes.reset();
    for (const row of rows) {
      lagSeconds.set({ reader: row.name }, row.seconds ?? 0);
      lagBytes.set({ reader: row.name }, Number(row.bytes ?? 0));
    }
  };

  const query = async <T extends pg.QueryResultRow>(role: 'writer' | 'reader', text: string, values: unknown[]) => {
    try {
      const result = await (role === 'writer' ? writer : reader()).query<T>(text, values);
      queries.inc({ role, outcome: 'ok' });
      return result;
    } catch (error) {
      queries.inc({ role, outcome: 'error' });
      throw error;
    }
  };

  // A token any instance can verify without a shared session store: the user and an HMAC of it,
  // keyed by the database password every instance of the system is given.
  const sign = (user: string) => createHmac('sha256', options.password).update(user).digest('base64url');
  const tokenUser = (req: IncomingMessage): string | undefined => {
    const match = /^Bearer ([A-Za-z0-9_.@-]{1,200})\.([A-Za-z0-9_-]{43})$/.exec(req.headers.authorization ?? '');
    if (!match) return undefined;
    const [, user, mac] = match;
    return timingSafeEqual(Buffer.from(mac), Buffer.from(sign(user))) ? user : undefined;
  };
  const jsonBody = async <T>(req: IncomingMessage, shape: string): Promise<T> => {
    try {
      return JSON.parse(await readBody(req)) as T;
    } catch (error) {
      if (error instanceof HttpError) throw error;
      throw new HttpError(400, `the body is not JSON: send ${shape}`);
    }
  };

  const routes = async (req: IncomingMessage, path: string): Promise<[number, unknown, string]> => {
    if (path === '/signin' && req.method === 'POST') {
      const body = await jsonBody<{ user?: unknown }>(req, '{"user": "…"}');
      if (typeof body?.user !== 'string' || !/^[A-Za-z0-9_.@-]{1,200}$/.test(body.user)) throw new HttpError(400, 'user: 1 to 200 letters, digits or _.@- is required');
      return [200, { token: `${body.user}.${sign(body.user)}` }, '/signin'];
    }
    if (path === '/account' && req.method === 'GET') {
      const user = tokenUser(req);
      if (!user) return [401, { error: 'sign in first: POST /signin {"user": "…"}, then send Authorization: Bearer TOKEN' }, '/account'];
      const { rows } = await query<{ n: string }>('reader', 'SELECT count(*) AS n FROM items WHERE name = $1', [user]);
      return [200, { user, items: Number(rows[0].n) }, '/account'];
    }
    const item = /^\/items\/(\d{1,18})$/.exec(path);
    if (item && req.method === 'GET') {
      const { rows } = await query('reader', 'SELECT id, name, payload, created_at FROM items WHERE id = $1', [item[1]]);
      // bigint ids arrive as text; they stay far below 2^53.
      return rows.length ? [200, { ...rows[0], id: Number(rows[0].id) }, '/items/{id}'] : [404, { error: `no item ${item[1]}` }, '/items/{id}'];
    }
    if (path === '/items' && req.method === 'POST') {
      const body = await jsonBody<{ name?: unknown; payload?: unknown }>(req, '{"name": "…", "payload": {…}}');
      if (typeof body?.name !== 'string' || body.name.length === 0 || body.name.length > 200) throw new HttpError(400, 'name: a string of 1 to 200 characters is required');
      const { rows } = await query<{ id: string }>('writer', 'INSERT INTO items (name, payload) VALUES ($1, $2) RETURNING id', [body.name, JSON.stringify(body.payload ?? null)]);
      return [201, { id: Number(rows[0].id) }, '/items'];
    }
    if (path === '/health' && req.method === 'GET') return [200, { status: 'ok', instance: options.instance }, '/health'];
    return [404, { error: `no route ${req.method} ${path}: GET /items/{id}, POST /items, POST /signin, GET /account, GET /health, GET /metrics` }, 'other'];
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics' && req.method === 'GET') {
      await readLag().catch(() => {});
      return void (await sendMetrics(res, [registry, processRegistry('sut_app_')]));
    }
    const end = duration.startTimer();
    let status: number;
    let body: unknown;
    // A request that failed (the database gone) counts under its route, as its success would.
    let route = /^\/items\/\d{1,18}$/.test(path) ? '/items/{id}' : ['/items', '/signin', '/account', '/health'].includes(path) ? path : 'other';
    try {
      [status, body, route] = await routes(req, path);
    } catch (error) {
      status = error instanceof HttpError ? error.status : 503;
      body = { error: error instanceof HttpError ? error.message : `database: ${(error as Error).message}` };
    }
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-sut-instance': options.instance });
    res.end(text);
    requests.inc({ route, method: req.method ?? 'GET', code: String(status) });
    end({ route });
  };

  const server: Server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host}:${port}`,
    port,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await Promise.allSettled([writer, ...readers].map((p) => p.end()));
    },
  };
}
