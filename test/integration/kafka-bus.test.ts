// The product's Kafka module on the real broker: what it costs to hold a connection open, and
// how a subscription lives through an outage of its broker.
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../common/free-port';
import { startBroker, type BrokerOptions, type RunningBroker } from '../../kafka-broker/local-kafka';
import { KafkaBus } from '../../protocol/kafka-bus';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { quietLogger, tempDir, waitFor } from '../support/processes';

describe('a connection to Kafka held open', function () {
  this.timeout(120_000);

  it('arms no timer while nothing waits to be sent (kafkajs re-armed one every millisecond per broker connection)', async () => {
    const prefix = uniquePrefix('idle-bus');
    const bus = await KafkaBus.connect({ brokers: [await kafkaBootstrap()], clientId: 'idle-bus', logger: quietLogger() });
    // Counts the runs of kafkajs' "check the pending requests" timeouts, told apart by what they call.
    let checks = 0;
    const pendingChecks = new Set<number>();
    const hook = createHook({
      init(id, type, _trigger, resource) {
        if (type === 'Timeout' && String((resource as { _onTimeout?: unknown })._onTimeout).includes('checkPendingRequests')) pendingChecks.add(id);
      },
      before(id) {
        if (pendingChecks.has(id)) checks++;
      },
    });
    try {
      await bus.ensureTopics([`${prefix}t`]);
      // A subscription (a consumer polling the broker) and a publish: the connections an agent holds.
      const subscription = await bus.subscribe({ groupId: `${prefix}g`, topics: [{ topic: `${prefix}t`, from: 'now' }], onMessage: () => {} });
      await bus.publish(`${prefix}t`, '{}');
      hook.enable();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      hook.disable();
      await subscription.close();
      // Before the fix: about 1,000 a second for each of the connections (thousands in these 2 s).
      assert.ok(checks < 20, `${checks} pending-request checks ran in 2 s of an idle connection`);
    } finally {
      hook.disable();
      await bus.close();
    }
  });
});

describe('a subscription through an outage of its broker', function () {
  this.timeout(300_000); // cold broker starts, an outage of 20 s, and restarts with a backoff
  // A broker of these tests' own, stopped and started again on the same port and storage.
  let brokerOptions: BrokerOptions;
  let broker: RunningBroker | undefined;
  before(async () => {
    brokerOptions = { port: await freePort(), advertisedHost: '127.0.0.1', listenHost: '127.0.0.1', fresh: false, stateDir: join(tempDir('outage-kafka'), 'broker') };
    broker = await startBroker(brokerOptions);
  });
  after(async () => {
    await broker?.stop();
  });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** Stops the broker and waits until the subscription's consumer has run out of kafkajs' retries. */
  const outlastRetries = async (lines: string[], groupId: string) => {
    await broker!.stop();
    broker = undefined;
    await waitFor(() => lines.some((l) => l.startsWith(`error [test/${groupId}] consumer stopped:`)), 'the consumer to run out of retries and stop', 90_000);
  };
  /** Sockets this process holds to the broker's port. */
  const brokerSockets = () =>
    (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().filter((h) => h instanceof Socket && h.remotePort === brokerOptions.port && !h.destroyed);

  it('hears what is published after a 20 s outage, in a new consumer of the same group, without skipping or repeating a message', async () => {
    const prefix = uniquePrefix('outage');
    const logger = quietLogger();
    const bus = await KafkaBus.connect({ brokers: [broker!.bootstrap], clientId: 'outage', logger });
    try {
      const topic = `${prefix}t`;
      const groupId = `${prefix}g`;
      await bus.ensureTopics([topic]);
      const heard: string[] = [];
      await bus.subscribe({ groupId, topics: [{ topic, from: 'now' }], onMessage: (m) => void heard.push(String(m.value)) });
      await bus.publish(topic, 'before');
      await waitFor(() => heard.length === 1, 'the message published before the outage');

      const stoppedAt = Date.now();
      await outlastRetries(logger.lines, groupId);
      assert.equal(bus.health().reachable, false, 'a subscription that cannot fetch says the broker is unreachable');
      await sleep(Math.max(0, 20_000 - (Date.now() - stoppedAt)));
      broker = await startBroker(brokerOptions);
      // Most likely published while no consumer of the group runs: the new one must start from its position, not the end.
      await bus.publish(topic, 'after');

      await waitFor(() => heard.length >= 2, 'the message published after the broker returned', 120_000);
      await waitFor(() => bus.health().reachable, 'the bus to hear the broker again', 10_000);
      await sleep(1000);
      assert.deepEqual(heard, ['before', 'after']);
      assert.ok(logger.lines.some((l) => l.startsWith(`warn [test/${groupId}] consuming again after`)), 'a new consumer took over');
    } finally {
      await bus.close();
    }
  });

  it('closed while its consumer is being replaced, leaves nothing running: no attempt, no retry, no connection', async () => {
    broker ??= await startBroker(brokerOptions);
    const prefix = uniquePrefix('outage-close');
    const logger = quietLogger();
    const bus = await KafkaBus.connect({ brokers: [broker.bootstrap], clientId: 'outage-close', logger });
    const topic = `${prefix}t`;
    const groupId = `${prefix}g`;
    await bus.ensureTopics([topic]);
    const subscription = await bus.subscribe({ groupId, topics: [{ topic, from: 'now' }], onMessage: () => {} });

    await outlastRetries(logger.lines, groupId);
    await sleep(1500); // past the first wait: a new consumer is trying to connect
    const closed = subscription.close().then(() => true);
    assert.ok(await Promise.race([closed, sleep(30_000).then(() => false)]), 'the subscription closed within 30 s');
    await bus.close();
    const linesAtClose = logger.lines.length;

    // Anything still trying would log its connection errors while the broker is down, and connect once it is back.
    await sleep(12_000); // longer than the longest wait between attempts
    broker = await startBroker(brokerOptions);
    await sleep(5000);
    assert.deepEqual(logger.lines.slice(linesAtClose), [], 'nothing logged after close');
    assert.equal(brokerSockets().length, 0, 'no connection to the broker');
  });
});
