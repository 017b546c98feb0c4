// The product's only door to Kafka: connect, publish, subscribe, close. Everything else speaks
// to the MessageBus interface, so that kafkajs could be swapped for another client by changing
// this file alone.
import { Kafka, logLevel as KafkaLogLevel, Partitioners, type Admin, type Consumer, type Producer, type LogEntry } from 'kafkajs';
import { errorMessage, type Logger } from '../common/logger';
import type { BusHealth, MessageBus, SubscribeOptions, Subscription } from './message-bus';


export interface KafkaBusOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** How many times a failed connection is retried before connect() gives up. */
  connectRetries?: number;
}

export class KafkaUnreachableError extends Error {}

/** Parses "host:port[,host:port]" as given to --kafka or LT_KAFKA. */
export function parseBrokerList(value: string): string[] {
  const brokers = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (brokers.length === 0) throw new Error('no Kafka broker given: expected HOST:PORT');
  for (const broker of brokers) {
    if (!/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/.test(broker)) throw new Error(`"${broker}" is not HOST:PORT (e.g. 127.0.0.1:9092)`);
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
 * Retries errors Kafka marks as passing, such as "not the leader" while a new topic's leadership
 * settles, which some kafkajs admin calls hand back instead of retrying.
 */
async function retryWhileRetriable<T>(operation: () => Promise<T>, attempts = 40, delayMs = 250): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= attempts || !(error as { retriable?: boolean }).retriable) throw error;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

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
  ) {
    this.lastHeardAt = Date.now();
    this.healthState = { reachable: true, since: this.lastHeardAt };
  }

  static async connect(options: KafkaBusOptions): Promise<KafkaBus> {
    const logger = options.logger;
    const kafka = new Kafka({
      clientId: options.clientId,
      brokers: options.brokers,
      connectionTimeout: 3000,
      retry: { initialRetryTime: 250, retries: options.connectRetries ?? 5 },
      logLevel: KafkaLogLevel.WARN,
      logCreator: kafkaLogCreator(logger.child('kafka')),
    });
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    const admin = kafka.admin();
    try {
      await admin.connect();
      await producer.connect();
    } catch (error) {
      await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
      throw new KafkaUnreachableError(`cannot reach Kafka at ${options.brokers.join(',')}: ${errorMessage(error)}`);
    }
    return new KafkaBus(kafka, producer, admin, logger, options.brokers);
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

  async endOffsets(topic: string): Promise<Record<number, string>> {
    const ends = await retryWhileRetriable(() => this.admin.fetchTopicOffsets(topic));
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
