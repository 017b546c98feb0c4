// The palette commands. Each is registered through one wrapper that turns a thrown error into an
// error message a user can act on.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { errorMessage, type Logger } from '../../common/logger';
import { parseDefinition, validateDefinition, type LoadTestDefinition } from '../../orchestrator/loadtest-definition';
import { resultToCsv } from '../../orchestrator/result-export';
import { startBroker } from '../../kafka-broker/local-kafka';
import { DashboardPanel } from './dashboard-panel';
import type { LoadTestService } from './loadtest-service';
import type { TestResult } from '../../orchestrator/result-model';
import { formatCapacityProgress } from '../../orchestrator/capacity/capacity-format';
import { startCapacitySearch } from '../../orchestrator/capacity/capacity-session';
import type { CapacityView } from '../webview/dashboard-protocol';
import { hasCapacityBlock } from './loadtest-codelens';
import type { RunHistory } from './run-history';

// Validation and completion come from contributes.jsonValidation, so the file needs no $schema.
const NEW_FILE_TEMPLATE = {
  name: 'my load test',
  test_type: 'TSUNAMI',
  test_message_delay: 0.01,
  message_count_per_driver: 1000,
  target: 'http://127.0.0.1:8080/ping',
  thresholds: { p99_latency_ms: 250, error_rate: 0.01 },
};

/** The one wrapper every command is registered through: a thrown error becomes a message a user can act on, and a log line. */
export function commandRegistrar(context: vscode.ExtensionContext, log: Logger): (id: string, run: (...args: never[]) => unknown) => void {
  return (id, run) =>
    void context.subscriptions.push(
      vscode.commands.registerCommand(id, async (...args: never[]) => {
        try {
          return await run(...args);
        } catch (error) {
          const message = errorMessage(error);
          log.error(`${id}: ${message}`);
          void vscode.window.showErrorMessage(`Load Test: ${message}`);
          return undefined;
        }
      }),
    );
}

/** Where a definition run from the editor came from. */
export interface DefinitionSource {
  /** how messages name it: the file, or the request it was made from */
  label: string;
  /** offered by "Open File" when it is not a valid load test */
  open?: vscode.Uri;
  /** the .loadtest.json the history files the run under (baselines, the CodeLens); none for a definition made from another file */
  sourceFile?: string;
}

/**
 * Runs a definition as "Start Load Test" runs a file: validated (errors shown), started, the
 * dashboard opened, the result saved and offered when it ends. Resolves with the test id, or
 * undefined when the definition is not valid.
 */
export type DefinitionRunner = (definition: unknown, source: DefinitionSource) => Promise<string | undefined>;

export function registerCommands(context: vscode.ExtensionContext, service: LoadTestService, history: RunHistory, log: Logger): DefinitionRunner {
  const register = commandRegistrar(context, log);

  const saveResult = (result: TestResult): vscode.Uri => {
    const dir = join(service.resultsDir, 'results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${result.test_id}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2));
    return vscode.Uri.file(file);
  };

  const exportCsv = async (testId?: string) => {
    // A run of the history can be exported without a connection (the dashboard shows one read-only).
    const o = service.orchestrator;
    const id = testId ?? service.lastTest?.test_id ?? history.list()[0]?.test_id;
    if (!id) throw new Error('no test has run yet; start one first');
    const result = o?.getTest(id) ?? history.result(id);
    if (!result || !('thresholds' in result)) throw new Error(`test ${id} has no final result yet`);
    const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(join(service.resultsDir, 'results', `${id}.csv`)), filters: { CSV: ['csv'] } });
    if (!target) return undefined;
    await vscode.workspace.fs.writeFile(target, Buffer.from(resultToCsv(result as TestResult)));
    void vscode.window.showInformationMessage(`Load Test: wrote ${vscode.workspace.asRelativePath(target)}`);
    return target;
  };

  register('loadtest.setSharedSecret', async () => {
    const secret = await vscode.window.showInputBox({
      title: 'Load Test: shared secret',
      prompt: 'The secret your agents were started with (--secret-file or LT_SECRET). Kept in VS Code\'s secret storage; leave empty to stop signing.',
      password: true,
      ignoreFocusOut: true,
      validateInput: (value) => (value === '' || value.trim().length >= 16 ? undefined : 'at least 16 characters'),
    });
    if (secret === undefined) return;
    await service.setSharedSecret(secret.trim() || undefined);
    void vscode.window.showInformationMessage(secret ? 'Load Test: commands to agents are now signed.' : 'Load Test: commands are no longer signed.');
  });

  register('loadtest.setKafkaPassword', async () => {
    const sasl = service.currentSettings.kafkaSasl;
    const password = await vscode.window.showInputBox({
      title: 'Load Test: Kafka SASL password',
      prompt: `${sasl ? `The password of Kafka user ${sasl.username} (${sasl.mechanism}).` : 'The Kafka SASL password (set loadtest.kafka.sasl.mechanism and .username too).'} Kept in VS Code's secret storage; leave empty to forget it.`,
      password: true,
      ignoreFocusOut: true,
    });
    if (password === undefined) return;
    await service.setKafkaPassword(password || undefined);
    void vscode.window.showInformationMessage(password ? 'Load Test: Kafka password stored; reconnecting.' : 'Load Test: Kafka password forgotten.');
  });

  const openDashboard = () => DashboardPanel.show(context.extensionUri, service, (id) => void vscode.commands.executeCommand('loadtest.exportCsv', id));

  /** The file to run: the argument, the active .loadtest.json editor, or one picked from the workspace. */
  const pickFile = async (uri?: vscode.Uri): Promise<vscode.Uri | undefined> => {
    if (uri instanceof vscode.Uri) return uri;
    const active = vscode.window.activeTextEditor?.document.uri;
    if (active?.path.endsWith('.loadtest.json')) return active;
    const files = await vscode.workspace.findFiles('**/*.loadtest.json', '**/node_modules/**', 200);
    if (files.length === 0) throw new Error('no .loadtest.json file in this workspace. Create one with "Load Test: New Load Test File".');
    if (files.length === 1) return files[0];
    const picked = await vscode.window.showQuickPick(
      files.map((f) => ({ label: vscode.workspace.asRelativePath(f), uri: f })),
      { placeHolder: 'Which load test?' },
    );
    return picked?.uri;
  };

  const refuse = (source: DefinitionSource, errors: string[]): undefined => {
    log.warn(`${source.label} is not a valid load test: ${errors.join('; ')}`);
    // Not awaited: the message stays until the person dismisses it, and the command is done.
    void vscode.window.showErrorMessage(`Load Test: ${source.label} is not a valid load test. ${errors.join(' · ')}`, ...(source.open ? ['Open File'] : [])).then((choice) => {
      if (choice && source.open) void vscode.window.showTextDocument(source.open);
    });
    return undefined;
  };

  const start = async (definition: LoadTestDefinition, source: DefinitionSource): Promise<string> => {
    const orchestrator = await service.connection.ready(5000);
    const run = await orchestrator.startTest(definition, { waitForDriversMs: 5000, sourceFile: source.sourceFile });
    openDashboard();
    void orchestrator.waitForEnd(run.testId).then((result) => {
      const saved = saveResult(result);
      const show = result.verdict.passed ? vscode.window.showInformationMessage : vscode.window.showWarningMessage;
      void show(`Load Test ${result.test_id} ${result.status}. ${result.verdict.reason}`, 'Open Result', 'Export CSV').then((choice) => {
        if (choice === 'Open Result') void vscode.window.showTextDocument(saved);
        if (choice === 'Export CSV') void exportCsv(result.test_id);
      });
    });
    return run.testId;
  };

  const runDefinition: DefinitionRunner = async (value, source) => {
    const checked = validateDefinition(value);
    return checked.ok ? start(checked.definition, source) : refuse(source, checked.errors);
  };

  register('loadtest.startTest', async (uri?: vscode.Uri) => {
    const file = await pickFile(uri);
    if (!file) return undefined;
    const source = { label: vscode.workspace.asRelativePath(file), open: file, sourceFile: file.fsPath };
    // The document as the editor holds it, unsaved edits included: what the person sees is what runs.
    const parsed = parseDefinition((await vscode.workspace.openTextDocument(file)).getText());
    return parsed.ok ? start(parsed.definition, source) : refuse(source, parsed.errors);
  });

  register('loadtest.findCapacity', async (uri?: vscode.Uri) => {
    const file = await pickFile(uri);
    if (!file) return undefined;
    const name = vscode.workspace.asRelativePath(file);
    const text = (await vscode.workspace.openTextDocument(file)).getText();
    if (!hasCapacityBlock(text)) throw new Error(`${name} has no "capacity" block. Add one, e.g. "capacity": {"start_rate": 100, "max_rate": 5000, "slo": {"p99_latency_ms": 200}}`);
    const parsed = parseDefinition(text);
    if (!parsed.ok) throw new Error(`${name} is not a valid load test. ${parsed.errors.join(' · ')}`);
    const orchestrator = await service.connection.ready(5000);
    let view: CapacityView = { file: name, steps: [] };
    service.showCapacity(view);
    openDashboard();
    const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Load Test: capacity of ${name}`, cancellable: true }, (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      return startCapacitySearch(orchestrator, parsed.definition, {
        waitForDriversMs: 5000,
        signal: abort.signal,
        onProgress: (p) => {
          if (p.kind === 'step_started') view = { ...view, current: { step: p.step, rate: p.rate } };
          else if (p.kind === 'step_judged') view = { ...view, steps: [...view.steps, p.step] };
          else if (p.kind === 'ended') view = { ...view, current: undefined, result: p.result };
          service.showCapacity(view);
          log.info(`capacity search of ${name}: ${formatCapacityProgress(p)}`);
          progress.report({ message: formatCapacityProgress(p) });
        },
      });
    });
    service.showCapacity({ ...view, current: undefined, result });
    const show = result.capacity_rps === null ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void show(`Load Test: ${result.summary}`);
    return result;
  });

  register('loadtest.stopTest', async () => {
    const orchestrator = service.connection.require();
    const run = orchestrator.activeRun();
    if (!run) throw new Error('no test is running');
    await orchestrator.stopTest(run.testId);
    return run.testId;
  });

  register('loadtest.openDashboard', () => {
    openDashboard();
  });

  register('loadtest.newTestFile', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) throw new Error('open a folder first: the file is created in it');
    const name = await vscode.window.showInputBox({ prompt: 'Name of the new load test', value: 'ping', validateInput: (v) => (/^[\w.-]+$/.test(v) ? undefined : 'letters, digits, . _ - only') });
    if (!name) return undefined;
    const uri = vscode.Uri.joinPath(folder.uri, `${name}.loadtest.json`);
    await vscode.workspace.fs.writeFile(uri, Buffer.from(JSON.stringify({ ...NEW_FILE_TEMPLATE, name }, null, 2) + '\n'));
    await vscode.window.showTextDocument(uri);
    return uri;
  });

  register('loadtest.copyRestUrl', async () => {
    const url = service.restUrl;
    if (!url) throw new Error('the REST API is not running: it starts once Kafka is connected (see the Load Test output)');
    await vscode.env.clipboard.writeText(url);
    void vscode.window.showInformationMessage(`Load Test: copied ${url}`);
    return url;
  });

  register('loadtest.startLocalBroker', async () => {
    const [host, port] = service.currentSettings.brokers[0].split(/:(?=\d+$)/);
    if (!['127.0.0.1', 'localhost'].includes(host)) throw new Error(`the Kafka setting points at ${host}, not this machine; the local broker listens on 127.0.0.1`);
    // Cancellable: the first start downloads the broker with Maven, which can take minutes.
    const broker = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Load Test: starting a local Kafka broker', cancellable: true },
      (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        return startBroker({
          port: Number(port),
          advertisedHost: '127.0.0.1',
          listenHost: '127.0.0.1',
          fresh: false,
          home: join(context.globalStorageUri.fsPath, 'kafka'),
          pomFile: vscode.Uri.joinPath(context.extensionUri, 'kafka-broker', 'pom.xml').fsPath,
          signal: abort.signal,
          onProgress: (line) => {
            log.info(line);
            progress.report({ message: line });
          },
        });
      },
    );
    void vscode.window.showInformationMessage(`Load Test: Kafka is running at ${broker.bootstrap} (pid ${broker.pid}); the extension connects by itself.`);
    return broker.bootstrap;
  });

  register('loadtest.exportCsv', (testId?: string) => exportCsv(typeof testId === 'string' ? testId : undefined));
  return runDefinition;
}
