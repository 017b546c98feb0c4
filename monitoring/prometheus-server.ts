// A real Prometheus (Debian's `prometheus` package) for the reference system, the demo and the
// tests: its own configuration and data folder, scraping every second. What it scrapes is a set of
// target files, one per component instance (file-based discovery), so that an agent or an app
// instance started later is picked up without a restart.
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runningFromPidFile, startDetached, stopFromPidFile, isAlive, stopPid, tail } from '../common/background-process';

/** The jobs Prometheus scrapes; the Grafana dashboard and the tests name them. */
export const SCRAPE_JOBS = ['lt-orchestrator', 'lt-agent', 'lt-target', 'sut-app', 'sut-proxy', 'sut-database'] as const;
export type ScrapeJob = (typeof SCRAPE_JOBS)[number];

export interface PrometheusOptions {
  port: number;
  /** config, data, log, pid and target files */
  stateDir: string;
  scrapeIntervalSeconds?: number;
}

export interface RunningPrometheus {
  url: string;
  pid: number;
  /** Scrape these HOST:PORT endpoints as `job`, under `name` (one file: replacing it replaces them). */
  setTargets(job: ScrapeJob, name: string, targets: string[], labels?: Record<string, string>, metricsPath?: string): void;
  removeTargets(job: ScrapeJob, name: string): void;
  stop(): Promise<void>;
}

function prometheusBinary(): string {
  for (const candidate of ['/usr/bin/prometheus', '/usr/local/bin/prometheus']) if (existsSync(candidate)) return candidate;
  throw new Error('Prometheus is not installed: apt-get install prometheus (Debian), or put a prometheus binary on /usr/local/bin');
}

function targetsDir(stateDir: string, job: ScrapeJob): string {
  return join(stateDir, 'targets', job);
}

/** JSON is YAML: the configuration needs no YAML writer. */
function configuration(stateDir: string, intervalSeconds: number): string {
  return JSON.stringify(
    {
      global: { scrape_interval: `${intervalSeconds}s`, evaluation_interval: `${intervalSeconds}s`, scrape_timeout: `${intervalSeconds}s` },
      scrape_configs: SCRAPE_JOBS.map((job) => ({ job_name: job, file_sd_configs: [{ files: [join(targetsDir(stateDir, job), '*.json')], refresh_interval: '1s' }] })),
    },
    null,
    2,
  );
}

async function ready(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok;
  } catch {
    return false;
  }
}

/** Starts Prometheus (or finds the one this state folder already runs) and waits until it is ready. */
export async function startPrometheus(options: PrometheusOptions): Promise<RunningPrometheus> {
  const stateDir = resolve(options.stateDir);
  const pidFile = join(stateDir, 'prometheus.pid');
  const logFile = join(stateDir, 'prometheus.log');
  const url = `http://127.0.0.1:${options.port}`;
  for (const job of SCRAPE_JOBS) mkdirSync(targetsDir(stateDir, job), { recursive: true });
  const handle = (pid: number): RunningPrometheus => ({
    url,
    pid,
    setTargets: (job, name, targets, labels = {}, metricsPath) => {
      const group = { targets, labels: { ...labels, ...(metricsPath ? { __metrics_path__: metricsPath } : {}) } };
      // Written aside and renamed into place, so that Prometheus never reads half a file.
      const file = join(targetsDir(stateDir, job), `${name}.json`);
      writeFileSync(`${file}.tmp`, JSON.stringify([group]));
      renameSync(`${file}.tmp`, file);
    },
    removeTargets: (job, name) => rmSync(join(targetsDir(stateDir, job), `${name}.json`), { force: true }),
    stop: async () => {
      await stopPid(pid);
      rmSync(pidFile, { force: true });
    },
  });

  const running = runningFromPidFile(pidFile);
  if (running !== undefined && (await ready(url))) return handle(running);
  if (running !== undefined) await stopPid(running);

  const configFile = join(stateDir, 'prometheus.json');
  writeFileSync(configFile, configuration(stateDir, options.scrapeIntervalSeconds ?? 1));
  const pid = startDetached({
    command: prometheusBinary(),
    args: [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(stateDir, 'data')}`,
      '--storage.tsdb.retention.time=7d',
      `--web.listen-address=127.0.0.1:${options.port}`,
      '--log.level=warn',
    ],
    logFile,
    pidFile,
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) throw new Error(`Prometheus exited during start-up. Last lines of ${logFile}:\n${tail(logFile)}`);
    if (await ready(url)) return handle(pid);
    await new Promise((r) => setTimeout(r, 250));
  }
  await stopPid(pid);
  throw new Error(`Prometheus did not become ready within 60 s. Last lines of ${logFile}:\n${tail(logFile)}`);
}

/** Stops the Prometheus of a state folder; false when none was running. */
export function stopPrometheus(stateDir: string): Promise<boolean> {
  return stopFromPidFile(join(resolve(stateDir), 'prometheus.pid'));
}

