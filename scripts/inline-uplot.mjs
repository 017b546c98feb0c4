// An esbuild plugin: orchestrator/reports/uplot-assets.ts, which reads uPlot's script and
// stylesheet from node_modules at run time, becomes a module that holds both texts. The HTML
// report of the packed CLI (dist/lt-orchestrator.js, shipped without node_modules) then still
// inlines them. Only a bundle that imports the reports grows by them (about 53 kB).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const inlineUplot = {
  name: 'inline-uplot',
  setup(build) {
    build.onLoad({ filter: /[\\/]orchestrator[\\/]reports[\\/]uplot-assets\.ts$/ }, async () => {
      const script = await readFile(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8');
      const css = await readFile(require.resolve('uplot/dist/uPlot.min.css'), 'utf8');
      return {
        contents: `export interface UplotAssets { script: string; css: string }
const assets: UplotAssets = ${JSON.stringify({ script, css })};
export function uplotAssets(): UplotAssets { return assets; }
`,
        loader: 'ts',
      };
    });
  },
};
