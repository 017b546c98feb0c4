import assert from 'node:assert/strict';
import { once } from 'node:events';
import { DriverRegistry, type DriverInfo } from '../../orchestrator/driver-registry';

describe('driver registry', () => {
  let clock = 1_000_000;
  let registry: DriverRegistry;
  beforeEach(() => {
    clock = 1_000_000;
    registry = new DriverRegistry({ ownNames: ['orch', '127.0.0.1'], lostAfterMs: 3000, now: () => clock });
  });
  afterEach(() => registry.dispose());

  const beat = (node_id: string, extra = {}) => registry.onHeartbeat({ node_id, heartbeat: 'YES', timestamp: clock, ...extra });

  it('a registered driver that heartbeats is alive', () => {
    registry.onRegister({ node_id: 'a', node_IP: '10.0.0.1', message_type: 'DRIVER_NODE_REGISTER' }, clock);
    beat('a');
    assert.equal(registry.get('a')!.health, 'alive');
    assert.equal(registry.get('a')!.node_IP, '10.0.0.1');
    assert.deepEqual(registry.available().map((d) => d.node_id), ['a']);
  });

  it('a driver silent for more than 3 s is marked lost, and alive again when heartbeats resume', async () => {
    beat('a');
    clock += 3001;
    const [lost] = (await once(registry, 'lost')) as [DriverInfo];
    assert.equal(lost.node_id, 'a');
    assert.equal(registry.get('a')!.health, 'lost');
    beat('a');
    assert.equal(registry.get('a')!.health, 'alive');
  });

  it('a driver heard only through heartbeats (we started after it registered) is known', () => {
    beat('late', { node_IP: '10.0.0.9', state: 'idle' });
    assert.equal(registry.get('late')!.node_IP, '10.0.0.9');
  });

  it('an old registration read from the topic’s history starts lost until a heartbeat arrives', () => {
    registry.onRegister({ node_id: 'old', node_IP: 'x', message_type: 'DRIVER_NODE_REGISTER' }, clock - 60_000);
    assert.equal(registry.get('old')!.health, 'lost');
    assert.equal(registry.available().length, 0);
  });

  it('a driver serving another orchestrator is listed but never picked for a test', () => {
    registry.onRegister({ node_id: 'x', node_IP: 'x', message_type: 'DRIVER_NODE_REGISTER', orchestrator: 'someone-else' }, clock);
    registry.onRegister({ node_id: 'y', node_IP: 'y', message_type: 'DRIVER_NODE_REGISTER', orchestrator: '127.0.0.1' }, clock);
    assert.equal(registry.get('x')!.foreign, true);
    assert.deepEqual(registry.available().map((d) => d.node_id), ['y']);
  });

  it('a busy driver is not available', () => {
    beat('a', { state: 'running', test_id: 't' });
    assert.equal(registry.available().length, 0);
    assert.equal(registry.get('a')!.current_test, 't');
  });

  it('a driver that says it is leaving is marked left, not lost', () => {
    beat('a');
    beat('a', { leaving: true });
    assert.equal(registry.get('a')!.health, 'left');
  });
});
