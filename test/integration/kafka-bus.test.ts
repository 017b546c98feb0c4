// The product's Kafka module on the real broker: what it costs to hold a connection open.
import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import { KafkaBus } from '../../protocol/kafka-bus';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { quietLogger } from '../support/processes';

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
