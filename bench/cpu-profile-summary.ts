// Reads a V8 CPU profile (node --cpu-prof) and writes what a reader needs beside it: where the
// time went by function and by module (self time), a top-down text flame graph of the hot paths
// (inclusive time), and folded stacks ("a;b;c 123") that flamegraph.pl or speedscope draw as an
// SVG flame graph. The .cpuprofile itself opens in Chrome DevTools and speedscope.
import { readFileSync, writeFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  /** microseconds since the previous sample */
  timeDeltas: number[];
}

/** A frame's name: function and file (node_modules and the project's path cut off). */
function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const file = url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '').replace(/^.*\/(dist|out)\//, '$1/');
  return file ? `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}` : functionName || '(anonymous)';
}

/** What a frame is part of: an npm package, a Node internal module group, our code, or V8/native. */
function moduleOf(node: ProfileNode): string {
  const url = node.callFrame.url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/').slice(0, 2).join('/')}`;
  if (url.startsWith('wasm://')) return 'wasm (llhttp, the HTTP parser)';
  if (url) return 'lt-agent';
  return node.callFrame.functionName || '(native)';
}

export interface ProfileSummary {
  text: string;
  folded: string;
}

export function summarizeProfile(profile: CpuProfile, topN = 30, treeMinPercent = 1.5): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + dt);
    total += dt;
  });
  const pct = (t: number) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
  const add = (m: Map<string, number>, k: string, t: number) => m.set(k, (m.get(k) ?? 0) + t);
  const top = (m: Map<string, number>, n: number) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, t]) => `${pct(t)}  ${k}`)
      .join('\n');

  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  for (const [id, t] of self) {
    const node = byId.get(id)!;
    add(byFunction, frameName(node), t);
    add(byModule, moduleOf(node), t);
  }

  // Inclusive time per node, children first, for the top-down tree.
  const inclusive = new Map<number, number>();
  const sumOf = (id: number): number => {
    const node = byId.get(id)!;
    const t = (self.get(id) ?? 0) + (node.children ?? []).reduce((s, c) => s + sumOf(c), 0);
    inclusive.set(id, t);
    return t;
  };
  const root = profile.nodes[0];
  sumOf(root.id);
  const tree: string[] = [];
  const walk = (id: number, depth: number) => {
    const node = byId.get(id)!;
    const children = (node.children ?? []).filter((c) => (100 * inclusive.get(c)!) / total >= treeMinPercent).sort((a, b) => inclusive.get(b)! - inclusive.get(a)!);
    tree.push(`${pct(inclusive.get(id)!)} ${'  '.repeat(depth)}${frameName(node)}`);
    for (const c of children) walk(c, depth + 1);
  };
  for (const c of root.children ?? []) if ((100 * inclusive.get(c)!) / total >= treeMinPercent) walk(c, 0);

  // Folded stacks: one line per distinct stack, with its self time in microseconds.
  const folded: string[] = [];
  const fold = (id: number, path: string[]) => {
    const node = byId.get(id)!;
    const here = [...path, frameName(node).replace(/;/g, ',')];
    const t = self.get(id) ?? 0;
    if (t > 0) folded.push(`${here.join(';')} ${t}`);
    for (const c of node.children ?? []) fold(c, here);
  };
  fold(root.id, []);

  const text = [
    `CPU profile: ${(total / 1e6).toFixed(2)} s sampled (wall time; "(idle)" is time waiting in the event loop)`,
    '',
    'Self time by module:',
    top(byModule, 15),
    '',
    'Self time by function:',
    top(byFunction, topN),
    '',
    `Top-down (inclusive time; frames under ${treeMinPercent}% left out), a text flame graph:`,
    ...tree,
    '',
  ].join('\n');
  return { text, folded: folded.join('\n') + '\n' };
}

/** Writes FILE.summary.txt and FILE.folded beside FILE (a .cpuprofile); returns the summary. */
export function summarizeProfileFile(file: string): string {
  const { text, folded } = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  writeFileSync(`${file}.summary.txt`, text);
  writeFileSync(`${file}.folded`, folded);
  return text;
}
