// The product's only door to Kafka: connect, publish, subscribe, close. Everything else speaks
// to the MessageBus interface, so that kafkajs could be swapped for another client by changing
// this file alone.
import { readFileSync } from 'node:fs';
import { Kafka, logLevel as KafkaLogLevel, Partitioners, type Admin, type LogEntry, type Producer, type SASLOptions } from 'kafkajs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { errorMessage, type Logger } from '../common/logger';
import { onlyIfRetriable, retry, type RetryOptions } from '../common/retry';
import { GroupSubscription } from './group-subscription';
import { KafkaAccessError, KafkaUnreachableError } from './kafka-errors';
import { fixKafkajsIdleTimer } from './kafkajs-idle-timer-fix';
import type { BusHealth, MessageBus, SubscribeOptions, Subscription } from './message-bus';


export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** How a cluster is reached beyond PLAINTEXT: TLS, SASL, or both (SASL_SSL). */
export interface KafkaSecurity {
  tls?: {
    /** PEM file of the certificate authority that signed the brokers' certificates (default: the system's). */
    caFile?: string;
    /** Accept any broker certificate: encrypted but not authenticated, for trying things only. */
    insecure?: boolean;
  };
  sasl?: { mechanism: SaslMechanism; username: string; password: string };
}

export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  security?: KafkaSecurity;
  /** How many times a failed connection (and a publish or an admin request) is retried before giving up. */
  connectRetries?: number;
}

export { KafkaAccessError, KafkaUnreachableError } from './kafka-errors';

/** "SASL_SSL (SCRAM-SHA-512 as alice)", for logs and status lines. */
export function describeSecurity(security: KafkaSecurity | undefined): string {
  const protocol = `${security?.sasl ? 'SASL_' : ''}${security?.tls ? 'SSL' : 'PLAINTEXT'}`;
  const details = [
    security?.sasl ? `${security.sasl.mechanism.toUpperCase()} as ${security.sasl.username}` : '',
    security?.tls?.insecure ? 'certificate not verified' : '',
  ].filter(Boolean);
  return details.length ? `${protocol} (${details.join(', ')})` : protocol;
}

function clientSecurity(security: KafkaSecurity | undefined): { ssl?: TlsOptions; sasl?: SASLOptions } {
  const result: { ssl?: TlsOptions; sasl?: SASLOptions } = {};
  if (security?.tls) {
    let ca: string | undefined;
    if (security.tls.caFile) {
      try {
        ca = readFileSync(security.tls.caFile, 'utf8');
      } catch (error) {
        throw new KafkaAccessError(`cannot read the Kafka CA file ${security.tls.caFile}: ${errorMessage(error)}`);
      }
    }
    result.ssl = { ...(ca ? { ca: [ca] } : {}), rejectUnauthorized: !security.tls.insecure };
  }
  if (security?.sasl) {
    const { mechanism, username, password } = security.sasl;
    if (!password) throw new KafkaAccessError(`no SASL password is set for Kafka user ${username}`);
    // kafkajs types each mechanism apart; these three take the same fields.
    result.sasl = { mechanism, username, password } as SASLOptions;
  }
  return result;
}

/** TLS verification failures, as Node names them: the same settings will fail again. */
const TLS_TRUST_CODES = /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|ERR_TLS_CERT_ALTNAME_INVALID|ERR_SSL_)/;

/** Why the brokers refused us, when they did (as opposed to not answering). */
function accessRefusal(error: unknown): string | undefined {
  for (let e = error as { name?: string; code?: string; message?: string; originalError?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; depth++) {
    if (e.name === 'KafkaJSSASLAuthenticationError') return /authentication failed/i.test(e.message ?? '') ? e.message : `SASL authentication failed: ${e.message}`;
    if (e.code && TLS_TRUST_CODES.test(e.code)) return `TLS: the broker's certificate is not trusted (${e.code}): ${e.message}`;
    if (/SASL .*mechanism|Unsupported SASL mechanism|illegal sasl state|UNSUPPORTED_SASL_MECHANISM/i.test(e.message ?? '')) return e.message;
    e = (e.originalError ?? e.cause) as typeof e;
  }
  return undefined;
}

/** Parses "host:port[,host:port]" as given to --kafka or LT_KAFKA. */
export function parseBrokerList(value: string): string[] {
  const brokers = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (brokers.length === 0) throw new Error('no Kafka broker given: expected HOST:PORT');
  for (const broker of brokers) {
    if (!/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/.test(broker)) throw new Error(`"${broker}" is not HOST:PORT (e.g. 127.0.0.1:9092)`);
    const port = Number(broker.slice(broker.lastIndexOf(':') + 1));
    if (port < 1 || port > 65_535) throw new Error(`"${broker}": port ${port} is not from 1 to 65535`);
  }
  return brokers;
}

function kafkaLogCreator(logger: Logger) {
  return () => (entry: LogEntry) => {
    const { message, ...extra } = entry.log;
    const detail = extra.error ? `: ${String(extra.error)}` : '';
    const text = `${message}${detail}`;
    // kafkajs logs at ERROR the failures it is about to retry (e.g. a coordinator not elected
    // yet); the bus's own callers raise the ones that finally fail.
    if (entry.level === KafkaLogLevel.ERROR || entry.level === KafkaLogLevel.WARN) logger.warn(text);
    else if (entry.level === KafkaLogLevel.INFO) logger.info(text);
    else logger.debug(text);
  };
}

/**
 * Errors Kafka marks as passing, such as "not the leader" while a new topic's leadership settles,
 * which some kafkajs admin calls hand back instead of retrying: tried again for up to 10 s.
 */
const WHILE_RETRIABLE: RetryOptions = { firstDelayMs: 250, attempts: 40, retriable: onlyIfRetriable };


export class KafkaBus implements MessageBus {
  private readonly subscriptions = new Set<GroupSubscription>();
  private closed = false;
  private healthState: BusHealth;

  private constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly admin: Admin,
    private readonly logger: Logger,
    readonly brokers: string[],
    readonly security: KafkaSecurity | undefined,
  ) {
    this.healthState = { reachable: true, since: Date.now() };
  }

  static async connect(options: KafkaBusOptions): Promise<KafkaBus> {
    fixKafkajsIdleTimer();
    const logger = options.logger;
    const client = {
      clientId: options.clientId,
      brokers: options.brokers,
      ...clientSecurity(options.security),
      connectionTimeout: 3000,
      logLevel: KafkaLogLevel.WARN,
      logCreator: kafkaLogCreator(logger.child('kafka')),
    };
    const kafka = new Kafka({ ...client, retry: { initialRetryTime: 250, retries: options.connectRetries ?? 5 } });
    // Consumers keep kafkajs' retries whatever `connectRetries` says: a consumer that runs out
    // of them stops, and although its subscription starts another, a broker that blinks (a
    // group coordinator not elected yet on a fresh or restarting broker) should not cost a
    // rejoin. (Retries are set per client, so they get their own.)
    const consuming = new Kafka({ ...client, retry: { initialRetryTime: 250, retries: 5 } });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    const admin = kafka.admin();
    try {
      await admin.connect();
      await producer.connect();
    } catch (error) {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      const refusal = accessRefusal(error);
      const where = `Kafka at ${options.brokers.join(',')} over ${describeSecurity(options.security)}`;
      if (refusal) throw new KafkaAccessError(`${where} refused this client: ${refusal}`);
      // A TLS listener hangs up on a client that speaks plaintext to it.
      const tlsHint = !options.security?.tls && /closed connection/i.test(errorMessage(error)) ? ' (if its listener is SSL or SASL_SSL, connect with TLS)' : '';
      throw new KafkaUnreachableError(`cannot reach ${where}: ${errorMessage(error)}${tlsHint}`);
    }
    return new KafkaBus(consuming, producer, admin, logger, options.brokers, options.security);
  }

  /** Creates the topics that do not exist yet; safe to call from several processes at once. */
  async ensureTopics(topics: string[]): Promise<void> {
    const existing = new Set(await this.admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    try {
      await this.admin.createTopics({ topics: missing.map((topic) => ({ topic })), waitForLeaders: true });
    } catch (error) {
      // Another process may have created them between our listing and our request.
      const still = new Set(await this.admin.listTopics());
      if (missing.some((t) => !still.has(t))) throw error;
    }
  }

  async publish(topic: string, value: string, key?: string): Promise<void> {
    await this.producer.send({ topic, messages: [{ key, value }] });
  }

  /** Many messages to one topic in one request (the benchmark's simulated fleet speaks for hundreds of drivers at once). */
  async publishBatch(topic: string, messages: { key?: string; value: string }[]): Promise<void> {
    await this.producer.send({ topic, messages });
  }

  async endOffsets(topic: string): Promise<Record<number, string>> {
    const ends = await retry(() => this.admin.fetchTopicOffsets(topic), WHILE_RETRIABLE);
    return Object.fromEntries(ends.map((p) => [p.partition, p.high]));
  }

  /**
   * Whether every subscription hears the broker (see GroupSubscription.deafSince). One deaf
   * subscription is enough to be unreachable: an orchestrator whose heartbeats consumer has
   * stopped must not judge drivers lost because its figures consumer still reads.
   */
  health(): BusHealth {
    const deafSince = this.deafSince();
    if (deafSince !== undefined && this.healthState.reachable) this.healthState = { reachable: false, since: deafSince };
    else if (deafSince === undefined && !this.healthState.reachable) this.healthState = { reachable: true, since: Date.now() };
    return this.healthState;
  }

  /** When the longest deaf subscription last heard the broker, if one is deaf. */
  private deafSince(): number | undefined {
    const now = Date.now();
    let since: number | undefined;
    for (const subscription of this.subscriptions) {
      const deaf = subscription.deafSince(now);
      if (deaf !== undefined && (since === undefined || deaf < since)) since = deaf;
    }
    return since;
  }

  private heard(): void {
    if (!this.healthState.reachable && this.deafSince() === undefined) this.healthState = { reachable: true, since: Date.now() };
  }

  /**
   * Joins a consumer group and resolves once the group is joined and the start positions are
   * set. For `from: 'now'`, the end of each partition is read before joining and the consumer is
   * moved there explicitly, so that no message published after subscribe() was called can be
   * missed while the group forms. The subscription then outlives its consumer (see
   * GroupSubscription): whenever one stops, another takes its place until close().
   */
  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const next = new Map<string, Map<number, bigint>>();
    for (const { topic, from } of options.topics) {
      if (from === 'beginning') continue;
      const offsets = from === 'now' ? await this.endOffsets(topic) : from.offsets;
      next.set(topic, new Map(Object.entries(offsets).map(([p, o]) => [Number(p), BigInt(o)])));
    }
    const subscription = new GroupSubscription(this.kafka, options, next, this.logger.child(options.groupId), {
      heard: () => this.heard(),
      closed: (s) => this.subscriptions.delete(s),
    });
    await subscription.open(this.brokers);
    if (this.closed) {
      await subscription.close();
      throw new Error(`the Kafka connection was closed while consumer group ${options.groupId} was joining`);
    }
    this.subscriptions.add(subscription);
    return subscription;
  }

  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const leave = (async () => {
      await Promise.allSettled([...this.subscriptions].map((s) => s.close()));
      await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
    })();
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = await Promise.race([leave.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs)))]);
    clearTimeout(timer);
    if (gaveUp) this.logger.warn(`left Kafka without a goodbye: the broker did not answer within ${timeoutMs / 1000} s`);
  }
}
