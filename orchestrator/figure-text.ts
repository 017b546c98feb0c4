// How a figure is written wherever a person reads it: the CLI's tables, the Markdown summary, the
// HTML report. One function per kind of number, so a p99 or a rate reads the same on every surface.

/** A count or a rate, rounded, with thousands separators; '-' when unknown. */
export const int = (n: number | null | undefined) => (n === null || n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));

/** Milliseconds: two decimals below 10, one below 100, whole above; '-' when unknown. */
export const msText = (n: number | null | undefined) => (n === null || n === undefined ? '-' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toString());

/** A value of any unit (a stage's planned rate, a server query): four significant digits, whole with separators from 1,000 up. */
export const num = (n: number | null) => (n === null ? '-' : Math.abs(n) >= 1000 ? Math.round(n).toLocaleString('en-US') : Number(n.toPrecision(4)).toString());

/** A fraction (an error rate) as a percentage with three significant digits. */
export const percentText = (n: number) => `${Number((n * 100).toPrecision(3))}%`;

/** A scenario's iterations in one line, the same on every surface: "iterations: 1,000 started, 990 completed, 10 failed, 0 abandoned; 98 per second; duration p50 12.3 ms, p99 40.1 ms". */
export function iterationsText(i: { started: number; completed: number; failed: number; abandoned: number; rate: number; duration: { median: number | null; p99: number | null } | null }): string {
  const duration = i.duration ? `; duration p50 ${msText(i.duration.median)} ms, p99 ${msText(i.duration.p99)} ms` : '';
  return `iterations: ${int(i.started)} started, ${int(i.completed)} completed, ${int(i.failed)} failed, ${int(i.abandoned)} abandoned; ${int(i.rate)} per second${duration}`;
}

/** A step's or request's errors by kind: "check_failed 12, timeout 1"; '' when none. */
export const errorKindsText = (kinds: Record<string, number> | undefined) =>
  Object.entries(kinds ?? {})
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${kind} ${int(n)}`)
    .join(', ');

const ENGINE_LABELS: Record<string, string> = { 'lean-http1': 'lean HTTP/1.1', 'node-http2': "HTTP/2 on Node's http2", undici: 'undici' };

/**
 * Which engine carried each driver's requests (agents/http-engine/): one line for the result's
 * surfaces, or undefined when no driver said (drivers that know only the spec).
 */
export function engineText(drivers: readonly { node_id: string; http_engine: string | null }[]): string | undefined {
  const byEngine = new Map<string, string[]>();
  for (const d of drivers) {
    const key = d.http_engine ?? '';
    byEngine.set(key, [...(byEngine.get(key) ?? []), d.node_id]);
  }
  if (![...byEngine.keys()].some((k) => k !== '')) return undefined;
  const parts = [...byEngine]
    .filter(([engine]) => engine !== '')
    .map(([engine, names]) => `${ENGINE_LABELS[engine] ?? engine} (${byEngine.size === 1 ? 'every driver' : names.join(', ')})`);
  const unsaid = byEngine.get('');
  if (unsaid) parts.push(`not said by ${unsaid.join(', ')}`);
  return `HTTP engine: ${parts.join('; ')}`;
}
