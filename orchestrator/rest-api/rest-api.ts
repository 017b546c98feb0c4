// The orchestrator's REST API on localhost. Every body is the JSON of a `.loadtest.json` file;
// every error is JSON {"error": "...", "details": [...]} with a 4xx status naming what to fix.
// Express 5 hands a rejected promise from a handler to the error handler; no wrapper is needed.
import { compareRuns, loadRun } from '../compare/compare-runs';
import { resolvePair } from '../compare/run-refs';
import { Baselines } from '../history/baselines';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { metricsText, processRegistry, PROMETHEUS_CONTENT_TYPE } from '../../common/metrics-exposition';
import type { Orchestrator } from '../orchestrator';
import { OrchestratorError, type OrchestratorErrorCode } from '../orchestrator-error';
import type { ControlRequest } from '../stages/live-control';
import { orchestratorRegistry } from './orchestrator-metrics';
import { isLoopback, requestGuard, type GuardOptions } from './request-guard';

export interface RestApiOptions {
  host: string;
  port: number;
  /** Bearer token every request must carry; required when `host` is not a loopback address. */
  token?: string;
}

export interface RunningRestApi {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** The one place where a domain error becomes an HTTP status. */
const STATUS: Record<OrchestratorErrorCode, number> = { invalid: 400, not_found: 404, conflict: 409, unavailable: 503, storage: 500, timeout: 504, not_running: 409 };

function requireBody(req: Request): unknown {
  if (!req.is('application/json')) throw new OrchestratorError('send the load test definition as a JSON body with Content-Type: application/json', 'invalid');
  return req.body;
}

/** A control request's fields, checked for their types here; what they mean for the test, by the core. */
function controlBody(req: Request): ControlRequest {
  if (!req.is('application/json')) throw new OrchestratorError('send the control as a JSON body with Content-Type: application/json, e.g. {"action": "set", "rate": 3000}', 'invalid');
  const body = req.body as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new OrchestratorError('the body must be a JSON object, e.g. {"action": "pause"}', 'invalid');
  const known = ['action', 'rate', 'concurrency'];
  const extra = Object.keys(body).filter((k) => !known.includes(k));
  if (extra.length) throw new OrchestratorError(`${extra.join(', ')}: not a field of a control; it takes ${known.join(', ')}`, 'invalid');
  for (const field of ['rate', 'concurrency'] as const) {
    if (body[field] !== undefined && typeof body[field] !== 'number') throw new OrchestratorError(`${field}: must be a number, got ${JSON.stringify(body[field])}`, 'invalid');
  }
  return { action: body.action as ControlRequest['action'], rate: body.rate as number | undefined, concurrency: body.concurrency as number | undefined };
}

function waitOption(req: Request): number {
  const raw = req.query.wait_for_drivers;
  if (raw === undefined) return 0;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 600) throw new OrchestratorError('wait_for_drivers must be a number of seconds from 0 to 600', 'invalid');
  return seconds * 1000;
}

export function createRestApi(orchestrator: Orchestrator, guard: GuardOptions = {}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(requestGuard(guard));
  app.use(express.json({ limit: '1mb' }));

  app.get('/api/health', (_req, res) => {
    // The API answers through a broker outage; its health says whether the broker is heard, and since when (epoch ms).
    const kafka = orchestrator.observation();
    res.json({
      status: kafka.reachable ? 'ok' : 'kafka_unreachable',
      orchestrator: orchestrator.id,
      kafka: orchestrator.brokers,
      kafka_reachable: kafka.reachable,
      kafka_since: kafka.since,
      topics: orchestrator.topics,
    });
  });
  app.get('/api/drivers', (_req, res) => {
    res.json({ drivers: orchestrator.drivers() });
  });
  app.get('/api/tests', (_req, res) => {
    res.json({ tests: orchestrator.listTests() });
  });
  app.post('/api/tests', async (req, res) => {
    res.status(201).json(await orchestrator.createTest(requireBody(req), { waitForDriversMs: waitOption(req) }));
  });
  app.post('/api/tests/run', async (req, res) => {
    const run = await orchestrator.startTest(requireBody(req), { waitForDriversMs: waitOption(req) });
    res.status(202).json(run.current());
  });
  app.post('/api/tests/:id/trigger', async (req, res) => {
    res.status(202).json(await orchestrator.triggerTest(String(req.params.id)));
  });
  app.post('/api/tests/:id/stop', async (req, res) => {
    res.status(202).json(await orchestrator.stopTest(String(req.params.id)));
  });
  // Live control: {"action": "pause" | "resume" | "set", "rate" | "concurrency"}, totals over the test's drivers.
  app.post('/api/tests/:id/control', async (req, res) => {
    res.status(202).json(await orchestrator.controlTest(String(req.params.id), controlBody(req), 'REST'));
  });
  app.delete('/api/tests/:id', async (req, res) => {
    res.json(await orchestrator.deleteTest(String(req.params.id)));
  });
  app.get('/api/tests/:id', (req, res) => {
    const test = orchestrator.getTest(req.params.id);
    if (!test) return void res.status(404).json({ error: `no test ${req.params.id}` });
    res.json(test);
  });
  app.get('/api/tests/:id/timeseries', (req, res) => {
    const points = orchestrator.getTimeSeries(req.params.id);
    if (!points) return void res.status(404).json({ error: `no test ${req.params.id}` });
    res.json({ test_id: req.params.id, points });
  });
  // The history: baselines of test files, and the comparison of any two stored runs.
  app.get('/api/baselines', (_req, res) => {
    res.json({ baselines: new Baselines(orchestrator.store).all() });
  });
  app.put('/api/tests/:id/baseline', (req, res) => {
    const key = new Baselines(orchestrator.store).set(String(req.params.id), Date.now());
    res.json({ test_id: req.params.id, baseline_of: key });
  });
  // ?a=ID|baseline|last&b=ID|last (b defaults to last): a's run is the baseline, b's the current one.
  app.get('/api/compare', (req, res) => {
    const a = typeof req.query.a === 'string' ? req.query.a : 'baseline';
    const b = typeof req.query.b === 'string' ? req.query.b : 'last';
    const [baselineId, currentId] = resolvePair(orchestrator.store, a, b);
    const current = loadRun(orchestrator.store, currentId);
    res.json(compareRuns(loadRun(orchestrator.store, baselineId), current, current.test.definition.regression));
  });
  const metrics = orchestratorRegistry(orchestrator);
  app.get('/metrics', async (_req, res) => {
    res.type(PROMETHEUS_CONTENT_TYPE).send(await metricsText([metrics, processRegistry('lt_orchestrator_')]));
  });
  app.use((req, res) => {
    res.status(404).json({ error: `no route ${req.method} ${req.path}; see the README's REST API section` });
  });
  app.use((error: Error & { status?: number; type?: string }, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof OrchestratorError) return void res.status(STATUS[error.code]).json({ error: error.message, code: error.code, details: error.details });
    if (error.type === 'entity.parse.failed') return void res.status(400).json({ error: `the body is not valid JSON: ${error.message}` });
    if (error.type === 'entity.too.large') return void res.status(413).json({ error: 'the body is larger than 1 MB' });
    res.status(500).json({ error: error.message });
  });
  return app;
}

export async function startRestApi(orchestrator: Orchestrator, options: RestApiOptions): Promise<RunningRestApi> {
  if (!isLoopback(options.host) && !options.token) throw new Error(`the REST API on ${options.host} is reachable from other machines: it needs a token`);
  const app = createRestApi(orchestrator, { token: options.token });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(options.port, options.host);
    s.once('listening', () => resolve(s));
    s.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' ? new Error(`port ${options.port} on ${options.host} is taken; choose another REST API port`) : error);
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
