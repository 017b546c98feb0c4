// The tools people compare us with, run against the same target in the same run: autocannon
// (npm) and wrk (Debian's package, when installed), and the floors: undici alone and Node's bare
// net and http2 clients (Locust, Artillery and h2load have files of their own). Each runs on the
// client core, and its CPU time is read as the shell's `times` sees its children. A peer that
// starts a process per run would count its start-up where ours (an agent already running) does
// not: each counted run is paired with a start-up run of the same command doing the least it
// can, whose CPU and requests are subtracted (requestsPerCpuSecond). A floor measures itself.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../common/project-root';
import { DIST, has, pinned } from './bench-environment';
import type { FloorResult } from './floor-measurement';

export interface ClientRun {
  client: string;
  requests: number;
  wall_s: number;
  /** CPU seconds of the whole run, the start-up run's not subtracted */
  cpu_s: number;
  /** of which in the kernel (system time): what every client pays for its sockets */
  system_s?: number;
  /** milliseconds, as the tool reports it */
  p50_ms: number | null;
  p99_ms: number | null;
  /** a peer's start-up run: the same command doing the least it can (its process started, every connection opened with a request on it) */
  startup?: { requests: number; cpu_s: number; wall_s: number; system_s?: number };
}

/** The kernel's share of a run's CPU, warm as requestsPerCpuSecond is; undefined when the run did not say. */
export function kernelShare(run: ClientRun): number | undefined {
  if (run.system_s === undefined) return undefined;
  const cpu = run.cpu_s - (run.startup?.cpu_s ?? 0);
  const system = run.system_s - (run.startup?.system_s ?? 0);
  return cpu > 0 && system >= 0 ? system / cpu : run.system_s / run.cpu_s;
}

/** Requests per CPU-second of a run, warm: a peer's start-up run is taken off both its CPU and its requests. */
export function requestsPerCpuSecond(run: ClientRun): number {
  const requests = run.requests - (run.startup?.requests ?? 0);
  const cpu = run.cpu_s - (run.startup?.cpu_s ?? 0);
  // A run too short to outweigh its start-up (--quick at its smallest) has no warm figure: its whole one stands.
  return requests > 0 && cpu > 0 ? requests / cpu : run.requests / run.cpu_s;
}

/** Runs a command (with `env` added to ours) and returns its output and the CPU seconds its process tree used. */
export async function runWithCpuTime(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ stdout: string; cpu: number; system: number; wall: number }> {
  // `times` prints the shell's own times, then its children's: "0m1.250s 0m0.310s" (user, then system).
  const script = '"$@" > "$OUT"; status=$?; times >&2; exit $status';
  const outDir = mkdtempSync(join(tmpdir(), 'lt-bench-peer-'));
  const out = join(outDir, 'stdout');
  const started = process.hrtime.bigint();
  const child = spawn('bash', ['-c', script, 'bench', command, ...args], { env: { ...process.env, ...env, OUT: out }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code: number = await new Promise((r) => child.once('exit', (c) => r(c ?? 1)));
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const stdout = readFileSync(out, 'utf8');
  rmSync(outDir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`${command} failed (${code}): ${stderr}${stdout}`);
  const lines = stderr.trim().split('\n');
  const children = lines[lines.length - 1].match(/(\d+)m([\d.]+)s/g) ?? [];
  const seconds = children.map((t) => {
    const [, m, s] = /(\d+)m([\d.]+)s/.exec(t)!;
    return Number(m) * 60 + Number(s);
  });
  return { stdout, cpu: seconds.reduce((a, b) => a + b, 0), system: seconds[1] ?? 0, wall };
}

/** autocannon sending `amount` requests, and its start-up run: one request per connection. */
export async function runAutocannon(url: string, connections: number, amount: number): Promise<ClientRun> {
  const run = await runAutocannonWith(url, ['-c', String(connections), '-a', String(amount)]);
  const startup = await runAutocannonWith(url, ['-c', String(connections), '-a', String(connections)]);
  return { ...run, startup: { requests: startup.requests, cpu_s: startup.cpu_s, wall_s: startup.wall_s, system_s: startup.system_s } };
}

/** autocannon with any of its own flags (e.g. -R for a fixed rate). */
export async function runAutocannonWith(url: string, flags: string[]): Promise<ClientRun> {
  const bin = join(projectRoot(), 'node_modules', 'autocannon', 'autocannon.js');
  const [command, args] = pinned('client', process.execPath, [bin, ...flags, '-j', url]);
  const { stdout, cpu, system, wall } = await runWithCpuTime(command, args);
  const result = JSON.parse(stdout) as { requests: { total: number }; latency: { p50: number; p99: number }; duration: number; errors: number; non2xx: number };
  if (result.errors || result.non2xx) throw new Error(`autocannon saw ${result.errors} errors and ${result.non2xx} non-2xx responses`);
  const { version } = JSON.parse(readFileSync(join(projectRoot(), 'node_modules', 'autocannon', 'package.json'), 'utf8')) as { version: string };
  return { client: `autocannon ${version}`, requests: result.requests.total, wall_s: wall, cpu_s: cpu, system_s: system, p50_ms: result.latency.p50, p99_ms: result.latency.p99 };
}

/**
 * A floor client (floor-measurement.ts): its CPU is what it measured itself around the counted
 * requests, warm, as the agent's is (the other peers' warm figure is their run less their
 * start-up run).
 */
async function runFloor(client: string, script: string, args: string[]): Promise<ClientRun> {
  const [command, argv] = pinned('client', process.execPath, [script, ...args]);
  const { stdout } = await runWithCpuTime(command, argv);
  const result = JSON.parse(stdout) as FloorResult;
  return { client, requests: result.requests, wall_s: result.wall_s, cpu_s: result.cpu_s, system_s: result.system_s, p50_ms: result.p50_ms, p99_ms: result.p99_ms };
}

/** undici alone (undici-floor.ts): the driver's connection pool on undici Clients, and nothing else. */
export async function runUndiciFloor(url: string, connections: number, count: number): Promise<ClientRun> {
  const { version } = JSON.parse(readFileSync(join(projectRoot(), 'node_modules', 'undici', 'package.json'), 'utf8')) as { version: string };
  return runFloor(`undici ${version} alone (floor)`, join(DIST(), 'undici-floor.js'), [url, String(connections), String(count)]);
}

const NODE_VERSION = process.version.slice(1);

/** The bare net client (bare-net-client.ts): keep-alive GETs on Node's net or tls sockets, the floor Node allows for HTTP/1.1. */
export async function runBareNetClient(url: string, connections: number, count: number, caFile?: string): Promise<ClientRun> {
  const client = `bare net client${url.startsWith('https:') ? ' over tls' : ''} (Node ${NODE_VERSION})`;
  return runFloor(client, join(DIST(), 'bare-net-client.js'), [url, String(connections), String(count), ...(caFile ? [caFile] : [])]);
}

/** The bare http2 client (bare-http2-client.ts): Node's own http2 sessions, `streams` requests in flight on each. */
export async function runBareHttp2Client(url: string, sessions: number, streams: number, count: number, caFile?: string): Promise<ClientRun> {
  const client = `bare http2 client (Node ${NODE_VERSION}, ${streams} ${streams === 1 ? 'stream' : 'streams'})`;
  return runFloor(client, join(DIST(), 'bare-http2-client.js'), [url, String(sessions), String(streams), String(count), ...(caFile ? [caFile] : [])]);
}

function wrkMs(text: string): number {
  const [, n, unit] = /([\d.]+)(us|ms|s)/.exec(text)!;
  return Number(n) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1);
}

async function wrkOnce(url: string, connections: number, seconds: number, extra: string[] = []): Promise<{ requests: number; cpu: number; system: number; wall: number; stdout: string }> {
  const [command, args] = pinned('client', 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...extra, url]);
  const { stdout, cpu, system, wall } = await runWithCpuTime(command, args);
  if (/Non-2xx|Socket errors/.test(stdout)) throw new Error(`wrk saw errors:\n${stdout}`);
  return { requests: Number(/(\d+) requests in/.exec(stdout)?.[1]), cpu, system, wall, stdout };
}

/** wrk for `seconds` (it cannot stop at a count), and its start-up run: stopped at its first response (wrk-startup-run.lua). */
export async function runWrk(url: string, connections: number, seconds: number): Promise<ClientRun | undefined> {
  if (!has('wrk')) return undefined;
  const { requests, cpu, system, wall, stdout } = await wrkOnce(url, connections, seconds);
  const startup = await wrkOnce(url, connections, 1, ['-s', join(projectRoot(), 'bench', 'wrk-startup-run.lua')]);
  const p50 = /^\s+50%\s+(\S+)/m.exec(stdout)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(stdout)?.[1];
  const said = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  const version = /wrk (?:\S*\/)?(\d[\d.]*)/.exec(`${said.stdout}${said.stderr}`)?.[1] ?? '';
  return {
    client: `wrk ${version}`.trim(),
    requests,
    wall_s: wall,
    cpu_s: cpu,
    system_s: system,
    p50_ms: p50 ? wrkMs(p50) : null,
    p99_ms: p99 ? wrkMs(p99) : null,
    startup: { requests: startup.requests, cpu_s: startup.cpu, wall_s: startup.wall, system_s: startup.system },
  };
}
