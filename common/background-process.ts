// Long-lived helper processes the project starts for people and tests (the Kafka broker, Prometheus,
// the reference system's servers): whether a pid lives, stopping one politely then firmly, and the
// end of its log for error messages.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive(pid);
}

/** `signal` first (PostgreSQL's fast shutdown is SIGINT), then SIGKILL after 30 s. */
export async function stopPid(pid: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, signal);
  if (await waitForExit(pid, 30_000)) return;
  process.kill(pid, 'SIGKILL');
  await waitForExit(pid, 5000);
}

export interface DetachedOptions {
  command: string;
  args: string[];
  /** stdout and stderr go here (appended) */
  logFile: string;
  /** the pid is written here, so that a later `stop` finds the process */
  pidFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** run as this user (the project runs as root; PostgreSQL refuses to) */
  uid?: number;
  gid?: number;
}

/** Starts a process that outlives this one (a `start` command returns while it runs). */
export function startDetached(options: DetachedOptions): number {
  const out = openSync(options.logFile, 'a');
  const child = spawn(options.command, options.args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: options.env ?? process.env,
    cwd: options.cwd,
    uid: options.uid,
    gid: options.gid,
  });
  closeSync(out);
  if (!child.pid) throw new Error(`${options.command} did not start`);
  child.unref();
  writeFileSync(options.pidFile, String(child.pid));
  return child.pid;
}

/** The live process a pid file names, if any; a stale file is removed. */
export function runningFromPidFile(pidFile: string): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  if (pid > 0 && isAlive(pid)) return pid;
  rmSync(pidFile, { force: true });
  return undefined;
}

/** Stops the process a pid file names; false when none was running. */
export async function stopFromPidFile(pidFile: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<boolean> {
  const pid = runningFromPidFile(pidFile);
  if (pid !== undefined) await stopPid(pid, signal);
  rmSync(pidFile, { force: true });
  return pid !== undefined;
}
