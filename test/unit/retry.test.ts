import assert from 'node:assert/strict';
import { retriableFlag, retry, retryDelay, RetryStopped, onlyIfRetriable, unlessRefused } from '../../common/retry';
import { KafkaAccessError, KafkaUnreachableError } from '../../protocol/kafka-bus';
import { FakeClock } from '../support/fake-clock';

/** Lets the promises that the last clock step resolved run. */
const settle = () => new Promise((r) => setImmediate(r));

/** An error as kafkajs makes them: a flag of its own, perhaps wrapping another. */
const kafkaError = (message: string, retriable: boolean, originalError?: unknown) => Object.assign(new Error(message), { retriable, originalError });

/** An operation that fails with the given errors in turn, then resolves with 'done'; it counts its calls. */
function failing(...errors: unknown[]) {
  const calls: number[] = [];
  const operation = async (attempt: number) => {
    calls.push(attempt);
    if (calls.length <= errors.length) throw errors[calls.length - 1];
    return 'done';
  };
  return { operation, calls };
}

describe('one retry helper', () => {
  let clock: FakeClock;
  beforeEach(() => (clock = new FakeClock()));

  describe('the error says whether to try again', () => {
    it('reads kafkajs’ retriable flag, on the error or on the one it wraps', () => {
      assert.equal(retriableFlag(kafkaError('not the leader', true)), true);
      assert.equal(retriableFlag(kafkaError('SASL authentication failed', false)), false);
      assert.equal(retriableFlag(Object.assign(new Error('outer'), { originalError: kafkaError('inner', true) })), true);
      assert.equal(retriableFlag(new Error('no cause', { cause: kafkaError('cause', false) })), false);
      assert.equal(retriableFlag(new Error('says nothing')), undefined);
      assert.equal(retriableFlag('a string'), undefined);
    });

    it('our Kafka errors say it too: unreachable is worth waiting for, refused is not', () => {
      assert.equal(retriableFlag(new KafkaUnreachableError('cannot reach')), true);
      assert.equal(retriableFlag(new KafkaAccessError('refused this client: SASL authentication failed')), false);
      assert.equal(unlessRefused(new Error('says nothing')), true);
      assert.equal(onlyIfRetriable(new Error('says nothing')), false);
    });
  });

  it('tries again after each failure that is retriable, then resolves with the value', async () => {
    const { operation, calls } = failing(new KafkaUnreachableError('down'), new KafkaUnreachableError('down'));
    const result = retry(operation, { firstDelayMs: 100, clock });
    await settle();
    assert.deepEqual(calls, [1]);
    clock.advance(99);
    await settle();
    assert.deepEqual(calls, [1], 'not before the wait is over');
    clock.advance(1);
    await settle();
    assert.deepEqual(calls, [1, 2]);
    clock.advance(100);
    await settle();
    assert.equal(await result, 'done');
    assert.deepEqual(calls, [1, 2, 3]);
  });

  it('stops at once on an error that says it is not retriable (a refused password), and throws it', async () => {
    const refused = new KafkaAccessError('Kafka refused this client: SASL authentication failed');
    const { operation, calls } = failing(new KafkaUnreachableError('down'), refused);
    const retries: number[] = [];
    const result = retry(operation, { firstDelayMs: 2000, clock, onRetry: (_e, failures) => retries.push(failures) });
    await settle();
    clock.advance(2000);
    await assert.rejects(result, (error) => error === refused);
    assert.deepEqual(calls, [1, 2]);
    assert.deepEqual(retries, [1], 'only the unreachable broker was retried');
  });

  it('waits twice as long after each failure, up to the longest wait', async () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((n) => retryDelay({ firstDelayMs: 250, maxDelayMs: 2000 }, n)), [250, 500, 1000, 2000, 2000, 2000]);
    assert.deepEqual([1, 5, 50].map((n) => retryDelay({ firstDelayMs: 300 }, n)), [300, 300, 300], 'without a longest wait, a constant pace');
    const delays: number[] = [];
    const { operation } = failing(...Array.from({ length: 5 }, () => new KafkaUnreachableError('down')));
    const result = retry(operation, { firstDelayMs: 250, maxDelayMs: 2000, clock, onRetry: (_e, _n, delay) => delays.push(delay) });
    for (let i = 0; i < 5; i++) {
      await settle();
      clock.advance(2000);
    }
    assert.equal(await result, 'done');
    assert.deepEqual(delays, [250, 500, 1000, 2000, 2000]);
  });

  it('gives up after the attempts allowed, with the last error', async () => {
    const last = kafkaError('not the leader (3)', true);
    const { operation, calls } = failing(kafkaError('not the leader (1)', true), kafkaError('not the leader (2)', true), last);
    const gaveUp = assert.rejects(retry(operation, { firstDelayMs: 10, attempts: 3, retriable: onlyIfRetriable, clock }), (error) => error === last);
    for (let i = 0; i < 3; i++) {
      await settle();
      clock.advance(10);
    }
    await gaveUp;
    assert.deepEqual(calls, [1, 2, 3]);
  });

  it('with only retriable errors tried again, an error that says nothing is thrown at once', async () => {
    const unknown = new Error('TypeError somewhere');
    const { operation, calls } = failing(unknown);
    await assert.rejects(retry(operation, { firstDelayMs: 10, retriable: onlyIfRetriable, clock }), (error) => error === unknown);
    assert.deepEqual(calls, [1]);
  });

  it('stops waiting as soon as its signal aborts, with RetryStopped holding the last error', async () => {
    const down = new KafkaUnreachableError('down');
    const { operation, calls } = failing(down, down, down);
    const stop = new AbortController();
    const result = retry(operation, { firstDelayMs: 60_000, clock, signal: stop.signal });
    await settle();
    stop.abort();
    await assert.rejects(result, (error) => error instanceof RetryStopped && error.lastError === down);
    assert.deepEqual(calls, [1], 'no attempt after the abort');
    clock.advance(60_000);
    await settle();
    assert.deepEqual(calls, [1]);
  });

  it('a signal aborted before the first attempt makes none', async () => {
    const { operation, calls } = failing();
    await assert.rejects(retry(operation, { firstDelayMs: 10, clock, signal: AbortSignal.abort() }), RetryStopped);
    assert.deepEqual(calls, []);
  });
});
