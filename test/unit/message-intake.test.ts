import assert from 'node:assert/strict';
import { createLogger } from '../../common/logger';
import type { BusMessage } from '../../protocol/message-bus';
import { MessageIntake } from '../../protocol/message-intake';
import { topicNames, type HeartbeatMessage, type RegisterMessage } from '../../protocol/wire-protocol';

describe('message intake', () => {
  const topics = topicNames('t-');
  let offset = 0;
  const raw = (topic: string, value: unknown): BusMessage => ({ topic, partition: 0, offset: String(offset++), value: Buffer.from(JSON.stringify(value)), timestamp: Date.now() });

  it('refuses hostile identities: counted by kind, warned of once per kind, never handed on', async () => {
    const warnings: string[] = [];
    const logger = createLogger('test', 'info', (level, _scope, message) => level === 'warn' && warnings.push(message));
    const heard: (RegisterMessage | HeartbeatMessage)[] = [];
    const intake = new MessageIntake(topics, { register: (m) => void heard.push(m), heartbeat: (m) => void heard.push(m) }, logger);
    for (let i = 0; i < 50; i++) {
      await intake.accept(raw(topics.register, { node_id: `d${i}`, node_IP: 3232235777 + i, message_type: 'DRIVER_NODE_REGISTER' }));
      await intake.accept(raw(topics.heartbeat, { node_id: 'x'.repeat(100_000), heartbeat: 'YES', timestamp: Date.now() }));
      await intake.accept(raw(topics.heartbeat, { node_id: i, heartbeat: 'YES', timestamp: Date.now() }));
    }
    await intake.accept(raw(topics.register, { node_id: 'real-1', node_IP: '10.0.0.7', message_type: 'DRIVER_NODE_REGISTER' }));
    assert.deepEqual(heard.map((m) => m.node_id), ['real-1']);
    assert.deepEqual(intake.refused, { node_id: 100, node_IP: 50 });
    assert.deepEqual([intake.skipped.register, intake.skipped.heartbeat], [50, 100]);
    assert.equal(warnings.length, 2, warnings.join('\n'));
    assert.match(warnings[0], /node_IP is number, not a string.*this is said once/);
    assert.match(warnings[1], /node_id "x{40}…" \(100000 characters\) breaks the rule: a node_id must be a string of 1 to 128 letters, digits and \. _ : @ -/);
    assert.ok(warnings.every((w) => w.length < 500), 'a warning never carries the hostile text whole');
  });
});
