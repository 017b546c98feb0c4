// What the schema cannot say of a scenario: unique step names, one origin, placeholders that
// exist, patterns that compile, and every {NAME} a step uses given before it (captured by an
// earlier step, or a column of the test data once its file is read).
import { JSONPath } from 'jsonpath-plus';
import { placeholderProblems, staticFill, variablesIn } from '../../protocol/request-mix';
import { captureSource, RESERVED_NAMES, type Scenario } from '../../protocol/scenario';

/** A scenario's test data as a definition gives it. */
export interface TestDataSource {
  /** CSV with a header row, or JSON lines; relative to the definition's file */
  file: string;
  /** unique: dealt across drivers, no row twice; cycle (default): every driver goes through all */
  mode?: 'unique' | 'cycle';
}

interface ScenarioDefinition {
  scenario?: Scenario;
  data?: TestDataSource;
  warm_up_count_per_driver?: number;
}

/**
 * The problems of a definition's scenario, each naming its field. `columns`: the test data's, once
 * read; until then a {NAME} no step captures is left for the data to give (checked at the start).
 */
export function scenarioProblems(definition: ScenarioDefinition, columns?: readonly string[]): string[] {
  const steps = definition.scenario?.steps ?? [];
  const errors: string[] = [];
  const seen = new Set<string>();
  const known = new Set<string>(columns ?? []);
  let origin: string | undefined;
  for (const [i, step] of steps.entries()) {
    const at = `scenario.steps[${i}]`;
    if (seen.has(step.name)) errors.push(`${at}.name: "${step.name}" names another step too; each name is a row of the results`);
    seen.add(step.name);
    const texts: [string, string][] = [
      ['url', step.url],
      ...Object.entries(step.headers ?? {}).map(([name, value]): [string, string] => [`headers.${name}`, value]),
      ...(step.body === undefined ? [] : [['body', step.body] as [string, string]]),
      ...Object.entries(step.check?.json ?? {}).flatMap(([path, value]): [string, string][] => (typeof value === 'string' ? [[`check.json.${path}`, value]] : [])),
    ];
    for (const [field, text] of texts) {
      for (const problem of placeholderProblems(text)) errors.push(`${at}.${field}: ${problem}`);
      for (const name of variablesIn(text)) {
        if (RESERVED_NAMES.includes(name) || known.has(name)) continue;
        if (columns === undefined && definition.data) continue;
        const later = steps.findIndex((s, j) => j >= i && Object.keys(s.capture ?? {}).includes(name));
        const where = later >= 0 ? `; step ${steps[later].name} captures it, but only after this step is sent` : definition.data ? '; it is not a column of the data file either' : '; capture it in an earlier step ("capture": {"' + name + '": "$.path"}) or give "data" with a column of that name';
        errors.push(`${at}.${field}: {${name}} is no variable of the iteration at this step${where}`);
      }
    }
    let url: URL | undefined;
    const base = definition.scenario?.origin;
    if (step.url.startsWith('/') && !base) errors.push(`${at}.url: "${step.url}" is a path; give the scenario an "origin" (e.g. "origin": "http://127.0.0.1:8080"), or write the whole URL`);
    else {
      try {
        url = new URL(staticFill(step.url).replace(/\{[A-Za-z_][A-Za-z0-9_]*\}/g, 'x'), base);
      } catch {
        errors.push(`${at}.url: "${step.url}" is not a valid URL`);
      }
    }
    if (url) {
      origin ??= url.origin;
      if (url.origin !== origin) errors.push(`${at}.url: every step goes to one origin (${origin}, as the first does), not ${url.origin}`);
    }
    for (const [variable, rule] of Object.entries(step.capture ?? {})) {
      const source = captureSource(rule);
      if (source.kind === 'json' && !validJsonPath(source.path)) errors.push(`${at}.capture.${variable}: "${source.path}" is not a JSON path (e.g. $.id or $.items[0].id)`);
      if (source.kind === 'regex') {
        const problem = regexProblem(source.pattern);
        if (problem) errors.push(`${at}.capture.${variable}: ${problem}`);
        else if (new RegExp(`${source.pattern}|`).exec('')!.length - 1 < source.group) errors.push(`${at}.capture.${variable}: the pattern has no group ${source.group}; put the value in parentheses, e.g. "token=(\\\\w+)"`);
      }
      known.add(variable);
    }
    if (step.check?.regex !== undefined) {
      const problem = regexProblem(step.check.regex);
      if (problem) errors.push(`${at}.check.regex: ${problem}`);
    }
    for (const path of Object.keys(step.check?.json ?? {})) if (!validJsonPath(path)) errors.push(`${at}.check.json: "${path}" is not a JSON path (e.g. $.name)`);
  }
  if (definition.data?.mode === 'unique' && definition.warm_up_count_per_driver) {
    errors.push('warm_up_count_per_driver: a scenario with unique data cannot warm up, since every row is used once, by the measured iterations; leave it out or use "mode": "cycle"');
  }
  return errors;
}

function validJsonPath(path: string): boolean {
  if (!path.startsWith('$')) return false;
  try {
    // Evaluated on a small document with an array and an object, so that a filter's syntax is parsed too.
    JSONPath({ path, json: { a: [{ b: 1 }], c: { d: 1 } }, wrap: false });
    return true;
  } catch {
    return false;
  }
}

function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
    return undefined;
  } catch (error) {
    return `not a regular expression: ${(error as Error).message}`;
  }
}

/**
 * The scenario as it goes on the wire: every step's url absolute (a path joined to the origin as
 * written, so that its {NAME} and placeholders stay as they are), and no origin field.
 */
export function wireScenario(scenario: Scenario): Scenario {
  const { origin, steps } = scenario;
  return { steps: steps.map((step) => (step.url.startsWith('/') && origin ? { ...step, url: `${origin.replace(/\/$/, '')}${step.url}` } : step)) };
}
