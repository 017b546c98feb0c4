// "Load test this request" above each request of a .http or .rest file (REST Client's format). The
// provider is registered by file pattern, not by language, so it works with or without the REST
// Client extension (which gives those files the `http` language).
import * as vscode from 'vscode';
import { listHttpRequests } from '../../orchestrator/scenarios/http-file-import';

export const HTTP_FILES: vscode.DocumentSelector = { pattern: '**/*.{http,rest}' };

export class HttpFileCodeLensProvider implements vscode.CodeLensProvider {
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    return listHttpRequests(document.getText()).map((r) => {
      const at = new vscode.Range(r.line, 0, r.line, 0);
      return new vscode.CodeLens(at, { title: '$(zap) Load test this request', tooltip: `Runs ${r.step} (and the requests it uses) as a load test`, command: 'loadtest.loadTestHttpRequest', arguments: [document.uri, r.index] });
    });
  }
}
