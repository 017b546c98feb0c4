// The reference system under test, whole: HAProxy in front of N app instances, which read from
// PostgreSQL readers and write to its writer, and a Prometheus scraping the apps (with the
// readers' replication lag) and the proxy. Every process runs detached with a pid file in the
// state folder, so `start` returns while it runs, a second `start` finds it, and `stop` ends it all.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isAlive, runningFromPidFile, startDetached, stopFromPidFile, stopPid, tail } from '../common/background-process';
import { projectRoot } from '../common/project-root';
import { startPrometheus, stopPrometheus } from '../monitoring/prometheus-server';
import { startDatabaseCluster, type DatabaseEndpoint } from './database-cluster';
import { haproxyConfig } from './haproxy-config';

export interface SystemPorts {
  proxy: number;
  proxyStats: number;
  apps: number[];
  writer: number;
  readers: number[];
  prometheus?: number;
}

export interface RunningSystem {
  /** where load goes: the proxy */
  proxyUrl: string;
  prometheusUrl?: string;
  apps: { name: string; url: string }[];
  proxyMetricsUrl: string;
  writer: DatabaseEndpoint;
  readers: DatabaseEndpoint[];
  /** true when this call found the system already running */
  alreadyRunning: boolean;
}

/** Ports from `base` up: proxy, its stats, the apps, the writer, the readers, Prometheus. */
export function portsFrom(base: number, apps: number, readers: number): SystemPorts {
  return {
    proxy: base,
    proxyStats: base + 1,
    apps: Array.from({ length: apps }, (_, i) => base + 10 + i),
    writer: base + 100,
    readers: Array.from({ length: readers }, (_, i) => base + 101 + i),
    prometheus: base + 90,
  };
}

const HAPROXY = '/usr/sbin/haproxy';
const appName = (i: number) => `app-${i + 1}`;

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

async function waitUntil(what: string, pid: number, logFile: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) throw new Error(`${what} exited during start-up. Last lines of ${logFile}:\n${tail(logFile)}`);
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  await stopPid(pid);
  throw new Error(`${what} did not answer within ${timeoutMs / 1000} s. Last lines of ${logFile}:\n${tail(logFile)}`);
}

function describe(stateDir: string, ports: SystemPorts, alreadyRunning: boolean, writer: DatabaseEndpoint, readers: DatabaseEndpoint[]): RunningSystem {
  return {
    proxyUrl: `http://127.0.0.1:${ports.proxy}`,
    prometheusUrl: ports.prometheus ? `http://127.0.0.1:${ports.prometheus}` : undefined,
    apps: ports.apps.map((port, i) => ({ name: appName(i), url: `http://127.0.0.1:${port}` })),
    proxyMetricsUrl: `http://127.0.0.1:${ports.proxyStats}/metrics`,
    writer,
    readers,
    alreadyRunning,
  };
}

/** Starts what is not running yet and waits until the proxy serves through every app. */
export async function startReferenceSystem(options: { stateDir: string; ports: SystemPorts; onProgress?: (line: string) => void }): Promise<RunningSystem> {
  const stateDir = resolve(options.stateDir);
  const { ports } = options;
  const progress = options.onProgress ?? (() => {});
  // Said before anything starts, so that nothing is left running for want of it.
  if (!existsSync(HAPROXY)) throw new Error('HAProxy is not installed: apt-get install haproxy');
  // The postgres user must reach its folders below this one.
  mkdirSync(stateDir, { recursive: true, mode: 0o755 });
  const layoutFile = join(stateDir, 'system.json');
  if (existsSync(layoutFile)) {
    const previous = JSON.parse(readFileSync(layoutFile, 'utf8')) as SystemPorts;
    if (JSON.stringify(previous) !== JSON.stringify(ports) && runningFromPidFile(join(stateDir, 'haproxy.pid')) !== undefined) {
      throw new Error(`the reference system in ${stateDir} runs with other ports or sizes; stop it first (npm run sut:stop)`);
    }
  }
  const alreadyRunning = runningFromPidFile(join(stateDir, 'haproxy.pid')) !== undefined && (await answers(`http://127.0.0.1:${ports.proxy}/health`));
  writeFileSync(layoutFile, JSON.stringify(ports, null, 2));

  progress(`PostgreSQL: writer on ${ports.writer}, ${ports.readers.length} streaming reader(s) on ${ports.readers.join(', ')}...`);
  const database = await startDatabaseCluster(stateDir, ports.writer, ports.readers);
  const passwordFile = join(stateDir, 'postgres', 'app-password');

  const appsDir = join(stateDir, 'apps');
  mkdirSync(appsDir, { recursive: true });
  const appBundle = join(projectRoot(), 'dist', 'sut-app.js');
  if (!existsSync(appBundle)) throw new Error(`${appBundle} is missing: run npm run build first`);
  for (const [i, port] of ports.apps.entries()) {
    const name = appName(i);
    const pidFile = join(appsDir, `${name}.pid`);
    const health = `http://127.0.0.1:${port}/health`;
    if (runningFromPidFile(pidFile) !== undefined && (await answers(health))) continue;
    const logFile = join(appsDir, `${name}.log`);
    const args = [appBundle, '--port', String(port), '--instance', name, '--writer', `127.0.0.1:${ports.writer}`, '--readers', ports.readers.map((p) => `127.0.0.1:${p}`).join(','), '--password-file', passwordFile];
    const pid = startDetached({ command: process.execPath, args, logFile, pidFile });
    await waitUntil(name, pid, logFile, () => answers(health));
  }
  progress(`${ports.apps.length} app instance(s) on ${ports.apps.join(', ')}`);

  const haproxyPid = join(stateDir, 'haproxy.pid');
  if (runningFromPidFile(haproxyPid) === undefined) {
    const config = join(stateDir, 'haproxy.cfg');
    writeFileSync(config, haproxyConfig({ port: ports.proxy, statsPort: ports.proxyStats, apps: ports.apps.map((port, i) => ({ name: appName(i), port })) }));
    const logFile = join(stateDir, 'haproxy.log');
    const pid = startDetached({ command: HAPROXY, args: ['-f', config, '-db'], logFile, pidFile: haproxyPid });
    await waitUntil('HAProxy', pid, logFile, () => answers(`http://127.0.0.1:${ports.proxy}/health`));
  }
  progress(`HAProxy on ${ports.proxy} (its metrics on ${ports.proxyStats})`);

  if (ports.prometheus) {
    const prometheus = await startPrometheus({ port: ports.prometheus, stateDir: join(stateDir, 'prometheus') });
    prometheus.setTargets('sut-app', 'reference-system', ports.apps.map((p) => `127.0.0.1:${p}`));
    prometheus.setTargets('sut-proxy', 'reference-system', [`127.0.0.1:${ports.proxyStats}`]);
    progress(`Prometheus on ${ports.prometheus}`);
  }
  return describe(stateDir, ports, alreadyRunning, database.writer, database.readers);
}

/** Stops every process of the system in a state folder (proxy, apps, Prometheus, database); what was running. */
export async function stopReferenceSystem(stateDir: string): Promise<string[]> {
  const dir = resolve(stateDir);
  const stopped: string[] = [];
  if (await stopFromPidFile(join(dir, 'haproxy.pid'))) stopped.push('HAProxy');
  const appsDir = join(dir, 'apps');
  const layoutFile = join(dir, 'system.json');
  const ports = existsSync(layoutFile) ? (JSON.parse(readFileSync(layoutFile, 'utf8')) as SystemPorts) : undefined;
  for (let i = 0; ports && i < ports.apps.length; i++) if (await stopFromPidFile(join(appsDir, `${appName(i)}.pid`))) stopped.push(appName(i));
  if (await stopPrometheus(join(dir, 'prometheus'))) stopped.push('Prometheus');
  const pgDir = join(dir, 'postgres');
  for (let i = (ports?.readers.length ?? 0) - 1; i >= 0; i--) if (await stopFromPidFile(join(pgDir, `reader-${i + 1}.pid`), 'SIGINT')) stopped.push(`PostgreSQL reader-${i + 1}`);
  if (await stopFromPidFile(join(pgDir, 'writer.pid'), 'SIGINT')) stopped.push('PostgreSQL writer');
  return stopped;
}

/** Removes a stopped system's data (databases, Prometheus' series, logs). */
export function deleteReferenceSystem(stateDir: string): void {
  rmSync(resolve(stateDir), { recursive: true, force: true });
}
