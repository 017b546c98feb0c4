// A long-lived host (the VS Code extension) starts before any broker exists and connects by
// itself once one answers; a change of settings reconnects it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { join } from 'node:path';
import { OrchestratorConnection, type ConnectionState } from '../../orchestrator/orchestrator-connection';
import { startRestApi } from '../../orchestrator/rest-api/rest-api';
import { freePort } from '../../common/free-port';
import { startBroker, type RunningBroker } from '../../kafka-broker/local-kafka';
import { uniquePrefix } from '../support/kafka-fixture';
import { quietLogger, startAgent, tempDir, waitFor } from '../support/processes';

describe('a connection to Kafka held by a long-lived host', function () {
  let broker: RunningBroker | undefined;
  let connection: OrchestratorConnection | undefined;
  afterEach(async () => {
    await connection?.dispose();
    await broker?.stop();
  });

  it('starts with no broker, says what to do, connects once one answers, and reconnects on new settings', async () => {
    const port = await freePort();
    const kafka = `127.0.0.1:${port}`;
    const prefix = uniquePrefix('conn');
    const options = { brokers: [kafka], topicPrefix: prefix, storeDir: tempDir('conn-store'), id: 'test-orchestrator', logger: quietLogger() };
    connection = new OrchestratorConnection(options, { retryMs: 300, maxRetryMs: 300 });
    const states: ConnectionState[] = [];
    connection.on('state', (s) => states.push(s));
    connection.start();

    await waitFor(() => connection!.state.lastError, 'a failed attempt');
    assert.equal(connection.state.status, 'connecting');
    assert.match(connection.state.lastError!, new RegExp(`cannot reach Kafka at ${kafka}`));
    assert.throws(() => connection!.require(), /not connected to Kafka at .*Start a broker.*connects by itself/);

    broker = await startBroker({ port, advertisedHost: '127.0.0.1', listenHost: '127.0.0.1', fresh: true, stateDir: join(tempDir('conn-kafka'), 'broker') });
    const [orchestrator] = await once(connection, 'connected');
    assert.equal(connection.state.status, 'connected');
    assert.ok(states.filter((s) => s.status === 'connecting').length >= 2, 'it kept trying');
    await startAgent('conn-1', { kafka, prefix, orchestrator: 'test-orchestrator' });
    await waitFor(() => orchestrator.registry.available().length === 1, 'the agent to register');

    const otherPrefix = uniquePrefix('conn-b');
    const reconnected = once(connection, 'connected');
    await connection.reconfigure({ ...options, topicPrefix: otherPrefix });
    const [second] = await reconnected;
    assert.notEqual(second, orchestrator);
    assert.equal(second.topics.register, `${otherPrefix}register`);
    assert.equal(second.registry.list().length, 0, 'the new topics have no drivers');
  });

  it('says Kafka is unreachable, since when, while its broker is stopped, and connected once it answers again', async function () {
    this.timeout(360_000); // two cold broker starts
    const brokerOptions = { port: await freePort(), advertisedHost: '127.0.0.1', listenHost: '127.0.0.1', fresh: false, stateDir: join(tempDir('conn-outage-kafka'), 'broker') };
    broker = await startBroker(brokerOptions);
    const options = { brokers: [broker.bootstrap], topicPrefix: uniquePrefix('conn-outage'), storeDir: tempDir('conn-outage-store'), id: 'test-orchestrator', logger: quietLogger() };
    connection = new OrchestratorConnection(options, { retryMs: 300, maxRetryMs: 300 });
    const states: ConnectionState[] = [];
    connection.on('state', (s) => states.push(s));
    connection.start();
    await once(connection, 'connected');
    const orchestrator = connection.orchestrator;
    const api = await startRestApi(orchestrator!, { host: '127.0.0.1', port: 0 });
    const health = async () => (await (await fetch(`${api.url}/api/health`)).json()) as { status: string; kafka_reachable: boolean; kafka_since: number };
    assert.equal((await health()).status, 'ok');

    const stoppedAt = Date.now();
    await broker.stop();
    broker = undefined;
    await waitFor(() => connection!.state.status === 'unreachable', 'the connection to say Kafka is unreachable', 30_000);
    assert.ok(connection.state.since <= Date.now() && connection.state.since >= stoppedAt - 5000, 'since about when the broker stopped');
    assert.equal(connection.orchestrator, orchestrator, 'the same orchestrator waits for its broker');
    const during = await health();
    assert.deepEqual([during.status, during.kafka_reachable], ['kafka_unreachable', false], 'the REST API says it too');
    assert.equal(during.kafka_since, connection.state.since);

    broker = await startBroker(brokerOptions);
    await waitFor(() => connection!.state.status === 'connected', 'connected again', 90_000);
    assert.equal(connection.orchestrator, orchestrator);
    assert.deepEqual(states.map((s) => s.status).filter((s, i, all) => s !== all[i - 1]), ['connecting', 'connected', 'unreachable', 'connected']);
    await waitFor(async () => (await health()).status === 'ok', 'the REST API to say ok again');
    await api.close();
  });
});
