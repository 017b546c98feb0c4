// "Run load test" at the top of every .loadtest.json file.
import * as vscode from 'vscode';

export class LoadTestCodeLensProvider implements vscode.CodeLensProvider {
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    const top = new vscode.Range(0, 0, 0, 0);
    return [new vscode.CodeLens(top, { title: '$(play) Run load test', command: 'loadtest.startTest', arguments: [document.uri] })];
  }
}
