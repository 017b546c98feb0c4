// Reads a V8 CPU profile (node --cpu-prof) and writes what a reader needs beside it: where the
// time went by function and by module (self time), a top-down text flame graph of the hot paths
// (inclusive time), and folded stacks ("a;b;c 123") that flamegraph.pl or speedscope draw as an
// SVG flame graph. The .cpuprofile itself opens in Chrome DevTools and speedscope.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { SourceMap } from 'node:module';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  /** microseconds since the previous sample */
  timeDeltas: number[];
}

/**
 * Where a frame's code came from. The agent runs as one esbuild bundle; its source map (beside
 * the bundle) turns a bundle position back into the package file or our own source file.
 */
class SourceLocator {
  private readonly maps = new Map<string, SourceMap | undefined>();
  private readonly cache = new Map<string, { file: string; line: number }>();

  locate(node: ProfileNode): { file: string; line: number } {
    const { url, lineNumber, columnNumber } = node.callFrame;
    const key = `${url}:${lineNumber}:${columnNumber}`;
    let found = this.cache.get(key);
    if (!found) {
      const path = url.replace(/^file:\/\//, '');
      const map = path.endsWith('.js') ? this.mapFor(path) : undefined;
      const entry = map?.findEntry(lineNumber, columnNumber) as { originalSource?: string; originalLine?: number } | undefined;
      found = entry?.originalSource ? { file: entry.originalSource.replace(/^file:\/\//, ''), line: (entry.originalLine ?? 0) + 1 } : { file: path, line: lineNumber + 1 };
      this.cache.set(key, found);
    }
    return found;
  }

  private mapFor(path: string): SourceMap | undefined {
    if (!this.maps.has(path)) {
      const file = `${path}.map`;
      this.maps.set(path, existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8'))) : undefined);
    }
    return this.maps.get(path);
  }
}

const shortFile = (file: string) => file.replace(/^.*node_modules\//, '').replace(/^(\.\.\/)+/, '').replace(/^.*\/(dist|out)\//, '$1/');

/** A frame's name: function and file (node_modules and the project's path cut off). */
function frameName(node: ProfileNode, where: SourceLocator): string {
  const name = node.callFrame.functionName || '(anonymous)';
  if (!node.callFrame.url) return name;
  if (node.callFrame.url.startsWith('node:') || node.callFrame.url.startsWith('wasm:')) return `${name} ${node.callFrame.url}:${node.callFrame.lineNumber + 1}`;
  const { file, line } = where.locate(node);
  return `${name} ${shortFile(file)}:${line}`;
}

/** What a frame is part of: an npm package, a Node internal module group, our code, or V8/native. */
function moduleOf(node: ProfileNode, where: SourceLocator): string {
  const url = node.callFrame.url;
  if (!url) return node.callFrame.functionName || '(native)';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/').slice(0, 2).join('/')}`;
  if (url.startsWith('wasm://')) return 'wasm (llhttp, undici’s HTTP parser)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(where.locate(node).file);
  return pkg ? pkg[1] : 'lt-agent (ours)';
}

export interface ProfileSummary {
  text: string;
  folded: string;
}

export function summarizeProfile(profile: CpuProfile, topN = 30, treeMinPercent = 1.5): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const where = new SourceLocator();
  const self = new Map<number, number>();
  // Percentages are of the time the process was busy: an agent's profile spans its whole life,
  // mostly waiting between tests.
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    if (byId.get(id)!.callFrame.functionName === '(idle)') {
      idle += dt;
      return;
    }
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
    add(byFunction, frameName(node, where), t);
    add(byModule, moduleOf(node, where), t);
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
    tree.push(`${pct(inclusive.get(id)!)} ${'  '.repeat(depth)}${frameName(node, where)}`);
    for (const c of children) walk(c, depth + 1);
  };
  for (const c of root.children ?? []) if ((100 * inclusive.get(c)!) / total >= treeMinPercent) walk(c, 0);

  // Folded stacks: one line per distinct stack, with its self time in microseconds.
  const folded: string[] = [];
  const fold = (id: number, path: string[]) => {
    const node = byId.get(id)!;
    const here = [...path, frameName(node, where).replace(/;/g, ',')];
    const t = self.get(id) ?? 0;
    if (t > 0) folded.push(`${here.join(';')} ${t}`);
    for (const c of node.children ?? []) fold(c, here);
  };
  fold(root.id, []);

  const text = [
    `CPU profile: ${(total / 1e6).toFixed(2)} s busy of ${((total + idle) / 1e6).toFixed(2)} s sampled; percentages are of the busy time.`,
    '"(program)" is native code outside JavaScript (libuv, Node\'s C++); writeLatin1String is the socket write, the kernel\'s send included.',
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
