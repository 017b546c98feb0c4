// `npm run demo`: a whole distributed load test on this machine. Starts a Kafka broker (unless
// --kafka or LT_KAFKA names one), lt-target, two lt-agent processes and lt-orchestrator, runs a
// sample test with live progress and the final table, then stops everything it started.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatHelp, parseNumberOption, parseOptions, runCli, wantsHelp } from '../common/cli-options';
import { freePort } from '../common/free-port';
import { projectRoot } from '../common/project-root';
import { startBroker, type RunningBroker } from '../kafka-broker/local-kafka';

const OPTIONS = {
  kafka: { type: 'string', value: 'HOST:PORT', env: 'LT_KAFKA', description: 'Use this Kafka broker instead of starting a local one.' },
  file: { type: 'string', value: 'FILE', default: 'examples/ping-avalanche.loadtest.json', description: 'The load test to run.' },
  agents: { type: 'string', value: 'N', default: '2', description: 'How many lt-agent processes to start.' },
} as const;

const HELP = formatHelp('npm run demo -- [options]', 'Runs a complete distributed load test on this machine and stops everything it started.', OPTIONS);

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

  const cleanup = async () => {
    for (const child of children.reverse()) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
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

    const target = spawn(process.execPath, [join(dist, 'lt-target.js'), '--port', '0'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(target);
    const targetUrl = await waitForLine(target, /listening on (\S+)/, 'lt-target');
    say(`lt-target listening on ${targetUrl}`);

    for (let i = 1; i <= agentCount; i++) {
      const log = openSync(join(logs, `agent-${i}.log`), 'a');
      children.push(spawn(process.execPath, [join(dist, 'lt-agent.js'), '--id', `driver-${i}`, '--orchestrator', 'demo', '--target', `${targetUrl}/ping`], { env, stdio: ['ignore', log, log] }));
    }
    say(`started ${agentCount} lt-agent processes (logs in ${logs})`);

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
});
