// Declarative command-line options: each flag has a default, an optional environment variable
// and a description, so `--help` is generated from the same table the parser reads.
import { parseArgs } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  description: string;
  default?: string | boolean;
  env?: string;
  short?: string;
  /** Placeholder shown in --help, e.g. HOST:PORT. */
  value?: string;
  /** A string flag given any number of times; its values are joined with commas (as its variable's are written). */
  repeatable?: boolean;
}

export type OptionTable = Record<string, OptionSpec>;

export type ParsedOptions<T extends OptionTable> = {
  [K in keyof T]: T[K]['type'] extends 'boolean' ? boolean : string | undefined;
};

/** A usage error: the CLI prints it with a pointer to --help and exits with code 2. */
export class UsageError extends Error {}

export function parseOptions<T extends OptionTable>(
  table: T,
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): { options: ParsedOptions<T>; positionals: string[] } {
  const config: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, spec] of Object.entries(table)) {
    config[name] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.repeatable ? { multiple: true } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^.*?: /, ''));
  }
  const options: Record<string, string | boolean | undefined> = { help: parsed.values.help === true };
  for (const [name, spec] of Object.entries(table)) {
    const raw = parsed.values[name];
    const given = Array.isArray(raw) ? raw.join(',') : raw;
    const fromEnv = spec.env ? env[spec.env] : undefined;
    if (given !== undefined) options[name] = given;
    else if (fromEnv !== undefined && fromEnv !== '') options[name] = spec.type === 'boolean' ? /^(1|true|yes)$/i.test(fromEnv) : fromEnv;
    else options[name] = spec.default ?? (spec.type === 'boolean' ? false : undefined);
  }
  return { options: options as ParsedOptions<T>, positionals: parsed.positionals };
}

export function wantsHelp(options: object): boolean {
  return (options as { help?: boolean }).help === true;
}

export function formatHelp(usage: string, summary: string, table: OptionTable, footer = ''): string {
  const rows = Object.entries(table).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` ${spec.value ?? 'VALUE'}` : ''}${spec.repeatable ? ' …' : ''}`;
    const extras = [
      spec.default !== undefined && spec.default !== false && spec.default !== '' ? `default: ${spec.default}` : '',
      spec.env ? `env: ${spec.env}` : '',
    ].filter(Boolean);
    return { flag, text: spec.description + (extras.length ? ` (${extras.join('; ')})` : '') };
  });
  rows.push({ flag: '-h, --help', text: 'Show this help and exit.' });
  const width = Math.max(...rows.map((r) => r.flag.length)) + 2;
  const lines = rows.map((r) => `  ${r.flag.padEnd(width)}${r.text}`);
  return `Usage: ${usage}\n\n${summary}\n\nOptions:\n${lines.join('\n')}\n${footer ? `\n${footer}\n` : ''}`;
}

export interface NumberCheck {
  min?: number;
  max?: number;
  integer?: boolean;
  /** why the maximum is what it is, said with it ("4 × this machine's 2 cores") */
  maxReason?: string;
}

export function parseNumberOption(name: string, raw: string | undefined, check: NumberCheck = {}): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const { min, max } = check;
  if (!Number.isFinite(value) || (check.integer && !Number.isInteger(value)) || (min !== undefined && value < min) || (max !== undefined && value > max)) {
    const kind = check.integer ? 'a whole number' : 'a number';
    const range = min !== undefined && max !== undefined ? ` from ${min} to ${max}` : min !== undefined ? ` of at least ${min}` : max !== undefined ? ` of at most ${max}` : '';
    throw new UsageError(`--${name} must be ${kind}${range}${max !== undefined && check.maxReason ? ` (${check.maxReason})` : ''}, got "${raw}"`);
  }
  return value;
}

export const MAX_PORT = 65_535;

/** A TCP port flag: 0 (any free port) or 1 to 65535, unless `min` says otherwise. */
export function parsePortOption(name: string, raw: string | undefined, min = 0): number | undefined {
  return parseNumberOption(name, raw, { min, max: MAX_PORT, integer: true });
}

/**
 * A subcommand's arguments: at most `names.length` of them, else a usage error naming what it
 * takes (`run` takes one FILE; `a.json b.json` would otherwise run a.json and ignore the rest).
 */
export function commandArguments(command: string, given: string[], names: string[]): (string | undefined)[] {
  if (given.length > names.length) {
    const takes = names.length === 0 ? 'takes no arguments' : names.length === 1 ? `takes only one ${names[0]}` : `takes at most ${names.length} arguments (${names.join(' ')})`;
    throw new UsageError(`${command} ${takes}; got ${given.length}: ${given.join(' ')}`);
  }
  return names.map((_, i) => given[i]);
}

/** Parses an option's value with `parse`; whatever it throws becomes a usage error naming the flag. */
export function parseOptionWith<T>(name: string, raw: string, parse: (value: string) => T): T {
  try {
    return parse(raw);
  } catch (error) {
    throw new UsageError(`--${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** An http(s) URL, for --target flags. */
export function httpUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`"${value}" is not a URL; give one such as http://127.0.0.1:8080/ping`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`"${value}" is not an http:// or https:// URL`);
  return url;
}

/**
 * Runs a command's main with the exit-code contract (0 ok, 1 test failed, 2 usage or runtime
 * error), and exits with its code as soon as it returns: a library's leftover timer
 * or socket (a Kafka client retrying a broker that is gone) must never keep a finished command
 * alive. Standard output and error are synchronous for files and pipes, so nothing is cut short.
 */
export function runCli(name: string, main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof UsageError) process.stderr.write(`${name}: ${error.message}\nRun '${name} --help' for the options.\n`);
      else process.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(2);
    },
  );
}
