import assert from 'node:assert/strict';
import { DriverRegistry } from '../../orchestrator/driver-registry';
import type { BusHealth } from '../../protocol/message-bus';
import { FakeClock } from '../support/fake-clock';

describe('driver registry', () => {
  let clock: FakeClock;
  let registry: DriverRegistry;
  let health: BusHealth;
  let lost: string[];
  let changes: number;
  beforeEach(() => {
    clock = new FakeClock();
    health = { reachable: true, since: 0 };
    registry = new DriverRegistry({ ownNames: ['orch', '127.0.0.1'], lostAfterMs: 3000, clock, observation: () => health });
    lost = [];
    changes = 0;
    registry.on('lost', (d) => lost.push(d.node_id));
    registry.on('changed', () => changes++);
  });
  afterEach(() => registry.dispose());

  const beat = (node_id: string, extra = {}) => registry.onHeartbeat({ node_id, heartbeat: 'YES', timestamp: clock.now(), ...extra });
  /** Heartbeats every second for `seconds`, as a live agent does. */
  const live = (node_id: string, seconds: number) => {
    for (let i = 0; i < seconds; i++) {
      clock.advance(1000);
      beat(node_id);
    }
  };

  it('a registered driver that heartbeats is alive and available', () => {
    registry.onRegister({ node_id: 'a', node_IP: '10.0.0.1', message_type: 'DRIVER_NODE_REGISTER' }, clock.now());
    beat('a');
    assert.equal(registry.get('a')!.health, 'alive');
    assert.equal(registry.get('a')!.node_IP, '10.0.0.1');
    assert.deepEqual(registry.available().map((d) => d.node_id), ['a']);
  });

  it('a driver silent for more than 3 s is marked lost, and alive again when heartbeats resume', () => {
    beat('a');
    clock.advance(2900);
    assert.deepEqual(lost, []);
    clock.advance(300);
    assert.deepEqual(lost, ['a']);
    assert.equal(registry.get('a')!.health, 'lost');
    beat('a');
    assert.equal(registry.get('a')!.health, 'alive');
  });

  it('nobody is lost while this orchestrator cannot hear the broker, and loss resumes 3 s after it can', () => {
    beat('a');
    clock.advance(1000);
    health = { reachable: false, since: clock.now() };
    clock.advance(10_000);
    assert.deepEqual(lost, [], 'silence during our own outage means nothing');
    health = { reachable: true, since: clock.now() };
    clock.advance(2900);
    assert.deepEqual(lost, []);
    clock.advance(300);
    assert.deepEqual(lost, ['a']);
  });

  it('a whole fleet falling silent together is put down to the bus for 15 s, then lost', () => {
    beat('a');
    beat('b');
    clock.advance(10_000);
    assert.deepEqual(lost, [], 'both stopped at once, as when a restarting broker refuses their heartbeats');
    clock.advance(5_200);
    assert.deepEqual(lost.sort(), ['a', 'b'], 'a common silence past the grace is a loss');
  });

  it('a fleet silence whose heartbeats were a second apart: the first driver is not lost before the last one falls silent too', () => {
    beat('a');
    clock.advance(900);
    beat('b'); // the broker stops: a's next heartbeat (at 1 s) and every later one are refused, b's too
    clock.advance(2_300); // a silent 3.2 s, b 2.3 s
    assert.deepEqual(lost, [], 'a is not judged while b, silent too, may be part of the same silence');
    clock.advance(5_000);
    assert.deepEqual(lost, [], 'the fleet silence is told once b passes 3 s, and covers both');
    beat('a');
    beat('b');
    clock.advance(1_000);
    assert.equal(registry.get('a')!.health, 'alive');
  });

  it('a driver falls silent while another still heartbeats a little late: the silent one is lost, the late one is not', () => {
    beat('a');
    clock.advance(900);
    beat('b');
    clock.advance(1_700); // b late by 0.7 s (a busy agent), a silent 2.6 s
    beat('b');
    clock.advance(600); // a silent 3.2 s; b heard 0.6 s ago: no fleet silence
    assert.deepEqual(lost, ['a']);
  });

  it('after a fleet silence, a driver that reconnects later than the others still has the grace', () => {
    beat('a');
    beat('b');
    clock.advance(8_000); // the broker is back: a reconnects at once, b takes longer
    live('a', 5);
    assert.deepEqual(lost, [], 'b is part of the silence, not alone in it');
    beat('b');
    live('a', 1);
    assert.equal(registry.get('b')!.health, 'alive');
  });

  it('a broker that takes long to come back leaves the fleet 10 s from when this orchestrator hears it again', () => {
    beat('a');
    beat('b');
    clock.advance(1000);
    health = { reachable: false, since: clock.now() };
    clock.advance(13_000); // the broker is down, then slow to start
    health = { reachable: true, since: clock.now() };
    clock.advance(9_000); // 23 s after their last heartbeats, 9 s after the broker is back
    assert.deepEqual(lost, [], 'their clients are still reconnecting on their own backoff');
    beat('a');
    clock.advance(1_100);
    assert.deepEqual(lost, ['b'], 'past the reconnect grace, a driver still silent is lost');
  });

  it('one driver of several falling silent is lost at 3 s as usual', () => {
    beat('a');
    beat('b');
    live('a', 4);
    assert.deepEqual(lost, ['b']);
  });

  it('an event-loop stall of this process does not make its drivers lost', () => {
    beat('a');
    clock.jump(5000); // the process was blocked: the sweep comes late, the heartbeats are still queued
    clock.advance(100);
    assert.deepEqual(lost, []);
    beat('a'); // the queued heartbeat, read after the stall
    clock.advance(2000);
    assert.deepEqual(lost, []);
  });

  it('a driver heard only through heartbeats (we started after it registered) is known', () => {
    beat('late', { node_IP: '10.0.0.9', state: 'idle' });
    assert.equal(registry.get('late')!.node_IP, '10.0.0.9');
  });

  it('an old registration from the topic’s history is not listed, but lends its identity once the driver heartbeats', () => {
    registry.onRegister({ node_id: 'old', node_IP: '10.1.1.1', message_type: 'DRIVER_NODE_REGISTER', agent_version: '9.9' }, clock.now() - 60_000);
    assert.equal(registry.get('old'), undefined);
    beat('old');
    assert.equal(registry.get('old')!.node_IP, '10.1.1.1');
    assert.equal(registry.get('old')!.agent_version, '9.9');
  });

  it('a lost driver leaves the list after the retention time', () => {
    beat('a');
    clock.advance(4000);
    assert.equal(registry.get('a')!.health, 'lost');
    clock.advance(10 * 60_000);
    assert.equal(registry.get('a'), undefined);
  });

  it('a driver that says goodbye leaves the list at once', () => {
    beat('a');
    beat('a', { leaving: true });
    assert.equal(registry.get('a'), undefined);
  });

  it('a driver that registers again replaces its entry and is idle', () => {
    registry.onRegister({ node_id: 'a', node_IP: '10.0.0.1', message_type: 'DRIVER_NODE_REGISTER' }, clock.now());
    beat('a', { state: 'running', test_id: 't1' });
    registry.onRegister({ node_id: 'a', node_IP: '10.0.0.2', message_type: 'DRIVER_NODE_REGISTER' }, clock.now());
    assert.equal(registry.list().length, 1);
    assert.equal(registry.get('a')!.node_IP, '10.0.0.2');
    assert.equal(registry.get('a')!.activity, 'idle');
  });

  it('announces state changes only, not every heartbeat’s CPU and event-loop figures', () => {
    beat('a', { state: 'idle', cpu_percent: 1 });
    const before = changes;
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      beat('a', { state: 'idle', cpu_percent: i * 7, event_loop_lag_ms: i });
    }
    assert.equal(changes, before, 'ten heartbeats with new load figures, no announcement');
    assert.equal(registry.get('a')!.cpu_percent, 63, 'the figures are still kept for whoever reads them');
    beat('a', { state: 'running', test_id: 't' });
    assert.equal(changes, before + 1);
  });

  it('a driver serving another orchestrator is listed but never picked for a test', () => {
    registry.onRegister({ node_id: 'x', node_IP: 'x', message_type: 'DRIVER_NODE_REGISTER', orchestrator: 'someone-else' }, clock.now());
    registry.onRegister({ node_id: 'y', node_IP: 'y', message_type: 'DRIVER_NODE_REGISTER', orchestrator: '127.0.0.1' }, clock.now());
    assert.equal(registry.get('x')!.foreign, true);
    assert.deepEqual(registry.available().map((d) => d.node_id), ['y']);
  });

  it('a busy driver is not available', () => {
    live('a', 1);
    beat('a', { state: 'running', test_id: 't' });
    assert.equal(registry.available().length, 0);
    assert.equal(registry.get('a')!.current_test, 't');
  });

  describe('what a driver does beyond the spec (features)', () => {
    it('keeps the features of its register and heartbeats; one that announces none speaks only the spec', () => {
      registry.onRegister({ node_id: 'd1', node_IP: '10.0.0.1', message_type: 'DRIVER_NODE_REGISTER', features: ['duration', 'stages', 'control'] }, clock.now());
      beat('d1');
      assert.deepEqual(registry.get('d1')?.features, ['duration', 'stages', 'control'], 'a heartbeat without features keeps what the register said');
      beat('d1', { features: ['duration'] });
      assert.deepEqual(registry.get('d1')?.features, ['duration']);
      beat('spec');
      assert.equal(registry.get('spec')?.features, undefined);
    });

    it('a change of features is announced', () => {
      beat('d1', { features: ['duration'] });
      const before = changes;
      beat('d1', { features: ['duration', 'stages'] });
      assert.equal(changes, before + 1);
    });
  });

  describe('two agents under one node_id', () => {
    let duplicates: string[];
    beforeEach(() => {
      duplicates = [];
      registry.on('duplicate', (_d, reason) => duplicates.push(reason));
    });
    const beatAs = (instance: string, node_IP: string, extra = {}) => beat('a', { instance, node_IP, ...extra });

    it('each heard again after the other: named with both addresses, never picked, said once', () => {
      beatAs('i1', '10.0.0.1');
      clock.advance(500);
      beatAs('i2', '10.0.0.2');
      assert.equal(duplicates.length, 0, 'one after another may be a restart');
      clock.advance(500);
      beatAs('i1', '10.0.0.1');
      clock.advance(500);
      beatAs('i2', '10.0.0.2');
      assert.deepEqual(duplicates, ['two agents run as a (on 10.0.0.2 and 10.0.0.1); stop one, or give each its own --id']);
      assert.equal(registry.get('a')!.duplicate, duplicates[0]);
      assert.deepEqual(registry.available(), []);
    });

    it('a restart (the old instance never heard again) is not a duplicate, however soon', () => {
      const replaced: string[] = [];
      registry.on('replaced', (d) => replaced.push(d.node_id));
      beatAs('i1', '10.0.0.1');
      clock.advance(200);
      beatAs('i2', '10.0.0.1');
      live('a', 1);
      beatAs('i2', '10.0.0.1');
      clock.advance(1000);
      beatAs('i2', '10.0.0.1');
      assert.deepEqual(duplicates, []);
      assert.deepEqual(replaced, ['a'], 'the new process is announced once; the first one heard is not a replacement');
      assert.deepEqual(registry.available().map((d) => d.node_id), ['a']);
    });

    it('is one agent again once the other has been silent for 3 s', () => {
      beatAs('i1', '10.0.0.1');
      beatAs('i2', '10.0.0.2');
      beatAs('i1', '10.0.0.1');
      assert.match(registry.get('a')!.duplicate!, /two agents run as a/);
      for (let i = 0; i < 4; i++) {
        clock.advance(1000);
        beatAs('i1', '10.0.0.1');
      }
      assert.equal(registry.get('a')!.duplicate, undefined);
      assert.deepEqual(registry.available().map((d) => d.node_id), ['a']);
    });

    it('one of them saying goodbye leaves the other listed', () => {
      beatAs('i1', '10.0.0.1');
      beatAs('i2', '10.0.0.2');
      beatAs('i1', '10.0.0.1');
      beatAs('i2', '10.0.0.2', { leaving: true });
      assert.equal(registry.get('a')?.health, 'alive');
      beatAs('i1', '10.0.0.1', { leaving: true });
      assert.equal(registry.get('a'), undefined);
    });
  });

  describe('a driver whose heartbeats say nothing of its state (another implementation)', () => {
    // As spec_driver.py: register, then heartbeats with node_id, heartbeat and timestamp only.
    const specBeat = () => beat('theirs');
    const activity = () => [registry.get('theirs')!.activity, registry.get('theirs')!.current_test];
    /** Time passes with its heartbeats every second, and nothing on the metrics topic. */
    const quietFor = (ms: number) => {
      for (let t = 0; t < ms; t += 1000) {
        clock.advance(Math.min(1000, ms - t));
        specBeat();
      }
    };
    beforeEach(() => {
      registry.onRegister({ node_id: 'theirs', node_IP: '127.0.0.1', message_type: 'DRIVER_NODE_REGISTER' }, clock.now());
      specBeat();
    });

    it('takes part in ten tests in a row: running from each trigger, idle when its part ends', () => {
      for (let test = 1; test <= 10; test++) {
        assert.deepEqual(registry.available().map((d) => d.node_id), ['theirs'], `available for test ${test}`);
        registry.markRunning('theirs', `t${test}`);
        for (let s = 0; s < 2; s++) {
          clock.advance(500);
          registry.onReport('theirs', `t${test}`, false);
          clock.advance(500);
          specBeat(); // says nothing of the test: it stays running
          assert.deepEqual(activity(), ['running', `t${test}`]);
        }
        // Its part ends when it has been quiet for TestRun's quietAfterMs: then the test ends.
        quietFor(10_001);
        assert.deepEqual(activity(), ['running', `t${test}`], 'held by its test until its part ends');
        registry.markIdle('theirs', `t${test}`);
        assert.deepEqual(activity(), ['idle', undefined]);
      }
    });

    it('goes back to idle when its final report arrives', () => {
      registry.markRunning('theirs', 't1');
      registry.onReport('theirs', 't1', false);
      registry.onReport('theirs', 't1', true);
      assert.deepEqual(activity(), ['idle', undefined]);
    });

    it('whose reports still come after its part ended stays running until they stop for the quiet time', () => {
      registry.markRunning('theirs', 't1');
      registry.onReport('theirs', 't1', false);
      registry.markIdle('theirs', 't1'); // stopped by a person: it does not know our test_stop
      assert.deepEqual(activity(), ['running', 't1']);
      quietFor(9000);
      registry.onReport('theirs', 't1', false);
      assert.deepEqual(activity(), ['running', 't1']);
      quietFor(10_100);
      assert.deepEqual(activity(), ['idle', undefined], 'silent on the metrics topic for 10 s: idle, though no heartbeat says so');
    });

    it('reporting on a test it was not picked for (it ignores driver_ids) is busy while it reports', () => {
      registry.onReport('theirs', 'elsewhere', false);
      assert.deepEqual(activity(), ['running', 'elsewhere']);
      assert.deepEqual(registry.available(), []);
      quietFor(10_100);
      assert.deepEqual(activity(), ['idle', undefined]);
    });

    it('our agents’ reports change nothing: their heartbeats say what they do', () => {
      beat('ours', { state: 'idle' });
      registry.onReport('ours', 't1', false);
      assert.equal(registry.get('ours')!.activity, 'idle');
      registry.markRunning('ours', 't1');
      beat('ours', { state: 'running', test_id: 't1' });
      registry.markIdle('ours', 't1');
      assert.equal(registry.get('ours')!.activity, 'idle');
    });
  });

  it('never lists a node_id that breaks the rule, whatever hands it over', () => {
    registry.onRegister({ node_id: 'x'.repeat(100_000), node_IP: '10.0.0.1', message_type: 'DRIVER_NODE_REGISTER' }, clock.now());
    beat('x'.repeat(100_000));
    beat('a b');
    assert.deepEqual(registry.list(), []);
  });
});
