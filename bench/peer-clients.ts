// The tools people compare us with, run against the same target in the same run: autocannon
// (npm) and wrk (Debian's package, when installed). Each runs on the client core, and its CPU
// time is read as the shell's `times` sees its children.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../common/project-root';
import { DIST, has, pinned } from './bench-environment';

export interface ClientRun {
  client: string;
  requests: number;
  wall_s: number;
  cpu_s: number;
  /** milliseconds, as the tool reports it */
  p50_ms: number | null;
  p99_ms: number | null;
}

/** Runs a command and returns its output and the CPU seconds its process tree used. */
async function runWithCpuTime(command: string, args: string[]): Promise<{ stdout: string; cpu: number; wall: number }> {
  // `times` prints the shell's own times, then its children's: "0m1.250s 0m0.310s".
  const script = '"$@" > "$OUT"; status=$?; times >&2; exit $status';
  const outDir = mkdtempSync(join(tmpdir(), 'lt-bench-peer-'));
  const out = join(outDir, 'stdout');
  const started = process.hrtime.bigint();
  const child = spawn('bash', ['-c', script, 'bench', command, ...args], { env: { ...process.env, OUT: out }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code: number = await new Promise((r) => child.once('exit', (c) => r(c ?? 1)));
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const stdout = readFileSync(out, 'utf8');
  rmSync(outDir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`${command} failed (${code}): ${stderr}${stdout}`);
  const lines = stderr.trim().split('\n');
  const children = lines[lines.length - 1].match(/(\d+)m([\d.]+)s/g) ?? [];
  const cpu = children.reduce((sum, t) => {
    const [, m, s] = /(\d+)m([\d.]+)s/.exec(t)!;
    return sum + Number(m) * 60 + Number(s);
  }, 0);
  return { stdout, cpu, wall };
}

export function runAutocannon(url: string, connections: number, amount: number): Promise<ClientRun> {
  return runAutocannonWith(url, ['-c', String(connections), '-a', String(amount)]);
}

/** autocannon with any of its own flags (e.g. -R for a fixed rate). */
export async function runAutocannonWith(url: string, flags: string[]): Promise<ClientRun> {
  const bin = join(projectRoot(), 'node_modules', 'autocannon', 'autocannon.js');
  const [command, args] = pinned('client', process.execPath, [bin, ...flags, '-j', url]);
  const { stdout, cpu, wall } = await runWithCpuTime(command, args);
  const result = JSON.parse(stdout) as { requests: { total: number }; latency: { p50: number; p99: number }; duration: number; errors: number; non2xx: number };
  if (result.errors || result.non2xx) throw new Error(`autocannon saw ${result.errors} errors and ${result.non2xx} non-2xx responses`);
  const { version } = JSON.parse(readFileSync(join(projectRoot(), 'node_modules', 'autocannon', 'package.json'), 'utf8')) as { version: string };
  return { client: `autocannon ${version}`, requests: result.requests.total, wall_s: wall, cpu_s: cpu, p50_ms: result.latency.p50, p99_ms: result.latency.p99 };
}

/**
 * undici alone (undici-floor.ts): the driver's connections and nothing else. Its CPU is what it
 * measured itself around the counted requests, warm, as the agent's is (the others' includes
 * their start-up).
 */
export async function runUndiciFloor(url: string, connections: number, count: number): Promise<ClientRun> {
  const [command, args] = pinned('client', process.execPath, [join(DIST(), 'undici-floor.js'), url, String(connections), String(count)]);
  const { stdout } = await runWithCpuTime(command, args);
  const result = JSON.parse(stdout) as { requests: number; wall_s: number; cpu_s: number };
  const { version } = JSON.parse(readFileSync(join(projectRoot(), 'node_modules', 'undici', 'package.json'), 'utf8')) as { version: string };
  return { client: `undici ${version} alone (floor)`, requests: result.requests, wall_s: result.wall_s, cpu_s: result.cpu_s, p50_ms: null, p99_ms: null };
}

function wrkMs(text: string): number {
  const [, n, unit] = /([\d.]+)(us|ms|s)/.exec(text)!;
  return Number(n) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1);
}

export async function runWrk(url: string, connections: number, seconds: number): Promise<ClientRun | undefined> {
  if (!has('wrk')) return undefined;
  const [command, args] = pinned('client', 'wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url]);
  const { stdout, cpu, wall } = await runWithCpuTime(command, args);
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  const p50 = /^\s+50%\s+(\S+)/m.exec(stdout)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(stdout)?.[1];
  if (/Non-2xx|Socket errors/.test(stdout)) throw new Error(`wrk saw errors:\n${stdout}`);
  const said = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  const version = /wrk (?:\S*\/)?(\d[\d.]*)/.exec(`${said.stdout}${said.stderr}`)?.[1] ?? '';
  return { client: `wrk ${version}`.trim(), requests, wall_s: wall, cpu_s: cpu, p50_ms: p50 ? wrkMs(p50) : null, p99_ms: p99 ? wrkMs(p99) : null };
}
