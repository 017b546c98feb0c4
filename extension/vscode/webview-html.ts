// The page every webview panel of the extension loads: its bundled script and stylesheet from
// dist/webview, under a Content-Security-Policy that lets only that script (by nonce) run.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export function webviewPage(webview: vscode.Webview, extensionUri: vscode.Uri, page: { script: string; stylesheet: string; title: string; rootId: string }): string {
  const nonce = randomBytes(16).toString('base64');
  const asset = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', name));
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource}; img-src ${webview.cspSource} data:; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${asset(page.stylesheet)}">
<title>${page.title}</title>
</head>
<body>
<div id="${page.rootId}" aria-live="polite">Loading…</div>
<script nonce="${nonce}" src="${asset(page.script)}"></script>
</body>
</html>`;
}
