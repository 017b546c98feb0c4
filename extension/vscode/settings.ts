// Every setting the extension reads, in one place.
import * as vscode from 'vscode';
import { parseBrokerList, type KafkaSecurity, type SaslMechanism } from '../../protocol/kafka-bus';
import { DEFAULT_STORE_DIR } from '../../orchestrator/metrics-store';
import { parseSaslMechanism } from '../../protocol/kafka-options';

export interface LoadTestSettings {
  brokers: string[];
  /** TLS as set; the CA path as written (resolved against the workspace by the service) */
  kafkaTls?: KafkaSecurity['tls'];
  /** SASL without the password, which lives in secret storage */
  kafkaSasl?: { mechanism: SaslMechanism; username: string };
  topicPrefix: string;
  apiHost: string;
  apiPort: number;
  /** the folder, relative to the first workspace folder unless absolute, of results and history */
  resultsFolder: string;
  orchestratorId?: string;
}

export const SECTION = 'loadtest';

export function readSettings(): LoadTestSettings {
  const c = vscode.workspace.getConfiguration(SECTION);
  const brokersText = c.get<string>('kafka.brokers', '127.0.0.1:9092');
  let brokers: string[];
  try {
    brokers = parseBrokerList(brokersText);
  } catch (error) {
    throw new Error(`the setting loadtest.kafka.brokers is invalid: ${(error as Error).message}`);
  }
  return {
    brokers,
    ...readKafkaSecurity(c),
    topicPrefix: c.get<string>('kafka.topicPrefix', ''),
    apiHost: c.get<string>('api.host', '127.0.0.1'),
    apiPort: c.get<number>('api.port', 7070),
    resultsFolder: c.get<string>('results.folder', DEFAULT_STORE_DIR),
    orchestratorId: c.get<string>('orchestrator.id') || undefined,
  };
}

function readKafkaSecurity(c: vscode.WorkspaceConfiguration): Pick<LoadTestSettings, 'kafkaTls' | 'kafkaSasl'> {
  const caFile = c.get<string>('kafka.tls.caFile', '').trim() || undefined;
  const insecure = c.get<boolean>('kafka.tls.insecure', false);
  if (caFile && insecure) throw new Error('the settings loadtest.kafka.tls.caFile and loadtest.kafka.tls.insecure contradict each other: give the CA to verify the brokers, or accept any certificate');
  const kafkaTls = c.get<boolean>('kafka.tls.enabled', false) || caFile || insecure ? { caFile, insecure: insecure || undefined } : undefined;
  const mechanismText = c.get<string>('kafka.sasl.mechanism', 'none');
  if (mechanismText === 'none' || !mechanismText) return { kafkaTls };
  let mechanism: SaslMechanism;
  try {
    mechanism = parseSaslMechanism(mechanismText);
  } catch (error) {
    throw new Error(`the setting loadtest.kafka.sasl.mechanism is invalid: ${(error as Error).message}`);
  }
  const username = c.get<string>('kafka.sasl.username', '').trim();
  if (!username) throw new Error(`the setting loadtest.kafka.sasl.mechanism is ${mechanism} but loadtest.kafka.sasl.username is empty`);
  return { kafkaTls, kafkaSasl: { mechanism, username } };
}

/**
 * The settings, or, when one is invalid, the defaults with the bad one left out: activation never
 * fails on a bad setting. `onInvalid` hears what is wrong (to show it with a way to the setting).
 */
export function readSettingsOrDefaults(onInvalid: (message: string) => void): LoadTestSettings {
  try {
    return readSettings();
  } catch (error) {
    onInvalid((error as Error).message);
    const c = vscode.workspace.getConfiguration(SECTION);
    return {
      brokers: ['127.0.0.1:9092'],
      topicPrefix: c.get<string>('kafka.topicPrefix', ''),
      apiHost: c.get<string>('api.host', '127.0.0.1'),
      apiPort: c.get<number>('api.port', 7070),
      resultsFolder: c.get<string>('results.folder', DEFAULT_STORE_DIR),
      orchestratorId: c.get<string>('orchestrator.id') || undefined,
    };
  }
}

/** Shows what is wrong with a setting, offering to open it. */
export function showSettingError(message: string, setting = 'loadtest'): void {
  void vscode.window.showErrorMessage(`Load Test: ${message}`, 'Open Settings').then((choice) => {
    if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', setting);
  });
}

/** Calls `onChange` when a setting of this extension changes. */
export function onSettingsChanged(onChange: () => void): vscode.Disposable {
  return vscode.workspace.onDidChangeConfiguration((e) => {
    if (e.affectsConfiguration(SECTION)) onChange();
  });
}
