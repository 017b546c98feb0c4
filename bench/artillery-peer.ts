// Artillery (npm) as a peer client. It is large (some 600 MB with the browser engine it carries),
// so it is no dependency of ours: the benchmark installs it on demand into a cache directory
// outside the repository, with --ignore-scripts (its postinstall downloads a browser), and
// removes its telemetry client there (Artillery reports every run to its makers, anonymised when
// telemetry is "disabled" but still sent; without the client it sends nothing).
//
// Artillery is an open model: virtual users arrive at a rate, each runs the scenario on a
// connection of its own. Here `connections` users arrive in the first second and each sends its
// share of the requests back to back, so that from then on it keeps `connections` connections
// busy and is bound by its CPU, as the other peers are; it stops when every user has sent its
// share. Its start-up run is the same command with one request per user.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pinned } from './bench-environment';
import { runWithCpuTime, type ClientRun } from './peer-clients';

const ARTILLERY_HOME = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'lt-bench', 'artillery');
const ARTILLERY_PACKAGE = join(ARTILLERY_HOME, 'node_modules', 'artillery');
const ARTILLERY_BIN = join(ARTILLERY_PACKAGE, 'bin', 'run');
const INSTALL_TIMEOUT_MS = 10 * 60_000;

/** npm's install of Artillery into the cache: its exit code and the start of what it said (npm says why first). */
function npmInstall(): Promise<{ code: number; said: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['install', '--prefix', ARTILLERY_HOME, '--ignore-scripts', '--no-audit', '--no-fund', 'artillery@2'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    child.stderr.on('data', (d: Buffer) => (said = (said + d.toString()).slice(0, 4000)));
    const timer = setTimeout(() => child.kill('SIGTERM'), INSTALL_TIMEOUT_MS);
    child.once('error', (error) => resolve({ code: -1, said: error.message }));
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, said });
    });
  });
}

/** Installs Artillery when it is missing (a minute or more). Returns why there is no Artillery row, or undefined. */
export async function prepareArtillery(say: (line: string) => void): Promise<string | undefined> {
  if (!existsSync(ARTILLERY_BIN)) {
    say(`installing Artillery into ${ARTILLERY_HOME} (npm, once)`);
    const { code, said } = await npmInstall();
    if (code !== 0 || !existsSync(ARTILLERY_BIN)) {
      const why = said.split('\n').map((line) => line.replace(/^npm (error|ERR!)\s*/, '').trim()).filter(Boolean);
      return `npm could not install Artillery (exit ${code}): ${why.slice(0, 4).join('; ')}`;
    }
  }
  rmSync(join(ARTILLERY_HOME, 'node_modules', 'posthog-node'), { recursive: true, force: true });
  return undefined;
}

interface ArtilleryReport {
  aggregate: { counters: Record<string, number>; summaries: Record<string, { p50: number; p99: number } | undefined> };
}

async function artilleryOnce(url: URL, users: number, requestsPerUser: number): Promise<{ requests: number; p50: number | null; p99: number | null; cpu: number; system: number; wall: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'lt-bench-artillery-'));
  try {
    // JSON is YAML too.
    const script = join(dir, 'scenario.yml');
    const flow = [{ loop: [{ get: { url: `${url.pathname}${url.search}` } }], count: requestsPerUser }];
    writeFileSync(script, JSON.stringify({ config: { target: url.origin, phases: [{ duration: 1, arrivalRate: users }] }, scenarios: [{ flow }] }));
    const report = join(dir, 'report.json');
    const [command, args] = pinned('client', process.execPath, [ARTILLERY_BIN, 'run', '--quiet', '--output', report, script]);
    // One worker thread: the run is on one core, as every client's is.
    const { cpu, system, wall } = await runWithCpuTime(command, args, { ARTILLERY_DISABLE_TELEMETRY: 'true', WORKERS: '1' });
    const { counters, summaries } = (JSON.parse(readFileSync(report, 'utf8')) as ArtilleryReport).aggregate;
    const requests = counters['http.requests'] ?? 0;
    const errors = Object.entries(counters).filter(([name, n]) => n && (name.startsWith('errors.') || name === 'vusers.failed'));
    if (errors.length || counters['http.codes.200'] !== requests) throw new Error(`artillery saw errors: ${JSON.stringify(counters)}`);
    const latency = summaries['http.response_time'];
    return { requests, p50: latency?.p50 ?? null, p99: latency?.p99 ?? null, cpu, system, wall };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Artillery sending about `requests` over `connections` users (rounded up to a whole number each), and its start-up run. */
export async function runArtillery(url: string, connections: number, requests: number): Promise<ClientRun> {
  const target = new URL(url);
  const run = await artilleryOnce(target, connections, Math.ceil(requests / connections));
  const startup = await artilleryOnce(target, connections, 1);
  const { version } = JSON.parse(readFileSync(join(ARTILLERY_PACKAGE, 'package.json'), 'utf8')) as { version: string };
  return {
    client: `Artillery ${version}`,
    requests: run.requests,
    wall_s: run.wall,
    cpu_s: run.cpu,
    system_s: run.system,
    p50_ms: run.p50,
    p99_ms: run.p99,
    startup: { requests: startup.requests, cpu_s: startup.cpu, wall_s: startup.wall, system_s: startup.system },
  };
}
