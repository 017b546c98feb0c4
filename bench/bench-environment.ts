// What the benchmark runs against and how it reads the cost of a client: targets (nginx when
// installed, so that the target is not the bottleneck; else lt-target), agents pinned to their
// own core, CPU seconds and peak memory of a process from /proc, and a description of the machine.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../common/free-port';
import { projectRoot } from '../common/project-root';
import { HAS_ECHO_MODULE, NGINX, writeNginxConfig, makeTestCertificates, type NginxRateLimit } from '../target-server/nginx-target';

const CLOCK_TICKS_PER_SECOND = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

export const DIST = () => join(projectRoot(), 'dist');

export function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Where a process runs: clients on the last core, targets on the first, `any` where the scheduler puts it. */
export type Core = 'client' | 'target' | 'any';

/** Clients run on the last core and targets on the first, when taskset is there to say so. */
export function pinned(core: Core, command: string, args: string[]): [string, string[]] {
  if (core === 'any' || !has('taskset') || cpus().length < 2) return [command, args];
  return ['taskset', ['-c', core === 'client' ? String(cpus().length - 1) : '0', command, ...args]];
}

/** CPU seconds (user + system) a live process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND; // utime, stime
}

/** CPU seconds in the kernel (system time) a live process has used so far. */
export function systemCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[12]) / CLOCK_TICKS_PER_SECOND; // stime
}

/** CPU seconds of a live process and of its live children (nginx's master and its worker). */
export function treeCpuSeconds(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  return cpuSeconds(pid) + children.reduce((sum, child) => sum + treeCpuSeconds(child), 0);
}

/** CPU seconds the whole machine has been busy so far (every core; idle and iowait left out), steal apart. */
export function machineBusySeconds(): { busy: number; steal: number } {
  // cpu  user nice system idle iowait irq softirq steal ...
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { busy: (user + nice + system + irq + softirq) / CLOCK_TICKS_PER_SECOND, steal: steal / CLOCK_TICKS_PER_SECOND };
}

/** Resident memory of a live process, in MiB: now, and its peak so far. */
export function rssMiB(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const read = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  return { now: read('VmRSS'), peak: read('VmHWM') };
}

export interface Managed {
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export function manage(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Managed {
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    output: () => output,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function waitForOutput(p: Managed, pattern: RegExp, what: string, timeoutMs = 60_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(p.output());
    if (match) return match;
    if (p.child.exitCode !== null) throw new Error(`${what} exited: ${p.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${p.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface Target extends Managed {
  url: string;
  kind: string;
  /** a path answered 50 ms late, when the target can (nginx with its echo module) */
  delayed50Path?: string;
  /** the same /ping over TLS (HTTP/2 and HTTP/1.1 by ALPN), with the authority that signed its certificate */
  https?: { url: string; caFile: string };
}

/** nginx (target-server/nginx-target.ts) pinned to the target's core, or undefined when not installed. */
export async function startNginxTarget(workDir: string, options: { rateLimit?: NginxRateLimit; arrivalLog?: boolean } = {}): Promise<(Target & { arrivalLog?: string }) | undefined> {
  if (!NGINX) return undefined;
  const { rateLimit } = options;
  const port = await freePort();
  const dir = join(workDir, rateLimit ? `nginx-limit-${rateLimit.rate}` : options.arrivalLog ? 'nginx-arrivals' : 'nginx');
  const arrivalLog = options.arrivalLog ? join(dir, 'arrivals.log') : undefined;
  const certificates = makeTestCertificates(join(dir, 'tls'));
  const tlsPort = await freePort();
  const conf = writeNginxConfig(dir, port, { port: tlsPort, certFile: certificates.certFile, keyFile: certificates.keyFile }, rateLimit, arrivalLog);
  const [command, args] = pinned('target', NGINX, ['-p', dir, '-c', conf]);
  const process = manage(command, args);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/ping`)).ok) break;
    } catch {
      if (Date.now() > deadline || process.child.exitCode !== null) throw new Error(`nginx did not start: ${process.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const kind = `nginx ${spawnSync(NGINX, ['-v'], { encoding: 'utf8' }).stderr.trim().replace(/^nginx version: nginx\//, '')}`;
  return { ...process, url, kind, delayed50Path: HAS_ECHO_MODULE ? '/delay50' : undefined, https: { url: `https://127.0.0.1:${tlsPort}`, caFile: certificates.caFile }, arrivalLog };
}

export async function startLtTarget(args: string[] = []): Promise<Target> {
  const [command, argv] = pinned('target', process.execPath, [join(DIST(), 'lt-target.js'), '--port', '0', ...args]);
  const p = manage(command, argv);
  const [, url] = await waitForOutput(p, /listening on (\S+)/, 'lt-target');
  return { ...p, url, kind: 'lt-target' };
}

export interface Agent extends Managed {
  id: string;
  pid: number;
}

/**
 * An agent on one core sends from one thread (`--workers 1`) unless `extraArgs` says otherwise: a
 * second worker thread on the same core would only take turns with the first. `nodeFlags` go to
 * node itself (e.g. --cpu-prof).
 */
export async function startAgent(id: string, kafka: string, prefix: string, extraArgs: string[] = [], core: Core = 'client', nodeFlags: string[] = []): Promise<Agent> {
  const workers = extraArgs.includes('--workers') ? [] : ['--workers', '1'];
  const [command, args] = pinned(core, process.execPath, [...nodeFlags, join(DIST(), 'lt-agent.js'), '--id', id, '--kafka', kafka, '--topic-prefix', prefix, '--orchestrator', 'bench', ...workers, ...extraArgs]);
  const p = manage(command, args);
  await waitForOutput(p, new RegExp(`registered as ${id}`), `agent ${id}`);
  return { ...p, id, pid: p.child.pid! };
}

export interface MachineInfo {
  cpu: string;
  cores: number;
  memory_gib: number;
  os: string;
  node: string;
  date: string;
}

export function machineInfo(): MachineInfo {
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    os: `Linux ${release()}`,
    node: process.version,
    date: new Date().toISOString().slice(0, 10),
  };
}
