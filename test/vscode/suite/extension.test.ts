// Runs inside a real VS Code extension host, against the real broker, agents and target that
// test/vscode/run-vscode-tests.ts started and named in the workspace settings.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { LoadTestApi } from '../../../extension/extension';
import { connectionText } from '../../../extension/webview/connection-text';

const EXTENSION_ID = 'loadtest-kafka.loadtest-kafka';
const EXPECTED_DRIVERS = Number(process.env.LT_VSCODE_TEST_DRIVERS ?? 2);

async function waitFor<T>(check: () => T | undefined | false | null, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the Load Test extension in VS Code', function () {
  let api: LoadTestApi;
  const folder = () => vscode.workspace.workspaceFolders![0].uri;

  before(async () => {
    const extension = vscode.extensions.getExtension<LoadTestApi>(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is installed`);
    api = await extension.activate();
  });

  it('activates and registers every command of its palette category', async () => {
    const commands = await vscode.commands.getCommands(true);
    for (const id of ['loadtest.startTest', 'loadtest.findCapacity', 'loadtest.stopTest', 'loadtest.openDashboard', 'loadtest.newTestFile', 'loadtest.copyRestUrl', 'loadtest.startLocalBroker', 'loadtest.exportCsv', 'loadtest.setSharedSecret', 'loadtest.setKafkaPassword', 'loadtest.openRun', 'loadtest.setBaseline', 'loadtest.compareRuns', 'loadtest.compareWithBaseline', 'loadtest.compareWith', 'loadtest.exportReport', 'loadtest.deleteRun', 'loadtest.refreshHistory']) {
      assert.ok(commands.includes(id), `${id} is registered`);
    }
  });

  it('connects to the broker in the settings and lists the agents registered over it', async () => {
    const orchestrator = await api.service.connection.ready(60_000);
    const drivers = await waitFor(() => {
      const alive = orchestrator.drivers().filter((d) => d.health === 'alive');
      return alive.length === EXPECTED_DRIVERS && alive;
    }, `${EXPECTED_DRIVERS} alive drivers`);
    assert.deepEqual(drivers.map((d) => d.node_id), Array.from({ length: EXPECTED_DRIVERS }, (_, i) => `vscode-driver-${i + 1}`));
    const items = api.tree.getChildren().map((d) => api.tree.getTreeItem(d));
    assert.equal(items.length, EXPECTED_DRIVERS);
    assert.match(String(items[0].description), /alive · heartbeat \d+ s ago/);
  });

  it('answers on the REST API', async () => {
    await waitFor(() => api.service.restUrl, 'the REST API');
    const body = (await (await fetch(`${api.service.restUrl}/api/drivers`)).json()) as { drivers: { node_id: string }[] };
    assert.equal(body.drivers.length, EXPECTED_DRIVERS);
  });

  it('runs the workspace’s .loadtest.json to completion and saves the result in the workspace', async () => {
    const file = vscode.Uri.joinPath(folder(), 'ping.loadtest.json');
    const testId = await vscode.commands.executeCommand<string>('loadtest.startTest', file);
    assert.ok(testId, 'the command returns the test id');
    const orchestrator = api.service.connection.require();
    const result = await orchestrator.waitForEnd(testId);
    assert.equal(result.status, 'complete');
    const definition = JSON.parse(readFileSync(file.fsPath, 'utf8'));
    assert.equal(result.aggregate.requests_sent, definition.message_count_per_driver * EXPECTED_DRIVERS);
    const row = api.tree.getTreeItem(orchestrator.drivers()[0]);
    assert.match(String(row.description), new RegExp(`${definition.message_count_per_driver.toLocaleString('en-US')} sent`), 'the tree shows requests sent in the test');
    const saved = join(api.service.resultsDir, 'results', `${testId}.json`);
    await waitFor(() => existsSync(saved), 'the saved result');
    assert.equal(JSON.parse(readFileSync(saved, 'utf8')).test_id, testId);
  });

  it('offers “Run load test” at the top of a .loadtest.json file', async () => {
    const document = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder(), 'ping.loadtest.json'));
    const file = document.uri;
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', file);
    const run = lenses.find((l) => l.command?.command === 'loadtest.startTest');
    assert.ok(run, 'a CodeLens runs the file');
    assert.equal(run.range.start.line, 0);
    assert.match(run.command!.title, /Run load test/);
    assert.equal((run.command!.arguments![0] as vscode.Uri).toString(), file.toString());
  });

  it('offers “Find capacity” beside it only on a file with a capacity block', async () => {
    const withBlock = await vscode.workspace.openTextDocument({ language: 'json', content: JSON.stringify({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 10, target: 'http://127.0.0.1:1/ping', capacity: { start_rate: 10 } }) });
    const plain = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder(), 'ping.loadtest.json'));
    const { LoadTestCodeLensProvider } = await import('../../../extension/vscode/loadtest-codelens');
    const provider = new LoadTestCodeLensProvider();
    const titles = (d: vscode.TextDocument) => provider.provideCodeLenses(d).map((l) => l.command?.command);
    assert.deepEqual(titles(withBlock), ['loadtest.startTest', 'loadtest.findCapacity']);
    assert.deepEqual(titles(plain), ['loadtest.startTest']);
    // And through VS Code, on the workspace's file: no capacity lens there.
    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', plain.uri);
    assert.ok(!lenses.some((l) => l.command?.command === 'loadtest.findCapacity'));
  });

  it('reconnects without a reload when a setting changes', async () => {
    const settings = vscode.workspace.getConfiguration('loadtest');
    const before = settings.get<string>('kafka.topicPrefix')!;
    const first = api.service.connection.require();
    await settings.update('kafka.topicPrefix', `${before}renamed.`, vscode.ConfigurationTarget.Workspace);
    const second = await waitFor(() => {
      const o = api.service.orchestrator;
      return o && o !== first && o.topics.register === `${before}renamed.register` && o;
    }, 'a new connection on the new topics');
    assert.equal(second.drivers().length, 0, 'no agent serves the renamed topics');
    await settings.update('kafka.topicPrefix', before, vscode.ConfigurationTarget.Workspace);
    await waitFor(() => api.service.orchestrator?.topics.register === `${before}register` && api.service.orchestrator.drivers().some((d) => d.health === 'alive'), 'the original topics and their drivers again');
    await waitFor(() => api.service.restUrl, 'the REST API again');
  });

  it('reaches a SASL_SSL cluster: TLS and user in the settings, the SCRAM password in secret storage only', async () => {
    const settings = vscode.workspace.getConfiguration('loadtest');
    const original = settings.get<string>('kafka.brokers')!;
    const password = readFileSync(process.env.LT_VSCODE_SASL_PASSWORD_FILE!, 'utf8').trim();
    const workspaceSetting = (key: string, value: unknown) => settings.update(key, value, vscode.ConfigurationTarget.Workspace);
    await api.service.setKafkaPassword(password);
    await workspaceSetting('kafka.tls.caFile', process.env.LT_VSCODE_SASL_CA);
    await workspaceSetting('kafka.sasl.username', process.env.LT_VSCODE_SASL_USER);
    await workspaceSetting('kafka.sasl.mechanism', 'scram-sha-512');
    await workspaceSetting('kafka.brokers', process.env.LT_VSCODE_SASL_KAFKA);
    try {
      const secured = await waitFor(() => {
        const o = api.service.orchestrator;
        return o && o.brokers[0] === process.env.LT_VSCODE_SASL_KAFKA && o.drivers().some((d) => d.node_id === 'vscode-sasl-driver' && d.health === 'alive') && o;
      }, 'the orchestrator on the SASL_SSL cluster, with its agent');
      assert.deepEqual(secured.kafkaSecurity?.sasl && { ...secured.kafkaSecurity.sasl, password: '…' }, { mechanism: 'scram-sha-512', username: process.env.LT_VSCODE_SASL_USER, password: '…' });
      assert.equal(secured.kafkaSecurity?.tls?.caFile, process.env.LT_VSCODE_SASL_CA);
      const settingsFile = readFileSync(join(folder().fsPath, '.vscode', 'settings.json'), 'utf8');
      assert.ok(!settingsFile.includes(password), 'the password is not in settings.json');
      assert.match(settingsFile, /"loadtest.kafka.sasl.mechanism": "scram-sha-512"/);
    } finally {
      await workspaceSetting('kafka.brokers', original);
      await workspaceSetting('kafka.sasl.mechanism', undefined);
      await workspaceSetting('kafka.sasl.username', undefined);
      await workspaceSetting('kafka.tls.caFile', undefined);
      await api.service.setKafkaPassword(undefined);
    }
    await waitFor(() => api.service.orchestrator?.brokers[0] === original && api.service.orchestrator.drivers().filter((d) => d.health === 'alive').length === EXPECTED_DRIVERS, 'the plaintext cluster and its drivers again');
    await waitFor(() => api.service.restUrl, 'the REST API again');
  });

  it('says once that the SASL_SSL cluster refused a wrong password, and does not retry it until the password changes', async () => {
    const settings = vscode.workspace.getConfiguration('loadtest');
    const original = settings.get<string>('kafka.brokers')!;
    const workspaceSetting = (key: string, value: unknown) => settings.update(key, value, vscode.ConfigurationTarget.Workspace);
    await api.service.setKafkaPassword('not-the-password');
    await workspaceSetting('kafka.tls.caFile', process.env.LT_VSCODE_SASL_CA);
    await workspaceSetting('kafka.sasl.username', process.env.LT_VSCODE_SASL_USER);
    await workspaceSetting('kafka.sasl.mechanism', 'scram-sha-256');
    await workspaceSetting('kafka.brokers', process.env.LT_VSCODE_SASL_KAFKA);
    try {
      const refused = await waitFor(() => {
        const state = api.service.connection.state;
        return state.status === 'refused' && state.brokers[0] === process.env.LT_VSCODE_SASL_KAFKA && state;
      }, 'the connection to say the cluster refused it');
      assert.match(refused.lastError!, /SASL|authentication/i);
      assert.equal(connectionText(api.service.connectionSummary()).short, 'Kafka refused this client');
      // No attempt follows a refusal (the old loop tried again every 2 s).
      await new Promise((r) => setTimeout(r, 5000));
      assert.equal(api.service.connection.state.status, 'refused');
      assert.equal(api.service.connection.state.attempts, refused.attempts, 'no further attempt');
    } finally {
      await workspaceSetting('kafka.brokers', original);
      await workspaceSetting('kafka.sasl.mechanism', undefined);
      await workspaceSetting('kafka.sasl.username', undefined);
      await workspaceSetting('kafka.tls.caFile', undefined);
      await api.service.setKafkaPassword(undefined);
    }
    await waitFor(() => api.service.orchestrator?.brokers[0] === original && api.service.orchestrator.drivers().filter((d) => d.health === 'alive').length === EXPECTED_DRIVERS, 'the plaintext cluster and its drivers again');
    await waitFor(() => api.service.restUrl, 'the REST API again');
  });

  it('does not start an invalid file', async () => {
    const file = vscode.Uri.joinPath(folder(), 'broken.loadtest.json');
    await vscode.workspace.fs.writeFile(file, Buffer.from('{"test_type": "TSUNAMI", "message_count_per_driver": 5, "target": "http://127.0.0.1:1/"}'));
    const before = api.service.connection.require().listTests().length;
    const testId = await vscode.commands.executeCommand<string | undefined>('loadtest.startTest', file);
    assert.equal(testId, undefined);
    assert.equal(api.service.connection.require().listTests().length, before);
    await vscode.workspace.fs.delete(file);
  });
});
