// A `.loadtest.json` file: validated against schemas/loadtest.schema.json (the one definition the
// CLI, the REST API and the editor share) and turned into the test_config the drivers receive.
import Ajv, { type ErrorObject } from 'ajv';
import { randomBytes } from 'node:crypto';
import schema from '../schemas/loadtest.schema.json';
import capacitySchema from '../schemas/capacity.schema.json';
import { capacityProblems, type CapacityConfig } from './capacity/capacity-config';
import type { RegressionLimits } from './compare/regression-limits';
import { placeholderProblems, staticFill } from '../protocol/request-mix';
import type { Scenario, WireTestData } from '../protocol/scenario';
import { scenarioProblems, wireScenario, type TestDataSource } from './scenarios/scenario-definition';
import { MAX_CONCURRENCY, testConfigProblems } from '../protocol/test-config-limits';
import { planFields } from './stages/test-plan';
import { DEFAULT_MAX_CONNECTIONS, type HttpEngineName, type HttpTarget, type MixRequest, type TestConfigMessage, type TestType } from '../protocol/wire-protocol';

export interface Thresholds {
  mean_latency_ms?: number;
  median_latency_ms?: number;
  p90_latency_ms?: number;
  p95_latency_ms?: number;
  p99_latency_ms?: number;
  max_latency_ms?: number;
  error_rate?: number;
  min_throughput?: number;
  /** limits on the server-side queries, by query name */
  server?: Record<string, ServerLimit>;
  /** a scenario's limits per step, by step name, judged on the step's own figures */
  steps?: Record<string, Thresholds>;
  /** a mix's limits per request, by request name */
  requests?: Record<string, Thresholds>;
}

/** A stage as a file gives it: the wire's Stage, and limits judged on its window only. */
export interface DefinitionStage {
  duration_s: number;
  target_rate?: number;
  target_concurrency?: number;
  thresholds?: Thresholds;
}

export interface DefinitionRequest {
  name: string;
  weight?: number;
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeout_ms?: number;
}

export interface ServerLimit {
  max?: number;
  min?: number;
  /** without samples the limit is not judged, instead of failing the test */
  optional?: boolean;
}

/** A Prometheus the orchestrator asks during the test, and what it asks. */
export interface PrometheusSource {
  url: string;
  /** PromQL by name; each gives one number */
  queries: Record<string, string>;
}

export interface LoadTestDefinition {
  name?: string;
  test_id?: string;
  test_type: TestType;
  /** seconds */
  test_message_delay?: number;
  /** requests per driver; exactly one of this, `duration_s` and `stages` */
  message_count_per_driver?: number;
  /** seconds the measured part runs (pauses not counted) */
  duration_s?: number;
  /** the load over time, totals over all drivers */
  stages?: DefinitionStage[];
  /** TSUNAMI stages: the total rate the first ramps from (default 0) */
  start_rate?: number;
  /** AVALANCHE stages: the total concurrency the first ramps from (default 0) */
  start_concurrency?: number;
  /** requests each driver sends first, at the test's pace, and does not count */
  warm_up_count_per_driver?: number;
  /** requests per second per driver */
  target_throughput?: number;
  /** AVALANCHE: requests in flight at once per driver */
  concurrency?: number;
  /** TSUNAMI: the most connections a driver opens to keep its schedule */
  max_connections?: number;
  /** HTTP/2 (http2): requests in flight at once on one connection; default DEFAULT_MAX_STREAMS */
  max_streams?: number;
  drivers?: number;
  /** the one endpoint; absent when `requests` gives a mix */
  target?: string | { url: string; method?: string; headers?: Record<string, string>; body?: string; timeout_ms?: number };
  /** a weighted mix of requests to one origin */
  requests?: DefinitionRequest[];
  /** a user journey (protocol/scenario.ts): steps run in order by each iteration */
  scenario?: Scenario;
  /** the scenario's test data: its rows' columns are variables of the iterations */
  data?: TestDataSource;
  thresholds?: Thresholds;
  prometheus?: PrometheusSource;
  http2?: boolean;
  /** the engine drivers send HTTP/1.1 with (agents/http-engine/); absent: the lean one */
  http_engine?: HttpEngineName;
  tls_insecure?: boolean;
  /** a capacity search of these requests (orchestrator/capacity/); `run` ignores it */
  capacity?: Partial<CapacityConfig>;
  /** how much worse than its baseline run a run may be (compare/regression-limits.ts) */
  regression?: RegressionLimits;
}

export type DefinitionResult = { ok: true; definition: LoadTestDefinition } | { ok: false; errors: string[] };

const ajv = new Ajv({ allErrors: true, verbose: true, strict: false });
// The capacity block has its schema of its own (its room's), referred to by name.
ajv.addSchema(capacitySchema);
const validate = ajv.compile<LoadTestDefinition>(schema);

/** A JSON pointer as a person writes the field: stages[2].target_rate, as every other check names it. */
function fieldPath(instancePath: string): string {
  return instancePath
    .replace(/^\//, '')
    .replace(/\/(\d+)(?=\/|$)/g, '[$1]')
    .replace(/\//g, '.');
}

function join(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function describe(error: ErrorObject): string {
  const path = fieldPath(error.instancePath);
  const hint = (error.parentSchema as { description?: string } | undefined)?.description;
  const at = path || 'the file';
  switch (error.keyword) {
    case 'required': {
      const field = join(path, (error.params as { missingProperty: string }).missingProperty);
      const fieldSchema = (error.parentSchema as { properties?: Record<string, { description?: string }> })?.properties?.[(error.params as { missingProperty: string }).missingProperty];
      return `${field}: is required${fieldSchema?.description ? ` (${fieldSchema.description})` : ''}`;
    }
    case 'additionalProperties': {
      const extra = (error.params as { additionalProperty: string }).additionalProperty;
      const known = Object.keys((error.parentSchema as { properties?: object })?.properties ?? {});
      const close = known.find((k) => k.toLowerCase().replace(/_/g, '') === extra.toLowerCase().replace(/[_-]/g, ''));
      return `${join(path, extra)}: is not a known field${close ? `; did you mean "${close}"?` : `; known fields: ${known.filter((k) => k !== '$schema').join(', ')}`}`;
    }
    case 'enum':
      return `${at}: must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(error.data)}`;
    case 'pattern':
      return `${at}: ${hint ?? `must match ${(error.params as { pattern: string }).pattern}`}; got ${JSON.stringify(error.data)}`;
    case 'oneOf':
      return `${at}: ${hint ?? 'does not match any allowed form'}`;
    default:
      return `${at}: ${error.message}${hint ? ` (${hint})` : ''}, got ${JSON.stringify(error.data)}`;
  }
}

/** Keeps the errors a person can act on: drops the summaries of `oneOf` and `if` when details exist. */
function relevantErrors(errors: ErrorObject[]): ErrorObject[] {
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  // A bad property name is explained by its pattern error; the propertyNames summary adds nothing.
  let kept = errors.filter((e) => e.keyword !== 'if' && e.keyword !== 'propertyNames');
  for (const path of oneOfPaths) {
    // In a oneOf, the branch whose type fits the value explains the problem; the others only say "wrong type".
    const details = kept.filter((e) => e.instancePath.startsWith(path) && e.keyword !== 'oneOf' && !(e.keyword === 'type' && e.instancePath === path));
    if (details.length > 0) kept = kept.filter((e) => !(e.instancePath === path && (e.keyword === 'oneOf' || e.keyword === 'type')));
    else kept = kept.filter((e) => !(e.instancePath === path && e.keyword === 'type'));
  }
  return kept.length ? kept : errors;
}

export function validateDefinition(value: unknown): DefinitionResult {
  if (!validate(value)) {
    const messages = relevantErrors(validate.errors ?? []).map(describe);
    return { ok: false, errors: [...new Set(messages)] };
  }
  const definition = value as LoadTestDefinition;
  const shapes = (['target', 'requests', 'scenario'] as const).filter((k) => definition[k] !== undefined);
  if (shapes.length === 0) {
    return { ok: false, errors: ['target: is required (the URL under test, e.g. http://127.0.0.1:8080/ping), or "requests" for a weighted mix, or "scenario" for a user journey'] };
  }
  if (shapes.length > 1) {
    return { ok: false, errors: [`${shapes.join(' and ')}: give one; ${shapes.includes('scenario') ? 'a scenario lists every request as its steps' : 'a mix lists every request, the single target included'}`] };
  }
  if (definition.data !== undefined && !definition.scenario) return { ok: false, errors: ['data: feeds a scenario\'s variables; add "scenario": {"steps": [...]} or leave data out'] };
  const scenarioErrors = definition.scenario ? scenarioProblems(definition) : [];
  if (scenarioErrors.length) return { ok: false, errors: scenarioErrors };
  if (definition.target !== undefined) {
    const url = typeof definition.target === 'string' ? definition.target : definition.target.url;
    try {
      new URL(url);
    } catch {
      return { ok: false, errors: [`target${typeof definition.target === 'string' ? '' : '.url'}: "${url}" is not a valid URL`] };
    }
  }
  const mixErrors = definition.requests ? mixProblems(definition.requests) : [];
  if (mixErrors.length) return { ok: false, errors: mixErrors };
  const lengthErrors = lengthProblems(definition);
  if (lengthErrors.length) return { ok: false, errors: lengthErrors };
  const queries = Object.keys(definition.prometheus?.queries ?? {});
  if (definition.capacity !== undefined) {
    const problems = capacityProblems(definition.capacity);
    // A server limit of the SLO reads a query of the file by its name, unless it brings its own PromQL.
    for (const [name, limit] of Object.entries(definition.capacity.slo?.server ?? {})) {
      if (limit.query || queries.includes(name)) continue;
      problems.push(`capacity.slo.server.${name}: names no query; ${queries.length ? `the queries of prometheus.queries are ${queries.join(', ')}, or give it its own "query"` : 'add "prometheus": {"url": …, "queries": {"' + name + '": "PROMQL"}}'}`);
    }
    if (Object.keys(definition.capacity.slo?.server ?? {}).length && !definition.prometheus) problems.push('capacity.slo.server: needs "prometheus": {"url": …} to ask its queries');
    if (problems.length) return { ok: false, errors: problems };
  }
  const byNameErrors = namedLimitProblems(definition);
  if (byNameErrors.length) return { ok: false, errors: byNameErrors };
  const limitSets: [string, Thresholds | undefined][] = [['thresholds', definition.thresholds], ...(definition.stages ?? []).map((s, i): [string, Thresholds | undefined] => [`stages[${i}].thresholds`, s.thresholds])];
  const unknown = limitSets.flatMap(([at, t]) => Object.keys(t?.server ?? {}).filter((name) => !queries.includes(name)).map((name) => `${at}.server.${name}`));
  if (unknown.length) {
    return {
      ok: false,
      errors: unknown.map((field) => {
        const name = field.split('.').at(-1)!;
        return `${field}: names no query; ${queries.length ? `the queries of prometheus.queries are ${queries.join(', ')}` : 'add "prometheus": {"url": …, "queries": {"' + name + '": "PROMQL"}}'}`;
      }),
    };
  }
  // Each model has its own limit; taking one for the other would change what the test measures.
  if (definition.test_type === 'TSUNAMI' && definition.concurrency !== undefined) {
    return { ok: false, errors: [`concurrency: applies to AVALANCHE only; a TSUNAMI driver opens connections as its schedule needs. To bound them, use max_connections (default ${DEFAULT_MAX_CONNECTIONS}).`] };
  }
  if (definition.test_type === 'AVALANCHE' && definition.max_connections !== undefined) {
    return { ok: false, errors: ['max_connections: applies to TSUNAMI only; an AVALANCHE driver keeps concurrency requests in flight on as many connections (ceil(concurrency / max_streams) with HTTP/2).'] };
  }
  const streamErrors = [...maxStreamsProblems(definition), ...engineProblems(definition)];
  if (streamErrors.length) return { ok: false, errors: streamErrors };
  // The bounds every agent applies to the test_config (the schema states the same numbers, so
  // the editor warns as well): a definition an agent would refuse is refused here, by field.
  // Without "drivers" the test takes every idle driver: the per-driver limits are checked again on the drivers picked.
  const asked = Math.max(definition.start_concurrency ?? 0, ...(definition.stages ?? []).map((s) => s.target_concurrency ?? 0));
  const drivers = definition.drivers ?? Math.max(1, Math.ceil(asked / MAX_CONCURRENCY));
  const placeholders = Array.from({ length: drivers }, (_, i) => `driver-${i + 1}`);
  const outOfBounds = testConfigProblems(toTestConfig(definition, 'validation', { id: '', names: [] }, placeholders));
  if (outOfBounds.length) return { ok: false, errors: outOfBounds };
  return { ok: true, definition };
}

/**
 * How long the test runs: exactly one of a count, a duration and stages, and stages in the form of
 * the test's model. Each error names the field and says what to do.
 */
function lengthProblems(d: LoadTestDefinition): string[] {
  const given = (['message_count_per_driver', 'duration_s', 'stages'] as const).filter((k) => d[k] !== undefined);
  if (given.length === 0) {
    return ['message_count_per_driver: is required (How many requests each driver sends), unless the test gives duration_s (how many seconds it runs) or stages (its load over time) instead: give one of the three'];
  }
  if (given.length > 1) return [`${given.join(' and ')}: give only one; a test runs to a request count, for a duration, or through stages (whose durations add up to its length)`];
  const errors: string[] = [];
  const tsunami = d.test_type === 'TSUNAMI';
  const field = tsunami ? 'target_rate' : 'target_concurrency';
  const otherField = tsunami ? 'target_concurrency' : 'target_rate';
  if (d.start_rate !== undefined && (!tsunami || !d.stages)) errors.push(`start_rate: applies to TSUNAMI stages only${tsunami ? '; add "stages"' : '; an AVALANCHE test ramps from start_concurrency'}`);
  if (d.start_concurrency !== undefined && (tsunami || !d.stages)) errors.push(`start_concurrency: applies to AVALANCHE stages only${tsunami ? '; a TSUNAMI test ramps from start_rate' : '; add "stages"'}`);
  if (d.stages) {
    for (const [i, stage] of d.stages.entries()) {
      if (stage[field] === undefined) {
        errors.push(`stages[${i}].${field}: is required for a ${d.test_type} stage (${tsunami ? 'requests per second over all drivers' : 'requests in flight over all drivers'} at the stage's end)`);
      }
      if (stage[otherField] !== undefined) errors.push(`stages[${i}].${otherField}: applies to ${tsunami ? 'AVALANCHE' : 'TSUNAMI'} only; a ${d.test_type} stage gives ${field}`);
    }
    if (tsunami && d.test_message_delay !== undefined) errors.push('test_message_delay: a TSUNAMI test with stages is paced by their target_rate; leave test_message_delay out');
    if (d.target_throughput !== undefined) errors.push('target_throughput: a test with stages is paced by them; leave target_throughput out');
    if (!tsunami && d.concurrency !== undefined) errors.push('concurrency: an AVALANCHE test with stages takes its requests in flight from target_concurrency; leave concurrency out');
  }
  return errors;
}

/** max_streams is HTTP/2's: it needs http2 and an https:// target, where ALPN can choose HTTP/2. */
function maxStreamsProblems(d: LoadTestDefinition): string[] {
  if (d.max_streams === undefined) return [];
  if (d.http2 !== true) {
    return ['max_streams: applies to HTTP/2 only; add "http2": true (to an https:// target that offers HTTP/2), or leave max_streams out: over HTTP/1.1 each connection carries one request at a time'];
  }
  const url = new URL(targetOf(d).url);
  if (url.protocol !== 'https:') {
    return [`max_streams: HTTP/2 is offered to https:// targets only, and ${url.origin} is plain http, where each connection carries one request at a time; use an https:// target or leave max_streams out`];
  }
  return [];
}

/** An engine carries one protocol: node-http2 HTTP/2, lean-http1 HTTP/1.1 (undici both). */
function engineProblems(d: LoadTestDefinition): string[] {
  if (d.http_engine === 'node-http2' && d.http2 !== true) {
    return ['http_engine: node-http2 is the HTTP/2 engine; add "http2": true (to an https:// target that offers HTTP/2), or leave http_engine out for HTTP/1.1'];
  }
  if (d.http_engine === 'lean-http1' && d.http2 === true) {
    return ['http_engine: lean-http1 sends HTTP/1.1 only, and this test offers HTTP/2 (http2: true); leave http_engine out (HTTP/2 goes to node-http2), name undici, or leave http2 out'];
  }
  return [];
}

/** Limits by step or request name: each names one of the test's, on the figures a step or request has. */
function namedLimitProblems(d: LoadTestDefinition): string[] {
  const errors: string[] = [];
  const sets: [string, Record<string, Thresholds> | undefined, string[] | undefined, string][] = [
    ['steps', d.thresholds?.steps, d.scenario?.steps.map((s) => s.name), 'a scenario'],
    ['requests', d.thresholds?.requests, d.requests?.map((r) => r.name), 'a mix ("requests")'],
  ];
  for (const [field, limits, names, needs] of sets) {
    for (const [name, set] of Object.entries(limits ?? {})) {
      const at = `thresholds.${field}.${name}`;
      if (!names) errors.push(`${at}: limits by ${field === 'steps' ? 'step' : 'request'} need ${needs}`);
      else if (!names.includes(name)) errors.push(`${at}: names no ${field === 'steps' ? 'step' : 'request'}; the test's are ${names.join(', ')}`);
      for (const nested of ['server', 'steps', 'requests', 'min_throughput'] as const) if (set[nested] !== undefined) errors.push(`${at}.${nested}: not judged per ${field === 'steps' ? 'step' : 'request'}; set it on the whole test`);
    }
  }
  return errors;
}

/** Names unique, one origin, placeholders that exist: what the schema cannot say of a mix. */
function mixProblems(requests: DefinitionRequest[]): string[] {
  const errors: string[] = [];
  const seen = new Set<string>();
  let origin: string | undefined;
  for (const [i, r] of requests.entries()) {
    const at = `requests[${i}]`;
    if (seen.has(r.name)) errors.push(`${at}.name: "${r.name}" names another request too; each name is a row of the results`);
    seen.add(r.name);
    for (const problem of placeholderProblems(r.url)) errors.push(`${at}.url: ${problem}`);
    for (const problem of placeholderProblems(r.body ?? '')) errors.push(`${at}.body: ${problem}`);
    let url: URL;
    try {
      url = new URL(staticFill(r.url));
    } catch {
      errors.push(`${at}.url: "${r.url}" is not a valid URL`);
      continue;
    }
    origin ??= url.origin;
    if (url.origin !== origin) errors.push(`${at}.url: every request of a mix goes to one origin (${origin}, as the first does), not ${url.origin}`);
  }
  return errors;
}

/** Parses a file's text; JSON syntax errors name the line and column. */
export function parseDefinition(text: string): DefinitionResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /position (\d+)/.exec(message);
    if (position) {
      const offset = Number(position[1]);
      const before = text.slice(0, offset).split('\n');
      return { ok: false, errors: [`not valid JSON at line ${before.length}, column ${before[before.length - 1].length + 1}: ${message}`] };
    }
    return { ok: false, errors: [`not valid JSON: ${message}`] };
  }
  return validateDefinition(value);
}

/** A mix as the drivers receive it: defaults filled in. */
export function mixOf(definition: LoadTestDefinition): MixRequest[] | undefined {
  return definition.requests?.map((r) => ({
    name: r.name,
    weight: r.weight ?? 1,
    url: r.url,
    method: r.method ?? 'GET',
    headers: r.headers,
    body: r.body,
    timeout_ms: r.timeout_ms ?? 10_000,
  }));
}

/** The single target, or for a mix its heaviest request with fixed placeholders (for drivers that know no mix), or a scenario's first step. */
export function targetOf(definition: LoadTestDefinition): HttpTarget {
  const first = definition.scenario ? wireScenario(definition.scenario).steps[0] : undefined;
  if (first) return { url: staticFill(first.url), method: first.method ?? 'GET', headers: first.headers, body: first.body === undefined ? undefined : staticFill(first.body), timeout_ms: first.timeout_ms ?? 10_000 };
  const mix = mixOf(definition);
  if (mix) {
    const heaviest = mix.reduce((a, b) => (b.weight > a.weight ? b : a));
    return { url: staticFill(heaviest.url), method: heaviest.method, headers: heaviest.headers, body: heaviest.body === undefined ? undefined : staticFill(heaviest.body), timeout_ms: Math.max(...mix.map((r) => r.timeout_ms)) };
  }
  const t = typeof definition.target === 'string' ? { url: definition.target } : definition.target!;
  return { url: t.url, method: t.method ?? 'GET', headers: 'headers' in t ? t.headers : undefined, body: 'body' in t ? t.body : undefined, timeout_ms: t.timeout_ms ?? 10_000 };
}

/** A fresh, sortable, readable test id: lt-20261121-050500-3fa2. */
export function newTestId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `lt-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** `data`: the scenario's test data as read from its file (scenarios/test-data-file.ts), sent with the test. */
export function toTestConfig(definition: LoadTestDefinition, testId: string, sender: { id: string; names: string[] }, driverIds: string[], data?: WireTestData): TestConfigMessage {
  return {
    test_id: testId,
    test_type: definition.test_type,
    ...planFields(definition, driverIds.length),
    warm_up_count_per_driver: definition.warm_up_count_per_driver || undefined,
    orchestrator: sender.id,
    orchestrator_names: sender.names,
    target: targetOf(definition),
    requests: mixOf(definition),
    ...(definition.scenario ? { scenario: wireScenario(definition.scenario) } : {}),
    ...(data ? { data } : {}),
    target_throughput: definition.target_throughput,
    concurrency: definition.concurrency,
    max_connections: definition.max_connections,
    max_streams: definition.max_streams,
    driver_ids: driverIds,
    http2: definition.http2 || undefined,
    http_engine: definition.http_engine,
    tls_insecure: definition.tls_insecure || undefined,
  };
}
