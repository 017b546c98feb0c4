// Bundles every entry point with esbuild: one self-contained file each, so a driver machine
// needs only Node and the packed tarball, and the extension's .vsix carries no node_modules.
import { build } from 'esbuild';
import { inlineUplot } from './inline-uplot.mjs';

// inlineUplot: the HTML report carries uPlot inline, and the packed CLI has no node_modules to read it from.
const forNode = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true, logLevel: 'warning', plugins: [inlineUplot] };

// The command lines.
await build({
  ...forNode,
  entryPoints: {
    'lt-agent': 'agents/lt-agent.ts',
    'lt-target': 'target-server/lt-target.ts',
    'lt-orchestrator': 'orchestrator/cli/lt-orchestrator.ts',
    'kafka-broker': 'kafka-broker/kafka-broker.ts',
    demo: 'scripts/demo.ts',
    bench: 'bench/run-benchmarks.ts',
    'undici-floor': 'bench/undici-floor.ts',
    'bare-net-client': 'bench/bare-net-client.ts',
    'bare-http2-client': 'bench/bare-http2-client.ts',
    sut: 'system-under-test/sut.ts',
    'sut-app': 'system-under-test/sut-app.ts',
    // lt-agent's worker threads load it from beside their own bundle.
    'load-worker': 'agents/load-worker.ts',
  },
  outdir: 'dist',
  banner: { js: '#!/usr/bin/env node' },
});

// The extension host's bundle: `vscode` is provided by the editor at run time.
await build({ ...forNode, entryPoints: { extension: 'extension/extension.ts' }, outdir: 'dist', external: ['vscode'] });

// The dashboard and compare pages, for the browser inside the webview; their CSS (uPlot's and ours) lands beside them.
await build({
  entryPoints: { dashboard: 'extension/webview/dashboard.ts', compare: 'extension/webview/compare.ts' },
  outdir: 'dist/webview',
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  format: 'iife',
  minify: true,
  logLevel: 'warning',
});
