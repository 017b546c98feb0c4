// The product's only door to Kafka: connect, publish, subscribe, close. Everything else speaks
// to the MessageBus interface, so that kafkajs could be swapped for another client by changing
// this file alone.
import { readFileSync } from 'node:fs';
import { Kafka, logLevel as KafkaLogLevel, Partitioners, type Admin, type Consumer, type EachMessagePayload, type LogEntry, type Producer, type SASLOptions } from 'kafkajs';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import { errorMessage, type Logger } from '../common/logger';
import { onlyIfRetriable, retry, RetryStopped, type RetryOptions } from '../common/retry';
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
 * complete several times a second even when no message flows. A subscription without one for
 * this long cannot hear the broker, and neither can this process.
 */
const MAX_WAIT_MS = 250;
const DEAF_AFTER_MS = 2000;
/** How long a new consumer may take to join its group, on subscribe() and on each restart. */
const JOIN_TIMEOUT_MS = 60_000;
/** The waits between starts of a subscription's consumer: 1 s, doubling, at most 10 s. */
const RESTART_BACKOFF: RetryOptions = { firstDelayMs: 1000, maxDelayMs: 10_000, retriable: () => true };

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
   * Whether every subscription has heard the broker within DEAF_AFTER_MS. One deaf subscription
   * is enough to be unreachable: an orchestrator whose heartbeats consumer has stopped must not
   * judge drivers lost because its figures consumer still reads.
   */
  health(): BusHealth {
    const deafSince = this.deafSince();
    if (deafSince !== undefined && this.healthState.reachable) this.healthState = { reachable: false, since: deafSince };
    else if (deafSince === undefined && !this.healthState.reachable) this.healthState = { reachable: true, since: Date.now() };
    return this.healthState;
  }

  /** When the longest silent subscription last heard the broker, if it has been silent too long. */
  private deafSince(): number | undefined {
    const now = Date.now();
    let since: number | undefined;
    for (const { lastHeardAt } of this.subscriptions) {
      if (now - lastHeardAt > DEAF_AFTER_MS && (since === undefined || lastHeardAt < since)) since = lastHeardAt;
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

/**
 * One subscription: a kafkajs consumer in its group, and a new one in its place whenever that
 * one stops, for as long as the subscription is open.
 *
 * kafkajs restarts a crashed consumer by itself only after errors it marks retriable. Others end
 * it for good, and `restartOnFailure` is never asked about them: "Failed to find group
 * coordinator", for one, is what its coordinator lookup throws once its own retries run out (a
 * broker that is down, restarting, or slow to load its groups; or this process starved of CPU),
 * and a process that met it stayed deaf to the subscription's topics. So kafkajs is told never
 * to restart (`restartOnFailure` answers false for the errors it does ask about), and every stop
 * comes here: a new consumer in the same group, for the same topics, started with a backoff and
 * moved to where this subscription's handler left off.
 */
class GroupSubscription implements Subscription {
  private state: 'starting' | 'consuming' | 'restarting' | 'closed' = 'starting';
  /** the consumer started last: the one that delivers, and the one close() stops */
  private consumer: Consumer | undefined;
  /** epoch ms of this subscription's last fetch (or of its join, before the first) */
  lastHeardAt = Date.now();
  private readonly closing = new AbortController();
  private restarting: Promise<void> | undefined;
  private closed: Promise<void> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly options: SubscribeOptions,
    /**
     * The next offset to hand over, per topic and partition: the start positions, then one past
     * each message handed over. Every consumer is moved there when it joins, so a new one neither
     * skips what was published while none ran (the group may have committed no offset yet, and a
     * 'now' topic would then start at its end) nor hands over again what an earlier one did (its
     * last offsets may not have been committed).
     */
    private readonly next: Map<string, Map<number, bigint>>,
    private readonly log: Logger,
    private readonly bus: { heard(): void; closed(subscription: GroupSubscription): void },
  ) {}

  /** Starts the first consumer: throws if none has joined the group within JOIN_TIMEOUT_MS. */
  async open(brokers: string[]): Promise<void> {
    const deadline = AbortSignal.timeout(JOIN_TIMEOUT_MS);
    let lastFailure: unknown;
    try {
      await retry(() => this.startConsumer(deadline), {
        ...RESTART_BACKOFF,
        retriable: () => !deadline.aborted,
        signal: deadline,
        onRetry: (error, failures, delayMs) => {
          lastFailure = error;
          this.log.warn(`consumer did not join (attempt ${failures}): ${errorMessage(error)}; trying again in ${delayMs / 1000} s`);
        },
      });
    } catch (error) {
      this.state = 'closed';
      const why = deadline.aborted ? (lastFailure === undefined ? '' : `; last: ${errorMessage(lastFailure)}`) : `: ${errorMessage(error)}`;
      throw new KafkaUnreachableError(`could not join consumer group ${this.options.groupId} on ${brokers.join(',')} within ${JOIN_TIMEOUT_MS / 1000} s${why}`);
    }
    this.lastHeardAt = Date.now();
  }

  close(): Promise<void> {
    if (this.closed) return this.closed;
    this.state = 'closed';
    this.bus.closed(this);
    this.closing.abort();
    this.closed = Promise.allSettled([this.consumer?.disconnect(), this.restarting]).then(() => {});
    return this.closed;
  }

  /**
   * Starts a consumer and resolves once it has joined the group; rejects if it stops first, or
   * after JOIN_TIMEOUT_MS, or when `signal` aborts, having disconnected it. It is the current
   * consumer from the start, so that close() stops it midway. The positions are set when the
   * group is joined, not before: a just-started broker may answer the first JoinGroup with
   * "coordinator loading", and kafkajs seeks only for a member.
   */
  private async startConsumer(signal: AbortSignal): Promise<void> {
    const { groupId, topics } = this.options;
    const consumer = this.kafka.consumer({
      groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: MAX_WAIT_MS,
      allowAutoTopicCreation: false,
      // kafkajs merges this with the client's retries; a stop is handled by stopped() below.
      retry: { restartOnFailure: async () => false },
    });
    this.consumer = consumer;
    let member = false;
    const joined = new Promise<void>((resolve, reject) => {
      consumer.on(consumer.events.GROUP_JOIN, () => {
        try {
          for (const [topic, partitions] of this.next) for (const [partition, offset] of partitions) consumer.seek({ topic, partition, offset: offset.toString() });
        } catch (error) {
          reject(error);
          return;
        }
        member = true;
        if (consumer === this.consumer && this.state !== 'closed') this.state = 'consuming';
        resolve();
      });
      consumer.on(consumer.events.CRASH, ({ payload }) => {
        if (member) this.stopped(consumer, payload.error);
        else reject(payload.error);
      });
    });
    joined.catch(() => {}); // a stop can come before the join is awaited below
    consumer.on(consumer.events.FETCH, () => {
      if (consumer === this.consumer) this.heard();
    });
    try {
      await consumer.connect();
      signal.throwIfAborted();
      for (const { topic, from } of topics) await consumer.subscribe({ topic, fromBeginning: from === 'beginning' });
      signal.throwIfAborted();
      await consumer.run({ eachMessage: (payload) => this.deliver(consumer, payload) });
      await settledWithin(joined, JOIN_TIMEOUT_MS, signal, `not a member of group ${groupId} after ${JOIN_TIMEOUT_MS / 1000} s`);
    } catch (error) {
      await consumer.disconnect().catch(() => {});
      throw error;
    }
  }

  private async deliver(consumer: Consumer, { topic, partition, message }: EachMessagePayload): Promise<void> {
    if (consumer !== this.consumer) return; // one being replaced hands nothing more over
    this.heard();
    let partitions = this.next.get(topic);
    if (!partitions) this.next.set(topic, (partitions = new Map()));
    const offset = BigInt(message.offset);
    const next = partitions.get(partition);
    if (next !== undefined && offset < next) return; // before the start, or handed over already
    // Moved on before the handler runs: a consumer that replaces this one mid-message resumes after it.
    partitions.set(partition, offset + 1n);
    try {
      await this.options.onMessage({ topic, partition, offset: message.offset, value: message.value, timestamp: Number(message.timestamp) });
    } catch (error) {
      this.log.error(`handler failed on ${topic}[${partition}]@${message.offset}: ${errorMessage(error)}`);
    }
  }

  private heard(): void {
    this.lastHeardAt = Date.now();
    this.bus.heard();
  }

  /** The current consumer stopped after joining (kafkajs has disconnected it): start another. */
  private stopped(consumer: Consumer, error: unknown): void {
    if (consumer !== this.consumer || this.state !== 'consuming') return;
    this.state = 'restarting';
    this.log.error(`consumer stopped: ${errorMessage(error)}; starting a new one in the same group`);
    this.restarting = this.restart(Date.now());
  }

  /** Starts consumers, with a backoff, until one joins or the subscription is closed. */
  private async restart(stoppedAt: number): Promise<void> {
    const { signal } = this.closing;
    const first = RESTART_BACKOFF.firstDelayMs;
    try {
      // A first wait too: a consumer that stops as soon as it has joined must not be replaced in a loop.
      await pause(first, signal);
      const attempts = await retry(
        async (attempt) => {
          await this.startConsumer(signal);
          return attempt;
        },
        {
          ...RESTART_BACKOFF,
          firstDelayMs: first * 2,
          retriable: () => !signal.aborted,
          signal,
          onRetry: (error, failures, delayMs) => this.log.warn(`new consumer failed (attempt ${failures}): ${errorMessage(error)}; next in ${delayMs / 1000} s`),
        },
      );
      this.log.warn(`consuming again after ${attempts} attempt${attempts === 1 ? '' : 's'}, ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s after the stop`);
    } catch {
      // Only closing the subscription ends the attempts (retry() then throws RetryStopped).
    }
  }
}

/** Resolves as `promise` does, or rejects after `ms` or when `signal` aborts. */
function settledWithin(promise: Promise<void>, ms: number, signal: AbortSignal, timeoutMessage: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (then: () => void) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      then();
    };
    const onAbort = () => settle(() => reject(signal.reason));
    const timer = setTimeout(() => settle(() => reject(new KafkaUnreachableError(timeoutMessage))), ms);
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      () => settle(resolve),
      (error: unknown) => settle(() => reject(error)),
    );
  });
}

/** Resolves after `ms`, or as soon as `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
