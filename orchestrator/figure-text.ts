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
