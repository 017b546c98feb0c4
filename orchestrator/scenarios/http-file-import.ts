// A request of a .http / .rest file (REST Client's format, read by http-file.ts) made into a small
// load test: a scenario of the requests it refers to, in the order they must run, then itself.
// A response it refers to ({{login.response.body.$.token}}) becomes a capture on that step and a
// {variable} in the text; file variables are written in; {{$randomInt MIN MAX}} becomes
// {random:MIN:MAX-1}. Whatever has no equivalent here is named in `unsupported`, never dropped in
// silence; what would make a step send something other than the file says is in `blocking` too.
import { isAbsolute, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RESERVED_NAMES, VARIABLE_NAME, type CaptureRule, type Scenario, type ScenarioStep } from '../../protocol/scenario';
import type { LoadTestDefinition } from '../loadtest-definition';
import { parseHttpFile, type HttpFile, type HttpFileRequest } from './http-file';

/** The load an imported request runs under: light and short, a starting point to edit. */
export const IMPORTED_LOAD = {
  test_type: 'TSUNAMI',
  /** seconds between iterations on each driver: 10 journeys a second */
  test_message_delay: 0.1,
  duration_s: 10,
  drivers: 1,
} as const satisfies Partial<LoadTestDefinition>;

/** A definition whose requests are a scenario (in place of `target` or `requests`). */
export type ScenarioDefinition = Omit<LoadTestDefinition, 'target' | 'requests'> & { scenario: Scenario };

/** A request as a CodeLens lists it: where it is in the file, and its step's name in a scenario. */
export type HttpRequestListing = Pick<HttpFileRequest, 'index' | 'name' | 'line' | 'start' | 'method' | 'url'> & {
  /** its `@name`, else request_N (N its place in the file, from 1) */
  step: string;
};

export interface HttpFileImport {
  definition: ScenarioDefinition;
  /** what was not carried over, each with its step and line */
  unsupported: string[];
  /** those of `unsupported` that leave a step sending something other than the file says */
  blocking: string[];
}

export interface HttpImportOptions {
  /** the file's name, for the definition's name */
  source?: string;
}

/** The requests of a file, for a CodeLens above each and for choosing one. */
export function listHttpRequests(text: string): HttpRequestListing[] {
  const file = parseHttpFile(text);
  const steps = stepNames(file);
  return file.requests.map((r) => ({ index: r.index, name: r.name, line: r.line, start: r.start, method: r.method, url: r.url, step: steps[r.index] }));
}

/**
 * The load test of one request of the file: `which` is its index (from 0), its `@name` or its step
 * name. Throws when the file has no such request.
 */
export function importHttpRequest(text: string, which: number | string, options: HttpImportOptions = {}): HttpFileImport {
  const file = parseHttpFile(text);
  const steps = stepNames(file);
  const target = typeof which === 'number' ? file.requests[which] : file.requests.find((r) => r.name === which || steps[r.index] === which);
  if (!target) {
    const known = file.requests.map((r) => steps[r.index]).join(', ');
    throw new Error(file.requests.length === 0 ? 'the file has no request' : `no request ${typeof which === 'number' ? `at index ${which}` : `named ${which}`}; the file's requests are ${known}`);
  }
  const conversion = new Conversion(file, steps);
  const order = conversion.scenarioOf(target.index);
  const notes = [...order.flatMap((i) => conversion.notesOf(i)), ...conversion.notesOf(-1)];
  const scenario: Scenario = { steps: order.map((i) => conversion.stepOf(i)) };
  const definition: ScenarioDefinition = { name: `${steps[target.index]}${options.source ? ` from ${options.source}` : ''}`, ...IMPORTED_LOAD, scenario };
  return { definition, unsupported: notes.map((n) => n.text), blocking: notes.filter((n) => n.blocking).map((n) => n.text) };
}

/** The text of a .loadtest.json file: pretty-printed, `$schema` first as in examples/. */
export function loadTestFileText(definition: ScenarioDefinition, schema: string): string {
  return `${JSON.stringify({ $schema: schema, ...definition }, null, 2)}\n`;
}

/** How a file in `fromDir` refers to the schema file: a relative path with /, as examples/ do (a file: URL across drives). */
export function schemaReference(fromDir: string, schemaFile: string): string {
  const path = relative(fromDir, schemaFile);
  return isAbsolute(path) ? pathToFileURL(schemaFile).href : path.split(sep).join('/');
}

/** Each request's step name, unique in the file. */
function stepNames(file: HttpFile): string[] {
  const used = new Set<string>();
  return file.requests.map((r) => {
    const base = r.name ?? `request_${r.index + 1}`;
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}_${n}`;
    used.add(name);
    return name;
  });
}

/** A part of a step's text: as the file wrote it, ours (a placeholder or a captured variable), or a {{…}} left as written. */
type Segment = { kind: 'literal' | 'ours' | 'raw'; text: string };

interface Note {
  text: string;
  blocking: boolean;
}

/** Where a note points: a step, a line (from 0) and the part of the request. */
interface Place {
  request: HttpFileRequest;
  line: number;
  part: string;
}

const REFERENCE = /\{\{(.+?)\}\}/g;
/** What the engine would fill as a variable or placeholder (request-mix.ts), written literally in a file. */
const BRACE_WORD = /\{[A-Za-z_][A-Za-z0-9_]*(?::[^{}]*)?\}/g;
const FILE_INCLUDE = /^<(?:@(\w+)?)?\s+(.+?)\s*$/;
const WHOLE_BODY = '^([\\s\\S]*)$';
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
/** Characters a URL cannot hold as they are; REST Client percent-encodes them in the URL and in a form body. */
const NOT_IN_URL = /[^\x21\x23-\x7e]|["<>\\^`{|}]|%(?![0-9A-Fa-f]{2})/gu;

const SYSTEM_VARIABLES: Record<string, string> = {
  $guid: 'REST Client makes a new UUID for each request; the load test has no such placeholder (its own are {seq}, {driver} and {random:MIN:MAX})',
  $timestamp: 'REST Client writes the time of sending; the load test has no such placeholder (its own are {seq}, {driver} and {random:MIN:MAX})',
  $datetime: 'REST Client writes the time of sending; the load test has no such placeholder (its own are {seq}, {driver} and {random:MIN:MAX})',
  $localDatetime: 'REST Client writes the time of sending; the load test has no such placeholder (its own are {seq}, {driver} and {random:MIN:MAX})',
  $processEnv: 'REST Client reads an environment variable as it sends; write the value into the file (@NAME = VALUE)',
  $dotenv: 'REST Client reads a .env file as it sends; write the value into the file (@NAME = VALUE)',
  $aadToken: 'REST Client signs in to Azure AD for it; write a token into the file, or capture one from a sign-in request',
  $aadV2Token: 'REST Client signs in to Azure AD for it; write a token into the file, or capture one from a sign-in request',
  $oidcAccessToken: 'REST Client signs in with OpenID Connect for it; write a token into the file, or capture one from a sign-in request',
};

/** The conversion of one file's requests: each request's step, its notes, and the captures others need from it. */
class Conversion {
  private readonly notes = new Map<number, Note[]>();
  private readonly steps = new Map<number, ScenarioStep>();
  private readonly refs = new Map<number, Set<number>>();
  private readonly captures = new Map<number, Record<string, CaptureRule>>();
  private readonly captureVariables = new Map<string, string>();
  private readonly byName = new Map<string, HttpFileRequest[]>();
  /** each step's origin, where its URL has one written in the file */
  private readonly origins = new Map<number, { origin: string; place: Place }>();

  constructor(
    private readonly file: HttpFile,
    private readonly names: string[],
  ) {
    for (const r of file.requests) if (r.name) this.byName.set(r.name, [...(this.byName.get(r.name) ?? []), r]);
  }

  /** The steps' request indexes: those the target refers to (transitively), each before the requests that use it, else in file order; the target last. */
  scenarioOf(target: number): number[] {
    const needed = new Set<number>();
    const visit = (i: number) => {
      if (needed.has(i)) return;
      needed.add(i);
      this.convert(i);
      for (const ref of this.refs.get(i)!) visit(ref);
    };
    visit(target);
    const order: number[] = [];
    const pending = new Set(needed);
    while (pending.size) {
      // Ready: every request it refers to is placed. The target goes last when it can.
      const ready = [...pending].filter((i) => [...this.refs.get(i)!].every((r) => !pending.has(r))).sort((a, b) => (a === target ? 1 : b === target ? -1 : a - b));
      if (ready.length === 0) {
        const loop = [...pending].sort((a, b) => a - b);
        this.note(-1, `${loop.map((i) => this.names[i]).join(', ')}: ${loop.length === 1 ? 'refers to its own response' : 'refer to one another\'s responses'}, so none can run first`, true);
        order.push(...loop.filter((i) => i !== target), ...(pending.has(target) ? [target] : []));
        break;
      }
      order.push(ready[0]);
      pending.delete(ready[0]);
    }
    for (const i of order) {
      const capture = this.captures.get(i);
      if (capture) this.steps.get(i)!.capture = capture;
    }
    // One origin per scenario: the first step's (the engine sends every step there).
    const first = order.map((i) => this.origins.get(i)).find((o) => o !== undefined);
    for (const i of order) {
      const own = this.origins.get(i);
      if (first && own && own.origin !== first.origin) this.noteAt(own.place, `goes to ${own.origin}, not to ${first.origin} as ${this.names[first.place.request.index]} does; a scenario sends every step to one origin`, true);
    }
    return order;
  }

  stepOf(index: number): ScenarioStep {
    return this.steps.get(index)!;
  }

  notesOf(index: number): Note[] {
    return this.notes.get(index) ?? [];
  }

  private note(index: number, text: string, blocking: boolean): void {
    const list = this.notes.get(index) ?? [];
    if (!list.some((n) => n.text === text)) list.push({ text, blocking });
    this.notes.set(index, list);
  }

  private noteAt(place: Place, text: string, blocking: boolean): void {
    this.note(place.request.index, `${this.names[place.request.index]} (line ${place.line + 1}${place.part ? `, ${place.part}` : ''}): ${text}`, blocking);
  }

  private convert(index: number): void {
    const request = this.file.requests[index];
    const refs = new Set<number>();
    this.refs.set(index, refs);
    const at = (line: number, part: string): Place => ({ request, line, part });
    const step: ScenarioStep = { name: this.names[index], url: request.url, method: request.method };
    this.steps.set(index, step);
    if (request.curl) return this.noteAt(at(request.line, ''), 'a cURL command; write it as a request line (METHOD URL), headers and a body', true);

    for (const s of request.settings) {
      if (s.name === 'note') this.noteAt(at(s.line, ''), '@note asks for a confirmation before REST Client sends the request; the load test sends it many times without asking', false);
      // The driver never follows redirects nor keeps cookies: these two change nothing here.
      else if (s.name !== 'prompt' && s.name !== 'no-redirect' && s.name !== 'no-cookie-jar') this.noteAt(at(s.line, ''), `@${s.name}: a REST Client setting this import does not know; left out`, false);
    }
    if (!METHODS.includes(request.method)) this.noteAt(at(request.line, 'method'), `${request.method}: a load test sends ${METHODS.join(', ')}`, true);
    if (request.httpVersion !== undefined && !/^1(\.1)?$/.test(request.httpVersion)) {
      this.noteAt(at(request.line, ''), `HTTP/${request.httpVersion}: the load test sends HTTP/1.1${request.httpVersion.startsWith('2') ? ' (or HTTP/2 with "http2": true in the definition)' : ''}`, false);
    }
    for (const l of request.unreadHeaderLines) this.noteAt(at(l.line, 'headers'), `"${l.text.trim()}" is not a header (NAME: VALUE); a body begins after a blank line`, true);

    const headers: Record<string, string> = {};
    let contentType = '';
    let host: Segment[] | undefined;
    for (const h of request.headers) {
      const lower = h.name.toLowerCase();
      const place = at(h.line, `header ${h.name}`);
      // REST Client leaves the length to the HTTP client, which counts the body as sent; so does the driver.
      if (lower === 'content-length') continue;
      if (lower === 'x-request-type' && h.value.toLowerCase() === 'graphql') {
        this.noteAt(place, 'a GraphQL request (REST Client sends its query and variables as JSON); write the JSON body {"query": …, "variables": …} yourself', true);
        continue;
      }
      let value = this.resolve(h.value, place, refs);
      if (lower === 'authorization') value = this.authorization(value, place);
      if (lower === 'content-type') contentType = render(value).toLowerCase();
      if (lower === 'host') host = value;
      this.checkBraces(value, place);
      const same = Object.keys(headers).find((k) => k.toLowerCase() === lower);
      if (same) headers[same] += (lower === 'cookie' ? '; ' : ', ') + render(value);
      else headers[h.name] = render(value);
    }
    if (Object.keys(headers).length) step.headers = headers;

    step.url = this.url(request, host, at(request.line, 'url'), refs);
    if (request.body) step.body = this.body(request, contentType, refs);
  }

  private url(request: HttpFileRequest, host: Segment[] | undefined, place: Place, refs: Set<number>): string {
    let segments = this.resolve(request.url, place, refs);
    // A path with a Host header: REST Client sends it to that host (https on 443 and 8443).
    if (host && request.url.startsWith('/')) {
      const port = /:(\d+)$/.exec(render(host))?.[1];
      segments = [{ kind: 'literal', text: `${port === '443' || port === '8443' ? 'https' : 'http'}://` }, ...host, ...segments];
    }
    const url = render(segments.map((s) => (s.kind === 'literal' ? { ...s, text: encodeForUrl(s.text) } : s)));
    const origin = /^https?:\/\/[^/?#]*/i.exec(url)?.[0];
    if (origin && !/[{}]/.test(origin)) this.origins.set(request.index, { origin: origin.toLowerCase(), place });
    // A {{…}} left as written is named already; the URL it spoils needs no second note.
    if (segments.some((s) => s.kind === 'raw')) return url;
    if (!origin) this.noteAt(place, `"${url}" is not an absolute http:// or https:// URL`, true);
    else if (/[{}]/.test(origin)) this.noteAt(place, `the URL's origin (${origin}) comes from a variable; every step goes to one origin, written in the file`, true);
    else {
      try {
        new URL(url.replace(/\{[^}]*\}/g, 'x'));
      } catch {
        this.noteAt(place, `"${url}" is not a valid URL`, true);
      }
    }
    return url;
  }

  private body(request: HttpFileRequest, contentType: string, refs: Set<number>): string {
    const lines = request.body!;
    const place = { request, line: lines[0].line, part: 'body' };
    for (const l of lines) {
      const include = FILE_INCLUDE.exec(l.text);
      if (include) this.noteAt({ request, line: l.line, part: 'body' }, `includes the file ${include[2]} (${l.text.trim()}); paste its content into the body, or write the body into the definition`, true);
    }
    const form = contentType.startsWith('application/x-www-form-urlencoded');
    // As REST Client joins them: a form's lines starting with & continue the previous one; multipart parts end in CRLF.
    const text = form
      ? lines.map((l, i) => (i === 0 || l.text.startsWith('&') ? '' : '\n') + l.text).join('')
      : lines.map((l) => l.text).join(contentType.startsWith('multipart/form-data') ? '\r\n' : '\n') + (contentType.startsWith('application/x-ndjson') ? '\n' : '');
    const segments = this.resolve(text, place, refs);
    if (form) return render(segments.map((s) => (s.kind === 'literal' ? { ...s, text: encodeForUrl(s.text) } : s)));
    this.checkBraces(segments, place);
    return render(segments);
  }

  /** `Basic user password` and `Basic user:password`, which REST Client encodes as it sends; Digest needs its handshake. */
  private authorization(value: Segment[], place: Place): Segment[] {
    const text = render(value);
    const [scheme, user, ...rest] = text.split(/\s+/);
    const credentials = rest.length ? `${user}:${rest.join(' ')}` : user?.includes(':') ? user : undefined;
    if (/^digest$/i.test(scheme ?? '') && rest.length) {
      this.noteAt(place, 'Digest authentication needs REST Client\'s exchange with the server; the load test sends the header as written', true);
    } else if (/^basic$/i.test(scheme ?? '') && credentials !== undefined) {
      if (value.every((s) => s.kind === 'literal')) return [{ kind: 'literal', text: `Basic ${Buffer.from(credentials).toString('base64')}` }];
      // A {{…}} left as written is named already.
      if (value.some((s) => s.kind === 'ours')) this.noteAt(place, 'Basic user:password with a value known only as the test runs: REST Client encodes it in base64 as it sends, the load test cannot', true);
    }
    return value;
  }

  /** `{word}` written in the file would be filled by the engine as a variable: it has no escape, so it is named. */
  private checkBraces(segments: Segment[], place: Place): void {
    let run = '';
    for (const s of [...segments, { kind: 'ours', text: '' } as Segment]) {
      if (s.kind === 'literal') {
        run += s.text;
        continue;
      }
      for (const m of run.matchAll(BRACE_WORD)) this.noteAt(place, `${m[0]} is written in the file, and the load test would fill it as a variable or placeholder (it has no escape for a literal brace)`, true);
      run = '';
    }
  }

  /** The text with its {{…}} resolved: file variables written in, responses referred to as captured variables. */
  private resolve(text: string, place: Place, refs: Set<number>, through: string[] = []): Segment[] {
    const out: Segment[] = [];
    let last = 0;
    for (const m of text.matchAll(REFERENCE)) {
      if (m.index! > last) out.push({ kind: 'literal', text: text.slice(last, m.index) });
      out.push(...this.reference(m[1].trim(), m[0], place, refs, through));
      last = m.index! + m[0].length;
    }
    if (last < text.length) out.push({ kind: 'literal', text: text.slice(last) });
    return out;
  }

  private reference(expression: string, written: string, place: Place, refs: Set<number>, through: string[]): Segment[] {
    const raw: Segment[] = [{ kind: 'raw', text: written }];
    if (expression.startsWith('$')) return this.system(expression, written, place) ?? raw;
    if (expression.startsWith('%')) {
      const value = this.variable(expression.slice(1).trim(), written, place, refs, through);
      if (!value) return raw;
      if (value.every((s) => s.kind === 'literal')) return [{ kind: 'literal', text: encodeURIComponent(render(value)) }];
      this.noteAt(place, `${written}: percent-encodes a value known only as the test runs; the load test cannot encode it`, true);
      return value;
    }
    if (this.file.variables.has(expression)) return this.variable(expression, written, place, refs, through) ?? raw;
    const request = /^(\w+)\.(response|request)\.(body|headers)(?:\.(.*))?$/.exec(expression);
    const named = this.byName.get(expression.split('.')[0]);
    if (!request || !named) {
      const prompt = place.request.settings.find((s) => s.name === 'prompt' && s.value.split(/\s+/)[0] === expression);
      if (prompt) this.noteAt(place, `${written}: asked for by @prompt as REST Client sends; write its value into the file: @${expression} = VALUE`, true);
      else if (named) this.noteAt(place, `${written}: refers to ${named[0].name} in a form this import does not read; it reads NAME.response.body.$.JSON_PATH, NAME.response.body.* and NAME.response.headers.HEADER`, true);
      else if (expression.includes('.') && /^\w+\.(response|request)\./.test(expression)) this.noteAt(place, `${written}: no request is named ${expression.split('.')[0]} (# @name ${expression.split('.')[0]} above it)`, true);
      else this.noteAt(place, `${written}: not a variable of this file (a REST Client environment variable?); define it in the file: @${expression} = VALUE`, true);
      return raw;
    }
    const [, , side, part, path] = request;
    const source = named[0];
    if (named.length > 1) this.noteAt(place, `${written}: ${named.length} requests are named ${source.name} (lines ${named.map((r) => r.line + 1).join(', ')}); the first is used`, false);
    if (side === 'request') {
      this.noteAt(place, `${written}: refers to what ${source.name} sent, not to its response; write the value itself`, true);
      return raw;
    }
    let rule: CaptureRule;
    let suffix: string;
    if (part === 'headers') {
      if (!path) {
        this.noteAt(place, `${written}: names no header`, true);
        return raw;
      }
      rule = { header: path };
      suffix = path.toLowerCase();
    } else if (path === undefined || path === '*') {
      rule = { regex: WHOLE_BODY };
      suffix = 'body';
    } else if (path.startsWith('$')) {
      rule = path;
      suffix = lastName(path);
    } else {
      this.noteAt(place, `${written}: an XPath into an XML body; captures read JSON paths, headers and regular expressions (write a {"regex": …} capture by hand)`, true);
      return raw;
    }
    refs.add(source.index);
    return [{ kind: 'ours', text: `{${this.captureVariable(source.index, rule, suffix)}}` }];
  }

  /** A file variable's value, resolved in turn; undefined when it refers to itself through others. */
  private variable(name: string, written: string, place: Place, refs: Set<number>, through: string[]): Segment[] | undefined {
    const variable = this.file.variables.get(name);
    if (!variable) {
      this.noteAt(place, `${written}: not a variable of this file (a REST Client environment variable?); define it in the file: @${name} = VALUE`, true);
      return undefined;
    }
    if (through.includes(name)) {
      this.noteAt(place, `${written}: @${[...through, name].join(' → @')} refers to itself`, true);
      return undefined;
    }
    return this.resolve(variable.value, place, refs, [...through, name]);
  }

  private system(expression: string, written: string, place: Place): Segment[] | undefined {
    const [name, ...args] = expression.split(/\s+/);
    if (name === '$randomInt') {
      // REST Client's MAX is excluded; {random:MIN:MAX} includes its MAX.
      if (args.length === 2 && args.every((a) => /^-?\d{1,15}$/.test(a)) && Number(args[1]) > Number(args[0])) return [{ kind: 'ours', text: `{random:${args[0]}:${Number(args[1]) - 1}}` }];
      this.noteAt(place, `${written}: $randomInt takes MIN and MAX, whole numbers, MAX (excluded) above MIN`, true);
      return undefined;
    }
    this.noteAt(place, `${written}: ${SYSTEM_VARIABLES[name] ?? 'a REST Client system variable with no equivalent in a load test'}`, true);
    return undefined;
  }

  /** The variable a step captures for a reference: NAME_LAST, the same for the same reference, unique in the scenario. */
  private captureVariable(index: number, rule: CaptureRule, suffix: string): string {
    const key = `${index} ${JSON.stringify(rule)}`;
    const known = this.captureVariables.get(key);
    if (known) return known;
    let base = `${this.names[index]}_${suffix}`.replace(/[^A-Za-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
    if (!VARIABLE_NAME.test(base)) base = `v_${base}`;
    if (RESERVED_NAMES.includes(base)) base = `${base}_value`;
    const taken = new Set(this.captureVariables.values());
    let variable = base;
    for (let n = 2; taken.has(variable); n++) variable = `${base}_${n}`;
    this.captureVariables.set(key, variable);
    this.captures.set(index, { ...(this.captures.get(index) ?? {}), [variable]: rule });
    return variable;
  }
}

/** The name a JSON path ends in: `$.data.token` → token, `$.items[0]` → items_0, `$` → body. */
function lastName(path: string): string {
  const parts = path.split(/[.[\]'"]+/).filter((p) => p && p !== '$' && p !== '*');
  const last = parts.at(-1);
  if (last === undefined) return 'body';
  return /^\d+$/.test(last) && parts.length > 1 ? `${parts.at(-2)}_${last}` : last;
}

function render(segments: Segment[]): string {
  return segments.map((s) => s.text).join('');
}

function encodeForUrl(text: string): string {
  return text.replace(NOT_IN_URL, (c) => encodeURIComponent(c));
}
