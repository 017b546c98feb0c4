// A real single-node Apache Kafka broker (KRaft: broker and controller in one JVM), run from the
// jars Maven fetches from Maven Central. Used by `npm run kafka:start`, the demo and the tests.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { KafkaBus } from '../protocol/kafka-bus';
import { createLogger } from '../common/logger';

export interface BrokerOptions {
  port: number;
  /** The host name clients are told to use; must be reachable by every agent. */
  advertisedHost: string;
  /** The address the broker listens on. */
  listenHost: string;
  /** Start from empty storage instead of keeping topics from earlier runs. */
  fresh: boolean;
  /** Where this broker's config, data, log and pid live; one folder per port by default. */
  stateDir?: string;
  /** Where the jars (and by default the state) live; the repository's .kafka/ unless given. */
  home?: string;
  /** The pom that names the broker's jars; the repository's scripts/kafka/pom.xml unless given. */
  pomFile?: string;
  onProgress?: (line: string) => void;
}

export interface RunningBroker {
  bootstrap: string;
  pid: number;
  logFile: string;
  /** Stops the JVM and waits for it to exit. */
  stop(): Promise<void>;
}

/** The repository root: the folder holding scripts/kafka/pom.xml, found from this file upward. */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (existsSync(join(dir, 'scripts', 'kafka', 'pom.xml'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find scripts/kafka/pom.xml above ' + __dirname + '; run this from a clone of the repository');
    dir = parent;
  }
}

const defaultHome = () => join(projectRoot(), '.kafka');

/** Fetches the broker's jars with Maven once; later calls find them in place. */
export function ensureJars(onProgress: (line: string) => void = () => {}, home = defaultHome(), pom = join(projectRoot(), 'scripts', 'kafka', 'pom.xml')): string {
  const dir = join(home, 'jars');
  if (existsSync(dir) && readdirSync(dir).some((f) => f.startsWith('kafka_2.13-'))) return dir;
  onProgress('Fetching the Kafka broker jars from Maven Central (once; later runs reuse them)...');
  const result = spawnSync('mvn', ['-q', '-B', '-f', pom, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${dir}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  if (result.error) throw new Error(`cannot run Maven (mvn): ${result.error.message}. Install Java 17 and Maven, or use a broker of your own with --kafka HOST:PORT.`);
  if (result.status !== 0) throw new Error(`Maven could not fetch the Kafka jars:\n${result.stdout}${result.stderr}`);
  return dir;
}

export function brokerStateDir(port: number, home = defaultHome()): string {
  return join(home, `broker-${port}`);
}

function serverProperties(options: BrokerOptions, controllerPort: number, dataDir: string): string {
  return [
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
    `listeners=PLAINTEXT://${options.listenHost}:${options.port},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${options.advertisedHost}:${options.port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
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

/** A free TCP port on loopback, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no broker log)';
  }
}

async function acceptsClients(bootstrap: string): Promise<boolean> {
  const quiet = createLogger('probe', 'error', () => {});
  try {
    const bus = await KafkaBus.connect({ brokers: [bootstrap], clientId: 'lt-broker-probe', logger: quiet, connectRetries: 0 });
    await bus.close();
    return true;
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive(pid);
}

async function stopPid(pid: number): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, 'SIGTERM');
  if (await waitForExit(pid, 30_000)) return;
  process.kill(pid, 'SIGKILL');
  await waitForExit(pid, 5000);
}

/** Starts a broker (or finds the one already running for this state folder) and waits until it accepts clients. */
export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const progress = options.onProgress ?? (() => {});
  const stateDir = resolve(options.stateDir ?? brokerStateDir(options.port, options.home));
  const pidFile = join(stateDir, 'broker.pid');
  const logFile = join(stateDir, 'broker.log');
  const bootstrap = `${options.advertisedHost.includes(':') ? `[${options.advertisedHost}]` : options.advertisedHost}:${options.port}`;
  const handle = (pid: number): RunningBroker => ({
    bootstrap,
    pid,
    logFile,
    stop: async () => {
      await stopPid(pid);
      rmSync(pidFile, { force: true });
    },
  });

  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, 'utf8'));
    if (pid > 0 && isAlive(pid) && (await acceptsClients(bootstrap))) return handle(pid);
    rmSync(pidFile, { force: true });
  }

  const jars = ensureJars(progress, options.home, options.pomFile);
  const dataDir = join(stateDir, 'data');
  if (options.fresh) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const controllerPort = await freePort();
  const propsFile = join(stateDir, 'server.properties');
  writeFileSync(propsFile, serverProperties(options, controllerPort, dataDir));
  const log4jFile = join(stateDir, 'log4j.properties');
  writeFileSync(log4jFile, LOG4J(logFile));
  const classpath = `${jars}/*`;

  // Storage is formatted once per data folder; the cluster id is 16 random bytes, as Kafka's own tool makes it.
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    const clusterId = randomBytes(16).toString('base64url');
    const format = spawnSync('java', ['-cp', classpath, `-Dlog4j.configuration=file:${log4jFile}`, 'kafka.tools.StorageTool', 'format', `--cluster-id=${clusterId}`, '--config', propsFile, '--ignore-formatted'], {
      encoding: 'utf8',
    });
    if (format.error) throw new Error(`cannot run java: ${format.error.message}. Install Java 17 (or newer) to run the local broker.`);
    if (format.status !== 0) throw new Error(`formatting Kafka storage failed:\n${format.stdout}${format.stderr}`);
  }

  progress(`Starting Kafka on ${bootstrap} (log: ${logFile})...`);
  const out = openSync(logFile, 'a');
  const child = spawn('java', ['-Xms256m', '-Xmx512m', `-Dlog4j.configuration=file:${log4jFile}`, '-cp', classpath, 'kafka.Kafka', propsFile], {
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
    if (!isAlive(pid)) {
      rmSync(pidFile, { force: true });
      throw new Error(`the Kafka broker exited during start-up. Last lines of ${logFile}:\n${tail(logFile)}`);
    }
    if (await acceptsClients(bootstrap)) return handle(pid);
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

