import assert from 'node:assert/strict';
import { createLogger } from '../../common/logger';
import { Orchestrator, type ConnectOptions } from '../../orchestrator/orchestrator';
import { OrchestratorConnection, type ConnectionState } from '../../orchestrator/orchestrator-connection';
import { KafkaAccessError, KafkaUnreachableError } from '../../protocol/kafka-bus';
import { FakeBus } from '../support/fake-bus';
import { FakeClock } from '../support/fake-clock';
import { tempDir } from '../support/temp-dir';

const settle = () => new Promise((r) => setImmediate(r));

describe('the connection a long-lived host holds (fake bus and clock)', () => {
  let clock: FakeClock;
  let bus: FakeBus;
  let connection: OrchestratorConnection;
  let states: ConnectionState[];
  /** What each attempt to connect meets, in turn; after the list, a broker that answers. */
  let failures: Error[];
  let attempts: number;

  const options = (): ConnectOptions => ({ brokers: ['fake:9092'], storeDir: tempDir('connection-store'), id: 'orch', logger: createLogger('orchestrator', 'error', () => {}), clock, settleMs: 0 });

  beforeEach(() => {
    clock = new FakeClock();
    bus = new FakeBus(() => clock.now());
    failures = [];
    attempts = 0;
    states = [];
    connection = new OrchestratorConnection(options(), {
      retryMs: 1000,
      maxRetryMs: 4000,
      healthEveryMs: 1000,
      clock,
      open: async (o) => {
        attempts++;
        const failure = failures.shift();
        if (failure) throw failure;
        return Orchestrator.open(bus, o);
      },
    });
    connection.on('state', (s) => states.push(s));
  });
  afterEach(() => connection.dispose());

  /** Moves the clock in steps of a second, letting each attempt run. */
  async function pass(ms: number) {
    for (let t = 0; t < ms; t += 1000) {
      await settle();
      clock.advance(1000);
    }
    await settle();
    await settle();
  }

  it('keeps trying while the broker does not answer, saying why, and connects once it does', async () => {
    failures = [new KafkaUnreachableError('cannot reach Kafka at fake:9092'), new KafkaUnreachableError('cannot reach Kafka at fake:9092')];
    connection.start();
    await settle();
    assert.equal(connection.state.status, 'connecting');
    assert.match(connection.state.lastError!, /cannot reach/);
    await pass(3000);
    assert.equal(attempts, 3);
    assert.equal(connection.state.status, 'connected');
    assert.ok(connection.orchestrator);
  });

  it('says Kafka is unreachable, with since when, while the bus does not hear the broker, and connected when it does again', async () => {
    connection.start();
    await pass(0);
    assert.equal(connection.state.status, 'connected');
    clock.advance(500);
    const lastHeard = clock.now();
    bus.setReachable(false);
    await pass(1000);
    assert.equal(connection.state.status, 'unreachable');
    assert.equal(connection.state.since, lastHeard, 'since the bus last heard the broker');
    assert.ok(connection.orchestrator, 'the orchestrator stays (kafkajs reconnects by itself)');
    await pass(5000);
    assert.equal(states.filter((s) => s.status === 'unreachable').length, 1, 'said once, not every second');
    bus.setReachable(true);
    const back = clock.now();
    await pass(1000);
    assert.equal(connection.state.status, 'connected');
    assert.equal(connection.state.since, back);
  });

  it('stops at a refusal (a wrong password) and says so instead of retrying every few seconds', async () => {
    failures = [new KafkaUnreachableError('cannot reach'), new KafkaAccessError('Kafka at fake:9092 refused this client: SASL authentication failed: wrong password')];
    connection.start();
    await pass(60_000);
    assert.equal(attempts, 2, 'no attempt after the refusal');
    assert.equal(connection.state.status, 'refused');
    assert.match(connection.state.lastError!, /wrong password/);
    assert.throws(() => connection.require(), /refused this client.*wrong password.*connects again when they change/);
  });

  it('tries again when the settings change after a refusal', async () => {
    failures = [new KafkaAccessError('refused: SASL authentication failed')];
    connection.start();
    await pass(0);
    assert.equal(connection.state.status, 'refused');
    await connection.reconfigure(options());
    await pass(0);
    assert.equal(connection.state.status, 'connected');
    assert.equal(attempts, 2);
  });
});
