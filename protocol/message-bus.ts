// What the agent and the orchestrator need of a message broker, and nothing more. KafkaBus is the
// real one; unit tests pass a fake that records what was published and delivers what they say.
import type { KafkaSecurity } from './kafka-bus';

export interface BusMessage {
  topic: string;
  partition: number;
  offset: string;
  value: Buffer | null;
  /** epoch milliseconds, the broker's record timestamp */
  timestamp: number;
}

/**
 * Where a subscription starts: every message the topic still holds, only those published from
 * now on, or given offsets per partition (to read a test's reports again after a restart).
 */
export type StartPosition = 'beginning' | 'now' | { offsets: Record<number, string> };

export interface SubscribeOptions {
  groupId: string;
  topics: { topic: string; from: StartPosition }[];
  /** Called once per message, in order per partition. A throw is logged; the consumer goes on. */
  onMessage: (message: BusMessage) => void | Promise<void>;
}

export interface Subscription {
  close(): Promise<void>;
}

/**
 * Whether this process can hear the broker now. `since` is when the current state began (epoch
 * ms). While it cannot, silence from others means nothing: no driver may be judged lost.
 */
export interface BusHealth {
  reachable: boolean;
  since: number;
}

export interface MessageBus {
  readonly brokers: string[];
  /** how the cluster is reached beyond PLAINTEXT (for hints that tell agents to do the same) */
  readonly security?: KafkaSecurity;
  ensureTopics(topics: string[]): Promise<void>;
  publish(topic: string, value: string, key?: string): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  /** The next offset of each partition of `topic` (where a message published now would land). */
  endOffsets(topic: string): Promise<Record<number, string>>;
  health(): BusHealth;
  /** Leaves every consumer group and disconnects; gives up after `timeoutMs` (a broker that is gone cannot be said goodbye to). */
  close(timeoutMs?: number): Promise<void>;
}
