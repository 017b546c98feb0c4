// A scenario: a user's journey as a sequence of requests (steps) with values captured from one
// response and used in the next, checks on each response, and think time between steps. The
// definition, the test_config on the wire and the agent read it in this one shape.
//
// An iteration runs the steps in order from the first. Its variables are the test data's columns
// (its row) and what earlier steps captured; `{name}` in a step's url, header values or body is
// filled from them, beside the placeholders of a request mix ({seq}, {driver}, {random:MIN:MAX}).

export interface Scenario {
  /** in a definition: the origin a step's url that is a path goes to; on the wire every url is absolute */
  origin?: string;
  steps: ScenarioStep[];
}

export interface ScenarioStep {
  /** figures, errors and thresholds are kept per step under this name */
  name: string;
  /** absolute URL, or in a definition a path under the scenario's origin; every step goes to one origin */
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeout_ms?: number;
  /** variable name → where its value comes from in this step's response */
  capture?: Record<string, CaptureRule>;
  check?: StepCheck;
  /** what a failed step does to its iteration: `stop` it (the default) or `continue` with the next step */
  on_failure?: 'stop' | 'continue';
  /** milliseconds to wait after this step before the next */
  think_time_ms?: number;
}

/**
 * A JSON path into the body (a text starting with `$`, or `{"json": "$.a.b"}`), a response header
 * (`{"header": "x-token"}`), or a regular expression over the body whose first group (or `group`) is
 * the value (`{"regex": "token=(\\w+)"}`).
 */
export type CaptureRule = string | { json: string } | { header: string } | { regex: string; group?: number };

/**
 * What the response must be for the step to pass. With `status`, the status is judged by the check
 * alone (a 404 listed is a pass; a 404 not listed is `check_failed`, not `http_4xx`); without, a
 * 4xx or 5xx is an error of its own kind as in a flat test.
 */
export interface StepCheck {
  status?: number | number[];
  /** JSON path → the value it must have (compared as JSON); a text may hold {NAME}, filled as the request's are */
  json?: Record<string, unknown>;
  /** a regular expression the body must match */
  regex?: string;
}

/** The test data as it travels in the test_config: its columns and rows, every value a text. */
export interface WireTestData {
  mode: 'unique' | 'cycle';
  columns: string[];
  rows: string[][];
}

/** A variable's name in `{name}`: a letter or underscore, then letters, digits and underscores. */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** `{seq}`, `{driver}` and `{random:…}` are the mix's placeholders, never variables. */
export const RESERVED_NAMES: readonly string[] = ['seq', 'driver', 'random'];
/** The most a test's data may weigh on the wire (it travels in the test_config, a Kafka message). */
export const MAX_TEST_DATA_BYTES = 512 * 1024;
/** The most of a response body a step reads for its captures and checks. */
export const MAX_CHECKED_BODY_BYTES = 1024 * 1024;

/** The rule's kind and its argument. */
export function captureSource(rule: CaptureRule): { kind: 'json'; path: string } | { kind: 'header'; name: string } | { kind: 'regex'; pattern: string; group: number } {
  if (typeof rule === 'string') return { kind: 'json', path: rule };
  if ('json' in rule) return { kind: 'json', path: rule.json };
  if ('header' in rule) return { kind: 'header', name: rule.header };
  return { kind: 'regex', pattern: rule.regex, group: rule.group ?? 1 };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const textRecord = (v: unknown): Record<string, string> | undefined => (isObject(v) && Object.values(v).every((x) => typeof x === 'string') ? (v as Record<string, string>) : undefined);

/**
 * The wire's reader of a test_config's scenario: a text saying what is wrong when it cannot be
 * run as sent (the driver refuses the test rather than run another journey), undefined when absent.
 */
export function readWireScenario(value: unknown): Scenario | string | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || !Array.isArray(value.steps) || value.steps.length === 0) return 'scenario: steps must be a non-empty list';
  const steps: ScenarioStep[] = [];
  for (const [i, raw] of value.steps.entries()) {
    if (!isObject(raw) || typeof raw.name !== 'string' || typeof raw.url !== 'string') return `scenario.steps[${i}]: a name and a url are required`;
    if (raw.headers !== undefined && !textRecord(raw.headers)) return `scenario.steps[${i}].headers: every value must be a text`;
    if (raw.body !== undefined && typeof raw.body !== 'string') return `scenario.steps[${i}].body: must be a text`;
    if (raw.capture !== undefined && !isObject(raw.capture)) return `scenario.steps[${i}].capture: must be an object`;
    if (raw.check !== undefined && !isObject(raw.check)) return `scenario.steps[${i}].check: must be an object`;
    const number = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);
    steps.push({
      name: raw.name,
      url: raw.url,
      method: typeof raw.method === 'string' ? raw.method.toUpperCase() : undefined,
      headers: raw.headers as Record<string, string> | undefined,
      body: raw.body as string | undefined,
      timeout_ms: number(raw.timeout_ms),
      capture: raw.capture as Record<string, CaptureRule> | undefined,
      check: raw.check as StepCheck | undefined,
      on_failure: raw.on_failure === 'continue' ? 'continue' : 'stop',
      think_time_ms: number(raw.think_time_ms),
    });
  }
  return { steps };
}

/** The wire's reader of a test_config's data: a text saying what is wrong, undefined when absent. */
export function readWireTestData(value: unknown): WireTestData | string | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || (value.mode !== 'unique' && value.mode !== 'cycle')) return 'data: mode must be unique or cycle';
  if (!Array.isArray(value.columns) || !value.columns.every((c) => typeof c === 'string')) return 'data: columns must be a list of names';
  if (!Array.isArray(value.rows) || !value.rows.every((r) => Array.isArray(r) && r.every((x) => typeof x === 'string'))) return 'data: rows must be lists of texts';
  return { mode: value.mode, columns: value.columns as string[], rows: value.rows as string[][] };
}
