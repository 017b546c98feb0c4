// A weighted mix of requests: which one goes next, and the placeholders filled per request. Both
// the orchestrator (validating a definition) and the agents (sending it) read mixes through here.
//   {seq}              the request's number on its driver (0, 1, 2, ...)
//   {random:MIN:MAX}   an integer from MIN to MAX inclusive
//   {driver}           the driver's node_id
// A scenario's steps (scenario.ts) also take {NAME}: a variable of the iteration (a column of the
// test data, or a value an earlier step captured).

const PLACEHOLDER = /\{(seq|driver|random:(-?\d{1,15}):(-?\d{1,15}))\}/g;
const ANY_BRACE_WORD = /\{([a-z]+(?::[^}]*)?)\}/g;

export type Fill = (seq: number) => string;

/** Problems with a text's placeholders (unknown names, MIN above MAX), for definition errors. */
export function placeholderProblems(text: string): string[] {
  const problems: string[] = [];
  for (const match of text.matchAll(ANY_BRACE_WORD)) {
    const whole = match[0];
    const random = /^\{random:(-?\d{1,15}):(-?\d{1,15})\}$/.exec(whole);
    if (whole === '{seq}' || whole === '{driver}') continue;
    if (random) {
      if (Number(random[1]) > Number(random[2])) problems.push(`${whole}: MIN is above MAX`);
      continue;
    }
    if (/^\{(random|seq|driver)/.test(whole)) problems.push(`${whole}: not a placeholder; use {seq}, {driver} or {random:MIN:MAX}`);
  }
  return problems;
}

/**
 * Compiles a text with placeholders into a function of the request's number. Without any, the
 * function returns the text itself: nothing is built per request.
 */
export function compileFill(text: string, driver: string): Fill {
  const parts: (string | ((seq: number) => string))[] = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    parts.push(text.slice(last, match.index));
    if (match[1] === 'seq') parts.push((seq) => String(seq));
    else if (match[1] === 'driver') parts.push(() => driver);
    else {
      const min = Number(match[2]);
      const span = Number(match[3]) - min + 1;
      parts.push(() => String(min + Math.floor(Math.random() * span)));
    }
    last = match.index! + match[0].length;
  }
  if (parts.length === 0) return () => text;
  parts.push(text.slice(last));
  return (seq) => {
    let out = '';
    for (const part of parts) out += typeof part === 'string' ? part : part(seq);
    return out;
  };
}

/** The text with fixed stand-ins for its placeholders: what a driver that knows no mix is sent. */
export function staticFill(text: string): string {
  return text.replace(PLACEHOLDER, (_, name: string, min?: string) => (name === 'seq' ? '0' : name === 'driver' ? 'driver' : min!));
}

/** An iteration's variables: its data row's columns and what its steps captured. */
export type Variables = Record<string, string>;
export type VariableFill = (seq: number, variables: Variables) => string;

const VARIABLE = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The variables a text uses ({NAME} that is not a mix placeholder), in order, each once. */
export function variablesIn(text: string): string[] {
  const names = [...text.matchAll(VARIABLE)].map((m) => m[1]).filter((n) => n !== 'seq' && n !== 'driver');
  return [...new Set(names)];
}

/**
 * Compiles a scenario step's text: the mix's placeholders as compileFill does, and {NAME} from the
 * iteration's variables (a variable the iteration does not have yet is filled with nothing: a
 * failed capture of a step that let its iteration go on).
 */
export function compileTemplate(text: string, driver: string): VariableFill {
  const names = variablesIn(text);
  const fill = compileFill(text, driver);
  if (names.length === 0) return (seq) => fill(seq);
  return (seq, variables) => fill(seq).replace(VARIABLE, (whole, name: string) => (name === 'seq' || name === 'driver' ? whole : (variables[name] ?? '')));
}

/**
 * The order in which a mix's requests go out: a cycle in which each index appears in proportion
 * to its weight, spread evenly (smooth weighted round robin), so that any stretch of a test has
 * the mix's proportions, not only its whole. At most MAX_CYCLE long.
 */
export function weightedCycle(weights: number[], maxCycle = 1000): Uint16Array {
  const total = weights.reduce((a, b) => a + b, 0);
  // Whole shares summing to at most maxCycle; every request keeps at least one slot.
  let shares = weights.map((w) => Math.max(1, Math.round((w / total) * maxCycle)));
  const divisor = shares.reduce(gcd);
  shares = shares.map((s) => s / divisor);
  const length = shares.reduce((a, b) => a + b, 0);
  const cycle = new Uint16Array(length);
  const current = new Array<number>(shares.length).fill(0);
  for (let slot = 0; slot < length; slot++) {
    let best = 0;
    for (let i = 0; i < shares.length; i++) {
      current[i] += shares[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= length;
    cycle[slot] = best;
  }
  return cycle;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
