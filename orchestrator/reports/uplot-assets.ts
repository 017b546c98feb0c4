// uPlot's script and stylesheet, for the HTML report to carry inline: the report is one file that
// must draw its charts offline, with no request to a CDN or beside it. Run from the sources (the
// tests, tsc's out/), they are read once from the uplot package. The packed CLI ships without
// node_modules, so the bundles esbuild makes replace this module with one that holds the two texts
// (scripts/inline-uplot.mjs, used by scripts/build.mjs); both give the same texts.
import { readFileSync } from 'node:fs';

export interface UplotAssets {
  /** uPlot.iife.min.js: defines the global `uPlot` */
  script: string;
  /** uPlot.min.css */
  css: string;
}

let assets: UplotAssets | undefined;

export function uplotAssets(): UplotAssets {
  assets ??= {
    script: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return assets;
}
