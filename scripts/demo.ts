// `npm run demo`: a whole distributed load test on this machine. Starts a Kafka broker (unless
// --kafka or LT_KAFKA names one), lt-target, two lt-agent processes and lt-orchestrator, runs a
// sample test with live progress and the final table, then stops everything it started.
// `--system`: the complete picture instead of lt-target: the reference system under test (HAProxy,
// app instances, PostgreSQL writer and reader) with Prometheus scraping it and the agents, a mixed
// read/write test, and the drivers' figures beside the server's.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatHelp, parseNumberOption, parseOptions, runCli, wantsHelp } from '../common/cli-options';
import { freePort } from '../common/free-port';
import { projectRoot } from '../common/project-root';
import { startBroker, type RunningBroker } from '../kafka-broker/local-kafka';
import { startPrometheus } from '../monitoring/prometheus-server';
import type { TestResult } from '../orchestrator/result-model';
import { startReferenceSystem, stopReferenceSystem, type RunningSystem } from '../system-under-test/reference-system';

const OPTIONS = {
  kafka: { type: 'string', value: 'HOST:PORT', env: 'LT_KAFKA', description: 'Use this Kafka broker instead of starting a local one.' },
  file: { type: 'string', value: 'FILE', default: 'examples/ping-avalanche.loadtest.json', description: 'The load test to run.' },
  agents: { type: 'string', value: 'N', default: '2', description: 'How many lt-agent processes to start.' },
  system: {
    type: 'boolean',
    description:
      'Load the reference system under test instead of lt-target: HAProxy, 3 app instances, PostgreSQL writer and streaming reader, Prometheus scraping them and the agents; runs examples/system-mix.loadtest.json (a warm-up first, not counted) and prints client-side and server-side figures side by side. Needs PostgreSQL 15, HAProxy and Prometheus (apt-get install postgresql-15 haproxy prometheus) and root (PostgreSQL runs as the postgres user).',
  },
  capacity: {
    type: 'boolean',
    description:
      'Find the capacity instead of running one test: open-model steps of rising rate until one breaks the SLO, then bisection (the file\'s "capacity" block). With --system, the reference system with its server-side queries in the SLO (examples/system-mix.loadtest.json); without, an lt-target that queues beyond 1,500 req/s (--capacity 1500) and examples/ping-capacity.loadtest.json.',
  },
} as const;

const HELP = formatHelp('npm run demo -- [options]', 'Runs a complete distributed load test on this machine and stops everything it started.', OPTIONS);

/** The demo's lt-target serves this many requests per second before its queue grows (--capacity). */
const DEMO_TARGET_CAPACITY = 1500;

const say = (line: string) => process.stderr.write(`demo: ${line}\n`);

function waitForLine(child: ChildProcess, pattern: RegExp, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        child.stdout?.off('data', onData);
        resolve(match[1] ?? match[0]);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${what} exited with code ${code} before it was ready:\n${seen}`)));
  });
}

runCli('demo', async () => {
  const { options } = parseOptions(OPTIONS, process.argv.slice(2));
  if (wantsHelp(options)) {
    process.stdout.write(HELP);
    return 0;
  }
  const agentCount = parseNumberOption('agents', options.agents, { min: 1, integer: true })!;
  const root = projectRoot();
  const dist = join(root, 'dist');
  const logs = mkdtempSync(join(tmpdir(), 'lt-demo-'));
  const children: ChildProcess[] = [];
  let broker: RunningBroker | undefined;
  let system: RunningSystem | undefined;
  let systemStarting = false;
  const systemDir = join(logs, 'system');

  const cleanup = async () => {
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    }
    if (systemStarting) {
      // Also when its start failed half-way: whatever of it runs is stopped by its pid files.
      say('stopping the reference system');
      await stopReferenceSystem(systemDir);
    }
    if (broker) {
      say('stopping the Kafka broker');
      await broker.stop();
    }
  };
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    let kafka = options.kafka;
    // A separate prefix per run keeps this demo's messages apart from anything else on a shared broker.
    const topicPrefix = kafka ? `demo-${Date.now()}.` : '';
    if (!kafka) {
      broker = await startBroker({
        port: await freePort(),
        advertisedHost: '127.0.0.1',
        listenHost: '127.0.0.1',
        fresh: true,
        stateDir: join(logs, 'kafka'),
        onProgress: say,
      });
      kafka = broker.bootstrap;
      say(`Kafka ready at ${kafka}`);
    }
    const env = { ...process.env, LT_KAFKA: kafka, LT_TOPIC_PREFIX: topicPrefix };
    if (options.system) return await runOnSystem(env, agentCount);

    // A capacity search needs a limit to find: this lt-target queues beyond 1,500 req/s.
    const targetArgs = options.capacity ? ['--port', '0', '--capacity', String(DEMO_TARGET_CAPACITY)] : ['--port', '0'];
    const target = spawn(process.execPath, [join(dist, 'lt-target.js'), ...targetArgs], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(target);
    const targetUrl = await waitForLine(target, /listening on (\S+)/, 'lt-target');
    say(`lt-target listening on ${targetUrl}`);

    for (let i = 1; i <= agentCount; i++) {
      const log = openSync(join(logs, `agent-${i}.log`), 'a');
      children.push(spawn(process.execPath, [join(dist, 'lt-agent.js'), '--id', `driver-${i}`, '--orchestrator', 'demo', '--target', `${targetUrl}/ping`], { env, stdio: ['ignore', log, log] }));
    }
    say(`started ${agentCount} lt-agent processes (logs in ${logs})`);
    if (options.capacity) {
      const example = readFileSync(join(root, 'examples', 'ping-capacity.loadtest.json'), 'utf8').replaceAll('http://127.0.0.1:8080', targetUrl);
      const file = join(logs, 'ping-capacity.loadtest.json');
      writeFileSync(file, example);
      // Awaited here: the finally below stops every process as soon as this returns.
      return await runCapacity(env, file, agentCount, `lt-target --capacity ${DEMO_TARGET_CAPACITY}`);
    }

    const orchestrator = spawn(
      process.execPath,
      [join(dist, 'lt-orchestrator.js'), 'run', join(root, options.file!), '--id', 'demo', '--target', `${targetUrl}/ping`, '--drivers', String(agentCount), '--store', join(logs, 'store'), '--wait', '60', '--log-level', 'warn'],
      { env: { ...env, LT_WAIT_FOR_DRIVERS: '60' }, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    children.push(orchestrator);
    const code: number = await new Promise((r) => orchestrator.once('exit', (c) => r(c ?? 2)));
    if (interrupted) return 2;
    say(code === 0 ? 'the test passed its thresholds' : code === 1 ? 'the test failed its thresholds' : 'the orchestrator reported an error');
    return code;
  } finally {
    await cleanup();
  }

  /** The complete picture: agents load the reference system; Prometheus watches both sides. */
  async function runOnSystem(env: NodeJS.ProcessEnv, agentCount: number): Promise<number> {
    chmodSync(logs, 0o755); // PostgreSQL, run as its own user, keeps its data below
    const port = () => freePort();
    const ports = { proxy: await port(), proxyStats: await port(), apps: [await port(), await port(), await port()], writer: await port(), readers: [await port()], prometheus: await port() };
    say('starting the reference system (PostgreSQL writer and reader, 3 apps, HAProxy, Prometheus)...');
    systemStarting = true;
    system = await startReferenceSystem({ stateDir: systemDir, ports, onProgress: say });
    const prometheus = await startPrometheus({ port: ports.prometheus, stateDir: join(systemDir, 'prometheus') });
    say(`proxy ${system.proxyUrl}, Prometheus ${system.prometheusUrl}`);

    const metricsPorts: number[] = [];
    for (let i = 1; i <= agentCount; i++) {
      const metricsPort = await freePort();
      metricsPorts.push(metricsPort);
      const log = openSync(join(logs, `agent-${i}.log`), 'a');
      const args = [join(dist, 'lt-agent.js'), '--id', `driver-${i}`, '--orchestrator', 'demo', '--metrics-port', String(metricsPort), '--allow-target', `127.0.0.1:${ports.proxy}`];
      children.push(spawn(process.execPath, args, { env, stdio: ['ignore', log, log] }));
    }
    prometheus.setTargets('lt-agent', 'demo', metricsPorts.map((p) => `127.0.0.1:${p}`));
    say(`started ${agentCount} lt-agent processes, their metrics scraped too (logs in ${logs})`);

    // The example, aimed at this run's proxy and Prometheus, and short enough for a demo.
    const example = JSON.parse(readFileSync(join(root, 'examples', 'system-mix.loadtest.json'), 'utf8').replaceAll('http://127.0.0.1:8800', system.proxyUrl).replaceAll('http://127.0.0.1:8890', system.prometheusUrl!)) as Record<string, unknown>;
    delete example.$schema;
    example.message_count_per_driver = 1500;
    const file = join(logs, 'system-mix.loadtest.json');
    writeFileSync(file, JSON.stringify(example, null, 2));
    if (options.capacity) return runCapacity(env, file, agentCount, 'the reference system');
    const json = join(logs, 'result.json');
    const code = await orchestratorCommand(env, 'run', file, agentCount, json);
    if (interrupted) return 2;
    if (code === 0 || code === 1) process.stdout.write(sideBySide(JSON.parse(readFileSync(json, 'utf8')) as TestResult));
    say(code === 0 ? 'the test passed its thresholds, client and server side' : code === 1 ? 'the test failed its thresholds' : 'the orchestrator reported an error');
    return code;
  }

  /** `lt-orchestrator run|capacity FILE` on the agents already started, its result written to `json`; its exit code. */
  async function orchestratorCommand(env: NodeJS.ProcessEnv, command: 'run' | 'capacity', file: string, agentCount: number, json: string): Promise<number> {
    const orchestrator = spawn(
      process.execPath,
      [join(dist, 'lt-orchestrator.js'), command, file, '--id', 'demo', '--drivers', String(agentCount), '--store', join(logs, 'store'), '--wait', '60', '--json', json, '--log-level', 'warn'],
      { env, stdio: ['ignore', 'inherit', 'inherit'] },
    );
    children.push(orchestrator);
    return new Promise((r) => orchestrator.once('exit', (c) => r(c ?? 2)));
  }

  /** `lt-orchestrator capacity FILE` on the agents already started: its steps and ending are printed as it goes. */
  async function runCapacity(env: NodeJS.ProcessEnv, file: string, agentCount: number, what: string): Promise<number> {
    say(`searching the capacity of ${what} (the steps print as they are judged)...`);
    const json = join(logs, 'capacity.json');
    const code = await orchestratorCommand(env, 'capacity', file, agentCount, json);
    if (interrupted) return 2;
    say(code === 0 ? `capacity found; the result is in ${json}` : code === 1 ? `no capacity the server showed (see the ending above); the result is in ${json}` : 'the orchestrator reported an error');
    return code;
  }
});

/** The drivers' figures beside the server's, as one small table. */
function sideBySide(r: TestResult): string {
  const q = (name: string) => r.server?.queries.find((s) => s.name === name);
  const n = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? '-' : v.toLocaleString('en-US', { maximumFractionDigits: digits }));
  const write = r.per_request?.find((p) => p.name === 'create_item');
  const rows = [
    ['', 'client side (drivers)', 'server side (Prometheus)'],
    ['requests per second', n(r.throughput, 0), `${n(q('server_rps')?.mean, 0)} (mean), ${n(q('server_rps')?.max, 0)} (peak)`],
    ['p99 latency, ms', n(r.aggregate.latency?.p99), `${n(q('server_p99_ms')?.max)} (worst second)`],
    ['writes per second', n(write?.rate, 0), `${n(q('writes_per_s')?.mean, 0)} (mean)`],
    ['errors', n(r.aggregate.errors, 0), `${n(q('proxy_5xx_per_s')?.max, 2)} proxy 5xx/s (peak)`],
    ['replication lag, s', '', n(q('replica_lag_s')?.max, 3)],
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  return '\nClient and server, side by side:\n' + rows.map((row) => '  ' + row.map((cell, c) => cell.padEnd(widths[c])).join('   ')).join('\n') + '\n\n';
}
