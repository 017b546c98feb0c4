// The product's only door to Kafka: connect, publish, subscribe, close. Everything else speaks
// to this module, so that kafkajs could be swapped for another client by changing this file alone.
import { Kafka, logLevel as KafkaLogLevel, Partitioners, type Admin, type Consumer, type Producer, type LogEntry } from 'kafkajs';
import { errorMessage, type Logger } from '../common/logger';

export interface BusMessage {
  topic: string;
  partition: number;
  offset: string;
  value: Buffer | null;
  /** epoch milliseconds, the broker's record timestamp */
  timestamp: number;
}

/** Where a subscription starts: every message the topic still holds, or only those published from now on. */
export type StartPosition = 'beginning' | 'now';

export interface SubscribeOptions {
  groupId: string;
  topics: { topic: string; from: StartPosition }[];
  /** Called once per message, in order per partition. A throw is logged; the consumer goes on. */
  onMessage: (message: BusMessage) => void | Promise<void>;
}

export interface Subscription {
  close(): Promise<void>;
}

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

export class KafkaBus {
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  private constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly admin: Admin,
    private readonly logger: Logger,
    readonly brokers: string[],
  ) {}

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

  /**
   * Joins a consumer group and resolves once messages flow. For `from: 'now'`, the end of each
   * partition is read before joining and the consumer is moved there explicitly, so that no
   * message published after subscribe() was called can be missed while the group forms.
   */
  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const consumer: Consumer = this.kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 250,
      allowAutoTopicCreation: false,
    });
    const startAt = new Map<string, Map<number, bigint>>();
    for (const { topic, from } of options.topics) {
      if (from !== 'now') continue;
      const ends = await retryWhileRetriable(() => this.admin.fetchTopicOffsets(topic));
      startAt.set(topic, new Map(ends.map((p) => [p.partition, BigInt(p.high)])));
    }
    const log = this.logger.child(options.groupId);
    consumer.on(consumer.events.CRASH, (event) => {
      log.warn(`consumer stopped: ${String(event.payload.error)}${event.payload.restart ? '; restarting' : ''}`);
    });
    await consumer.connect();
    for (const { topic, from } of options.topics) await consumer.subscribe({ topic, fromBeginning: from === 'beginning' });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const first = startAt.get(topic)?.get(partition);
        if (first !== undefined && BigInt(message.offset) < first) return;
        try {
          await options.onMessage({ topic, partition, offset: message.offset, value: message.value, timestamp: Number(message.timestamp) });
        } catch (error) {
          log.error(`handler failed on ${topic}[${partition}]@${message.offset}: ${errorMessage(error)}`);
        }
      },
    });
    for (const [topic, partitions] of startAt) {
      for (const [partition, offset] of partitions) consumer.seek({ topic, partition, offset: offset.toString() });
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

  /** Leaves every consumer group cleanly and disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.subscriptions].map((s) => s.close()));
    await Promise.allSettled([this.producer.disconnect(), this.admin.disconnect()]);
  }
}
