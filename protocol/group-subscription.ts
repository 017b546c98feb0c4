// One subscription to Kafka topics in a consumer group, which outlives the kafkajs consumer that
// serves it: whenever one stops, another takes its place where the handler left off.
import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import { errorMessage, type Logger } from '../common/logger';
import { retry, type RetryOptions } from '../common/retry';
import { KafkaUnreachableError } from './kafka-errors';
import type { SubscribeOptions, Subscription } from './message-bus';

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
export class GroupSubscription implements Subscription {
  private state: 'starting' | 'consuming' | 'restarting' | 'closed' = 'starting';
  /** the consumer started last: the one that delivers, and the one close() stops */
  private consumer: Consumer | undefined;
  /** epoch ms of this subscription's last fetch (or of its join, before the first) */
  private lastHeardAt = Date.now();
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

  /**
   * When this subscription last heard the broker, if it cannot hear it now: no fetch for
   * DEAF_AFTER_MS, or no consumer at all (the last one stopped, and kafkajs may stop one within a
   * second of its last fetch when the broker goes away).
   */
  deafSince(now: number): number | undefined {
    if (this.state === 'restarting' || now - this.lastHeardAt > DEAF_AFTER_MS) return this.lastHeardAt;
    return undefined;
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
