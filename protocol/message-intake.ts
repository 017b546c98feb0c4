// Routes raw Kafka messages to typed handlers through the tolerant parsers. A message that is not
// JSON or not of its topic's shape is logged with the reason and skipped; it never throws into
// the consumer. Warnings are limited per topic so that a flood of bad messages cannot drown the log.
// A message whose sender's identity breaks the rule (wire-protocol.ts, IDENTITY_RULE) is refused:
// counted by kind, warned of once per kind, and never handed on, so it can never be listed.
import type { Logger } from '../common/logger';
import type { BusMessage } from './message-bus';
import { PARSERS, TOPIC_KEYS, type IdentityRefusal, type MessageByTopic, type TopicKey, type TopicNames } from './wire-protocol';

export type TopicHandlers = { [K in TopicKey]?: (message: MessageByTopic[K], raw: BusMessage) => void | Promise<void> };

const WARNINGS_PER_WINDOW = 5;
const WINDOW_MS = 10_000;

export class MessageIntake {
  readonly skipped = Object.fromEntries(TOPIC_KEYS.map((key) => [key, 0])) as Record<TopicKey, number>;
  /** well-formed messages handed to their handler, per topic */
  readonly received = Object.fromEntries(TOPIC_KEYS.map((key) => [key, 0])) as Record<TopicKey, number>;
  /** messages refused for their sender's identity, by what was wrong (also counted in `skipped`) */
  readonly refused: Record<IdentityRefusal, number> = { node_id: 0, node_IP: 0 };
  /** the last offset read, per topic and partition (whatever its content), for consumer lag */
  readonly positions = new Map<TopicKey, Map<number, bigint>>();
  private readonly keyByTopic = new Map<string, TopicKey>();
  private readonly window = new Map<TopicKey, { start: number; warned: number; suppressed: number }>();

  constructor(
    topics: TopicNames,
    private readonly handlers: TopicHandlers,
    private readonly logger: Logger,
  ) {
    for (const key of TOPIC_KEYS) this.keyByTopic.set(topics[key], key);
  }

  readonly accept = async (raw: BusMessage): Promise<void> => {
    const key = this.keyByTopic.get(raw.topic);
    if (!key) return;
    let partitions = this.positions.get(key);
    if (!partitions) this.positions.set(key, (partitions = new Map()));
    partitions.set(raw.partition, BigInt(raw.offset));
    const handler = this.handlers[key] as ((m: unknown, r: BusMessage) => void | Promise<void>) | undefined;
    if (!handler) return;
    const parsed = PARSERS[key](raw.value, raw);
    if (!parsed.ok) {
      if (parsed.refused) this.refuse(key, raw, parsed.refused, parsed.reason);
      else this.skip(key, raw, parsed.reason);
      return;
    }
    for (const note of parsed.notes) this.logger.debug(`${raw.topic}@${raw.offset}: ${note}`);
    this.received[key]++;
    await handler(parsed.message, raw);
  };

  private refuse(key: TopicKey, raw: BusMessage, kind: IdentityRefusal, reason: string): void {
    this.skipped[key]++;
    if (this.refused[kind]++ > 0) return;
    this.logger.warn(`refused a message on ${raw.topic} (partition ${raw.partition}, offset ${raw.offset}): ${reason}. Every message whose ${kind} breaks this rule is refused and counted; this is said once.`);
  }

  private skip(key: TopicKey, raw: BusMessage, reason: string): void {
    this.skipped[key]++;
    const now = Date.now();
    let w = this.window.get(key);
    if (!w || now - w.start > WINDOW_MS) {
      if (w && w.suppressed > 0) this.logger.warn(`skipped ${w.suppressed} more malformed message(s) on ${raw.topic} in the last ${WINDOW_MS / 1000} s`);
      w = { start: now, warned: 0, suppressed: 0 };
      this.window.set(key, w);
    }
    if (w.warned < WARNINGS_PER_WINDOW) {
      w.warned++;
      this.logger.warn(`skipped a message on ${raw.topic} (partition ${raw.partition}, offset ${raw.offset}): ${reason}`);
    } else {
      w.suppressed++;
    }
  }
}
