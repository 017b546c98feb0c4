// kafkajs' own request queue with the corrected schedule (protocol/kafkajs-idle-timer-fix.ts): no
// timer while nothing waits, and a request held back by the in-flight limit or by throttling
// still goes out. Sending is simulated (no socket); the queue is kafkajs' real one.
import assert from 'node:assert/strict';
import { fixKafkajsIdleTimer } from '../../protocol/kafkajs-idle-timer-fix';
import { waitFor } from '../support/processes';

interface Queue {
  pending: unknown[];
  inflight: Map<number, unknown>;
  throttleCheckTimeoutId: unknown;
  push(request: unknown): void;
  maybeThrottle(ms: number): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

describe('kafkajs request queue with the corrected schedule', () => {
  let RequestQueue: new (options: object) => Queue;
  before(() => {
    fixKafkajsIdleTimer();
    RequestQueue = require('kafkajs/src/network/requestQueue');
  });

  /** Pushes request `id`; `sent` gets the id when the queue hands it to the socket. */
  function push(queue: Queue, id: number, sent: { id: number; at: number }[]): void {
    queue.push({
      entry: { correlationId: id, apiKey: 0, apiName: 'Test', apiVersion: 0, resolve: () => {}, reject: () => {} },
      expectResponse: true,
      requestTimeout: 30_000,
      sendRequest: () => sent.push({ id, at: Date.now() }),
    });
  }

  const newQueue = () => new RequestQueue({ maxInFlightRequests: 1, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: 'test:9092', logger: silent });

  it('arms no timer once its requests have been answered', () => {
    const queue = newQueue();
    const sent: { id: number; at: number }[] = [];
    push(queue, 1, sent);
    queue.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    assert.deepEqual(sent.map((s) => s.id), [1]);
    assert.equal(queue.throttleCheckTimeoutId, null, 'kafkajs 2.2.4 has a timer armed here, and re-arms it every millisecond');
  });

  it('sends a request held back by the in-flight limit when the one before it is answered, then stops checking', async () => {
    const queue = newQueue();
    const sent: { id: number; at: number }[] = [];
    push(queue, 1, sent);
    push(queue, 2, sent);
    assert.deepEqual(sent.map((s) => s.id), [1], 'one in flight at a time');
    assert.equal(queue.pending.length, 1);
    queue.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    assert.deepEqual(sent.map((s) => s.id), [1, 2]);
    queue.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 });
    // The check armed while request 2 waited runs once more, finds nothing, and arms nothing.
    await waitFor(() => queue.throttleCheckTimeoutId === null, 'the queue to stop checking', 5_000);
  });

  it('sends a request held back by the broker’s throttling once the throttle ends, and no earlier', async () => {
    const queue = newQueue();
    const sent: { id: number; at: number }[] = [];
    queue.maybeThrottle(200);
    const throttledUntil = Date.now() + 200;
    push(queue, 1, sent);
    assert.equal(sent.length, 0, 'throttled: it waits');
    await waitFor(() => sent.length === 1, 'the throttled request to go out', 10_000);
    assert.ok(sent[0].at >= throttledUntil - 5, `sent ${throttledUntil - sent[0].at} ms before the throttle ended`);
    queue.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    await waitFor(() => queue.throttleCheckTimeoutId === null, 'the queue to stop checking', 5_000);
  });
});
