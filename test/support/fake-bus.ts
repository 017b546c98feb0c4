// A message bus in memory for unit tests: records what is published, delivers what a test injects
// to every subscriber of the topic, and can be made unreachable.
import type { BusHealth, BusMessage, MessageBus, SubscribeOptions, Subscription } from '../../protocol/message-bus';

export class FakeBus implements MessageBus {
  readonly brokers = ['fake:9092'];
  readonly published: { topic: string; value: string; key?: string }[] = [];
  private readonly subscribers: SubscribeOptions[] = [];
  private readonly offsets = new Map<string, number>();
  private healthState: BusHealth = { reachable: true, since: 0 };
  /** When set, publish() rejects with it (the broker is gone). */
  failPublish: Error | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  async ensureTopics(): Promise<void> {}

  async publish(topic: string, value: string, key?: string): Promise<void> {
    if (this.failPublish) throw this.failPublish;
    this.published.push({ topic, value, key });
    this.offsets.set(topic, (this.offsets.get(topic) ?? 0) + 1);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.subscribers.push(options);
    return { close: async () => void this.subscribers.splice(this.subscribers.indexOf(options), 1) };
  }

  async endOffsets(topic: string): Promise<Record<number, string>> {
    return { 0: String(this.offsets.get(topic) ?? 0) };
  }

  /** Delivers a message (an object is sent as its JSON) to every subscriber of `topic`. */
  async deliver(topic: string, value: unknown, timestamp = this.now()): Promise<void> {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    const offset = this.offsets.get(topic) ?? 0;
    this.offsets.set(topic, offset + 1);
    const message: BusMessage = { topic, partition: 0, offset: String(offset), value: Buffer.from(text), timestamp };
    for (const s of this.subscribers) if (s.topics.some((t) => t.topic === topic)) await s.onMessage(message);
  }

  /** The messages published on `topic`, parsed. */
  sent(topic: string): Record<string, unknown>[] {
    return this.published.filter((p) => p.topic === topic).map((p) => JSON.parse(p.value) as Record<string, unknown>);
  }

  setReachable(reachable: boolean): void {
    this.healthState = { reachable, since: this.now() };
  }

  health(): BusHealth {
    return this.healthState;
  }

  async close(): Promise<void> {
    this.subscribers.length = 0;
  }
}
