// How a command line says which Kafka cluster to use and how to reach it: the same flags and
// environment variables on lt-agent and lt-orchestrator, read into the Kafka module's settings.
// A password comes from a file or the environment, never from a flag, where `ps` would show it.
import { readFileSync } from 'node:fs';
import { UsageError } from '../common/cli-options';
import { parseBrokerList, SASL_MECHANISMS, type KafkaSecurity, type SaslMechanism } from './kafka-bus';

export const KAFKA_OPTIONS = {
  kafka: { type: 'string', value: 'HOST:PORT', default: '127.0.0.1:9092', env: 'LT_KAFKA', description: 'Kafka bootstrap server(s), comma-separated.' },
  'kafka-tls': { type: 'boolean', env: 'LT_KAFKA_TLS', description: 'Connect to Kafka over TLS (SSL or SASL_SSL listeners).' },
  'kafka-ca': {
    type: 'string',
    value: 'FILE',
    env: 'LT_KAFKA_CA',
    description: 'PEM file of the certificate authority that signed the brokers’ certificates (implies --kafka-tls; default: the system’s authorities).',
  },
  'kafka-tls-insecure': {
    type: 'boolean',
    env: 'LT_KAFKA_TLS_INSECURE',
    description: 'Accept any broker certificate (implies --kafka-tls): encrypted but not authenticated; for trying things only.',
  },
  'kafka-sasl': { type: 'string', value: 'MECHANISM', env: 'LT_KAFKA_SASL', description: `SASL mechanism: ${SASL_MECHANISMS.join(', ')}.` },
  'kafka-user': { type: 'string', value: 'USER', env: 'LT_KAFKA_USER', description: 'SASL user name.' },
  'kafka-password-file': {
    type: 'string',
    value: 'FILE',
    env: 'LT_KAFKA_PASSWORD_FILE',
    description: 'File holding the SASL password (or LT_KAFKA_PASSWORD).',
  },
} as const;

export interface KafkaOptionValues {
  kafka?: string;
  'kafka-tls'?: boolean;
  'kafka-ca'?: string;
  'kafka-tls-insecure'?: boolean;
  'kafka-sasl'?: string;
  'kafka-user'?: string;
  'kafka-password-file'?: string;
}

export interface KafkaConnectionSettings {
  brokers: string[];
  security?: KafkaSecurity;
  /** allowed but unwise choices, for the command to log */
  warnings: string[];
}

export function parseSaslMechanism(value: string): SaslMechanism {
  const mechanism = value.trim().toLowerCase();
  if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) throw new Error(`"${value}" is not a SASL mechanism this client speaks; use ${SASL_MECHANISMS.join(', ')}`);
  return mechanism as SaslMechanism;
}

/** The brokers and security the flags (or their variables) name; a usage error names the flag at fault. */
export function readKafkaOptions(options: KafkaOptionValues, env: NodeJS.ProcessEnv = process.env): KafkaConnectionSettings {
  let brokers: string[];
  try {
    brokers = parseBrokerList(options.kafka ?? '127.0.0.1:9092');
  } catch (error) {
    throw new UsageError(`--kafka: ${(error as Error).message}`);
  }
  const security: KafkaSecurity = {};
  const warnings: string[] = [];
  if (options['kafka-tls-insecure']) warnings.push('--kafka-tls-insecure: the brokers\' certificates are not verified; anyone on the path can pose as the cluster');
  if (options['kafka-tls'] || options['kafka-ca'] || options['kafka-tls-insecure']) {
    if (options['kafka-ca'] && options['kafka-tls-insecure']) throw new UsageError('--kafka-ca and --kafka-tls-insecure contradict each other: give the CA to verify the brokers, or nothing to skip verification');
    security.tls = { caFile: options['kafka-ca'], insecure: options['kafka-tls-insecure'] || undefined };
  }
  const user = options['kafka-user'];
  const passwordFile = options['kafka-password-file'];
  if (options['kafka-sasl']) {
    let mechanism: SaslMechanism;
    try {
      mechanism = parseSaslMechanism(options['kafka-sasl']);
    } catch (error) {
      throw new UsageError(`--kafka-sasl: ${(error as Error).message}`);
    }
    if (!user) throw new UsageError(`--kafka-sasl ${mechanism} needs --kafka-user (or LT_KAFKA_USER)`);
    let password: string | undefined;
    if (passwordFile) {
      try {
        password = readFileSync(passwordFile, 'utf8').replace(/\r?\n$/, '');
      } catch (error) {
        throw new UsageError(`--kafka-password-file: cannot read ${passwordFile}: ${(error as Error).message}`);
      }
    } else password = env.LT_KAFKA_PASSWORD;
    if (!password) throw new UsageError(`--kafka-sasl ${mechanism} needs a password: --kafka-password-file FILE or LT_KAFKA_PASSWORD`);
    // Allowed (SASL_PLAINTEXT listeners exist), but the password crosses the network in clear.
    if (!security.tls && mechanism === 'plain') warnings.push('--kafka-sasl plain without --kafka-tls sends the Kafka password unencrypted');
    security.sasl = { mechanism, username: user, password };
  } else if (user || passwordFile) {
    throw new UsageError(`${user ? '--kafka-user' : '--kafka-password-file'} is given without --kafka-sasl: say which mechanism (${SASL_MECHANISMS.join(', ')})`);
  }
  return { brokers, security: security.tls || security.sasl ? security : undefined, warnings };
}

/** The flags that reach the same cluster the same way, for "start an agent with: …" hints (never the password). */
export function kafkaFlags(brokers: string[], security: KafkaSecurity | undefined): string {
  const flags = [`--kafka ${brokers.join(',')}`];
  if (security?.tls) {
    if (security.tls.caFile) flags.push(`--kafka-ca ${security.tls.caFile}`);
    else if (security.tls.insecure) flags.push('--kafka-tls-insecure');
    else flags.push('--kafka-tls');
  }
  if (security?.sasl) flags.push(`--kafka-sasl ${security.sasl.mechanism} --kafka-user ${security.sasl.username} --kafka-password-file PASSWORD_FILE`);
  return flags.join(' ');
}
