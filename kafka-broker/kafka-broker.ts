// `npm run kafka:start` / `npm run kafka:stop`: a local single-node Kafka broker for trying the product.
import { formatHelp, parseNumberOption, parseOptionWith, parseOptions, parsePortOption, runCli, UsageError, wantsHelp } from '../common/cli-options';
import { relative } from 'node:path';
import { BROKER_SECURITY_MODES, type BrokerSecurityMode } from './broker-security';
import { brokerStateDir, DEFAULT_KAFKA_VERSION, kafkaVersion, startBroker, stopBroker } from './local-kafka';

const OPTIONS = {
  port: { type: 'string', value: 'PORT', default: '9092', env: 'LT_KAFKA_PORT', description: 'Port clients connect to.' },
  'advertised-host': {
    type: 'string',
    value: 'HOST',
    default: '127.0.0.1',
    env: 'LT_KAFKA_ADVERTISED_HOST',
    description: 'Host name the broker tells clients to use; set it to this machine’s address when agents run elsewhere.',
  },
  'listen-host': { type: 'string', value: 'HOST', default: '127.0.0.1', env: 'LT_KAFKA_LISTEN_HOST', description: 'Address to listen on (0.0.0.0 for every interface).' },
  security: {
    type: 'string',
    value: 'MODE',
    default: 'plaintext',
    env: 'LT_KAFKA_SECURITY',
    description:
      'plaintext, or sasl_ssl: one SASL_SSL listener with a certificate signed by a CA of its own (tls/ca.pem in the state folder) and a user "loadtest" (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) whose password is in client-password there.',
  },
  fresh: { type: 'boolean', description: 'Delete the broker’s stored topics before starting.' },
  'kafka-version': {
    type: 'string',
    value: 'VERSION',
    default: DEFAULT_KAFKA_VERSION,
    env: 'LT_KAFKA_VERSION',
    description: 'Apache Kafka version to fetch from Maven Central and run (3.9.x or 4.x, e.g. 4.1.1).',
  },
} as const;

const HELP = formatHelp(
  'kafka-broker start|stop [options]',
  'Starts (and waits until it accepts clients) or stops a local single-node Apache Kafka broker (KRaft),\nrun from jars fetched from Maven Central into .kafka/. Needs Java 17+ and Maven.',
  OPTIONS,
  'With Docker instead: docker run -d -p 9092:9092 apache/kafka:3.9.1',
);

runCli('kafka-broker', async () => {
  const { options, positionals } = parseOptions(OPTIONS, process.argv.slice(2));
  if (wantsHelp(options)) {
    process.stdout.write(HELP);
    return 0;
  }
  const port = parsePortOption('port', options.port, 1)!;
  const action = positionals[0];
  if (action === 'start') {
    const broker = await startBroker({
      port,
      advertisedHost: options['advertised-host']!,
      listenHost: options['listen-host']!,
      fresh: options.fresh,
      security: parseOptionWith('security', options.security!, (value) => {
        if (!(BROKER_SECURITY_MODES as readonly string[]).includes(value)) throw new Error(`"${value}" is not a mode; use ${BROKER_SECURITY_MODES.join(' or ')}`);
        return value as BrokerSecurityMode;
      }),
      version: parseOptionWith('kafka-version', options['kafka-version']!, kafkaVersion),
      onProgress: (line) => process.stderr.write(line + '\n'),
    });
    process.stdout.write(`Kafka is ready at ${broker.bootstrap} (pid ${broker.pid}). Stop it with: npm run kafka:stop${port === 9092 ? '' : ` -- --port ${port}`}\n`);
    const c = broker.credentials;
    if (c) {
      const path = (file: string) => relative(process.cwd(), file) || file;
      process.stdout.write(
        `It speaks SASL_SSL only. Clients (lt-agent, lt-orchestrator) connect with:\n` +
          `  --kafka ${broker.bootstrap} --kafka-ca ${path(c.caFile)} --kafka-sasl scram-sha-512 --kafka-user ${c.username} --kafka-password-file ${path(c.passwordFile)}\n` +
          `(scram-sha-256 and plain work too.)\n`,
      );
    }
    return 0;
  }
  if (action === 'stop') {
    const stopped = await stopBroker(brokerStateDir(port));
    process.stdout.write(stopped ? `Stopped the Kafka broker on port ${port}.\n` : `No local Kafka broker was running on port ${port}.\n`);
    return 0;
  }
  throw new UsageError(action ? `unknown action "${action}": use start or stop` : 'say start or stop');
});
