// The `capacity` block of a .loadtest.json: its defaults (written once, here), and the checks that
// name the field a person has to fix. schemas/capacity.schema.json states the same bounds for the
// editor; test/unit/capacity-config.test.ts holds the two together.
import { MAX_DURATION_S, MAX_TOTAL_RATE } from '../../protocol/test-config-limits';
import { OrchestratorError } from '../orchestrator-error';
import { DEFAULT_ERROR_RATE } from '../thresholds';

/** A limit on one of the server-side queries, judged on the step's value of that query. */
export interface ServerSlo {
  /** PromQL for this limit; absent: the query of that name in the definition's `prometheus.queries` */
  query?: string;
  max?: number;
  min?: number;
  /** without a value for the step, the limit is not judged instead of failing the step */
  optional?: boolean;
}

export interface CapacitySlo {
  p99_latency_ms?: number;
  error_rate?: number;
  server?: Record<string, ServerSlo>;
}

export interface CapacityConfig {
  /** total requests per second over all drivers, of the first step */
  start_rate: number;
  /** the highest total rate the search offers */
  max_rate: number;
  /** seconds each step runs before it is judged */
  step_duration_s: number;
  /** each step's rate is the previous one's times this, until a step fails */
  growth: number;
  /** bisection steps between the last passing and the first failing rate */
  refine_steps: number;
  slo: CapacitySlo;
}

export const CAPACITY_DEFAULTS = {
  start_rate: 100,
  max_rate: 50_000,
  step_duration_s: 10,
  growth: 1.5,
  refine_steps: 3,
  /** a step with more errors than the usual threshold fails, as a whole test would */
  error_rate: DEFAULT_ERROR_RATE,
} as const;

/**
 * A step shorter than this says little: connections are still opening and a second of GC or
 * timer jitter is a large share of it.
 */
export const MIN_STEP_DURATION_S = 2;
/** One step at most an hour: a longer one is a soak test, not a search. */
export const MAX_STEP_DURATION_S = 3600;
/** Each refine step halves the interval: 10 narrows it to a thousandth, more only costs time. */
export const MAX_REFINE_STEPS = 10;
/** A growth above this skips too much to say where the system broke. */
export const MAX_GROWTH = 10;

const KNOWN = ['start_rate', 'max_rate', 'step_duration_s', 'growth', 'refine_steps', 'slo'];
const KNOWN_SLO = ['p99_latency_ms', 'error_rate', 'server'];
const KNOWN_SERVER = ['query', 'max', 'min', 'optional'];
const QUERY_NAME = /^[a-z][a-z0-9_]{0,39}$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const show = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 6 });

/** What is wrong with a `capacity` block, each text naming its field ("capacity.growth must be above 1"); [] when it is fine. */
export function capacityProblems(raw: unknown): string[] {
  if (!isRecord(raw)) return ['capacity must be an object such as {"start_rate": 100, "max_rate": 50000, "slo": {"p99_latency_ms": 200}}'];
  const problems: string[] = [];
  for (const key of Object.keys(raw)) if (!KNOWN.includes(key)) problems.push(`capacity.${key} is not a known field; known fields: ${KNOWN.join(', ')}`);
  const number = (key: string, check: (n: number) => string | undefined) => {
    const value = raw[key];
    if (value === undefined) return;
    if (!isNumber(value)) return void problems.push(`capacity.${key} must be a number`);
    const why = check(value);
    if (why) problems.push(`capacity.${key} ${why}`);
  };
  number('start_rate', (n) => (n <= 0 ? 'must be above 0 (requests per second over all drivers)' : n > MAX_TOTAL_RATE ? `must be at most ${show(MAX_TOTAL_RATE)}` : undefined));
  number('max_rate', (n) => (n <= 0 ? 'must be above 0 (requests per second over all drivers)' : n > MAX_TOTAL_RATE ? `must be at most ${show(MAX_TOTAL_RATE)}` : undefined));
  number('step_duration_s', (n) =>
    n < MIN_STEP_DURATION_S ? `must be at least ${MIN_STEP_DURATION_S} (seconds per step)` : n > MAX_STEP_DURATION_S ? `must be at most ${MAX_STEP_DURATION_S} (seconds per step)` : undefined,
  );
  number('growth', (n) => (n <= 1 ? 'must be above 1 (each step offers this many times the previous rate)' : n > MAX_GROWTH ? `must be at most ${MAX_GROWTH}` : undefined));
  number('refine_steps', (n) => (!Number.isInteger(n) || n < 0 ? 'must be a whole number, 0 or more' : n > MAX_REFINE_STEPS ? `must be at most ${MAX_REFINE_STEPS}` : undefined));
  const start = isNumber(raw.start_rate) ? raw.start_rate : CAPACITY_DEFAULTS.start_rate;
  const max = isNumber(raw.max_rate) ? raw.max_rate : CAPACITY_DEFAULTS.max_rate;
  if (start > 0 && max > 0 && max < start) problems.push(`capacity.max_rate (${show(max)}) must be at least capacity.start_rate (${show(start)})`);
  if (raw.slo !== undefined) problems.push(...sloProblems(raw.slo));
  return problems;
}

function sloProblems(slo: unknown): string[] {
  if (!isRecord(slo)) return ['capacity.slo must be an object such as {"p99_latency_ms": 200, "error_rate": 0.01}'];
  const problems: string[] = [];
  for (const key of Object.keys(slo)) if (!KNOWN_SLO.includes(key)) problems.push(`capacity.slo.${key} is not a known field; known fields: ${KNOWN_SLO.join(', ')}`);
  if (slo.p99_latency_ms !== undefined && !(isNumber(slo.p99_latency_ms) && slo.p99_latency_ms > 0)) problems.push('capacity.slo.p99_latency_ms must be a number of milliseconds above 0');
  if (slo.error_rate !== undefined && !(isNumber(slo.error_rate) && slo.error_rate >= 0 && slo.error_rate <= 1)) problems.push('capacity.slo.error_rate must be a fraction from 0 to 1');
  if (slo.server === undefined) return problems;
  if (!isRecord(slo.server)) return [...problems, 'capacity.slo.server must be an object of limits by query name, e.g. {"cpu": {"max": 0.8}}'];
  for (const [name, limit] of Object.entries(slo.server)) {
    const field = `capacity.slo.server.${name}`;
    if (!QUERY_NAME.test(name)) problems.push(`${field}: a query name is lowercase letters, digits and _, starting with a letter (at most 40)`);
    if (!isRecord(limit)) {
      problems.push(`${field} must be an object such as {"max": 0.8}`);
      continue;
    }
    for (const key of Object.keys(limit)) if (!KNOWN_SERVER.includes(key)) problems.push(`${field}.${key} is not a known field; known fields: ${KNOWN_SERVER.join(', ')}`);
    if (limit.max === undefined && limit.min === undefined) problems.push(`${field} needs "max" or "min"`);
    for (const bound of ['max', 'min'] as const) if (limit[bound] !== undefined && !isNumber(limit[bound])) problems.push(`${field}.${bound} must be a number`);
    if (isNumber(limit.max) && isNumber(limit.min) && limit.min > limit.max) problems.push(`${field}.min must not be above ${field}.max`);
    if (limit.query !== undefined && (typeof limit.query !== 'string' || !limit.query.trim())) problems.push(`${field}.query must be a PromQL expression`);
    if (limit.optional !== undefined && typeof limit.optional !== 'boolean') problems.push(`${field}.optional must be true or false`);
  }
  return problems;
}

/** The block with every default filled in; call capacityProblems first (this trusts its input). */
export function resolveCapacityConfig(raw: Partial<CapacityConfig> = {}): CapacityConfig {
  const slo = raw.slo ?? {};
  return {
    start_rate: raw.start_rate ?? CAPACITY_DEFAULTS.start_rate,
    max_rate: raw.max_rate ?? CAPACITY_DEFAULTS.max_rate,
    step_duration_s: raw.step_duration_s ?? CAPACITY_DEFAULTS.step_duration_s,
    growth: raw.growth ?? CAPACITY_DEFAULTS.growth,
    refine_steps: raw.refine_steps ?? CAPACITY_DEFAULTS.refine_steps,
    slo: { ...slo, error_rate: slo.error_rate ?? CAPACITY_DEFAULTS.error_rate },
  };
}

/** The block checked and completed; an OrchestratorError 'invalid' whose details name each field otherwise. */
export function parseCapacityConfig(raw: unknown): CapacityConfig {
  const problems = capacityProblems(raw);
  if (problems.length) throw new OrchestratorError(`invalid capacity block: ${problems.join('; ')}`, 'invalid', problems);
  return resolveCapacityConfig(raw as Partial<CapacityConfig>);
}

/** The most steps a search can run: growth from start to max (the last one capped), then the refine steps. */
export function maxCapacitySteps(config: CapacityConfig): number {
  const growthSteps = config.max_rate <= config.start_rate ? 1 : Math.ceil(Math.log(config.max_rate / config.start_rate) / Math.log(config.growth) - 1e-9) + 1;
  return growthSteps + config.refine_steps;
}

/**
 * The duration bound of the one test a search runs (seconds of load; pauses do not count): every
 * step at full length, plus one step's worth of slack. The search stops the test itself; this only
 * bounds a test whose orchestrator went away.
 */
export function capacityTestDurationS(config: CapacityConfig): number {
  return Math.min(MAX_DURATION_S, (maxCapacitySteps(config) + 1) * config.step_duration_s);
}
