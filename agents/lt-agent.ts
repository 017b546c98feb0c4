// `lt-agent`: a driver node. Runs until SIGINT/SIGTERM, across any number of tests.
import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs';
import { formatHelp, httpUrl, parseNumberOption, parseOptions, parseOptionWith, parsePortOption, runCli, UsageError, wantsHelp } from '../common/cli-options';
import { createLogger, errorMessage, isLogLevel } from '../common/logger';
import { primaryAddress } from '../common/network-address';
import { retry, RetryStopped } from '../common/retry';
import { PRODUCT_VERSION } from '../common/version';
import { describeSecurity, KafkaAccessError, KafkaBus } from '../protocol/kafka-bus';
import { KAFKA_OPTIONS, readKafkaOptions } from '../protocol/kafka-options';
import { nodeIdProblem, topicNames } from '../protocol/wire-protocol';
import { readSharedSecret, SECRET_FILE_OPTION } from '../common/shared-secret';
import { claimAgentSlot } from './agent-slot';
import { TargetAllowlist } from './target-allowlist';
import { warmUpHttpClient } from './load-generator';
import { DriverAgent } from './driver-agent';
import { LoadWorkers, maxWorkers, WORKERS_PER_CORE } from './threaded-load';
import { availableParallelism } from 'node:os';
import { agentRegistry, serveAgentMetrics, type MetricsServer } from './agent-metrics';

const OPTIONS = {
  ...KAFKA_OPTIONS,
  orchestrator: {
    type: 'string',
    value: 'HOST',
    env: 'LT_ORCHESTRATOR',
    description: 'The orchestrator this agent serves (its host, address or id); commands from another one are ignored. Without it, every orchestrator is obeyed.',
  },
  id: {
    type: 'string',
    value: 'ID',
    env: 'LT_AGENT_ID',
    description: 'This driver’s node_id (default: HOSTNAME-N, N the lowest number no running agent on this machine holds, so a restarted agent keeps its id).',
  },
  ip: { type: 'string', value: 'IP', env: 'LT_AGENT_IP', description: 'The node_IP this driver announces (default: its first external IPv4 address).' },
  target: {
    type: 'string',
    value: 'URL',
    default: 'http://127.0.0.1:8080/ping',
    env: 'LT_TARGET_URL',
    description: 'Target used when a test_config names none (as other implementations’ configs do).',
  },
  'secret-file': SECRET_FILE_OPTION,
  'allow-target': {
    type: 'string',
    value: 'PATTERN',
    repeatable: true,
    env: 'LT_ALLOW_TARGET',
    description:
      'Send load only to targets matching PATTERN (repeatable, or comma-separated): a host name, *.domain, an address, an address block (10.0.0.0/8, [fd00::/8]), each with an optional :PORT. A test aimed elsewhere is refused, and the orchestrator shows why. Without it, any target is loaded.',
  },
  'target-ca': {
    type: 'string',
    value: 'FILE',
    repeatable: true,
    env: 'LT_TARGET_CA',
    description: 'PEM file of a certificate authority to trust for https targets, besides the system’s (repeatable, or comma-separated). A test may instead accept any certificate with "tls_insecure".',
  },
  'topic-prefix': { type: 'string', value: 'PREFIX', default: '', env: 'LT_TOPIC_PREFIX', description: 'Prefix of the five topic names, to share a cluster.' },
  'latency-log': {
    type: 'string',
    value: 'DIR',
    env: 'LT_LATENCY_LOG',
    description: 'Also write every latency of every test to DIR/NODE-TEST.u32 (uint32 little-endian microseconds), for exact offline analysis.',
  },
  workers: {
    type: 'string',
    value: 'N',
    default: String(availableParallelism()),
    env: 'LT_WORKERS',
    description: `Worker threads that share each test’s requests, each with its own share of the connections, behind this one Kafka connection and registration. The default is this machine’s cores, the most ${WORKERS_PER_CORE} per core (${maxWorkers()} here): more threads than cores only take turns; 1 sends from the main thread (one core).`,
  },
  'metrics-port': {
    type: 'string',
    value: 'PORT',
    env: 'LT_METRICS_PORT',
    description: 'Serve Prometheus metrics (requests, errors by kind, latency histogram, heartbeats, process) at http://HOST:PORT/metrics; 0 picks a free port. Off without it.',
  },
  'metrics-host': { type: 'string', value: 'HOST', default: '127.0.0.1', env: 'LT_METRICS_HOST', description: 'Address of the metrics endpoint (0.0.0.0 for a Prometheus on another machine).' },
  'log-level': { type: 'string', value: 'LEVEL', default: 'info', env: 'LT_LOG_LEVEL', description: 'error, warn, info or debug.' },
} as const;

const HELP = formatHelp(
  'lt-agent --kafka HOST:PORT --orchestrator HOST [options]',
  'A driver node of the distributed load tester. It registers with the orchestrator over Kafka,\nheartbeats every second, and runs every test it is configured and triggered for (AVALANCHE or\nTSUNAMI), reporting latency metrics every second. It runs until SIGINT or SIGTERM.',
  OPTIONS,
);

runCli('lt-agent', async () => {
  const { options } = parseOptions(OPTIONS, process.argv.slice(2));
  if (wantsHelp(options)) {
    process.stdout.write(HELP);
    return 0;
  }
  const level = options['log-level']!;
  if (!isLogLevel(level)) throw new UsageError(`--log-level must be error, warn, info or debug, got "${level}"`);
  const { brokers, security, warnings: kafkaWarnings } = readKafkaOptions(options);
  parseOptionWith('target', options.target!, httpUrl);
  const latencyLogDir = options['latency-log'];
  if (latencyLogDir) {
    // Made now, so that a path that cannot be written is said at start, not as a refused test later.
    try {
      mkdirSync(latencyLogDir, { recursive: true });
      accessSync(latencyLogDir, constants.W_OK);
    } catch (error) {
      throw new UsageError(`--latency-log: cannot write to ${latencyLogDir}: ${errorMessage(error)}`);
    }
  }
  const trustedCa = (options['target-ca'] ?? '')
    .split(',')
    .filter((f) => f.trim())
    .map((file) => {
      try {
        const pem = readFileSync(file.trim(), 'utf8');
        if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('no PEM certificate in it');
        return pem;
      } catch (error) {
        throw new UsageError(`--target-ca: cannot use ${file}: ${errorMessage(error)}`);
      }
    });
  const workerCount = parseNumberOption('workers', options.workers, { min: 1, max: maxWorkers(), integer: true, maxReason: `${WORKERS_PER_CORE} × this machine's ${availableParallelism()} cores` })!;
  const metricsPort = parsePortOption('metrics-port', options['metrics-port']);
  // Said before connecting: the orchestrator would refuse every message under such an id.
  const idProblem = options.id === undefined ? undefined : nodeIdProblem(options.id);
  if (idProblem) throw new UsageError(`--id: ${idProblem}`);
  const slot = options.id ? undefined : claimAgentSlot();
  const nodeId = options.id ?? slot!.nodeId;
  const secret = readSharedSecret(options['secret-file']);
  const allowlist = parseOptionWith('allow-target', options['allow-target'] ?? '', (text) => new TargetAllowlist(text.split(',')));
  process.once('exit', () => slot?.release());
  const log = createLogger(`lt-agent ${nodeId}`, level);
  for (const warning of kafkaWarnings) log.warn(warning);

  let shuttingDown = false;
  let agent: DriverAgent | undefined;
  let bus: KafkaBus;
  const stopping = new AbortController();
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      if (shuttingDown) return;
      shuttingDown = true;
      log.info(`${signal}: leaving`);
      stopping.abort();
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });

  await warmUpHttpClient();
  const workers = workerCount > 1 ? await LoadWorkers.start(workerCount, log) : undefined;

  // An agent may start before its broker: keep trying, and say so. A refusal (retriable: false)
  // will be refused again with the same settings: say so and exit.
  try {
    bus = await retry(() => KafkaBus.connect({ brokers, security, clientId: `lt-agent-${nodeId}`, logger: log, connectRetries: 2 }), {
      firstDelayMs: 500,
      maxDelayMs: 5000,
      signal: stopping.signal,
      onRetry: (error, failures) => log.warn(`waiting for Kafka at ${brokers.join(',')} (attempt ${failures}): ${errorMessage(error)}`),
    });
  } catch (error) {
    if (error instanceof RetryStopped) return 0;
    if (error instanceof KafkaAccessError) throw new Error(`${error.message}. Check the --kafka-* options (see --help).`);
    throw error;
  }

  agent = new DriverAgent({
    bus,
    topics: topicNames(options['topic-prefix']),
    nodeId,
    nodeIp: options.ip ?? primaryAddress(),
    orchestrator: options.orchestrator,
    defaultTarget: options.target!,
    latencyLogDir,
    allowlist,
    trustedCa: trustedCa.length ? trustedCa : undefined,
    workers,
    secret,
    logger: log,
    version: PRODUCT_VERSION,
  });
  let metrics: MetricsServer | undefined;
  if (metricsPort !== undefined) {
    const running = agent;
    try {
      metrics = await serveAgentMetrics(agentRegistry(nodeId, () => running.activity()), options['metrics-host']!, metricsPort);
      log.info(`metrics for Prometheus at ${metrics.url}`);
    } catch (error) {
      await bus.close();
      throw new UsageError(`--metrics-port ${metricsPort}: cannot listen on ${options['metrics-host']}: ${errorMessage(error)}`);
    }
  }
  await agent.start();
  if (!allowlist.isEmpty) log.info(`loads only targets matching: ${allowlist.describe()}`);
  if (secret) log.info('obeys only commands signed with the shared secret');
  else log.warn('no shared secret (--secret-file or LT_SECRET): any producer on this Kafka cluster can command this agent');
  log.info(
    `registered as ${nodeId} via Kafka at ${brokers.join(',')} over ${describeSecurity(security)}; ${options.orchestrator ? `serving orchestrator ${options.orchestrator}` : 'serving any orchestrator'}`,
  );
  await stopped;
  await metrics?.close();
  await agent.shutdown();
  await workers?.close();
  await bus.close();
  return 0;
});
