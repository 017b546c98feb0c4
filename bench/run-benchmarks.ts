// `npm run bench`: measures the driver against what people would use instead (autocannon, wrk,
// Locust, Artillery, h2load) and against the floors Node and undici allow, on the same target in
// the same run, and checks that the numbers it reports are true. Prints one table and writes
// benchmarks.json and BENCHMARKS.md. It asserts nothing: it measures.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatHelp, parseOptions, runCli, UsageError, wantsHelp } from '../common/cli-options';
import { createLogger } from '../common/logger';
import type { LoadTestDefinition } from '../orchestrator/loadtest-definition';
import { Orchestrator } from '../orchestrator/orchestrator';
import { readLatencyLog } from '../agents/latency-log';
import { freePort } from '../common/free-port';
import { projectRoot } from '../common/project-root';
import { startBroker } from '../kafka-broker/local-kafka';
import { cpuSeconds, systemCpuSeconds, DIST, machineBusySeconds, machineInfo, manage, pinned, rssMiB, startAgent, startLtTarget, startNginxTarget, treeCpuSeconds, waitForOutput, type Agent, type Core, type Target } from './bench-environment';
import { summarizeProfileFile } from './cpu-profile-summary';
import { FLEET_TEST_SECONDS, startFleet } from './driver-fleet';
import { kernelShare, requestsPerCpuSecond, runAutocannon, runBareHttp2Client, runBareNetClient, runUndiciFloor, runAutocannonWith, runWrk, type ClientRun } from './peer-clients';
import { locustMissing, runLocust } from './locust-peer';
import { prepareArtillery, runArtillery } from './artillery-peer';
import { h2loadMissing, runH2load } from './h2load-peer';
import { renderTable, writeReport, type BenchReport, type Cell, type Section } from './bench-report';
import { workersReading, type WorkersRun } from './workers-reading';
import type { StageStats, TestResult, TestSnapshot } from '../orchestrator/result-model';
import { startCapacitySearch } from '../orchestrator/capacity/capacity-session';
import { LoadProfile, type Stage } from '../protocol/load-profile';
import { readArrivals, type Arrival } from '../target-server/nginx-target';

const SECTIONS = ['efficiency', 'workers', 'tls', 'rate', 'open', 'stages', 'capacity', 'latency', 'aggregation', 'memory', 'control', 'fleet'] as const;
type SectionName = (typeof SECTIONS)[number];

const OPTIONS = {
  quick: { type: 'boolean', description: 'Small runs (about a minute in all): shows the harness works, not the figures.' },
  only: { type: 'string', value: 'LIST', description: `Comma-separated sections to run: ${SECTIONS.join(', ')}.` },
  scale: { type: 'string', value: 'FACTOR', default: '1', description: 'Multiplies every request count and duration (e.g. 0.5 or 3).' },
  out: { type: 'string', value: 'DIR', description: 'Where to write benchmarks.json and BENCHMARKS.md. Default: the repository for a full run; for --quick, a new directory under the system’s temporary one, so that a quick run never replaces the committed figures.' },
  'cpu-prof': { type: 'string', value: 'DIR', description: 'Profile the agent of the efficiency and tls sections (node --cpu-prof) into DIR, and write a summary and folded stacks beside each profile.' },
} as const;

const HELP = formatHelp(
  'npm run bench -- [options]',
  'Benchmarks the driver against the tools people use instead (each that is missing is skipped, with the reason) and checks its numbers:\n' +
    '  efficiency   requests per client CPU-second at 32 and 256 connections, against autocannon, wrk, Locust,\n' +
    '               Artillery (installed on demand; not in --quick), undici alone and a bare Node client\n' +
    '  workers      one agent with --workers 1 and 2: requests per second and per CPU-second\n' +
    '  tls          the same load over HTTP/1.1, HTTPS (HTTP/1.1) and HTTPS with HTTP/2, beside Node\'s bare\n' +
    '               clients and h2load\n' +
    '  rate         achieved rate and send-time spread for TSUNAMI and capped AVALANCHE\n' +
    '  stages       a ramp, a plateau and a step down over 2 drivers: each stage\'s achieved rate against its plan\n' +
    '  capacity     the capacity search against nginx refusing above N req/s, for a few N\n' +
    '  latency      reported latency against a known added delay and a known stall\n' +
    '  aggregation  global percentiles against those of all drivers’ raw latencies pooled\n' +
    '  memory       peak RSS of a driver for a few million requests against a few thousand\n' +
    '  control      trigger-to-first-request spread over 8 agents, and the age of the aggregate\n' +
    '  fleet        one orchestrator (its own process, one core) with 8 to 1,024 simulated drivers reporting\n' +
    '               through the real broker: its CPU, memory, the aggregate\'s age and the payload per update',
  OPTIONS,
);

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

interface Context {
  scale: number;
  /** --quick: Artillery is neither installed nor run */
  quick: boolean;
  kafka: string;
  work: string;
  orchestrator: Orchestrator;
  fastTarget: Target;
  agents: Agent[];
  nextId: number;
  /** where the efficiency agent writes its CPU profile, when asked */
  profileDir?: string;
}

async function agent(ctx: Context, name: string, extraArgs: string[] = [], core: Core = 'client', nodeFlags: string[] = []): Promise<Agent> {
  const a = await startAgent(`${name}-${++ctx.nextId}`, ctx.kafka, 'bench.', extraArgs, core, nodeFlags);
  ctx.agents.push(a);
  return a;
}

async function stopAgents(ctx: Context, agents: Agent[]): Promise<void> {
  await Promise.all(agents.map((a) => a.stop()));
  ctx.agents = ctx.agents.filter((a) => !agents.includes(a));
}

/** Runs a test on exactly the given agents. */
async function runOn(ctx: Context, agents: Agent[], definition: Omit<LoadTestDefinition, 'drivers'>): Promise<TestResult> {
  const ids = new Set(agents.map((a) => a.id));
  const deadline = Date.now() + 60_000;
  while (ctx.orchestrator.registry.available().filter((d) => ids.has(d.node_id)).length < agents.length) {
    if (Date.now() > deadline) throw new Error(`agents ${[...ids].join(', ')} did not become available`);
    await new Promise((r) => setTimeout(r, 100));
  }
  // Other idle agents would be picked too, so only ours may be available: they are the only ones running.
  const others = ctx.orchestrator.registry.available().filter((d) => !ids.has(d.node_id));
  if (others.length) throw new Error(`unexpected idle agents: ${others.map((d) => d.node_id).join(', ')}`);
  const run = await ctx.orchestrator.startTest({ ...definition, drivers: agents.length });
  return ctx.orchestrator.waitForEnd(run.testId);
}

const scaled = (ctx: Context, n: number) => Math.max(1, Math.round(n * ctx.scale));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The run whose requests per CPU-second is the median of several. */
function medianRun(runs: ClientRun[]): ClientRun {
  const perCpu = runs.map(requestsPerCpuSecond);
  return runs[perCpu.indexOf(median(perCpu))];
}

/**
 * A peer that may be missing (Locust, Artillery, h2load): rows when the tool is there, a printed
 * reason when it is not or when it fails, and never a failed benchmark.
 */
class OptionalPeer {
  private skipped: string | undefined;

  constructor(
    readonly name: string,
    why: string | undefined,
  ) {
    this.skip(why);
  }

  skip(why: string | undefined): void {
    if (!why || this.skipped) return;
    this.skipped = why;
    say(`no ${this.name} rows: ${why}`);
  }

  /** Runs the peer unless it was skipped; a failure skips it from then on. */
  async measure(run: () => Promise<ClientRun>, into: ClientRun[]): Promise<ClientRun | undefined> {
    if (this.skipped) return undefined;
    try {
      const r = await run();
      into.push(r);
      return r;
    } catch (error) {
      // The tool's own output can run long: its last lines say why.
      const message = error instanceof Error ? error.message : String(error);
      this.skip(`it failed: ${message.trim().split('\n').slice(-5).join(' | ')}`);
      return undefined;
    }
  }
}

/** Requests per client CPU-second of ours and each peer, alternating, at each connection count. */
async function efficiency(ctx: Context): Promise<Section> {
  const count = scaled(ctx, 400_000);
  // Artillery sends some 2,000 requests per CPU-second: a tenth of the others' count keeps its runs near theirs in time.
  const artilleryCount = Math.round(count / 10);
  const repeats = ctx.scale < 0.5 ? 1 : 3;
  const url = `${ctx.fastTarget.url}/ping`;
  const locustPeer = new OptionalPeer('Locust', locustMissing());
  // Each Artillery run spends some 7 s starting and stopping, longer than a quick run's whole section.
  const artilleryPeer = new OptionalPeer('Artillery', ctx.quick ? 'left out of --quick (each of its runs takes some 7 s to start and stop)' : await prepareArtillery(say));
  const a = await agent(ctx, 'efficiency', [], 'client', ctx.profileDir ? ['--cpu-prof', '--cpu-prof-dir', ctx.profileDir] : []);
  const rows: (string | number | null)[][] = [];
  const data: Record<string, Record<string, ClientRun[]>> = {};
  const floorNotes: string[] = [];
  for (const connections of EFFICIENCY_CONNECTIONS) {
    // One short run first, so that ours is measured warm (JIT, connections); the peers start a
    // process per run, and their start-up runs are taken off their figures instead.
    await runOn(ctx, [a], { test_type: 'AVALANCHE', message_count_per_driver: Math.min(count, 20_000), concurrency: connections, target: url });
    const ours: ClientRun[] = [];
    const undici: ClientRun[] = [];
    const autocannon: ClientRun[] = [];
    const wrk: ClientRun[] = [];
    const bareNet: ClientRun[] = [];
    const locust: ClientRun[] = [];
    const artillery: ClientRun[] = [];
    // Alternating the clients spreads any drift of the machine over all of them.
    for (let i = 0; i < repeats; i++) {
      const before = cpuSeconds(a.pid);
      const systemBefore = systemCpuSeconds(a.pid);
      const d = (await runOn(ctx, [a], { test_type: 'AVALANCHE', message_count_per_driver: count, concurrency: connections, target: url })).per_driver[0];
      ours.push({ client: 'lt-agent (ours)', requests: d.requests_sent!, wall_s: d.elapsed_s!, cpu_s: cpuSeconds(a.pid) - before, system_s: systemCpuSeconds(a.pid) - systemBefore, p50_ms: d.uncorrected?.median ?? null, p99_ms: d.uncorrected?.p99 ?? null });
      // wrk and Locust cannot stop at a count: they run for as long as ours took.
      const seconds = Math.max(2, Math.round(d.elapsed_s!));
      undici.push(await runUndiciFloor(url, connections, count));
      autocannon.push(await runAutocannon(url, connections, count));
      const w = await runWrk(url, connections, seconds);
      if (w) wrk.push(w);
      bareNet.push(await runBareNetClient(url, connections, count));
      const l = await locustPeer.measure(() => runLocust(url, connections, seconds), locust);
      const art = await artilleryPeer.measure(() => runArtillery(url, connections, artilleryCount), artillery);
      const perCpu = (r: ClientRun) => round(requestsPerCpuSecond(r), 0);
      const startup = (r: ClientRun) => ` (${round(r.requests / r.cpu_s, 0)} with its start-up run of ${round(r.startup!.cpu_s, 2)} CPU-s)`;
      const peer = (name: string, r: ClientRun | undefined) => (r ? `, ${name} ${perCpu(r)}${startup(r)}` : '');
      say(
        `efficiency, ${connections} connections, ${i + 1}/${repeats}, warm req/CPU-s: ours ${perCpu(ours[i])}, undici alone ${perCpu(undici[i])}, bare net client ${perCpu(bareNet[i])}` +
          `${peer('autocannon', autocannon[i])}${peer('wrk', w)}${peer('Locust', l)}${peer('Artillery', art)}`,
      );
    }
    const runs = [ours, undici, autocannon, wrk, bareNet, locust, artillery].filter((r) => r.length);
    const oursPerCpu = medianPerCpu(ours);
    for (const r of runs) {
      const m = medianRun(r);
      const perCpu = medianPerCpu(r);
      const startupCpu = m.startup ? round(median(r.map((x) => x.startup!.cpu_s)), 3) : '—';
      const kernels = r.map((x) => kernelShare(x)).filter((k): k is number => k !== undefined);
      rows.push([connections, m.client, m.requests, round(m.requests / m.wall_s, 0), round(perCpu, 0), kernels.length ? `${round(median(kernels) * 100, 0)}%` : '—', r === ours ? '—' : round(oursPerCpu / perCpu, 2), r.map((x) => round(requestsPerCpuSecond(x), 0)).join(' / '), startupCpu, m.p50_ms, m.p99_ms]);
    }
    data[String(connections)] = { ours, undici, autocannon, wrk, bare_net: bareNet, locust, artillery };
    const besideWrk = (name: string, theirs: ClientRun[]) => (wrk.length ? `, ${name} ${round(medianPerCpu(theirs) / medianPerCpu(wrk), 2)}× wrk` : '');
    floorNotes.push(`${connections} connections: ours ${round(oursPerCpu / medianPerCpu(bareNet), 2)}× the bare net client${besideWrk('the bare net client', bareNet)}${besideWrk('undici alone', undici)}`);
  }
  await stopAgents(ctx, [a]);
  return {
    name: 'efficiency',
    title: `Efficiency: AVALANCHE against ${ctx.fastTarget.kind} on the other core, ${EFFICIENCY_CONNECTIONS.join(' and ')} connections (median of ${repeats}, clients alternating; CPU warm, the peers’ start-up runs taken off)`,
    columns: ['connections', 'client', 'requests', 'req/s', 'req per CPU-s (warm)', 'in the kernel', 'ours ÷ theirs', 'all runs, req per CPU-s (warm)', 'start-up CPU-s taken off', 'p50 ms', 'p99 ms'],
    rows,
    notes: [
      'Goal: our requests per client CPU-second at least 1.2× autocannon’s and 0.6× wrk’s, while recording every latency into the HDR histogram.',
      'Each client is pinned to the last core; the target to the first. Ours is one agent with --workers 1 (one thread on one core, as the peers run). wrk and Locust run for as long as our driver took (they cannot stop at a count); Artillery sends a tenth of the others’ count (it is that much slower).',
      'Every client’s CPU is counted warm, in one of two ways. Ours and the floors (undici alone, the bare net client) are measured around the counted requests alone: ours is the whole agent process’s CPU during the test (/proc), Kafka heartbeats and reports included, in an agent already running that has done a short run of the same test first; a floor measures its own process (process.cpuUsage) after a warm-up run of 30,000 requests. Both open their connections inside the counted run. autocannon, wrk, Locust and Artillery start a process per run, so each of their runs is followed by a start-up run of the same command doing the least it can, and that run’s CPU and requests are taken off: req per CPU-s = (requests − start-up requests) ÷ (CPU − start-up CPU), CPU as the shell’s `times` reads the process’s. Their start-up runs: autocannon, one request per connection; wrk, stopped at its first response by bench/wrk-startup-run.lua; Locust, each user sends one request and idles for 2 s (the same spawning); Artillery, one request per virtual user. The start-up column is the median CPU so taken off.' +
        startupNote(data),
      'Locust: Debian’s python3-locust, bench/locustfile.py, FastHttpUser with no wait, one user per connection (-u and -r the connections), headless in one process; its percentiles are whole milliseconds (its own rounding). Artillery: npm’s artillery@2, installed on demand outside the repository (a quick run leaves it out), one worker thread; it is an open model, so the connections’ count of virtual users arrive in the first second (arrivalRate × 1 s) and each sends its share of GETs back to back on its own keep-alive connection, which keeps it bound by its CPU.',
      'The bare net client (bench/bare-net-client.ts) is the floor Node allows for HTTP/1.1, beside wrk: keep-alive GETs on net sockets, each request encoded once, each response framed by its Content-Length, every latency recorded into an HDR histogram, nothing else. undici alone (bench/undici-floor.ts) is the floor under a driver built on undici: the driver’s connection pool on undici Clients (what ours sent HTTP/1.1 through before its lean engine, and HTTP/2 before its HTTP/2 engine) with a handler that only sends the next request (no clock, no histogram, no Kafka). Whatever ours costs beyond the bare net client is the driver’s; what that costs itself is Node’s and the kernel’s.' +
        (floorNotes.length ? ` In this run: ${floorNotes.join('; ')}.` : ''),
      '“In the kernel” is the share of that CPU spent in system calls and the kernel’s network stack (system time; warm, the start-up run’s taken off too): the part every client pays for its sockets alike, on loopback the target’s receive included. The rest is the client’s own work.',
      EFFICIENCY_PROFILE_HINT,
    ],
    data,
  };
}

const EFFICIENCY_CONNECTIONS = [32, 256];

/** What the start-up runs weighed in this run: the share of each peer's whole-run CPU they took. */
function startupNote(data: Record<string, Record<string, ClientRun[]>>): string {
  const parts: string[] = [];
  for (const [connections, clients] of Object.entries(data)) {
    for (const runs of Object.values(clients)) {
      const withStartup = runs.filter((r) => r.startup);
      if (!withStartup.length) continue;
      const share = median(withStartup.map((r) => r.startup!.cpu_s / r.cpu_s));
      parts.push(`${withStartup[0].client.split(' ')[0]} at ${connections} connections ${round(share * 100, 1)}%`);
    }
  }
  return parts.length ? ` In this run the start-up runs were this share of the whole run’s CPU: ${parts.join(', ')}.` : '';
}
const EFFICIENCY_PROFILE_HINT =
  'Where our CPU goes: `npm run bench -- --only efficiency --cpu-prof DIR` profiles this agent and writes a summary by module and function, a text flame graph and folded stacks beside the profile. Most of it is the socket write (the kernel’s loopback send, which every client pays), then Node’s streams and sockets; the driver’s own code (the lean engine’s framing, the pacing, the histogram) is about a sixth.';

/** The median of several runs' requests per CPU-second. */
const medianPerCpu = (runs: ClientRun[]) => median(runs.map(requestsPerCpuSecond));

/**
 * One agent with --workers 1 and with --workers 2, not pinned: what a second core gives, on a
 * machine whose other core also runs the target.
 */
async function workerThreads(ctx: Context): Promise<Section> {
  const connections = 64;
  const count = scaled(ctx, 400_000);
  const repeats = ctx.scale < 0.5 ? 1 : 3;
  const https = ctx.fastTarget.https;
  // Plain HTTP costs the target about half what it costs the driver, HTTPS a little less; HTTP/2
  // costs the driver several times what it costs nginx: there the driver is the bottleneck.
  const protocols = [
    { label: 'HTTP/1.1', url: `${ctx.fastTarget.url}/ping`, args: [] as string[], http2: false, count },
    ...(https
      ? [
          { label: 'HTTPS', url: `${https.url}/ping`, args: ['--target-ca', https.caFile], http2: false, count },
          { label: 'HTTPS, HTTP/2', url: `${https.url}/ping`, args: ['--target-ca', https.caFile], http2: true, count: Math.round(count / 4) },
        ]
      : []),
  ];
  const targetPid = ctx.fastTarget.child.pid!;
  const rows: (string | number | null)[][] = [];
  const data: Record<string, unknown>[] = [];
  const medians: WorkersRun[] = [];
  for (const protocol of protocols) {
    for (const workers of [1, 2]) {
      const a = await agent(ctx, `workers${workers}`, ['--workers', String(workers), ...protocol.args], 'any');
      const definition = { test_type: 'AVALANCHE', message_count_per_driver: protocol.count, concurrency: connections, target: protocol.url, ...(protocol.http2 ? { http2: true } : {}) } as const;
      await runOn(ctx, [a], { ...definition, message_count_per_driver: Math.min(protocol.count, 20_000) });
      const runs: { rps: number; perCpu: number; agentCores: number; targetCores: number; machineCores: number; stealCores: number; p99: number | null }[] = [];
      for (let i = 0; i < repeats; i++) {
        const agentBefore = cpuSeconds(a.pid);
        const targetBefore = treeCpuSeconds(targetPid);
        const machineBefore = machineBusySeconds();
        const d = (await runOn(ctx, [a], definition)).per_driver[0];
        const agentCpu = cpuSeconds(a.pid) - agentBefore;
        const targetCpu = treeCpuSeconds(targetPid) - targetBefore;
        const machine = machineBusySeconds();
        // The machine's figures span the whole test, the orchestrator's start and end included: a little above the load's own.
        const wall = d.elapsed_s!;
        runs.push({ rps: d.responses! / wall, perCpu: d.responses! / agentCpu, agentCores: agentCpu / wall, targetCores: targetCpu / wall, machineCores: (machine.busy - machineBefore.busy) / wall, stealCores: (machine.steal - machineBefore.steal) / wall, p99: d.uncorrected?.p99 ?? null });
      }
      await stopAgents(ctx, [a]);
      const r = runs[runs.map((x) => x.rps).indexOf(median(runs.map((x) => x.rps)))];
      say(`workers: ${protocol.label}, ${workers}: ${round(r.rps, 0)} req/s, ${round(r.perCpu, 0)} req/CPU-s, agent ${round(r.agentCores, 2)} cores, target ${round(r.targetCores, 2)}, machine ${round(r.machineCores, 2)}`);
      rows.push([protocol.label, workers, protocol.count, round(r.rps, 0), round(r.perCpu, 0), round(r.agentCores, 2), round(r.targetCores, 2), round(r.machineCores, 2), round(r.stealCores, 2), runs.map((x) => round(x.rps, 0)).join(' / '), r.p99]);
      data.push({ protocol: protocol.label, workers, connections, count: protocol.count, runs });
      medians.push({ protocol: protocol.label, workers, ...r });
    }
  }
  const reading = workersReading(medians, cpus().length);
  for (const line of reading) say(`workers: ${line}`);
  return {
    name: 'workers',
    title: `Worker threads: one agent, AVALANCHE, ${connections} connections, --workers 1 and 2, against ${ctx.fastTarget.kind} (median of ${repeats} by req/s)`,
    columns: ['protocol', 'workers', 'requests', 'req/s', 'req per agent CPU-s', 'agent cores busy', 'target cores busy', `machine cores busy (of ${cpus().length})`, 'cores stolen by the host', 'all runs, req/s', 'p99 ms'],
    rows,
    notes: [
      'The agent is not pinned: its threads go where the scheduler puts them. The target (nginx, one worker process) stays on the first core, so on this two-core machine a second worker thread shares a core with the target.',
      'Cores busy = CPU seconds over the test’s wall time. The machine’s figure (/proc/stat: user, system, interrupts) also holds what neither process is charged for, such as the loopback network’s soft interrupts, and the other processes of the run (broker, orchestrator). When it reaches the machine’s cores, the machine is the limit, not the driver. On a driver machine that does not host the target, each worker has a core of its own.',
      // Written from this run's medians (bench/workers-reading.ts), not fixed beforehand.
      ...reading.map((line) => `In this run, ${line}`),
    ],
    data,
  };
}

/** One row of the TLS section besides ours: a peer measured at a protocol. */
interface TlsPeer {
  protocol: string;
  /** the key of its runs in the section's data */
  key: string;
  /** the key of the same client's plain HTTP/1.1 runs, for the ÷ HTTP/1.1 column */
  plainKey?: string;
  peer?: OptionalPeer;
  measure: () => Promise<ClientRun>;
}

/**
 * The driver's cost per request in plain HTTP/1.1, HTTP/1.1 over TLS and HTTP/2 over TLS, against
 * nginx, beside Node's bare clients and h2load at the same protocols.
 */
async function tlsCost(ctx: Context): Promise<Section> {
  const https = ctx.fastTarget.https;
  if (!https) return { name: 'tls', title: 'HTTPS and HTTP/2: skipped (needs nginx)', columns: [], rows: [], notes: [], data: null };
  const connections = 32;
  const count = scaled(ctx, 200_000);
  const repeats = ctx.scale < 0.5 ? 1 : 3;
  const plainUrl = `${ctx.fastTarget.url}/ping`;
  const httpsUrl = `${https.url}/ping`;
  const a = await agent(ctx, 'tls', ['--target-ca', https.caFile], 'client', ctx.profileDir ? ['--cpu-prof', '--cpu-prof-dir', ctx.profileDir] : []);
  const multiplexed = (streams: number) => (streams === 1 ? 'HTTPS, HTTP/2' : `HTTPS, HTTP/2, ${streams} streams per connection`);
  // key: where the runs go (the label for ours on the engine the driver picks)
  const variants: { label: string; key?: string; client?: string; definition: Omit<LoadTestDefinition, 'drivers'> }[] = [
    { label: 'HTTP/1.1', definition: { test_type: 'AVALANCHE', message_count_per_driver: count, concurrency: connections, target: plainUrl } },
    { label: 'HTTPS, HTTP/1.1', definition: { test_type: 'AVALANCHE', message_count_per_driver: count, concurrency: connections, target: httpsUrl } },
    { label: 'HTTPS, HTTP/2', definition: { test_type: 'AVALANCHE', message_count_per_driver: count, concurrency: connections, target: httpsUrl, http2: true, max_streams: 1 } },
    // The same 32 connections, each carrying TLS_STREAMS requests at once, as the peers' multiplexed rows.
    { label: multiplexed(TLS_STREAMS), definition: { test_type: 'AVALANCHE', message_count_per_driver: count, concurrency: connections * TLS_STREAMS, target: httpsUrl, http2: true, max_streams: TLS_STREAMS } },
    // The same on undici, the HTTP/2 engine the driver had before its own.
    { label: multiplexed(TLS_STREAMS), key: `${multiplexed(TLS_STREAMS)}: ours on undici`, client: 'lt-agent on undici (http_engine)', definition: { test_type: 'AVALANCHE', message_count_per_driver: count, concurrency: connections * TLS_STREAMS, target: httpsUrl, http2: true, max_streams: TLS_STREAMS, http_engine: 'undici' } },
  ];
  const h2load = new OptionalPeer('h2load', h2loadMissing());
  const bareNet = 'HTTP/1.1: bare net client';
  const peers: TlsPeer[] = [
    { protocol: 'HTTP/1.1', key: bareNet, plainKey: bareNet, measure: () => runBareNetClient(plainUrl, connections, count) },
    { protocol: 'HTTPS, HTTP/1.1', key: 'HTTPS, HTTP/1.1: bare net client', plainKey: bareNet, measure: () => runBareNetClient(httpsUrl, connections, count, https.caFile) },
    ...[1, TLS_STREAMS].flatMap((streams): TlsPeer[] => [
      // Node's http2 against Node's net: both floors, so the ratio is what HTTP/2 costs Node.
      { protocol: multiplexed(streams), key: `${multiplexed(streams)}: bare http2 client`, plainKey: bareNet, measure: () => runBareHttp2Client(httpsUrl, connections, streams, count, https.caFile) },
      { protocol: multiplexed(streams), key: `${multiplexed(streams)}: h2load`, peer: h2load, measure: () => runH2load(httpsUrl, connections, streams, count) },
    ]),
  ];
  for (const v of variants) await runOn(ctx, [a], { ...v.definition, message_count_per_driver: Math.min(count, 20_000) });
  const runs: Record<string, ClientRun[]> = {};
  for (let i = 0; i < repeats; i++) {
    for (const v of variants) {
      const before = cpuSeconds(a.pid);
      const d = (await runOn(ctx, [a], v.definition)).per_driver[0];
      (runs[v.key ?? v.label] ??= []).push({ client: v.client ?? 'lt-agent (ours)', requests: d.responses!, wall_s: d.elapsed_s!, cpu_s: cpuSeconds(a.pid) - before, p50_ms: d.uncorrected?.median ?? null, p99_ms: d.uncorrected?.p99 ?? null });
    }
    for (const p of peers) {
      const into = (runs[p.key] ??= []);
      if (p.peer) await p.peer.measure(p.measure, into);
      else into.push(await p.measure());
    }
    say(`tls, ${i + 1}/${repeats}, req/CPU-s: ${Object.entries(runs).map(([key, r]) => (r[i] ? `${key} ${round(requestsPerCpuSecond(r[i]), 0)}` : '')).filter(Boolean).join(', ')}`);
  }
  await stopAgents(ctx, [a]);
  const row = (protocol: string, key: string, plainKey: string | undefined): Cell[] => {
    const r = medianRun(runs[key]);
    const perCpu = medianPerCpu(runs[key]);
    const startupCpu = r.startup ? round(median(runs[key].map((x) => x.startup!.cpu_s)), 3) : '—';
    const plain = plainKey && runs[plainKey]?.length ? round(perCpu / medianPerCpu(runs[plainKey]), 2) : '—';
    return [protocol, r.client, r.requests, round(r.requests / r.wall_s, 0), round(perCpu, 0), plain, runs[key].map((x) => round(requestsPerCpuSecond(x), 0)).join(' / '), startupCpu, r.p50_ms, r.p99_ms];
  };
  // Ours first at each protocol, then the peers measured at it.
  const rows: Cell[][] = [];
  for (const protocol of [...new Set([...variants.map((v) => v.label), ...peers.map((p) => p.protocol)])]) {
    for (const v of variants) if (v.label === protocol && runs[v.key ?? v.label]) rows.push(row(protocol, v.key ?? v.label, 'HTTP/1.1'));
    for (const p of peers) if (p.protocol === protocol && runs[p.key]?.length) rows.push(row(protocol, p.key, p.plainKey));
  }
  return {
    name: 'tls',
    title: `HTTPS and HTTP/2: one driver, AVALANCHE, ${connections} connections, against ${ctx.fastTarget.kind}, beside Node’s bare clients and h2load (median of ${repeats})`,
    columns: ['protocol', 'client', 'responses', 'req/s', 'req per CPU-s', '÷ HTTP/1.1', 'all runs, req per CPU-s', 'start-up CPU-s taken off', 'p50 ms', 'p99 ms'],
    rows,
    notes: [
      'The agent trusts nginx’s private certificate authority with --target-ca. Connections are kept alive, so the TLS handshake is paid once per connection and the figures are the cost of encryption per request.',
      `HTTP/2 rows: 32 connections with one stream each (max_streams 1: 32 requests in flight, the same load as HTTP/1.1), and with ${TLS_STREAMS} each (max_streams ${TLS_STREAMS}, concurrency ${connections * TLS_STREAMS}: what multiplexing saves); every client the same way. Ours sends HTTP/2 on its HTTP/2 engine (agents/http-engine/http2-connection.ts, on Node’s http2 module, as the bare http2 client), and with ${TLS_STREAMS} streams on undici too (http_engine: "undici").`,
      '÷ HTTP/1.1: req per CPU-s against the same client’s plain HTTP/1.1 row; the bare http2 client’s against the bare net client’s (both Node’s floor); h2load has none.',
      'CPU is counted warm, as in the efficiency section. Ours is the agent process’s during the test, after a short run of each protocol first. The bare net client (bench/bare-net-client.ts, on tls sockets for HTTPS) and the bare http2 client (bench/bare-http2-client.ts: Node’s http2 sessions, N streams in flight on each, every latency into an HDR histogram) measure their own process around the counted requests, after a warm-up run of 30,000; like ours, they open their connections inside the counted run. h2load (Debian’s nghttp2-client, one thread, -m streams per connection) starts a process per run and counts its requests, so a start-up run of the same command with one request per connection is taken off its CPU and requests; it reports no percentiles.',
    ],
    data: runs,
  };
}

/** Streams per connection of the HTTP/2 peers' multiplexed rows (h2load -m, the bare http2 client). */
const TLS_STREAMS = 10;

async function rateAccuracy(ctx: Context): Promise<Section> {
  const url = `${ctx.fastTarget.url}/ping`;
  const a = await agent(ctx, 'rate');
  const rates = ctx.scale < 0.5 ? [100, 1000, 5000] : [100, 1000, 5000, 10_000, 20_000];
  const seconds = Math.max(2, 5 * ctx.scale);
  const rows: (string | number | null)[][] = [];
  const data = [];
  for (const rate of rates) {
    for (const type of ['TSUNAMI', 'AVALANCHE'] as const) {
      const count = Math.max(200, Math.round(rate * seconds));
      const definition: Omit<LoadTestDefinition, 'drivers'> =
        type === 'TSUNAMI'
          ? { test_type: 'TSUNAMI', test_message_delay: 1 / rate, message_count_per_driver: count, target: url }
          : { test_type: 'AVALANCHE', target_throughput: rate, message_count_per_driver: count, concurrency: 64, target: url };
      const d = (await runOn(ctx, [a], definition)).per_driver[0];
      const achieved = ((d.requests_sent! - 1) / d.send_window_ms!) * 1000;
      const error = ((achieved - rate) / rate) * 100;
      say(`rate: ${type} ${rate}/s achieved ${round(achieved, 1)}/s`);
      rows.push([type === 'TSUNAMI' ? 'TSUNAMI' : 'AVALANCHE capped', rate, count, round(achieved, 1), `${round(error, 2)}%`, Math.abs(error) <= 1 ? 'yes' : 'no', d.send_lag_ms?.p50 ?? null, d.send_lag_ms?.p99 ?? null, d.send_lag_ms?.max ?? null]);
      data.push({ type, rate, count, achieved, error_percent: error, send_lag_ms: d.send_lag_ms });
    }
  }
  await stopAgents(ctx, [a]);
  return {
    name: 'rate',
    title: 'Rate accuracy: one driver, requested against achieved rate, and how late requests went out',
    columns: ['schedule', 'target req/s', 'requests', 'achieved req/s', 'error', 'within 1%', 'send lag p50 ms', 'p99 ms', 'max ms'],
    rows,
    notes: [
      'Achieved rate = (requests − 1) / (last send − first send). Send lag = socket write − due time, for every request (TSUNAMI; AVALANCHE has no schedule, its cap is a ceiling).',
      'Due times are absolute (start + k / rate), so timer lateness shows as lag, never as drift in the rate.',
      'Where one driver on one core cannot keep the rate, it falls short and says so (send lag, and the result’s warning that the driver was the bottleneck). Before sends were counted at the socket, a request handed to the HTTP client’s queue counted as sent, and such rows read as held.',
    ],
    data,
  };
}

/**
 * TSUNAMI against a target that adds 50 ms: the open model keeps the rate and reports the
 * server's latency; a connection limit too small for the rate is counted and warned about.
 */
async function openModel(ctx: Context): Promise<Section> {
  const rows: (string | number | null)[][] = [];
  const data = [];
  const a = await agent(ctx, 'open');
  const seconds = Math.max(2, 5 * ctx.scale);
  const cases: { rate: number; maxConnections?: number }[] = [{ rate: 1000 }, { rate: 10_000 }, { rate: 1000, maxConnections: 20 }];
  // nginx adds the 50 ms on its own timers at little cost; lt-target (Node) saturates its core near 10,000/s.
  const nginxPath = ctx.fastTarget.delayed50Path;
  const targetKind = nginxPath ? `${ctx.fastTarget.kind} (echo_sleep 0.05)` : 'lt-target --latency 50';
  for (const c of cases) {
    const slow = nginxPath ? undefined : await startLtTarget(['--latency', '50']);
    const url = slow ? `${slow.url}/ping` : `${ctx.fastTarget.url}${nginxPath}`;
    const count = Math.round(c.rate * seconds);
    const result = await runOn(ctx, [a], { test_type: 'TSUNAMI', test_message_delay: 1 / c.rate, message_count_per_driver: count, max_connections: c.maxConnections, target: url });
    await slow?.stop();
    const d = result.per_driver[0];
    const achieved = ((d.requests_sent! - 1) / d.send_window_ms!) * 1000;
    const rateError = ((achieved - c.rate) / c.rate) * 100;
    const u = result.aggregate.uncorrected!;
    const p50Error = ((u.median - 50) / 50) * 100;
    const held = Math.abs(rateError) <= 1 && Math.abs(p50Error) <= 5;
    say(`open: ${c.rate}/s${c.maxConnections ? ` on ${c.maxConnections} connections` : ''}: achieved ${round(achieved, 1)}/s, uncorrected p50 ${u.median} ms, ${result.warnings.length} warning(s)`);
    rows.push([
      `${c.rate.toLocaleString('en-US')}/s${c.maxConnections ? `, max_connections ${c.maxConnections}` : ''}`,
      count,
      round(achieved, 1),
      `${round(rateError, 2)}%`,
      u.median,
      `${round(p50Error, 1)}%`,
      c.maxConnections ? '—' : held ? 'yes' : 'no',
      result.aggregate.latency!.median,
      result.aggregate.latency!.p99,
      d.waited_for_connection ?? 0,
      d.send_lag_ms?.p99 ?? null,
      result.warnings.length ? 'yes' : 'no',
    ]);
    data.push({ ...c, count, achieved, rate_error_percent: rateError, uncorrected: u, corrected: result.aggregate.latency, waited_for_connection: d.waited_for_connection, send_lag_ms: d.send_lag_ms, warnings: result.warnings });
  }
  await stopAgents(ctx, [a]);
  return {
    name: 'open',
    title: `TSUNAMI, an open model: a target that adds 50 ms (${targetKind}), one driver, no connection limit named (and one too small)`,
    columns: ['rate', 'requests', 'achieved req/s', 'rate error', 'uncorrected p50 ms', 'p50 error', 'within 1% and 5%', 'corrected p50 ms', 'corrected p99 ms', 'waited for a connection', 'send lag p99 ms', 'warning'],
    rows,
    notes: [
      'Goal: rate within 1% of the schedule and uncorrected p50 (socket write to response) within 5% of the 50 ms the target adds; with max_connections too small for the rate, the waits are counted and the result warns.',
      'Before this model (a fixed pool of 16 connections), 1,000/s against this target took 6.56 s for 2,000 requests, with p50 2,322 ms.',
      'The target runs on the other core. lt-target, when nginx has no echo module, adds its delay with setTimeout and saturates its core near 10,000/s.',
    ],
    data,
  };
}

/**
 * Stages over two drivers: a ramp from 0, a plateau and a step down, against the fast target and
 * (with nginx's echo module) against one that adds 50 ms. Each stage's achieved rate (requests sent
 * over its window, as the drivers count them) against its plan, each second of the ramp counted
 * where the requests reached the server (nginx's arrival log) against the plan of that second, and
 * each stage's own percentiles.
 */
async function stageAccuracy(ctx: Context): Promise<Section> {
  const drivers = [await agent(ctx, 'stages'), await agent(ctx, 'stages')];
  const top = ctx.scale < 0.5 ? 1000 : 4000;
  const seconds = (n: number) => Math.max(2, Math.round(n * ctx.scale));
  const stages = [
    { duration_s: seconds(20), target_rate: top },
    { duration_s: seconds(10), target_rate: top },
    { duration_s: seconds(10), target_rate: top / 4 },
  ];
  // An nginx of its own that logs every arrival with the sending driver (without nginx, no socket-level count).
  const counting = await startNginxTarget(join(ctx.work, 'stages'), { arrivalLog: true });
  const server = counting ?? ctx.fastTarget;
  const targets = [{ name: `${server.kind} /ping`, url: `${server.url}/ping` }];
  if (server.delayed50Path) targets.push({ name: `${server.kind}, 50 ms added`, url: `${server.url}${server.delayed50Path}` });
  const runs: { target: (typeof targets)[number]; result: TestResult }[] = [];
  // A warm-up first (JIT, connections), as a measurement would have: the plan's seconds start after it.
  for (const target of targets) runs.push({ target, result: await runOn(ctx, drivers, { test_type: 'TSUNAMI', stages, warm_up_count_per_driver: 2000, target: target.url }) });
  await counting?.stop();
  const arrivals = counting?.arrivalLog ? readArrivals(counting.arrivalLog) : undefined;

  const rows: (string | number | null)[][] = [];
  const data = [];
  for (const { target, result } of runs) {
    const perSecond = arrivals ? secondsAtTheSocket(arrivals, stages, result) : undefined;
    // The ramp's seconds that plan at least 100 requests, where one request is at most 1%.
    const rampErrors = (perSecond ?? [])
      .filter((s) => s.phase === 'stage 1' && s.planned >= 100)
      .map((s) => Math.abs(((s.counted - s.planned) / s.planned) * 100))
      .sort((a, b) => a - b);
    for (const st of result.stages ?? []) {
      const error = st.planned_rate ? ((st.achieved_rate! - st.planned_rate) / st.planned_rate) * 100 : null;
      const ramp = st.phase === 'stage 1';
      say(`stages: ${target.name}, ${st.phase}: planned ${round(st.planned_rate ?? 0)}/s, achieved ${round(st.achieved_rate ?? 0)}/s`);
      rows.push([
        target.name,
        `${st.phase}${ramp ? ' (ramp from 0)' : ''}`,
        st.planned_rate === null ? null : round(st.planned_rate),
        st.achieved_rate === null ? null : round(st.achieved_rate),
        error === null ? null : `${round(error, 2)}%`,
        error === null ? '—' : Math.abs(error) <= 1 ? 'yes' : 'no',
        ramp && rampErrors.length ? `${round(rampErrors[Math.floor(rampErrors.length / 2)], 2)}% / ${round(rampErrors[rampErrors.length - 1], 2)}% (${rampErrors.length} s)` : '—',
        ramp && rampErrors.length ? (rampErrors[rampErrors.length - 1] <= 2 ? 'yes' : 'no') : '—',
        st.latency?.p50 ?? null,
        st.latency?.p99 ?? null,
        st.uncorrected_p99,
        st.send_lag_p99,
      ]);
    }
    if (rampErrors.length) say(`stages: ${target.name}: ramp per second at the socket: worst error ${round(rampErrors[rampErrors.length - 1], 2)}% over ${rampErrors.length} s`);
    data.push({ target: target.name, stages, status: result.status, stage_stats: result.stages as StageStats[], whole_uncorrected: result.aggregate.uncorrected, per_second_at_the_socket: perSecond ?? null, ramp_per_second_error_percent: rampErrors });
  }
  await stopAgents(ctx, drivers);
  return {
    name: 'stages',
    title: `Stages over 2 drivers: 0 → ${top.toLocaleString('en-US')}/s in ${stages[0].duration_s} s, a ${stages[1].duration_s} s plateau, then down to ${(top / 4).toLocaleString('en-US')}/s over ${stages[2].duration_s} s`,
    columns: ['target', 'stage', 'planned req/s', 'achieved req/s', 'error', 'within 1%', 'ramp at the socket, per second: median / worst error', 'within 2% every second', 'p50 ms', 'p99 ms', 'uncorrected p99 ms', 'send lag p99 ms'],
    rows,
    notes: [
      'Achieved = the requests of the stage (each belongs to the stage it was due in) sent over the stage’s window, all drivers; planned = the plan’s average total over the same window. How late they reached the socket is the send lag.',
      'Per second at the socket: nginx logs every request’s arrival (its $msec less its $request_time, to the millisecond) with the driver that sent it (x-loadtest-driver). Each second of each driver’s own test clock (from the start of its stage 1, as it reported it) is counted there and compared with the requests its half of the plan has due in that second; the two drivers’ seconds are added. Over the ramp’s seconds that plan 100 requests or more (the first second of a ramp from 0 plans fewer, where one request is more than 1%).',
      'Latency is corrected (from each request’s due time): against the fast target it stays flat through the ramp; against the 50 ms target p50 stays near 50 ms.',
      'A warm-up of 2,000 requests per driver goes first (JIT, connections). Without it, the agents’ first test here stalled for about 50 and 170 ms in the ramp’s 6th and 11th seconds (send lag p99 207 ms): those seconds counted 5% and 16% short at the socket and the next ones made it up (the catch-up rule), while every stage still came within 0.02% of its plan.',
    ],
    data,
  };
}

/** One second of a test's clock: the requests its plan has due in it and those that reached the server in it, all drivers. */
interface SecondAtTheSocket {
  second: number;
  phase: string;
  planned: number;
  counted: number;
}

/**
 * Each second of the test, on each driver's own clock (from the start of its first stage), counted
 * in the server's arrival log against the driver's share of the plan; the drivers added up.
 */
function secondsAtTheSocket(arrivals: Arrival[], stages: Stage[], result: TestResult): SecondAtTheSocket[] {
  const first = result.stages?.find((s) => s.phase === 'stage 1');
  if (!first) return [];
  const shares = first.per_driver;
  const profile = LoadProfile.fromStages(stages, 0, (s) => s.target_rate!).scaled(1 / shares.length);
  const due = (ms: number) => Math.ceil(profile.cumulativeAt(ms) - 1e-9);
  const total = stages.reduce((sum, s) => sum + s.duration_s, 0);
  const boundaries = stages.map((_, i) => stages.slice(0, i + 1).reduce((sum, s) => sum + s.duration_s, 0));
  const out: SecondAtTheSocket[] = Array.from({ length: total }, (_, second) => ({ second, phase: `stage ${boundaries.findIndex((b) => second < b) + 1}`, planned: 0, counted: 0 }));
  for (const share of shares) {
    for (const s of out) s.planned += due((s.second + 1) * 1000) - due(s.second * 1000);
    for (const a of arrivals) {
      if (a.driver !== share.node_id) continue;
      const second = Math.floor((a.at - share.started_at) / 1000);
      if (second >= 0 && second < total) out[second].counted++;
    }
  }
  return out;
}

/**
 * The capacity search against a capacity that is known: nginx refusing (503) above N requests per
 * second with limit_req. The capacity found beside N, and the limit the search names.
 */
async function capacityFound(ctx: Context): Promise<Section> {
  const limits = ctx.scale < 0.5 ? [500] : [500, 1000, 2000];
  const drivers = [await agent(ctx, 'capacity'), await agent(ctx, 'capacity')];
  const rows: (string | number | null)[][] = [];
  const data = [];
  for (const n of limits) {
    const nginx = await startNginxTarget(join(ctx.work, `limit-${n}`), { rateLimit: { rate: n } });
    if (!nginx) break;
    const ids = new Set(drivers.map((d) => d.id));
    while (ctx.orchestrator.registry.available().filter((d) => ids.has(d.node_id)).length < drivers.length) await new Promise((r) => setTimeout(r, 100));
    const started = Date.now();
    const result = await startCapacitySearch(ctx.orchestrator, {
      test_type: 'TSUNAMI',
      test_message_delay: 0.01,
      message_count_per_driver: 100,
      drivers: drivers.length,
      target: `${nginx.url}/ping`,
      capacity: { start_rate: n / 4, max_rate: n * 4, step_duration_s: Math.max(2, Math.round(5 * ctx.scale)), growth: 2, refine_steps: 3, slo: { p99_latency_ms: 500, error_rate: 0.01 } },
    });
    await nginx.stop();
    const found = result.capacity_rps;
    say(`capacity: nginx limit_req ${n}/s: ${result.summary}`);
    rows.push([n, found, found === null ? null : `${round(((found - n) / n) * 100, 1)}%`, found !== null && Math.abs(found - n) <= n * 0.1 ? 'yes' : 'no', result.first_failure?.rate ?? null, result.first_failure?.limit ?? result.ended, result.steps.length, round((Date.now() - started) / 1000, 0)]);
    data.push({ limit: n, result });
  }
  await stopAgents(ctx, drivers);
  return {
    name: 'capacity',
    title: 'Capacity search against a known capacity: nginx refusing (503) above N req/s (limit_req, small burst), 2 drivers',
    columns: ['N req/s', 'capacity found', 'difference', 'within 10%', 'first failing rate', 'limit named', 'steps', 'seconds'],
    rows,
    notes: [
      'SLO: p99 ≤ 500 ms, error rate ≤ 1%. Growth ×2 from N/4, then 3 bisection steps. Each step is judged on the requests due in it, after a pause that lets them settle.',
      'nginx’s limit_req lets a small burst through (50 ms of requests) so that two drivers’ requests arriving together are not refused below N.',
    ],
    data,
  };
}

async function latencyTruth(ctx: Context): Promise<Section> {
  const rows: (string | number | null)[][] = [];
  const data: Record<string, unknown> = {};
  // A known added delay.
  const delayed = await startLtTarget(['--latency', '20']);
  const a = await agent(ctx, 'latency');
  const seconds = Math.max(2, 5 * ctx.scale);
  const known = await runOn(ctx, [a], { test_type: 'TSUNAMI', test_message_delay: 0.005, message_count_per_driver: Math.round(200 * seconds), target: `${delayed.url}/ping` });
  await delayed.stop();
  const k = known.aggregate.latency!;
  rows.push(['target adds 20 ms (TSUNAMI 200/s)', '≥ 20 (timer-rounded)', k.median, k.p99, k.max, known.aggregate.uncorrected!.p99]);
  data.known_delay = { added_ms: 20, reported: k };

  // A stall of known length in the middle of an open schedule with few connections: the wrk2 case.
  const stallMs = 500;
  const rate = 1000;
  const duration = Math.max(4, 10 * ctx.scale);
  const count = Math.round(rate * duration);
  const stalling = await startLtTarget();
  const run = await ctx.orchestrator.startTest({ test_type: 'TSUNAMI', test_message_delay: 1 / rate, max_connections: 8, message_count_per_driver: count, drivers: 1, target: `${stalling.url}/ping` });
  await new Promise((r) => setTimeout(r, (duration / 2) * 1000));
  await fetch(`${stalling.url}/stall?ms=${stallMs}`, { method: 'POST' });
  const stalled = await ctx.orchestrator.waitForEnd(run.testId);
  // Users arriving at `rate` during the stall wait uniformly between 0 and stallMs: the top 1%
  // of all requests are those with latency above stallMs × (1 − 0.01 / fraction stalled).
  const fraction = (stallMs / 1000) * rate / count;
  const expectedP99 = fraction > 0.01 ? stallMs * (1 - 0.01 / fraction) : null;
  say('latency: running autocannon at the same rate through the same stall');
  const peerStall = await startLtTarget();
  const peerResult = await runAutocannonStalled(peerStall, rate, count, duration, stallMs);
  await peerStall.stop();
  await stalling.stop();
  await stopAgents(ctx, [a]);
  const c = stalled.aggregate.latency!;
  const u = stalled.aggregate.uncorrected!;
  rows.push([`${stallMs} ms stall mid-run, TSUNAMI ${rate}/s, max_connections 8: corrected`, expectedP99 === null ? '—' : `p99 ≈ ${round(expectedP99, 0)}`, c.median, c.p99, c.max, null]);
  rows.push(['same run, uncorrected (from the socket write)', '', u.median, u.p99, u.max, null]);
  rows.push([`${peerResult.client}, same rate and stall (uncorrected)`, '', peerResult.p50_ms, peerResult.p99_ms, null, null]);
  data.stall = { stall_ms: stallMs, rate, count, expected_p99_ms: expectedP99, corrected: c, uncorrected: u, autocannon: peerResult };
  return {
    name: 'latency',
    title: 'Latency truth: reported latency against known delays (milliseconds)',
    columns: ['case', 'known / expected', 'p50', 'p99', 'max', 'uncorrected p99'],
    rows,
    notes: [
      'lt-target delays with setTimeout, which rounds up to whole milliseconds: a 20 ms delay is 20–22 ms at the target.',
      'With a stall, requests that were due but could not be sent (all 8 connections blocked) count from their due time in the corrected figures, as wrk2 does; the uncorrected figures, like autocannon’s, see only the few requests that were in flight.',
    ],
    data,
  };
}

async function runAutocannonStalled(target: Target, rate: number, count: number, duration: number, stallMs: number): Promise<ClientRun> {
  const stall = new Promise<void>((resolve) =>
    setTimeout(() => {
      void fetch(`${target.url}/stall?ms=${stallMs}`, { method: 'POST' }).finally(resolve);
    }, (duration / 2) * 1000 + 300),
  );
  const result = await runAutocannonAtRate(`${target.url}/ping`, rate, count);
  await stall;
  return result;
}

function runAutocannonAtRate(url: string, rate: number, count: number): Promise<ClientRun> {
  return runAutocannonWith(url, ['-c', '8', '-R', String(rate), '-a', String(count)]);
}

function exactPercentile(sorted: Uint32Array, p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] / 1000;
}

async function aggregationTruth(ctx: Context): Promise<Section> {
  const logs = mkdtempSync(join(tmpdir(), 'lt-bench-latency-'));
  const drivers = 4;
  const target = await startLtTarget(['--driver-latency', `aggregation-${ctx.nextId + drivers}=30`, '--jitter', '4']);
  const agents: Agent[] = [];
  for (let i = 0; i < drivers; i++) agents.push(await agent(ctx, 'aggregation', ['--latency-log', logs], 'target'));
  // 100/s per driver stays well inside the slow driver's capacity (8 connections / ~32 ms).
  const count = Math.round(Math.max(500, 2000 * ctx.scale));
  const result = await runOn(ctx, agents, { test_type: 'AVALANCHE', target_throughput: 100, concurrency: 8, message_count_per_driver: count, target: `${target.url}/ping` });
  await stopAgents(ctx, agents);
  await target.stop();
  const files = readdirSync(logs).filter((f) => f.includes(result.test_id));
  const parts = files.map((f) => readLatencyLog(readFileSync(join(logs, f))));
  const pooled = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    pooled.set(p, offset);
    offset += p.length;
  }
  pooled.sort();
  const g = result.aggregate.latency!;
  const rows: (string | number | null)[][] = [];
  const data = [];
  for (const [label, reported, p] of [['p50', g.median, 50], ['p90', g.p90, 90], ['p95', g.p95, 95], ['p99', g.p99, 99]] as const) {
    const exact = exactPercentile(pooled, p);
    const error = ((reported! - exact) / exact) * 100;
    rows.push([label, exact, reported, `${round(error, 3)}%`, Math.abs(error) <= 0.1 ? 'yes' : 'no']);
    data.push({ percentile: label, exact_ms: exact, reported_ms: reported, error_percent: error });
  }
  const meanOfMedians = result.per_driver.reduce((s, d) => s + d.latency!.median, 0) / drivers;
  rows.push(['(mean of drivers’ p50s)', exactPercentile(pooled, 50), round(meanOfMedians, 3), `${round(((meanOfMedians - exactPercentile(pooled, 50)) / exactPercentile(pooled, 50)) * 100, 1)}%`, 'no: why we merge']);
  return {
    name: 'aggregation',
    title: `Aggregation truth: ${drivers} drivers, one 30 ms slower; the orchestrator’s global percentiles against all ${pooled.length} raw latencies pooled`,
    columns: ['percentile', 'exact from raw (ms)', 'orchestrator (ms)', 'difference', 'within 0.1%'],
    rows,
    notes: ['Raw latencies come from each agent’s --latency-log file; the histograms keep 3 significant digits (0.1%).'],
    data: { requests: pooled.length, percentiles: data, mean_of_medians_ms: meanOfMedians },
  };
}

/** seconds over which an idle agent's CPU is measured */
const IDLE_CPU_WINDOW_S = (ctx: Context) => (ctx.scale < 0.5 ? 2 : 10);

async function memory(ctx: Context): Promise<Section> {
  const url = `${ctx.fastTarget.url}/ping`;
  const rows: (string | number | null)[][] = [];
  const data = [];
  for (const count of [3000, scaled(ctx, 300_000), scaled(ctx, 2_000_000)]) {
    const a = await agent(ctx, 'memory');
    const idle = rssMiB(a.pid).now;
    // Registered and waiting for a test: what a driver costs its machine between tests.
    const cpuBefore = cpuSeconds(a.pid);
    await new Promise((r) => setTimeout(r, IDLE_CPU_WINDOW_S(ctx) * 1000));
    const idleCpuPercent = ((cpuSeconds(a.pid) - cpuBefore) / IDLE_CPU_WINDOW_S(ctx)) * 100;
    const result = await runOn(ctx, [a], { test_type: 'AVALANCHE', message_count_per_driver: count, concurrency: 32, target: url });
    const after = rssMiB(a.pid);
    await stopAgents(ctx, [a]);
    say(`memory: ${count} requests, RSS after ${round(after.now)} MiB, peak ${round(after.peak)} MiB`);
    rows.push([count, round(result.per_driver[0].elapsed_s!, 1), round(idleCpuPercent, 1), round(idle, 1), round(after.now, 1), round(after.peak, 1)]);
    data.push({ requests: count, idle_cpu_percent: idleCpuPercent, idle_rss_mib: idle, rss_after_mib: after.now, peak_rss_mib: after.peak });
  }
  return {
    name: 'memory',
    title: 'Memory and idle cost: one driver process (a fresh one per run)',
    columns: ['requests', 'seconds', 'idle CPU before (% of a core)', 'RSS before (MiB)', 'RSS right after (MiB)', 'peak RSS (MiB)'],
    rows,
    notes: [
      'Goal: the same within noise. Latencies go into fixed-size HDR histograms; nothing is kept per request.',
      `Idle CPU: the registered agent over ${IDLE_CPU_WINDOW_S(ctx)} s before its test (heartbeats, the Kafka consumer's polls, the event-loop monitor).`,
      'One agent with --workers 1. Under a sustained request rate the RSS saws as V8 lets garbage build up before each major collection; the peak is whichever tooth was highest, so a longer run tends to catch a higher one. The RSS after the test shows what stays.',
    ],
    data,
  };
}

async function controlPlane(ctx: Context): Promise<Section> {
  const count = 8;
  const agents: Agent[] = [];
  for (let i = 0; i < count; i++) agents.push(await agent(ctx, 'control', [], i % 2 ? 'client' : 'target'));
  const target = await startLtTarget();
  const ages: number[] = [];
  const onUpdate = (s: TestSnapshot) => {
    const reportTimes = s.per_driver.filter((d) => d.state === 'running' && d.report_timestamp).map((d) => d.report_timestamp!);
    if (reportTimes.length === count) ages.push(Date.now() - Math.min(...reportTimes));
  };
  ctx.orchestrator.on('update', onUpdate);
  const rounds = ctx.scale < 0.5 ? 2 : 5;
  const delays: number[][] = [];
  for (let i = 0; i < rounds; i++) {
    const result = await runOn(ctx, agents, { test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 400, target: `${target.url}/ping` });
    delays.push(result.per_driver.map((d) => d.first_send_at! - result.triggered_at!));
  }
  ctx.orchestrator.off('update', onUpdate);
  await stopAgents(ctx, agents);
  await target.stop();
  const all = delays.flat().sort((x, y) => x - y);
  const spreads = delays.map((d) => Math.max(...d) - Math.min(...d));
  const sortedAges = [...ages].sort((x, y) => x - y);
  const pct = (xs: number[], p: number) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] : null);
  return {
    name: 'control',
    title: `Control plane over the real broker: ${count} agents, ${rounds} triggers`,
    columns: ['measure', 'p50 ms', 'max ms'],
    rows: [
      ['trigger published → an agent’s first request', pct(all, 50), all.at(-1) ?? null],
      ['spread of first requests across the 8 agents (per trigger)', pct([...spreads].sort((x, y) => x - y), 50), Math.max(...spreads)],
      ['age of the aggregate when emitted (now − oldest report in it)', pct(sortedAges, 50), sortedAges.at(-1) ?? null],
    ],
    notes: ['All processes share this machine’s clock. Goal: the aggregate shown is less than one second old.'],
    data: { trigger_to_first_request_ms: delays, aggregate_age_ms: ages },
  };
}

/** One orchestrator process, N simulated drivers through the real broker (bench/driver-fleet.ts). */
async function fleet(ctx: Context): Promise<Section> {
  const sizes = ctx.scale < 0.5 ? [8, 64] : [8, 64, 256, 1024];
  const ratePerDriver = 100;
  const rows: (string | number | null)[][] = [];
  const data: Record<string, unknown>[] = [];
  for (const n of sizes) {
    const prefix = `fleet-${n}-${Date.now()}.`;
    const port = await freePort();
    const [command, args] = pinned('target', process.execPath, [join(DIST(), 'lt-orchestrator.js'), 'serve', '--kafka', ctx.kafka, '--topic-prefix', prefix, '--port', String(port), '--store', join(ctx.work, `fleet-store-${n}`), '--id', 'bench', '--log-level', 'error']);
    const orchestrator = manage(command, args);
    await waitForOutput(orchestrator, /REST API on (\S+)/, 'lt-orchestrator serve');
    const api = `http://127.0.0.1:${port}`;
    say(`fleet: ${n} simulated drivers`);
    const drivers = await startFleet({ kafka: ctx.kafka, prefix, drivers: n, ratePerDriver });
    try {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const list = (await (await fetch(`${api}/api/drivers`)).json()) as { drivers: { health: string }[] };
        if (list.drivers.filter((d) => d.health === 'alive').length >= n) break;
        if (Date.now() > deadline) throw new Error(`only ${list.drivers.length} of ${n} simulated drivers registered`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const pid = orchestrator.child.pid!;
      const cpuBefore = cpuSeconds(pid);
      const started = Date.now();
      const created = await fetch(`${api}/api/tests/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ test_type: 'TSUNAMI', test_message_delay: 1 / ratePerDriver, message_count_per_driver: FLEET_TEST_SECONDS * ratePerDriver, drivers: n, target: 'http://127.0.0.1:9/simulated' }),
      });
      const testId = ((await created.json()) as { test_id: string }).test_id;
      const ages: number[] = [];
      const payloads: number[] = [];
      let status = 'created';
      let lastComputed = 0;
      while (Date.now() - started < 60_000) {
        const text = await (await fetch(`${api}/api/tests/${testId}`)).text();
        const snapshot = JSON.parse(text) as TestSnapshot;
        status = snapshot.status;
        if (status !== 'running' && status !== 'created') break;
        if (snapshot.computed_at !== lastComputed) {
          lastComputed = snapshot.computed_at;
          payloads.push(text.length);
          const reports = snapshot.per_driver.filter((d) => d.state === 'running' && d.report_timestamp).map((d) => d.report_timestamp!);
          if (reports.length === n) ages.push(snapshot.computed_at - Math.min(...reports));
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      const seconds = (Date.now() - started) / 1000;
      const cpu = (cpuSeconds(pid) - cpuBefore) / seconds;
      const memory = rssMiB(pid).peak;
      const sorted = [...ages].sort((a, b) => a - b);
      const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : null);
      const payload = payloads.length ? Math.max(...payloads) : null;
      rows.push([n, status, round(cpu * 100, 0), pct(50), pct(99), round(memory, 0), round(drivers.bytesPerSecond() / 1024, 0), payload === null ? null : round(payload / 1024, 0)]);
      data.push({ drivers: n, status, cpu_percent_of_core: cpu * 100, aggregate_age_ms: ages, peak_rss_mib: memory, kafka_bytes_per_second: drivers.bytesPerSecond(), snapshot_bytes: payloads, fleet_publish_failures: drivers.failures() });
    } finally {
      await drivers.close();
      await orchestrator.stop();
    }
  }
  return {
    name: 'fleet',
    title: `One orchestrator, simulated drivers through the real broker (each: heartbeat and a report with a histogram every second, ${FLEET_TEST_SECONDS} s)`,
    columns: ['drivers', 'test', 'orchestrator CPU %', 'aggregate age p50 ms', 'age p99 ms', 'peak RSS MiB', 'Kafka KiB/s in', 'snapshot KiB'],
    rows,
    notes: [
      'The orchestrator runs alone on one core (lt-orchestrator serve); the simulated fleet is one process on the other, with the broker. CPU is the orchestrator process over the test, in percent of one core.',
      'Aggregate age: the snapshot’s computation time minus the oldest report in it, read through the REST API about five times a second. Snapshot KiB: the largest test snapshot served, which is what the dashboard receives per update besides the time point.',
      'Goal: 1,024 drivers with aggregate age p99 under one second on one core.',
    ],
    data,
  };
}

runCli('bench', async () => {
  const { options } = parseOptions(OPTIONS, process.argv.slice(2));
  if (wantsHelp(options)) {
    process.stdout.write(HELP);
    return 0;
  }
  const only = options.only ? options.only.split(',').map((s) => s.trim()) : [...SECTIONS];
  for (const name of only) if (!SECTIONS.includes(name as SectionName)) throw new UsageError(`--only: unknown section "${name}"; choose from ${SECTIONS.join(', ')}`);
  const scale = Number(options.scale) * (options.quick ? 0.05 : 1);
  if (!(scale > 0)) throw new UsageError('--scale must be a positive number');

  const work = mkdtempSync(join(tmpdir(), 'lt-bench-'));
  say('starting Kafka');
  const broker = await startBroker({ port: await freePort(), advertisedHost: '127.0.0.1', listenHost: '127.0.0.1', fresh: true, stateDir: join(work, 'kafka'), onProgress: say });
  const fastTarget = (await startNginxTarget(work)) ?? (await startLtTarget());
  say(`fast target: ${fastTarget.kind} at ${fastTarget.url}`);
  const orchestrator = await Orchestrator.start({ brokers: [broker.bootstrap], topicPrefix: 'bench.', storeDir: join(work, 'store'), id: 'bench', logger: createLogger('bench', 'warn') });
  const profileDir = options['cpu-prof'] ? resolve(options['cpu-prof']) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const ctx: Context = { scale, quick: options.quick, kafka: broker.bootstrap, work, orchestrator, fastTarget, agents: [], nextId: 0, profileDir };
  const sections: Section[] = [];
  try {
    const runners: Record<SectionName, (c: Context) => Promise<Section>> = { efficiency, workers: workerThreads, tls: tlsCost, rate: rateAccuracy, open: openModel, stages: stageAccuracy, capacity: capacityFound, latency: latencyTruth, aggregation: aggregationTruth, memory, control: controlPlane, fleet };
    for (const name of only as SectionName[]) {
      say(`${name}...`);
      sections.push(await runners[name](ctx));
    }
  } finally {
    await stopAgents(ctx, ctx.agents);
    await orchestrator.shutdown();
    await fastTarget.stop();
    await broker.stop();
  }
  // An agent writes its profile as it exits, so the files are complete once the agents are stopped.
  for (const file of profileDir ? readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile')) : []) {
    summarizeProfileFile(join(profileDir!, file));
    say(`profile: ${join(profileDir!, file)} (.summary.txt and .folded beside it)`);
  }
  const report: BenchReport = { machine: machineInfo(), quick: options.quick, scale, sections };
  process.stdout.write(renderTable(report));
  const out = options.out ? resolve(options.out) : options.quick ? mkdtempSync(join(tmpdir(), 'lt-bench-quick-')) : projectRoot();
  writeReport(out, report);
  say(`wrote ${join(out, 'benchmarks.json')} and ${join(out, 'BENCHMARKS.md')}`);
  return 0;
});
