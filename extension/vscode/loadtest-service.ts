// The orchestrator inside VS Code: the same core as lt-orchestrator, held by a connection that
// waits for Kafka and reconnects when the settings change, with the REST API on localhost.
// Everything else in the extension listens to this one object.
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import * as vscode from 'vscode';
import { errorMessage, type Logger } from '../../common/logger';
import type { Orchestrator } from '../../orchestrator/orchestrator';
import { OrchestratorConnection, type ConnectionState } from '../../orchestrator/orchestrator-connection';
import { randomBytes } from 'node:crypto';
import { isLoopback } from '../../orchestrator/rest-api/request-guard';
import { startRestApi, type RunningRestApi } from '../../orchestrator/rest-api/rest-api';
import { describeSecurity, type KafkaSecurity } from '../../protocol/kafka-bus';
import { readSettings, readSettingsOrDefaults, showSettingError, type LoadTestSettings } from './settings';
import type { DriverInfo, TestResult, TestSnapshot, TimePoint } from '../../orchestrator/result-model';
import type { CapacityView, ConnectionSummary } from '../webview/dashboard-protocol';

export type ServiceEvent =
  | { kind: 'connection'; state: ConnectionState }
  | { kind: 'drivers'; drivers: DriverInfo[] }
  | { kind: 'test'; test: TestSnapshot }
  | { kind: 'update'; test: TestSnapshot; point: TimePoint }
  | { kind: 'end'; result: TestResult }
  | { kind: 'capacity'; capacity: CapacityView | null };

const API_TOKEN_SECRET = 'loadtest.api.token';
const SHARED_SECRET = 'loadtest.sharedSecret';
const KAFKA_PASSWORD = 'loadtest.kafka.password';

export class LoadTestService implements vscode.Disposable {
  private readonly events = new vscode.EventEmitter<ServiceEvent>();
  readonly onEvent = this.events.event;
  readonly connection: OrchestratorConnection;
  private api: RunningRestApi | undefined;
  private settings: LoadTestSettings;
  /** The test shown when none is running: the last one that ran here. */
  lastTest: TestSnapshot | TestResult | undefined;
  /** The capacity search running here, or the last one that ran, as the dashboard shows it. */
  capacity: CapacityView | null = null;

  /** A capacity search's new state, for every view that shows it. */
  showCapacity(view: CapacityView | null): void {
    this.capacity = view;
    this.events.fire({ kind: 'capacity', capacity: view });
  }

  constructor(
    private readonly log: Logger,
    private readonly workspaceRoot: string | undefined,
    /** where the REST API's token lives when it listens beyond loopback (never settings.json) */
    private readonly secrets?: vscode.SecretStorage,
  ) {
    this.settings = readSettingsOrDefaults((message) => {
      this.log.error(message);
      showSettingError(`${message}. Using 127.0.0.1:9092 over PLAINTEXT until it is fixed.`, 'loadtest.kafka');
    });
    this.connection = new OrchestratorConnection(this.orchestratorOptions(this.settings));
    this.connection.on('state', (state) => {
      // While Kafka is unreachable the orchestrator is still there (kafkajs reconnects by itself).
      void vscode.commands.executeCommand('setContext', 'loadtest.connected', state.status === 'connected' || state.status === 'unreachable');
      void vscode.commands.executeCommand('setContext', 'loadtest.refused', state.status === 'refused');
      this.logState(state);
      this.events.fire({ kind: 'connection', state });
    });
    this.connection.on('connected', (o) => void this.onConnected(o));
  }

  private logState(state: ConnectionState): void {
    const brokers = state.brokers.join(',');
    if (state.status === 'unreachable') this.log.warn(`Kafka at ${brokers} unreachable since ${new Date(state.since).toISOString()}: no driver is judged lost until it answers`);
    else if (state.status === 'connected' && this.wasUnreachable) this.log.info(`Kafka at ${brokers} answers again`);
    else if (state.status === 'refused') {
      this.log.error(`${state.lastError ?? `Kafka at ${brokers} refused this client`}; not retrying until the Kafka settings or the password change`);
      // A missing password has its own question already (askForMissingPassword).
      if (!this.kafkaPassword && this.settings.kafkaSasl) return void (this.wasUnreachable = false);
      void vscode.window.showErrorMessage(`Load Test: ${state.lastError ?? 'Kafka refused this client'}. It does not retry until the settings change.`, 'Set Kafka Password', 'Open Settings').then((choice) => {
        if (choice === 'Set Kafka Password') void vscode.commands.executeCommand('loadtest.setKafkaPassword');
        else if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', 'loadtest.kafka');
      });
    }
    this.wasUnreachable = state.status === 'unreachable';
  }

  private wasUnreachable = false;

  get restUrl(): string | undefined {
    return this.api?.url;
  }

  /** The connection as every view shows it (see webview/connection-text.ts). */
  connectionSummary(): ConnectionSummary {
    const state = this.connection.state;
    return { status: state.status, brokers: state.brokers, since: state.since, lastError: state.lastError, restUrl: this.restUrl };
  }

  get orchestrator(): Orchestrator | undefined {
    return this.connection.orchestrator;
  }

  /** The folder of results and history (the metrics store, as lt-orchestrator's --store). */
  get resultsDir(): string {
    return this.resultsDirFor(this.settings);
  }

  private orchestratorOptions(s: LoadTestSettings) {
    return {
      brokers: s.brokers,
      kafkaSecurity: this.kafkaSecurity(s),
      topicPrefix: s.topicPrefix,
      // The same store as lt-orchestrator's in this folder: tests run from a terminal show here too.
      storeDir: this.resultsDirFor(s),
      id: s.orchestratorId,
      logger: this.log,
      secret: this.secret,
    };
  }

  /** The Kafka password, from VS Code's secret storage (never settings.json). */
  private kafkaPassword: string | undefined;

  private kafkaSecurity(s: LoadTestSettings): KafkaSecurity | undefined {
    if (!s.kafkaTls && !s.kafkaSasl) return undefined;
    const root = this.workspaceRoot ?? homedir();
    const tls = s.kafkaTls && { ...s.kafkaTls, caFile: s.kafkaTls.caFile && (isAbsolute(s.kafkaTls.caFile) ? s.kafkaTls.caFile : join(root, s.kafkaTls.caFile)) };
    // Without a password the connection fails and says so (kafka-bus.ts); the status names the command that sets one.
    const sasl = s.kafkaSasl && { ...s.kafkaSasl, password: this.kafkaPassword ?? '' };
    return { tls, sasl };
  }

  private askForMissingPassword(s: LoadTestSettings): void {
    if (!s.kafkaSasl || this.kafkaPassword) return;
    void vscode.window
      .showWarningMessage(`Load Test: Kafka SASL (${s.kafkaSasl.mechanism}) as ${s.kafkaSasl.username} needs a password, kept in VS Code's secret storage.`, 'Set Password')
      .then((choice) => {
        if (choice) void vscode.commands.executeCommand('loadtest.setKafkaPassword');
      });
  }

  /** Stores (or, with undefined, forgets) the Kafka SASL password and reconnects with it. */
  async setKafkaPassword(password: string | undefined): Promise<void> {
    if (!this.secrets) throw new Error('no secret storage');
    if (password) await this.secrets.store(KAFKA_PASSWORD, password);
    else await this.secrets.delete(KAFKA_PASSWORD);
    this.kafkaPassword = password;
    await this.connection.reconfigure(this.orchestratorOptions(this.settings));
  }

  /** The secret shared with the agents, from VS Code's secret storage (never settings.json). */
  private secret: string | undefined;

  /** Stores (or, with undefined, forgets) the shared secret and reconnects so that commands use it. */
  async setSharedSecret(secret: string | undefined): Promise<void> {
    if (!this.secrets) throw new Error('no secret storage');
    if (secret) await this.secrets.store(SHARED_SECRET, secret);
    else await this.secrets.delete(SHARED_SECRET);
    this.secret = secret;
    await this.connection.reconfigure(this.orchestratorOptions(this.settings));
  }

  private resultsDirFor(s: LoadTestSettings): string {
    return isAbsolute(s.resultsFolder) ? s.resultsFolder : join(this.workspaceRoot ?? homedir(), s.resultsFolder);
  }

  async start(): Promise<void> {
    this.secret = await this.secrets?.get(SHARED_SECRET);
    this.kafkaPassword = await this.secrets?.get(KAFKA_PASSWORD);
    this.askForMissingPassword(this.settings);
    this.log.info(`connecting to Kafka at ${this.settings.brokers.join(',')} over ${describeSecurity(this.kafkaSecurity(this.settings))}${this.secret ? '; commands are signed with the shared secret' : ''}`);
    await this.connection.reconfigure(this.orchestratorOptions(this.settings));
  }

  private async onConnected(orchestrator: Orchestrator): Promise<void> {
    this.log.info(`connected to Kafka at ${orchestrator.brokers.join(',')} as orchestrator ${orchestrator.id}`);
    orchestrator.on('drivers', (drivers) => this.events.fire({ kind: 'drivers', drivers }));
    orchestrator.on('test', (test) => {
      this.lastTest = test;
      this.events.fire({ kind: 'test', test });
    });
    // The editor's views (dashboard, drivers tree, status bar, history) consume every run as one of its outputs.
    orchestrator.attachOutput({
      name: 'the editor',
      second: (test, point) => {
        this.lastTest = test;
        this.events.fire({ kind: 'update', test, point });
      },
      end: (result) => {
        this.lastTest = result;
        this.events.fire({ kind: 'end', result });
      },
    });
    this.events.fire({ kind: 'drivers', drivers: orchestrator.drivers() });
    await this.restartApi(orchestrator);
  }

  /** The REST API's bearer token from SecretStorage; made and shown once when there is none. */
  private async apiToken(): Promise<string> {
    if (!this.secrets) throw new Error('no secret storage for the REST API token');
    const stored = await this.secrets.get(API_TOKEN_SECRET);
    if (stored) return stored;
    const token = randomBytes(24).toString('base64url');
    await this.secrets.store(API_TOKEN_SECRET, token);
    void vscode.window
      .showInformationMessage(`The Load Test REST API listens on ${this.settings.apiHost}, beyond this machine: requests need Authorization: Bearer TOKEN. The token is kept in VS Code's secret storage and shown only now.`, 'Copy token')
      .then((choice) => {
        if (choice) void vscode.env.clipboard.writeText(token);
      });
    return token;
  }

  private async restartApi(orchestrator: Orchestrator): Promise<void> {
    await this.api?.close();
    this.api = undefined;
    try {
      const token = isLoopback(this.settings.apiHost) ? undefined : await this.apiToken();
      this.api = await startRestApi(orchestrator, { host: this.settings.apiHost, port: this.settings.apiPort, token });
      this.log.info(`REST API on ${this.api.url}${token ? ' (bearer token required)' : ''}`);
    } catch (error) {
      const message = `Load Test REST API not started: ${errorMessage(error)}. Change "loadtest.api.port" in the settings.`;
      this.log.error(message);
      void vscode.window.showErrorMessage(message, 'Open Settings').then((choice) => {
        if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', 'loadtest.api');
      });
    }
    this.events.fire({ kind: 'connection', state: this.connection.state });
  }

  /** Reconnects (Kafka, topics, REST API) with the settings as they are now. */
  async reloadSettings(): Promise<void> {
    let next: LoadTestSettings;
    try {
      next = readSettings();
    } catch (error) {
      showSettingError(errorMessage(error), 'loadtest.kafka');
      return;
    }
    this.settings = next;
    this.log.info('settings changed: reconnecting');
    this.askForMissingPassword(next);
    await this.api?.close();
    this.api = undefined;
    await this.connection.reconfigure(this.orchestratorOptions(next));
  }

  get currentSettings(): LoadTestSettings {
    return this.settings;
  }

  async dispose(): Promise<void> {
    await this.api?.close();
    this.api = undefined;
    await this.connection.dispose();
    this.events.dispose();
  }
}
