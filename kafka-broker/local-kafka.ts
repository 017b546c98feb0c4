// A real single-node Apache Kafka broker (KRaft: broker and controller in one JVM), run from the
// jars Maven fetches from Maven Central. Used by `npm run kafka:start`, the demo, the tests and the
// extension's "Start Local Kafka Broker". Nothing here blocks the event loop: Maven and Kafka's
// storage tool run as child processes awaited asynchronously, and an AbortSignal cancels the wait
// (a first start inside the editor may spend minutes downloading).
import { spawn } from 'node:child_process';
import { BrokerStartCancelled, runTool } from './run-tool';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isAlive, stopPid, tail } from '../common/background-process';
import { freePort } from '../common/free-port';
import { createLogger } from '../common/logger';
import { projectRoot } from '../common/project-root';
import { KafkaBus, type KafkaSecurity } from '../protocol/kafka-bus';
import { secureListener, type BrokerCredentials, type BrokerSecurityMode, type SecuredListener } from './broker-security';

export { BrokerStartCancelled } from './run-tool';

export interface BrokerOptions {
  port: number;
  /** The host name clients are told to use; must be reachable by every agent. */
  advertisedHost: string;
  /** The address the broker listens on. */
  listenHost: string;
  /** Start from empty storage instead of keeping topics from earlier runs. */
  fresh: boolean;
  /** `sasl_ssl`: one SASL_SSL listener with a certificate of its own authority and SCRAM/PLAIN users (broker-security.ts). */
  security?: BrokerSecurityMode;
  /** Where this broker's config, data, log and pid live; one folder per port by default. */
  stateDir?: string;
  /** Where the jars (and by default the state) live; the repository's .kafka/ unless given. */
  home?: string;
  /** The pom that names the broker's jars; the package's kafka-broker/pom.xml unless given. */
  pomFile?: string;
  /** Apache Kafka version from Maven Central (3.9.x or 4.x); LT_KAFKA_VERSION, else DEFAULT_KAFKA_VERSION. */
  version?: string;
  onProgress?: (line: string) => void;
  /** Aborting stops a download or start-up in progress (and the JVM, if it was started). */
  signal?: AbortSignal;
}

export interface RunningBroker {
  bootstrap: string;
  pid: number;
  logFile: string;
  /** For a SASL_SSL broker: the CA to trust and the user to sign in as. */
  credentials?: BrokerCredentials;
  /** Stops the JVM and waits for it to exit. */
  stop(): Promise<void>;
}

export const DEFAULT_KAFKA_VERSION = '3.9.1';

/** The version to run: given, else LT_KAFKA_VERSION, else the default. */
export function kafkaVersion(given?: string): string {
  const version = given ?? (process.env.LT_KAFKA_VERSION?.trim() || DEFAULT_KAFKA_VERSION);
  if (!/^[34]\.\d+\.\d+$/.test(version)) throw new Error(`Kafka version ${JSON.stringify(version)} is not one this launcher runs (3.x.y or 4.x.y)`);
  return version;
}

const majorOf = (version: string) => Number(version.split('.')[0]);

const defaultHome = () => join(projectRoot(), '.kafka');
const defaultPom = () => join(projectRoot(), 'kafka-broker', 'pom.xml');

/** Fetches the broker's jars with Maven once; later calls find them in place. */
export async function ensureJars(onProgress: (line: string) => void = () => {}, home = defaultHome(), pom = defaultPom(), signal?: AbortSignal, version = kafkaVersion()): Promise<string> {
  const dir = join(home, version === DEFAULT_KAFKA_VERSION ? 'jars' : `jars-${version}`);
  if (existsSync(dir) && readdirSync(dir).some((f) => f === `kafka_2.13-${version}.jar`)) return dir;
  onProgress(`Fetching the Kafka ${version} broker jars from Maven Central (once; later runs reuse them)...`);
  let result;
  try {
    const versionArgs = [`-Dkafka.version=${version}`, ...(majorOf(version) >= 4 ? ['-Dkafka.major=4'] : [])];
    result = await runTool('mvn', ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', '-DincludeScope=runtime', ...versionArgs, `-DoutputDirectory=${dir}`], signal);
  } catch (error) {
    if (error instanceof BrokerStartCancelled) throw error;
    throw new Error(`cannot run Maven (mvn): ${(error as Error).message}. Install Java 17 and Maven, or use a broker of your own with --kafka HOST:PORT.`);
  }
  if (result.code !== 0) throw new Error(`Maven could not fetch the Kafka jars:\n${result.output}`);
  return dir;
}

export function brokerStateDir(port: number, home = defaultHome()): string {
  return join(home, `broker-${port}`);
}

function serverProperties(options: BrokerOptions, controllerPort: number, dataDir: string, secured: SecuredListener | undefined): string {
  const listener = secured
    ? secured.properties.map((line) => line.replace('CONTROLLER_PORT', String(controllerPort)))
    : [
        `listeners=PLAINTEXT://${options.listenHost}:${options.port},CONTROLLER://127.0.0.1:${controllerPort}`,
        `advertised.listeners=PLAINTEXT://${options.advertisedHost}:${options.port}`,
        'inter.broker.listener.name=PLAINTEXT',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      ];
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    'controller.listener.names=CONTROLLER',
    ...listener,
    `log.dirs=${dataDir}`,
    // One node: the internal topics must not ask for three replicas, or consumer groups never get a coordinator.
    'offsets.topic.replication.factor=1',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    // No 3 s wait before every new consumer group forms.
    'group.initial.rebalance.delay.ms=0',
    'num.partitions=1',
    'auto.create.topics.enable=true',
    '',
  ].join('\n');
}

/** Logging for a 4.x broker, which logs to log4j 2. */
const LOG4J2 = (logFile: string) =>
  [
    'appender.file.type=File',
    'appender.file.name=FILE',
    `appender.file.fileName=${logFile}`,
    'appender.file.layout.type=PatternLayout',
    'appender.file.layout.pattern=[%d] %p %m (%c)%n',
    'rootLogger.level=INFO',
    'rootLogger.appenderRef.file.ref=FILE',
    'logger.kafka.name=kafka',
    'logger.kafka.level=INFO',
    'logger.apache.name=org.apache.kafka',
    'logger.apache.level=WARN',
    '',
  ].join('\n');

/** Logging for a 3.x broker, which logs to log4j 1.x (reload4j). */
const LOG4J = (logFile: string) =>
  [
    'log4j.rootLogger=INFO, file',
    'log4j.appender.file=org.apache.log4j.FileAppender',
    `log4j.appender.file.File=${logFile}`,
    'log4j.appender.file.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n',
    'log4j.logger.kafka=INFO',
    'log4j.logger.org.apache.kafka=WARN',
    '',
  ].join('\n');

async function acceptsClients(bootstrap: string, security: KafkaSecurity | undefined): Promise<boolean> {
  const quiet = createLogger('probe', 'error', () => {});
  try {
    const bus = await KafkaBus.connect({ brokers: [bootstrap], security, clientId: 'lt-broker-probe', logger: quiet, connectRetries: 0 });
    await bus.close();
    return true;
  } catch {
    return false;
  }
}

/** Starts a broker (or finds the one already running for this state folder) and waits until it accepts clients. */
export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const progress = options.onProgress ?? (() => {});
  const stateDir = resolve(options.stateDir ?? brokerStateDir(options.port, options.home));
  const pidFile = join(stateDir, 'broker.pid');
  const logFile = join(stateDir, 'broker.log');
  const bootstrap = `${options.advertisedHost.includes(':') ? `[${options.advertisedHost}]` : options.advertisedHost}:${options.port}`;
  const mode = options.security ?? 'plaintext';
  const secured = mode === 'sasl_ssl' ? await secureListener(stateDir, { host: options.listenHost, advertisedHost: options.advertisedHost, port: options.port }, options.signal) : undefined;
  const clientSecurity = secured?.credentials.clientSecurity;
  const handle = (pid: number): RunningBroker => ({
    bootstrap,
    pid,
    logFile,
    credentials: secured?.credentials,
    stop: async () => {
      await stopPid(pid);
      rmSync(pidFile, { force: true });
    },
  });

  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    if (pid > 0 && isAlive(pid) && (await acceptsClients(bootstrap, clientSecurity))) return handle(pid);
    rmSync(pidFile, { force: true });
  }

  const signal = options.signal;
  const version = kafkaVersion(options.version);
  const jars = await ensureJars(progress, options.home, options.pomFile, signal, version);
  const dataDir = join(stateDir, 'data');
  const modeFile = join(stateDir, 'security-mode');
  if (options.fresh) rmSync(dataDir, { recursive: true, force: true });
  // SCRAM users are written when storage is formatted, so storage made for one mode cannot serve the other.
  const formattedFor = existsSync(join(dataDir, 'meta.properties')) ? (existsSync(modeFile) ? readFileSync(modeFile, 'utf8').trim() : 'plaintext') : undefined;
  if (formattedFor && formattedFor !== mode) throw new Error(`the broker storage in ${dataDir} was made for ${formattedFor}, not ${mode}: add --fresh (its topics are deleted) or use another --port`);
  mkdirSync(dataDir, { recursive: true });
  const controllerPort = await freePort();
  const propsFile = join(stateDir, 'server.properties');
  writeFileSync(propsFile, serverProperties(options, controllerPort, dataDir, secured));
  const log4j2 = majorOf(version) >= 4;
  const log4jFile = join(stateDir, log4j2 ? 'log4j2.properties' : 'log4j.properties');
  writeFileSync(log4jFile, log4j2 ? LOG4J2(logFile) : LOG4J(logFile));
  const logging = log4j2 ? `-Dlog4j2.configurationFile=file:${log4jFile}` : `-Dlog4j.configuration=file:${log4jFile}`;
  const classpath = `${jars}/*`;

  // Storage is formatted once per data folder; the cluster id is 16 random bytes, as Kafka's own tool makes it.
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    const clusterId = randomBytes(16).toString('base64url');
    let format;
    try {
      format = await runTool('java', ['-cp', classpath, logging, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '--config', propsFile, '--ignore-formatted', ...(secured?.formatArgs ?? [])], signal);
    } catch (error) {
      if (error instanceof BrokerStartCancelled) throw error;
      throw new Error(`cannot run java: ${(error as Error).message}. Install Java 17 (or newer) to run the local broker.`);
    }
    if (format.code !== 0) throw new Error(`formatting Kafka storage failed:\n${format.output}`);
    writeFileSync(modeFile, mode);
  }

  progress(`Starting Kafka ${version} on ${bootstrap}${secured ? ' (SASL_SSL)' : ''} (log: ${logFile})...`);
  const out = openSync(logFile, 'a');
  const child = spawn('java', ['-Xms256m', '-Xmx512m', logging, '-cp', classpath, 'kafka.Kafka', propsFile], {
    detached: true,
    stdio: ['ignore', out, out],
  });
  closeSync(out);
  const pid = child.pid;
  if (!pid) throw new Error('java did not start');
  child.unref();
  writeFileSync(pidFile, String(pid));

  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (signal?.aborted) {
      await stopPid(pid);
      rmSync(pidFile, { force: true });
      throw new BrokerStartCancelled();
    }
    if (!isAlive(pid)) {
      rmSync(pidFile, { force: true });
      throw new Error(`the Kafka broker exited during start-up. Last lines of ${logFile}:\n${tail(logFile)}`);
    }
    if (await acceptsClients(bootstrap, clientSecurity)) return handle(pid);
    await new Promise((r) => setTimeout(r, 500));
  }
  await stopPid(pid);
  throw new Error(`the Kafka broker did not accept clients within 120 s. Last lines of ${logFile}:\n${tail(logFile)}`);
}

/** Stops the broker recorded in a state folder; false when none was running. */
export async function stopBroker(stateDir: string): Promise<boolean> {
  const pidFile = join(stateDir, 'broker.pid');
  if (!existsSync(pidFile)) return false;
  const pid = Number(readFileSync(pidFile, 'utf8'));
  const wasAlive = pid > 0 && isAlive(pid);
  if (wasAlive) await stopPid(pid);
  rmSync(pidFile, { force: true });
  return wasAlive;
}

