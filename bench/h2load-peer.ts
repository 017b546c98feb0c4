// h2load (Debian's nghttp2-client) as the HTTP/2 peer: one thread on the client core, a count of
// requests over N connections with M streams in flight on each (-m). It starts a process per run,
// so its start-up run is the same command sending one request per connection. It gives no
// percentiles (min, max, mean and deviation only), so its rows have none.
import { spawnSync } from 'node:child_process';
import { has, pinned } from './bench-environment';
import { runWithCpuTime, type ClientRun } from './peer-clients';

/** Why there is no h2load row, or undefined when there can be one. */
export function h2loadMissing(): string | undefined {
  return has('h2load') ? undefined : 'h2load is not installed (Debian: nghttp2-client)';
}

async function h2loadOnce(url: string, connections: number, streams: number, count: number): Promise<{ requests: number; cpu: number; system: number; wall: number }> {
  // h2load does not check the server's certificate, so nginx's private authority needs no flag.
  const [command, args] = pinned('client', 'h2load', ['-t', '1', '-c', String(connections), '-m', String(streams), '-n', String(count), url]);
  const { stdout, cpu, system, wall } = await runWithCpuTime(command, args);
  // requests: 20000 total, 20000 started, 20000 done, 20000 succeeded, 0 failed, 0 errored, 0 timeout
  const line = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(stdout);
  if (!line) throw new Error(`h2load printed no request counts:\n${stdout}`);
  const status = /status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
  if (Number(line[2]) || Number(line[3]) || !status || status.slice(1).some(Number)) throw new Error(`h2load saw failed requests:\n${stdout}`);
  return { requests: Number(line[1]), cpu, system, wall };
}

/** h2load sending `count` requests with `streams` in flight per connection, and its start-up run. */
export async function runH2load(url: string, connections: number, streams: number, count: number): Promise<ClientRun> {
  const run = await h2loadOnce(url, connections, streams, count);
  const startup = await h2loadOnce(url, connections, streams, connections);
  const said = spawnSync('h2load', ['--version'], { encoding: 'utf8' });
  const version = /nghttp2\/(\S+)/.exec(said.stdout)?.[1] ?? '';
  return {
    client: `h2load ${version} (-m ${streams})`,
    requests: run.requests,
    wall_s: run.wall,
    cpu_s: run.cpu,
    system_s: run.system,
    p50_ms: null,
    p99_ms: null,
    startup: { requests: startup.requests, cpu_s: startup.cpu, wall_s: startup.wall, system_s: startup.system },
  };
}
