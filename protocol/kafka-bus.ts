// The product's only door to Kafka: connect, publish, subscribe, close. Everything else speaks
// to the MessageBus interface, so that kafkajs could be swapped for another client by changing
// this file alone.
import { readFileSync } from 'node:fs';
import { Kafka, logLevel as KafkaLogLevel, Partitioners, type Admin, type Consumer, type Producer, type LogEntry, type SASLOptions } from 'kafkajs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { errorMessage, type Logger } from '../common/logger';
import { onlyIfRetriable, retry, type RetryOptions } from '../common/retry';
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

/** No broker answered: the same settings may work once one does. */
export class KafkaUnreachableError extends Error {
  readonly retriable = true;
}

/**
 * The brokers answered but refused us (bad credentials, a certificate we do not trust, a mechanism
 * the listener does not offer): retrying the same settings cannot help.
 */
export class KafkaAccessError extends Error {
  readonly retriable = false;
}

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

/**
 * A consumer long-polls the broker every MAX_WAIT_MS, so while the broker answers, fetches
 * complete several times a second even when no message flows. Without one for this long, this
 * process cannot hear the broker.
 */
const MAX_WAIT_MS = 250;
const DEAF_AFTER_MS = 2000;
/** How long subscribe() waits for the consumer group to be joined. */
const JOIN_TIMEOUT_MS = 60_000;

export class KafkaBus implements MessageBus {
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;
  private lastHeardAt: number;
  private healthState: BusHealth;

  private constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly admin: Admin,
    private readonly logger: Logger,
    readonly brokers: string[],
    readonly security: KafkaSecurity | undefined,
  ) {
    this.lastHeardAt = Date.now();
    this.healthState = { reachable: true, since: this.lastHeardAt };
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
    // Consumers keep kafkajs' retries whatever `connectRetries` says: with none, a consumer that
    // meets a group coordinator not elected yet (a fresh or restarting broker) stops for good, as
    // kafkajs marks that error not retriable. (Retries are set per client, so they get their own.)
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

  health(): BusHealth {
    if (this.subscriptions.size > 0 && this.healthState.reachable && Date.now() - this.lastHeardAt > DEAF_AFTER_MS) {
      this.healthState = { reachable: false, since: this.lastHeardAt };
    }
    return this.healthState;
  }

  private heard(): void {
    this.lastHeardAt = Date.now();
    if (!this.healthState.reachable) this.healthState = { reachable: true, since: this.lastHeardAt };
  }

  /**
   * Joins a consumer group and resolves once the group is joined and the start positions are
   * set. For `from: 'now'`, the end of each partition is read before joining and the consumer is
   * moved there explicitly, so that no message published after subscribe() was called can be
   * missed while the group forms. Seeking waits for the join: a just-started broker may answer the
   * first JoinGroup with "coordinator loading", and the consumer restarts before it is a member.
   */
  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const consumer: Consumer = this.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: MAX_WAIT_MS,
      allowAutoTopicCreation: false,
    });
    const startAt = new Map<string, Map<number, bigint>>();
    for (const { topic, from } of options.topics) {
      if (from === 'beginning') continue;
      const offsets = from === 'now' ? await this.endOffsets(topic) : from.offsets;
      startAt.set(topic, new Map(Object.entries(offsets).map(([p, o]) => [Number(p), BigInt(o)])));
    }
    const log = this.logger.child(options.groupId);
    let seekPending = startAt.size > 0;
    let joined!: () => void;
    const joinedOnce = new Promise<void>((resolve) => (joined = resolve));
    const seekAll = () => {
      for (const [topic, partitions] of startAt) for (const [partition, offset] of partitions) consumer.seek({ topic, partition, offset: offset.toString() });
    };
    consumer.on(consumer.events.GROUP_JOIN, () => {
      if (seekPending) {
        try {
          seekAll();
        } catch (error) {
          log.warn(`could not set the start positions yet: ${errorMessage(error)}`);
          return;
        }
      }
      joined();
    });
    // A fetch applies pending seeks before it reads; once one completes, the positions are committed.
    consumer.on(consumer.events.FETCH, () => {
      seekPending = false;
      this.heard();
    });
    consumer.on(consumer.events.CRASH, (event) => {
      const restart = event.payload.restart;
      (restart ? log.warn : log.error).call(log, `consumer stopped: ${String(event.payload.error)}${restart ? '; restarting' : '; it will not restart'}`);
    });
    await consumer.connect();
    for (const { topic, from } of options.topics) await consumer.subscribe({ topic, fromBeginning: from === 'beginning' });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        this.heard();
        const first = startAt.get(topic)?.get(partition);
        if (first !== undefined && BigInt(message.offset) < first) return;
        try {
          await options.onMessage({ topic, partition, offset: message.offset, value: message.value, timestamp: Number(message.timestamp) });
        } catch (error) {
          log.error(`handler failed on ${topic}[${partition}]@${message.offset}: ${errorMessage(error)}`);
        }
      },
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), JOIN_TIMEOUT_MS)));
    const failed = await Promise.race([joinedOnce.then(() => false), timedOut]);
    clearTimeout(timer);
    if (failed) {
      await consumer.disconnect().catch(() => {});
      throw new KafkaUnreachableError(`could not join consumer group ${options.groupId} on ${this.brokers.join(',')} within ${JOIN_TIMEOUT_MS / 1000} s`);
    }
    const subscription: Subscription = {
      close: async () => {
        this.subscriptions.delete(subscription);
        await consumer.disconnect();
      },
    };
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
