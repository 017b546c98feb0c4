// "Run load test" at the top of every .loadtest.json file, and "Find capacity" beside it when the
// file has a `capacity` block.
import * as vscode from 'vscode';

/** Whether the text is an object with a `capacity` block; a file that does not parse yet has none. */
export function hasCapacityBlock(text: string): boolean {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) && typeof (value as Record<string, unknown>).capacity === 'object';
  } catch {
    return false;
  }
}

export class LoadTestCodeLensProvider implements vscode.CodeLensProvider {
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const top = new vscode.Range(0, 0, 0, 0);
    const lenses = [new vscode.CodeLens(top, { title: '$(play) Run load test', command: 'loadtest.startTest', arguments: [document.uri] })];
    if (hasCapacityBlock(document.getText())) lenses.push(new vscode.CodeLens(top, { title: '$(graph-line) Find capacity', command: 'loadtest.findCapacity', arguments: [document.uri] }));
    return lenses;
  }
}
