// Locust (Debian's python3-locust) as a peer client: bench/locustfile.py, FastHttpUser with no
// wait, one user per connection, headless in one process on the client core. Locust cannot stop
// at a count, so it runs for a duration, as wrk does; its start-up run is the same command for
// which each user sends one request and idles to the end (LT_BENCH_ONE_REQUEST).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../common/project-root';
import { has, pinned } from './bench-environment';
import { runWithCpuTime, type ClientRun } from './peer-clients';

/** Why there is no Locust row, or undefined when there can be one. */
export function locustMissing(): string | undefined {
  return has('locust') ? undefined : 'locust is not installed (Debian: python3-locust)';
}

/** "2.12": Debian's build reports an empty __version__, so its package's version stands in. */
function locustVersion(): string {
  const said = spawnSync('locust', ['--version'], { encoding: 'utf8' });
  const own = /locust (\d+\.\d+)/.exec(`${said.stdout}${said.stderr}`)?.[1];
  if (own) return own;
  const debian = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'python3-locust'], { encoding: 'utf8' });
  return /^(?:\d+:)?(\d+\.\d+)/.exec(debian.stdout ?? '')?.[1] ?? '';
}

interface LocustResult {
  requests: number;
  failures: number;
  p50_ms: number | null;
  p99_ms: number | null;
}

async function locustOnce(url: URL, users: number, seconds: number, oneRequest: boolean): Promise<{ result: LocustResult; cpu: number; system: number; wall: number }> {
  const locustfile = join(projectRoot(), 'bench', 'locustfile.py');
  // A spawn rate of `users` per second starts them all within the first second (Locust warns above 100; harmless here).
  const [command, args] = pinned('client', 'locust', ['-f', locustfile, '--headless', '-u', String(users), '-r', String(users), '--host', url.origin, '-t', `${seconds}s`, '--only-summary', '--loglevel', 'ERROR']);
  const env = { LT_BENCH_PATH: `${url.pathname}${url.search}`, ...(oneRequest ? { LT_BENCH_ONE_REQUEST: '1' } : {}) };
  const { stdout, cpu, system, wall } = await runWithCpuTime(command, args, env);
  const line = /^lt-bench-result (.*)$/m.exec(stdout)?.[1];
  if (!line) throw new Error(`locust printed no result:\n${stdout}`);
  const result = JSON.parse(line) as LocustResult;
  if (result.failures) throw new Error(`locust saw ${result.failures} failed requests`);
  return { result, cpu, system, wall };
}

/** Locust for `seconds`, and its start-up run: one request per user, the users spawned the same way. */
export async function runLocust(url: string, users: number, seconds: number): Promise<ClientRun> {
  const target = new URL(url);
  const run = await locustOnce(target, users, seconds, false);
  // Two seconds: every user spawned (within the first) and answered.
  const startup = await locustOnce(target, users, 2, true);
  return {
    client: `Locust ${locustVersion()} (FastHttpUser)`,
    requests: run.result.requests,
    wall_s: run.wall,
    cpu_s: run.cpu,
    system_s: run.system,
    p50_ms: run.result.p50_ms,
    p99_ms: run.result.p99_ms,
    startup: { requests: startup.result.requests, cpu_s: startup.cpu, wall_s: startup.wall, system_s: startup.system },
  };
}
