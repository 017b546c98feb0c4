// The benchmark's output: one table for the terminal, the same as Markdown with the machine it
// ran on (BENCHMARKS.md), and everything measured as JSON (benchmarks.json).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MachineInfo } from './bench-environment';

export type Cell = string | number | null;

export interface Section {
  name: string;
  title: string;
  columns: string[];
  rows: Cell[][];
  notes: string[];
  data: unknown;
  /** when this section was measured (UTC, to the minute); sections of one file may come from separate runs */
  measured_at?: string;
}

export interface BenchReport {
  machine: MachineInfo;
  quick: boolean;
  scale: number;
  sections: Section[];
}

function text(cell: Cell): string {
  if (cell === null) return '—';
  if (typeof cell === 'number') return Number.isInteger(cell) ? cell.toLocaleString('en-US') : String(Math.round(cell * 1000) / 1000);
  return cell;
}

function machineLine(m: MachineInfo): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB, ${m.os}, Node ${m.node}, ${m.date}`;
}

export function renderTable(report: BenchReport): string {
  const out = [`\nBenchmarks on ${machineLine(report.machine)}${report.quick ? ' (quick mode: the figures only show the harness works)' : ''}\n`];
  for (const s of report.sections) {
    const rows = [s.columns, ...s.rows.map((r) => r.map(text))];
    const widths = s.columns.map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
    out.push(s.title);
    for (const r of rows) out.push('  ' + r.map((cell, c) => (c === 0 ? String(cell).padEnd(widths[c]) : String(cell).padStart(widths[c]))).join('  '));
    out.push('');
  }
  return out.join('\n') + '\n';
}

export function renderMarkdown(report: BenchReport): string {
  const out = [
    '# Benchmarks',
    '',
    `Measured by \`npm run bench${report.quick ? ' -- --quick' : report.scale !== 1 ? ` -- --scale ${report.scale}` : ''}\` on ${machineLine(report.machine)}.`,
    report.quick ? '\n**Quick mode:** these runs are too short for the figures to mean anything; run `npm run bench` for real ones.' : '',
  ];
  // The run most sections come from; a section measured by another run (the dashboard's own command, or --only) says when.
  const counts = new Map<string | undefined, number>();
  for (const s of report.sections) counts.set(s.measured_at, (counts.get(s.measured_at) ?? 0) + 1);
  const mainRun = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
  out.push(
    counts.size > 1
      ? `Every section comes from one run (${mainRun}) unless it gives a date of its own; \`benchmarks.json\` has them all.`
      : `Every figure below comes from one run (${mainRun}); \`benchmarks.json\` has them all. Rerun it to refresh this file.`,
    '',
  );
  for (const s of report.sections) {
    out.push(`## ${s.title}`, '');
    if (s.measured_at !== mainRun) out.push(`_Measured ${s.measured_at ?? 'in an earlier run'}, in a run of its own._`, '');
    out.push(`| ${s.columns.join(' | ')} |`, `|${s.columns.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
    for (const r of s.rows) out.push(`| ${r.map(text).join(' | ')} |`);
    out.push('');
    for (const note of s.notes) out.push(`- ${note}`);
    out.push('');
  }
  return out.join('\n');
}

/**
 * Writes benchmarks.json and BENCHMARKS.md into `dir`. Sections this run did not measure are
 * kept from the files already there: the dashboard's cost is measured by its own command
 * (`npm run bench:dashboard`), and a run of the others must not erase it.
 */
export function writeReport(dir: string, report: BenchReport): void {
  const now = `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  report = { ...report, sections: report.sections.map((s) => ({ ...s, measured_at: s.measured_at ?? now })) };
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'benchmarks.json');
  if (existsSync(file)) {
    const measured = new Set(report.sections.map((s) => s.name));
    const previous = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
    report = { ...report, sections: [...report.sections, ...previous.sections.filter((s) => !measured.has(s.name))] };
  }
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(join(dir, 'BENCHMARKS.md'), renderMarkdown(report));
}

/** The report already in `dir`, to add one section to. */
export function readReport(dir: string): BenchReport {
  return JSON.parse(readFileSync(join(dir, 'benchmarks.json'), 'utf8')) as BenchReport;
}
