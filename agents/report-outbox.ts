// Metrics reports on their way to Kafka. The load never waits for Kafka: reports are queued here and
// sent one after another, and while the broker is unreachable they are kept and retried until it
// answers again. Reports are cumulative, so only the newest one of each test is kept (bounded
// memory however long the outage); a test's final report is never replaced by a running one.
import { errorMessage, type Logger } from '../common/logger';
import { retry } from '../common/retry';

interface Pending {
  message: string;
  final: boolean;
}

/** Tests whose undelivered reports are kept; beyond this the oldest test's report is dropped. */
const MAX_TESTS = 100;
const RETRY = { firstDelayMs: 250, maxDelayMs: 2000 };

export class ReportOutbox {
  /** In order of age: a test's entry moves to the end when a newer report replaces it. */
  private readonly pending = new Map<string, Pending>();
  private draining: Promise<void> | undefined;
  private closed = false;
  private readonly stopped = new AbortController();

  constructor(
    private readonly publish: (message: string) => Promise<void>,
    private readonly log: Logger,
  ) {}

  enqueue(testId: string, message: string, final: boolean): void {
    const existing = this.pending.get(testId);
    if (existing?.final && !final) return;
    this.pending.delete(testId);
    this.pending.set(testId, { message, final });
    if (this.pending.size > MAX_TESTS) {
      const [oldest] = this.pending.keys();
      this.pending.delete(oldest);
      this.log.error(`dropped the undelivered report of test ${oldest}: more than ${MAX_TESTS} tests wait for Kafka`);
    }
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  /** The test whose final report is not delivered yet, if any: its part is not over until it is. */
  undeliveredFinal(): string | undefined {
    for (const [testId, entry] of this.pending) if (entry.final) return testId;
    return undefined;
  }

  get size(): number {
    return this.pending.size;
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0 && !this.closed) {
      let failed = false;
      // Each attempt sends the oldest report as it is then: a newer one may have replaced it meanwhile.
      await retry(
        async () => {
          const [testId, entry] = this.pending.entries().next().value!;
          await this.publish(entry.message);
          if (this.pending.get(testId) === entry) this.pending.delete(testId);
        },
        {
          ...RETRY,
          // Whatever the producer says of its error: the reports are kept until Kafka answers.
          retriable: () => !this.closed,
          signal: this.stopped.signal,
          onRetry: (error, failures) => {
            failed = true;
            if (failures === 1) this.log.warn(`could not publish a metrics report (${errorMessage(error)}); keeping the newest report of each test and retrying until Kafka answers`);
          },
        },
      ).then(
        () => failed && this.log.info(`Kafka answers again: delivered the reports kept while it did not`),
        () => {}, // closed
      );
    }
  }

  /** Resolves once every queued report is delivered, or after `timeoutMs`; says whether all went. */
  async flush(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)));
    while (this.pending.size > 0 && this.draining) {
      const gaveUp = await Promise.race([this.draining.then(() => false), timedOut.then(() => true)]);
      if (gaveUp) break;
    }
    clearTimeout(timer);
    return this.pending.size === 0;
  }

  close(): void {
    this.closed = true;
    this.stopped.abort();
  }
}
