// Real product processes for integration tests, started from the built bundles in dist/, and
// stopped after every test. Waiting is always on an event or a condition, with a generous limit.
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createLogger, type Logger } from '../../common/logger';
import { freePort } from '../../common/free-port';
import { NGINX, nginxAcceptedConnections, nginxRequestCount, writeNginxConfig, makeTestCertificates, nginxProtocols, type NginxRateLimit } from '../../target-server/nginx-target';
import { tempDir } from './temp-dir';

export { tempDir };
import { Orchestrator } from '../../orchestrator/orchestrator';

export const ROOT = resolve(__dirname, '..', '..', '..');
export const DIST = join(ROOT, 'dist');

interface Tracked {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Resolves when the process has exited, and with it every process of its group if it leads one. */
  gone(): Promise<void>;
  group: boolean;
  /** Signals the process, or its whole group when it leads one. */
  signal(signal: NodeJS.Signals): void;
}

const running = new Set<Tracked>();
const orchestrators = new Set<Orchestrator>();
/** Processes a whole suite shares: not stopped after each test, but by stopSuiteProcesses(). */
const suiteRunning = new Set<Tracked>();
let suiteScope = false;

function track(child: ChildProcess, group = false): Tracked {
  const signal = (name: NodeJS.Signals | 0) => {
    try {
      if (group) process.kill(-child.pid!, name);
      else child.kill(name);
      return true;
    } catch {
      return false; // already gone
    }
  };
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  // A group is gone when no process of it is left, whatever became of its leader.
  const gone = async () => {
    await exited;
    if (group) await waitFor(() => !signal(0), `process group ${child.pid} to end`, 20_000).catch(() => {});
  };
  const tracked: Tracked = { child, exited, gone, group, signal: (name) => void signal(name) };
  const set = suiteScope ? suiteRunning : running;
  set.add(tracked);
  // A group may outlive its leader (npx's command does): it stays tracked until stopped.
  if (!group) void tracked.exited.then(() => set.delete(tracked));
  return tracked;
}

/** Whatever `start` launches (processes, orchestrators) lives until stopSuiteProcesses(). */
export async function inSuiteScope<T>(start: () => Promise<T>): Promise<T> {
  suiteScope = true;
  try {
    return await start();
  } finally {
    suiteScope = false;
  }
}

const suiteOrchestrators = new Set<Orchestrator>();

export async function stopSuiteProcesses(): Promise<void> {
  await Promise.allSettled([...suiteOrchestrators].map((o) => o.shutdown()));
  suiteOrchestrators.clear();
  await stopTracked(suiteRunning);
}

export async function waitFor<T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface ProductProcess {
  pid: number;
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

/** Starts one of the product's commands; stopped after the test like every process started here. */
export function spawnBin(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): ProductProcess {
  return spawnCommand(process.execPath, [join(DIST, `${bin}.js`), ...args], { env });
}

/**
 * Starts any command (a line of the README, a command in a network namespace), tracked like the
 * product's. `group` runs it in a process group of its own, signalled as a whole: `npx` and `npm`
 * do not pass a SIGTERM on to the command they started.
 */
export function spawnCommand(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; group?: boolean } = {}): ProductProcess {
  const child = spawn(command, args, { env: { ...process.env, ...options.env }, cwd: options.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: options.group ?? false });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const tracked = track(child, options.group);
  return { pid: child.pid!, child, output: () => output, exited: tracked.exited, kill: (signal = 'SIGTERM') => tracked.signal(signal) };
}

export interface TargetProcess extends ProductProcess {
  url: string;
  counters(): Promise<{ requests_sent: number; responses_sent: number }>;
}

export async function startTargetProcess(args: string[] = []): Promise<TargetProcess> {
  const p = spawnBin('lt-target', ['--port', '0', ...args]);
  const url = await waitFor(() => /listening on (\S+)/.exec(p.output())?.[1], 'lt-target to listen', 15_000);
  return {
    ...p,
    url,
    counters: async () => (await fetch(`${url}/metrics`, { headers: { accept: 'application/json' } })).json() as Promise<{ requests_sent: number; responses_sent: number }>,
  };
}

/** nginx on loopback (target-server/nginx-target.ts): a target that is never the bottleneck, counting what it receives. */
export async function startNginxProcess(
  options: { tls?: boolean; rateLimit?: NginxRateLimit } = {},
): Promise<TargetProcess & { https?: { url: string; caFile: string; protocols(): Record<string, number> }; acceptedConnections(): Promise<number> }> {
  if (!NGINX) throw new Error('nginx is not installed (apt-get install nginx-light; .ci/run does)');
  const port = await freePort();
  const dir = tempDir('nginx');
  const certificates = options.tls ? makeTestCertificates(join(dir, 'tls')) : undefined;
  const tls = certificates ? { port: await freePort(), certFile: certificates.certFile, keyFile: certificates.keyFile } : undefined;
  const p = spawnCommand(NGINX, ['-p', dir, '-c', writeNginxConfig(dir, port, tls, options.rateLimit)]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(() => fetch(`${url}/ping`).then((r) => r.ok, () => false), `nginx to answer (${p.output()})`, 15_000);
  let statusReads = 0;
  return {
    ...p,
    url,
    https: tls && { url: `https://127.0.0.1:${tls.port}`, caFile: certificates!.caFile, protocols: () => nginxProtocols(dir) },
    acceptedConnections: () => nginxAcceptedConnections(url),
    counters: async () => {
      const received = await nginxRequestCount(url, statusReads++);
      return { requests_sent: received - 1, responses_sent: received - 1 }; // less the readiness probe
    },
  };
}

export interface AgentProcess extends ProductProcess {
  id: string;
}

export interface AgentOptions {
  kafka: string;
  prefix: string;
  orchestrator?: string;
  target?: string;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

export async function startAgent(id: string, options: AgentOptions): Promise<AgentProcess> {
  const args = ['--id', id, '--kafka', options.kafka, '--topic-prefix', options.prefix, ...(options.extraArgs ?? [])];
  if (options.orchestrator) args.push('--orchestrator', options.orchestrator);
  if (options.target) args.push('--target', options.target);
  const p = spawnBin('lt-agent', args, options.env);
  await waitFor(() => p.output().includes(`registered as ${id}`), `agent ${id} to register`, 60_000);
  return { ...p, id };
}

export async function startAgents(count: number, name: string, options: AgentOptions): Promise<AgentProcess[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startAgent(`${name}-${i + 1}`, options)));
}

export function quietLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger('test', 'info', (level, scope, message) => lines.push(`${level} [${scope}] ${message}`));
  return Object.assign(logger, { lines });
}


export async function startOrchestrator(
  kafka: string,
  prefix: string,
  options: { storeDir?: string; id?: string; quietAfterMs?: number; lostGraceMs?: number; secret?: string } = {},
): Promise<Orchestrator & { logLines: string[] }> {
  const logger = quietLogger();
  const orchestrator = await Orchestrator.start({
    brokers: [kafka],
    topicPrefix: prefix,
    storeDir: options.storeDir ?? tempDir('store'),
    id: options.id ?? 'test-orchestrator',
    quietAfterMs: options.quietAfterMs,
    lostGraceMs: options.lostGraceMs,
    secret: options.secret,
    logger,
  });
  (suiteScope ? suiteOrchestrators : orchestrators).add(orchestrator);
  return Object.assign(orchestrator, { logLines: logger.lines });
}

export async function stopOrchestrator(orchestrator: Orchestrator): Promise<void> {
  orchestrators.delete(orchestrator);
  await orchestrator.shutdown();
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function runBin(bin: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<CliResult> {
  const child = spawn(process.execPath, [join(DIST, `${bin}.js`), ...args], { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const tracked = track(child);
  const code = await tracked.exited;
  return { code, stdout, stderr };
}

/** Stops every process and orchestrator a test started: SIGTERM, then SIGKILL after 10 s. */
export async function stopAllProcesses(): Promise<void> {
  await Promise.allSettled([...orchestrators].map((o) => stopOrchestrator(o)));
  await stopTracked(running);
}

async function stopTracked(set: Set<Tracked>): Promise<void> {
  await Promise.all(
    [...set].map(async (t) => {
      if (!t.group && (t.child.exitCode !== null || t.child.signalCode !== null)) return;
      t.signal('SIGTERM');
      const timer = setTimeout(() => t.signal('SIGKILL'), 10_000);
      await t.gone();
      clearTimeout(timer);
      set.delete(t);
    }),
  );
}
