// A scenario made ready to run on a driver: each step's request compiled once (its templated
// parts filled per iteration), its captures and checks compiled, and the test data dealt.
// The judgement of a response (check, captures) lives here; scenario-iteration.ts runs the steps.
import { JSONPath } from 'jsonpath-plus';
import { compileTemplate, type VariableFill, type Variables } from '../protocol/request-mix';
import { captureSource, MAX_CHECKED_BODY_BYTES, type Scenario, type WireTestData } from '../protocol/scenario';
import type { DriverShare } from './plan-profile';

export interface PlannedStep {
  name: string;
  method: string;
  path: VariableFill;
  /** header names and their filled values, as undici's flat array */
  headers: (seq: number, variables: Variables) => string[];
  body?: VariableFill;
  timeoutMs: number;
  /** the response's body is read (a capture or a check needs it) */
  readsBody: boolean;
  /** the response's headers are read (a capture needs one) */
  readsHeaders: boolean;
  stopOnFailure: boolean;
  thinkMs: number;
  /** `seq` and `variables` fill a check's expected texts that hold {NAME} ("$.user": "{user}") */
  judge: (response: StepResponse, seq: number, variables: Variables) => StepJudgement;
}

export interface StepResponse {
  status: number;
  /** lower-cased header name → value (only when the step reads headers) */
  headers?: Map<string, string>;
  body?: string;
  /** the body was longer than MAX_CHECKED_BODY_BYTES: only its start was read */
  truncated?: boolean;
}

export interface StepJudgement {
  /** what failed, for the step's error kind; undefined when the step passed */
  failure?: 'check_failed' | 'http_4xx' | 'http_5xx';
  /** why a check failed (the first reason), for the agent's log */
  reason?: string;
  captured: Variables;
  /** the check judged the status: a 4xx or 5xx is not an error of its own kind */
  statusJudged: boolean;
}

export interface PlannedScenario {
  /** the one origin every step goes to */
  origin: URL;
  steps: PlannedStep[];
  /** the driver's rows of the test data, and how they are used */
  data?: DealtData;
}

/** The test data as one driver uses it: `unique` rows are dealt across drivers, `cycle` rows are all the driver's. */
export class DealtData {
  constructor(
    private readonly data: WireTestData,
    private readonly share: DriverShare,
  ) {}

  /** Whether the driver's iteration `n` has a row: false once `unique` rows are used up. */
  hasRow(n: number): boolean {
    return this.rowIndex(n) < this.data.rows.length;
  }

  // unique: driver i of N takes rows i, i + N, i + 2N, ...: no row twice in the test.
  // cycle: every driver goes through every row, each starting at its own so they do not move in step.
  private rowIndex(n: number): number {
    const { rows, mode } = this.data;
    if (mode === 'unique') return this.share.index + n * this.share.of;
    return rows.length === 0 ? Infinity : (this.share.index + n) % rows.length;
  }

  /** The variables of the driver's iteration `n` (0, 1, ...); undefined once `unique` rows are used up. */
  rowFor(n: number): Variables | undefined {
    const { rows, columns } = this.data;
    const row = rows[this.rowIndex(n)];
    if (!row) return undefined;
    const variables: Variables = {};
    for (const [i, column] of columns.entries()) variables[column] = row[i] ?? '';
    return variables;
  }

  /** how many rows this driver has in a `unique` test (Infinity when it cycles) */
  get rowsOfDriver(): number {
    if (this.data.mode === 'cycle') return Infinity;
    return Math.max(0, Math.ceil((this.data.rows.length - this.share.index) / this.share.of));
  }
}

export function planScenario(scenario: Scenario, data: WireTestData | undefined, share: DriverShare, driver: string, extraHeaders: Record<string, string>, defaultTimeoutMs: number): PlannedScenario {
  // The first step's origin (its templated parts stood in for: a path's {NAME} cannot change the origin).
  const originUrl = new URL(new URL(scenario.steps[0].url.replace(/\{[^}]*\}/g, 'x')).origin);
  const origin = originUrl.origin;
  const steps = scenario.steps.map((step): PlannedStep => {
    const url = compileTemplate(step.url, driver);
    const headerFills = Object.entries({ ...(step.headers ?? {}), ...extraHeaders }).map(([name, value]) => [name, compileTemplate(value, driver)] as const);
    const captures = Object.entries(step.capture ?? {}).map(([variable, rule]) => ({ variable, source: captureSource(rule) }));
    const readsHeaders = captures.some((c) => c.source.kind === 'header');
    const readsBody = captures.some((c) => c.source.kind !== 'header') || step.check?.json !== undefined || step.check?.regex !== undefined;
    const regexes = new Map(captures.filter((c) => c.source.kind === 'regex').map((c) => [c.variable, new RegExp((c.source as { pattern: string }).pattern)]));
    const checkRegex = step.check?.regex === undefined ? undefined : new RegExp(step.check.regex);
    const statuses = step.check?.status === undefined ? undefined : new Set(Array.isArray(step.check.status) ? step.check.status : [step.check.status]);
    const expected = Object.entries(step.check?.json ?? {}).map(([path, value]) => ({ path, value, fill: typeof value === 'string' ? compileTemplate(value, driver) : undefined }));
    return {
      name: step.name,
      method: step.method ?? 'GET',
      path: (seq, variables) => {
        const filled = url(seq, variables);
        if (filled.startsWith(origin)) return filled.slice(origin.length) || '/';
        const u = new URL(filled);
        return u.pathname + u.search;
      },
      headers: (seq, variables) => headerFills.flatMap(([name, fill]) => [name, fill(seq, variables)]),
      body: step.body === undefined ? undefined : compileTemplate(step.body, driver),
      timeoutMs: step.timeout_ms ?? defaultTimeoutMs,
      readsBody,
      readsHeaders,
      stopOnFailure: step.on_failure !== 'continue',
      thinkMs: step.think_time_ms ?? 0,
      judge: (response, seq, variables) => judge(response, { statuses, expected, checkRegex, captures, regexes }, seq, variables),
    };
  });
  return { origin: originUrl, steps, data: data ? new DealtData(data, share) : undefined };
}

interface CompiledStep {
  statuses: Set<number> | undefined;
  expected: { path: string; value: unknown; fill: VariableFill | undefined }[];
  checkRegex: RegExp | undefined;
  captures: { variable: string; source: ReturnType<typeof captureSource> }[];
  regexes: Map<string, RegExp>;
}

function judge(response: StepResponse, step: CompiledStep, seq: number, variables: Variables): StepJudgement {
  const captured: Variables = {};
  const statusJudged = step.statuses !== undefined;
  const fail = (reason: string): StepJudgement => ({ failure: 'check_failed', reason, captured, statusJudged });
  if (step.statuses && !step.statuses.has(response.status)) return fail(`status ${response.status}, expected ${[...step.statuses].join(' or ')}`);
  if (!statusJudged && response.status >= 400) return { failure: response.status >= 500 ? 'http_5xx' : 'http_4xx', reason: `status ${response.status}`, captured, statusJudged };
  const body = response.body ?? '';
  let json: unknown;
  let parsed = false;
  const parseJson = (): unknown => {
    if (!parsed) {
      parsed = true;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
    }
    return json;
  };
  const jsonValue = (path: string): unknown => {
    const document = parseJson();
    if (document === undefined) return undefined;
    return JSONPath({ path, json: document as object, wrap: false });
  };
  for (const { path, value, fill } of step.expected) {
    const expected = fill ? fill(seq, variables) : value;
    const actual = jsonValue(path);
    if (JSON.stringify(actual) !== JSON.stringify(expected)) return fail(`${path} is ${actual === undefined ? 'missing' : JSON.stringify(actual)}, expected ${JSON.stringify(expected)}${response.truncated ? ` (only the first ${MAX_CHECKED_BODY_BYTES} bytes of the body were read)` : ''}`);
  }
  if (step.checkRegex && !step.checkRegex.test(body)) return fail(`the body does not match /${step.checkRegex.source}/`);
  for (const { variable, source } of step.captures) {
    let value: unknown;
    if (source.kind === 'header') value = response.headers?.get(source.name.toLowerCase());
    else if (source.kind === 'json') value = jsonValue(source.path);
    else value = step.regexes.get(variable)!.exec(body)?.[source.group];
    if (value === undefined || value === null) return fail(`capture ${variable}: ${source.kind === 'header' ? `no header ${source.name}` : source.kind === 'json' ? `nothing at ${source.path}` : `no match of /${source.pattern}/`}`);
    captured[variable] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return { captured, statusJudged };
}
