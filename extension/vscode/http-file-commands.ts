// The commands on a request of a .http or .rest file: load test it (its CodeLens), and save it as a
// .loadtest.json. The conversion is the core's (orchestrator/scenarios/http-file-import.ts); this
// file picks the request, says what was not carried over, refuses a request whose steps would be
// broken, and hands the rest to the run path of "Start Load Test".
import { basename, dirname } from 'node:path';
import * as vscode from 'vscode';
import type { Logger } from '../../common/logger';
import { importHttpRequest, listHttpRequests, loadTestFileText, schemaReference, type HttpFileImport } from '../../orchestrator/scenarios/http-file-import';
import { commandRegistrar, type DefinitionRunner } from './commands';

const SAVE = 'Save as .loadtest.json';

interface ChosenRequest {
  document: vscode.TextDocument;
  index: number;
}

/** The request the arguments name (a CodeLens passes the file and the index), else the one under the cursor. */
async function chosenRequest(uri: unknown, index: unknown): Promise<ChosenRequest> {
  if (uri instanceof vscode.Uri && typeof index === 'number') return { document: await vscode.workspace.openTextDocument(uri), index };
  const editor = vscode.window.activeTextEditor;
  const document = uri instanceof vscode.Uri ? await vscode.workspace.openTextDocument(uri) : editor?.document;
  if (!document || !/\.(http|rest)$/i.test(document.uri.path)) throw new Error('open a .http or .rest file and put the cursor in the request to load test');
  const requests = listHttpRequests(document.getText());
  if (requests.length === 0) throw new Error(`${basename(document.uri.path)} has no request`);
  const cursor = editor?.document === document ? editor.selection.active.line : 0;
  return { document, index: (requests.filter((r) => r.start <= cursor).at(-1) ?? requests[0]).index };
}

/** The document as the editor holds it, unsaved edits included, as "Start Load Test" reads a file. */
function importOf({ document, index }: ChosenRequest): HttpFileImport {
  return importHttpRequest(document.getText(), index, { source: basename(document.uri.path) });
}

export function registerHttpFileCommands(context: vscode.ExtensionContext, runDefinition: DefinitionRunner, log: Logger): void {
  const register = commandRegistrar(context, log);
  // The schema the extension validates *.loadtest.json with (contributes.jsonValidation).
  const schemaFile = vscode.Uri.joinPath(context.extensionUri, 'schemas', 'loadtest.schema.json').fsPath;

  /** A message whose button saves the request (through its command, so a failure is shown like any command's). */
  const offerSave = (shown: Thenable<string | undefined>, chosen: ChosenRequest) =>
    void shown.then((choice) => {
      if (choice === SAVE) void vscode.commands.executeCommand('loadtest.saveHttpRequest', chosen.document.uri, chosen.index, { notesShown: true });
    });

  register('loadtest.loadTestHttpRequest', async (uri?: unknown, index?: unknown) => {
    const chosen = await chosenRequest(uri, index);
    const imported = importOf(chosen);
    const label = imported.definition.name!;
    for (const note of imported.unsupported) log.warn(`${label}: not carried over: ${note}`);
    if (imported.blocking.length) {
      offerSave(vscode.window.showErrorMessage(`Load Test: ${label} cannot run as it is (save it and edit the definition, or change the request): ${imported.blocking.join(' · ')}`, SAVE), chosen);
      return undefined;
    }
    // Not awaited: the run goes on while the person reads what it goes without.
    if (imported.unsupported.length) offerSave(vscode.window.showWarningMessage(`Load Test: ${label} runs without what has no equivalent here: ${imported.unsupported.join(' · ')}`, SAVE), chosen);
    const testId = await runDefinition(imported.definition, { label, open: chosen.document.uri });
    if (testId && imported.unsupported.length === 0) {
      offerSave(vscode.window.showInformationMessage(`Load Test: ${label} is running, ${imported.definition.scenario.steps.map((s) => s.name).join(' → ')}.`, SAVE), chosen);
    }
    return testId;
  });

  register('loadtest.saveHttpRequest', async (uri?: unknown, index?: unknown, options?: { notesShown?: boolean }) => {
    const chosen = await chosenRequest(uri, index);
    const imported = importOf(chosen);
    if (imported.unsupported.length && !options?.notesShown) {
      void vscode.window.showWarningMessage(`Load Test: not carried over from ${basename(chosen.document.uri.path)}: ${imported.unsupported.join(' · ')}`);
    }
    const step = imported.definition.scenario.steps.at(-1)!.name;
    const beside = chosen.document.uri.scheme === 'file' ? vscode.Uri.joinPath(chosen.document.uri, '..', `${step}.loadtest.json`) : undefined;
    const target = await vscode.window.showSaveDialog({ title: `Save ${imported.definition.name} as a load test`, defaultUri: beside, filters: { 'Load test': ['json'] } });
    if (!target) return undefined;
    await vscode.workspace.fs.writeFile(target, Buffer.from(loadTestFileText(imported.definition, schemaReference(dirname(target.fsPath), schemaFile))));
    await vscode.window.showTextDocument(target);
    return target;
  });
}
