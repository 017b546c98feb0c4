// The wire protocol between orchestrator and driver agents: the spec's five Kafka topics carrying
// JSON, and one of ours (`test_stop`) so that stopping a test never travels on the trigger topic,
// where a spec-only driver would take any message for a start.
// The spec's fields are kept exactly; everything this product adds is an extra field that other
// implementations can ignore. Parsing is tolerant (other implementations disagree in details);
// encoding is strict (we emit exactly the spec's types). Nothing else in the product builds or
// parses a Kafka message by hand.

import { createLatencyHistogram, encodeHistogram } from './latency-histogram';
import type { Stage } from './load-profile';
import { readWireScenario, readWireTestData, type Scenario, type WireTestData } from './scenario';

export const TOPIC_KEYS = ['register', 'test_config', 'trigger', 'metrics', 'heartbeat', 'stop', 'control'] as const;
export type TopicKey = (typeof TOPIC_KEYS)[number];
export type TopicNames = Record<TopicKey, string>;

/** The topics' names: the spec's five are named by their keys; ours is `test_stop`. */
const TOPIC_NAMES: Record<TopicKey, string> = { register: 'register', test_config: 'test_config', trigger: 'trigger', metrics: 'metrics', heartbeat: 'heartbeat', stop: 'test_stop', control: 'test_control' };

/** Topic names, optionally prefixed so that several orchestrators (or test runs) share one cluster. */
export function topicNames(prefix = ''): TopicNames {
  return Object.fromEntries(TOPIC_KEYS.map((key) => [key, `${prefix}${TOPIC_NAMES[key]}`])) as TopicNames;
}

/** The HTTP header agents add to every load request, naming themselves, so a target can tell drivers apart. */
export const DRIVER_HEADER = 'x-loadtest-driver';

export type TestType = 'AVALANCHE' | 'TSUNAMI';
export const TEST_TYPES: readonly TestType[] = ['AVALANCHE', 'TSUNAMI'];

export interface RegisterMessage {
  node_id: string;
  node_IP: string;
  message_type: 'DRIVER_NODE_REGISTER';
  /** Extension: the orchestrator this agent serves, as given to `lt-agent --orchestrator`. */
  orchestrator?: string;
  /** Extension: the agent's software, for the drivers view. */
  agent_version?: string;
  /** Extension: what the agent does beyond the spec */
  features?: AgentFeature[];
}

export interface HttpTarget {
  url: string;
  method: string;
  headers?: Record<string, string>;
  body?: string;
  /** milliseconds */
  timeout_ms: number;
}

/**
 * One request of a weighted mix. `url` and `body` may hold placeholders, filled per request:
 * {seq} (the request's number on this driver), {random:MIN:MAX} (an integer), {driver} (node_id).
 */
export interface MixRequest extends HttpTarget {
  name: string;
  /** its share of the requests: weight / sum of weights */
  weight: number;
}

export interface TestConfigMessage {
  test_id: string;
  test_type: TestType;
  /** seconds between requests (TSUNAMI); fractions allowed */
  test_message_delay: number;
  message_count_per_driver: number;
  // Extensions:
  /**
   * Requests sent first, at the test's pace, and not counted: the target and the driver warm up
   * before the measured `message_count_per_driver`. A driver that knows only the spec sends none.
   */
  warm_up_count_per_driver?: number;
  /** The orchestrator that sent this command (its id). */
  orchestrator?: string;
  /** Every name the sending orchestrator answers to (id, host name, addresses), for agents' --orchestrator. */
  orchestrator_names?: string[];
  target?: HttpTarget;
  /**
   * A weighted mix of requests to one origin. `target` stays set (to the heaviest request), so a
   * driver that knows only the spec loads it alone.
   */
  requests?: MixRequest[];
  /**
   * Ours: a user journey (protocol/scenario.ts) run as each iteration, in place of `target` and
   * `requests`; `target` stays set to its first step, so a driver that knows only the spec is
   * never sent one unknowingly (the orchestrator does not pick it: it lacks the feature).
   * With a scenario, message_count_per_driver, rates and concurrency count iterations.
   */
  scenario?: Scenario;
  /** Ours: the scenario's test data, every row; each driver takes its part (scenario-plan.ts) */
  data?: WireTestData;
  /** requests per second per driver; absent means uncapped */
  target_throughput?: number;
  /** AVALANCHE: requests in flight at once per driver (on ceil(concurrency / max_streams) connections with HTTP/2) */
  concurrency?: number;
  /** TSUNAMI: the most connections a driver opens to keep its schedule */
  max_connections?: number;
  /**
   * Ours: with http2, the requests in flight at once on one HTTP/2 connection (its streams);
   * absent: DEFAULT_MAX_STREAMS. A connection the server answers in HTTP/1.1 carries one.
   */
  max_streams?: number;
  /** The drivers that take part; absent means every driver that receives it. */
  driver_ids?: string[];
  /** offer HTTP/2 to an https target (ALPN); it answers in the version it picks */
  http2?: boolean;
  /** accept any certificate from an https target (self-signed test servers) */
  tls_insecure?: boolean;
  /** Ours: the engine a driver sends HTTP/1.1 with (agents/http-engine/); absent: the lean one where it can */
  http_engine?: HttpEngineName;
  /**
   * Ours: the test runs for this long (its measured part; pauses not counted) rather than to
   * `message_count_per_driver`, which then only bounds it. With `stages`, their sum.
   */
  duration_s?: number;
  /**
   * Ours: the load over time, totals over all the drivers of `driver_ids` (protocol/load-profile.ts):
   * TSUNAMI stages give `target_rate`, AVALANCHE stages `target_concurrency`, each ramping
   * linearly from the previous stage's end (the first from start_rate or start_concurrency).
   */
  stages?: Stage[];
  /** Ours: the total rate the first stage ramps from (default 0) */
  start_rate?: number;
  /** Ours: the total concurrency the first stage ramps from (default 0) */
  start_concurrency?: number;
}

/** What an agent of ours can do beyond the spec, in its register and heartbeats. */
export type AgentFeature = 'duration' | 'stages' | 'control' | 'scenario';
export const AGENT_FEATURES: readonly AgentFeature[] = ['duration', 'stages', 'control', 'scenario'];

/**
 * Ours, on `test_control`: changes a running test. `rate` (open model) and `concurrency` (closed)
 * are totals over the test's drivers, split as its stages are. `phase` names the window of the
 * result that begins with the change ("set 1", "pause 1", "step 3").
 */
export interface ControlMessage {
  test_id: string;
  /** unique within the test; the agents' reports answer by it */
  control_id: string;
  action: ControlAction;
  rate?: number;
  concurrency?: number;
  phase: string;
  orchestrator?: string;
  orchestrator_names?: string[];
}
export type ControlAction = 'pause' | 'resume' | 'set';
export const CONTROL_ACTIONS: readonly ControlAction[] = ['pause', 'resume', 'set'];

/** A driver's answer to a control message, in its reports: when it took effect, or why not. */
export interface ControlAnswer {
  /** epoch ms when the change took effect on this driver */
  applied_at?: number;
  /** why the driver did not take it */
  refused?: string;
}

/** One phase of a driver's part (a stage, or the window a control began): its own figures. */
export interface PhaseCounts {
  phase: string;
  /** epoch ms when the phase began on this driver, and ended (absent while it runs) */
  started_at: number;
  ended_at?: number;
  /** requests due in the phase: sent (written to the socket), answered, failed by kind */
  requests_sent: number;
  responses: number;
  errors: Record<string, number>;
  /** corrected latency of the requests due in the phase, HdrHistogram's compressed base64, microseconds */
  histogram?: string;
  uncorrected_histogram?: string;
  /** every request due in the phase has been answered or has failed: its figures are final */
  settled: boolean;
  send_lag_ms?: SendLag;
  waited_for_connection?: number;
}

/** AVALANCHE's requests in flight per driver when a config names none (read by the agents and by the orchestrator's plan). */
export const DEFAULT_CONCURRENCY = 16;

/** TSUNAMI's connection limit when a config names none. Generous: 10,000/s against a 50 ms target needs 500. */
export const DEFAULT_MAX_CONNECTIONS = 1000;

/**
 * Requests in flight on one HTTP/2 connection when a config with http2 names none: a tenth of the
 * connections (and TLS handshakes) for the same concurrency, and well under the 100 streams RFC
 * 9113 recommends every server allow.
 */
export const DEFAULT_MAX_STREAMS = 10;

/**
 * Requests a config puts in flight at once on one connection: its max_streams when HTTP/2 is
 * offered (http2, to an https target), else one. A server that answers in HTTP/1.1 gets one per
 * connection whatever this says (agents/connection-pool.ts).
 */
export function streamsPerConnection(config: Pick<TestConfigMessage, 'http2' | 'max_streams'>, https = true): number {
  return config.http2 && https ? (config.max_streams ?? DEFAULT_MAX_STREAMS) : 1;
}

export interface TriggerMessage {
  test_id: string;
  /** "YES" starts the test (spec). "STOP" is still read from orchestrators of earlier versions; ours stop on `test_stop`. */
  trigger: 'YES' | 'STOP';
  orchestrator?: string;
  orchestrator_names?: string[];
}

/** Ours, on `test_stop`: ends a running test early. `stop` must say so: any other message naming a test is not a stop. */
export interface StopMessage {
  test_id: string;
  stop: true;
  orchestrator?: string;
  orchestrator_names?: string[];
}

/** The spec's four latency figures, in milliseconds as every latency in the wire format. */
export interface SpecLatency {
  mean_latency: number;
  median_latency: number;
  min_latency: number;
  max_latency: number;
}

export interface LatencyStats extends SpecLatency {
  p90_latency?: number;
  p95_latency?: number;
  p99_latency?: number;
}

/** A driver's own word on its part, in its reports. */
export type ReportStatus = 'running' | 'complete';

/**
 * What a report's figures cover: everything since the driver started the test (ours, and most
 * implementations), or only the interval since its previous report.
 */
export type ReportKind = 'cumulative' | 'interval';

/** How late a driver sent its requests after their due times, in milliseconds. */
export interface SendLag {
  p50: number;
  p99: number;
  max: number;
}

export interface MetricsMessage {
  node_id: string;
  test_id: string;
  report_id: string;
  /**
   * The spec's object, exactly its four fields; null when the driver has no latency yet (the
   * spec's own template sends "" or null there).
   */
  metrics: SpecLatency | null;
  // Extensions, at the top level beside `metrics` so that a reader iterating `metrics` finds
  // only the spec's fields. Ours are cumulative since the driver started the test.
  report_kind?: ReportKind;
  p90_latency?: number;
  p95_latency?: number;
  p99_latency?: number;
  /** HdrHistogram's compressed base64 form, values in microseconds. */
  histogram?: string;
  /** latency measured from the moment each request reached the socket, rather than its due time */
  uncorrected?: LatencyStats & { histogram?: string };
  test_status?: ReportStatus;
  /** requests attempted: sent, or given up as timeouts while they waited for a connection */
  requests_sent?: number;
  responses?: number;
  errors?: Record<string, number>;
  status_codes?: Record<string, number>;
  /** milliseconds since this driver started the test */
  elapsed_ms?: number;
  /** epoch milliseconds of this driver's first request */
  first_send_at?: number;
  /** milliseconds from the first request sent to the latest */
  send_window_ms?: number;
  /** how late requests reached the socket after their due times; a large p99 means the schedule was not held */
  send_lag_ms?: SendLag;
  /** requests that were due while every connection was busy (TSUNAMI): they went out late */
  waited_for_connection?: number;
  /** the most connections the driver would open (TSUNAMI's max_connections) */
  connection_limit?: number;
  /** Ours: the engine that carried the requests (agents/http-engine/http-connection.ts) */
  http_engine?: HttpEngineName;
  /** a mix's figures by request name, or a scenario's by step name (cumulative, like the rest) */
  per_request?: Record<string, RequestCounts>;
  /** a scenario's iterations so far (cumulative) */
  iterations?: IterationCounts;
  /** a scenario with `unique` data: this driver used all its rows, so it began no more iterations */
  data_exhausted?: boolean;
  /** true on the final report of a test that was stopped before its request count */
  stopped?: boolean;
  /** the test's warm-up (warm_up_count_per_driver) so far: sent first, and in none of the figures above */
  warm_up?: WarmUpCounts;
  /** why the driver could not run the test, on the report that refuses it */
  error_detail?: string;
  /** epoch milliseconds when the report was made */
  timestamp?: number;
  /** the test's phases (stages, and windows begun by live control), each with its own figures */
  phases?: PhaseCounts[];
  /** answers to the test's control messages, by control_id */
  controls?: Record<string, ControlAnswer>;
  /** milliseconds the test spent paused on this driver: not part of its planned duration */
  paused_ms?: number;
}

/** A driver's warm-up requests: what it sent and what came of them, apart from the test's figures. */
export interface WarmUpCounts {
  requests_sent: number;
  responses: number;
  errors: number;
  /** the warm-up has ended and the measured requests have begun (or the test was stopped during it) */
  done: boolean;
}

/** A scenario's iterations on one driver. */
export interface IterationCounts {
  started: number;
  /** every step ran and passed */
  completed: number;
  /** a step failed (its iteration stopped there, or went on as the step said) */
  failed: number;
  /** cut off by a stop before its last step */
  abandoned: number;
  /** the completed and failed iterations' durations, HdrHistogram's compressed base64, microseconds */
  histogram?: string;
}

/** One request name's share of a driver's report. */
export interface RequestCounts {
  requests_sent: number;
  responses: number;
  errors: number;
  /** its errors by kind (check_failed, http_4xx, timeout, ...), when it has any */
  errors_by_kind?: Record<string, number>;
  /** corrected latency, HdrHistogram's compressed base64 form in microseconds */
  histogram?: string;
}

export type AgentState = 'idle' | 'running';

export interface HeartbeatMessage {
  node_id: string;
  heartbeat: 'YES';
  /** epoch milliseconds */
  timestamp: number;
  // Extensions:
  node_IP?: string;
  state?: AgentState;
  test_id?: string;
  /** the agent's own CPU use over the last interval, percent of one core */
  cpu_percent?: number;
  /** milliseconds, the event loop's delay at the 99th percentile over the last interval */
  event_loop_lag_ms?: number;
  /** true on the last heartbeat of an agent that is shutting down cleanly */
  leaving?: boolean;
  orchestrator?: string;
  /** true when the agent obeys only signed commands */
  signed_commands?: boolean;
  /** commands this agent refused (unsigned, badly signed, stale, replayed) since it started */
  rejected_commands?: number;
  /** the latest refusal and why, e.g. "trigger for lt-…: unsigned" */
  last_rejection?: string;
  /**
   * Random per agent process: two agents heartbeating under one node_id (the same --id, or
   * machines with the same name) show as two instances, where a restart shows as one after another.
   */
  instance?: string;
  /** what the agent does beyond the spec (tests by duration, stages, live control) */
  features?: AgentFeature[];
}

export interface MessageByTopic {
  register: RegisterMessage;
  test_config: TestConfigMessage;
  trigger: TriggerMessage;
  metrics: MetricsMessage;
  heartbeat: HeartbeatMessage;
  stop: StopMessage;
  control: ControlMessage;
}

/**
 * `refused`: the message named its sender in a way no driver may (see IDENTITY_RULE), as a
 * flood of hostile messages would; the intake counts these by kind and never hands them on.
 */
export type ParseResult<T> = { ok: true; message: T; notes: string[] } | { ok: false; reason: string; refused?: IdentityRefusal };

// ---------------------------------------------------------------------------------------------
// Identities

/**
 * A node_id is 1 to 128 of these characters. Our agents' ids are `--id` or HOST-N (host names are
 * letters, digits, dots and dashes); the rest leaves room for `user@host`, `host:port` and `a_b`.
 */
const NODE_ID = /^[A-Za-z0-9._:@-]{1,128}$/;
/** A node_IP is an address or a host name: a string, at most this long (a DNS name's limit). */
const NODE_IP_MAX = 253;

export type IdentityRefusal = 'node_id' | 'node_IP';
export const IDENTITY_RULE: Record<IdentityRefusal, string> = {
  node_id: 'a node_id must be a string of 1 to 128 letters, digits and . _ : @ -',
  node_IP: `a node_IP must be a string of at most ${NODE_IP_MAX} characters, without spaces or control characters`,
};

/** Why `value` cannot be a node_id, or undefined when it can. */
export function nodeIdProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return `node_id is ${value === null ? 'null' : typeof value}, not a string: ${IDENTITY_RULE.node_id}`;
  if (!NODE_ID.test(value)) return `node_id ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (${value.length} characters) breaks the rule: ${IDENTITY_RULE.node_id}`;
  return undefined;
}

/** Why `value` cannot be a node_IP, or undefined when it can (absent is allowed: the spec's register has it, heartbeats need not). */
export function nodeIpProblem(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') return `node_IP is ${typeof value}, not a string: ${IDENTITY_RULE.node_IP}`;
  // Spaces around it are forgiven (and trimmed); inside it, none is part of an address or a name.
  if (value.length > NODE_IP_MAX || /[\s\u0000-\u001f\u007f]/.test(value.trim())) return `node_IP ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (${value.length} characters) breaks the rule: ${IDENTITY_RULE.node_IP}`;
  return undefined;
}

/** The sender's identity read strictly, whatever the tolerance for the rest of the message. */
function readIdentity(fields: FieldReader, what: string, ipNames: string[] = []): { node_id: string; node_IP?: string } | { ok: false; reason: string; refused: IdentityRefusal } | undefined {
  const rawId = fields.raw('node_id');
  if (rawId === undefined || rawId === null || rawId === '') return undefined;
  const idProblem = nodeIdProblem(rawId);
  if (idProblem) return { ok: false, reason: `${what} refused: ${idProblem}`, refused: 'node_id' };
  for (const name of ipNames) {
    const rawIp = fields.raw(name);
    const ipProblem = nodeIpProblem(rawIp);
    if (ipProblem) return { ok: false, reason: `${what} from ${rawId as string} refused: ${ipProblem}`, refused: 'node_IP' };
    if (typeof rawIp === 'string' && rawIp.trim()) return { node_id: rawId as string, node_IP: rawIp.trim() };
  }
  return { node_id: rawId as string };
}

// ---------------------------------------------------------------------------------------------
// Tolerant reading

/** Field names compared without case, underscores or dashes: node_IP, node_ip and nodeIp are one. */
function normalizeKey(key: string): string {
  return key.toLowerCase().replace(/[_-]/g, '');
}

class FieldReader {
  private readonly byKey = new Map<string, unknown>();
  readonly notes: string[] = [];

  constructor(readonly object: Record<string, unknown>) {
    for (const [key, value] of Object.entries(object)) {
      const normal = normalizeKey(key);
      if (!this.byKey.has(normal)) this.byKey.set(normal, value);
    }
  }

  raw(name: string): unknown {
    return this.byKey.get(normalizeKey(name));
  }

  /** A string identifier; numbers are accepted and turned into strings. */
  id(name: string): string | undefined {
    const value = this.raw(name);
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    return undefined;
  }

  /** A number; numeric strings are accepted. */
  number(name: string): number | undefined {
    return toNumber(this.raw(name));
  }

  record(name: string): Record<string, unknown> | undefined {
    const value = this.raw(name);
    return isRecord(value) ? value : undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value === 'string' && value.trim() !== '') {
    const parsed = Number(value);
    return Number.isFinite(parsed) ? parsed : undefined;
  }
  return undefined;
}

function isYes(value: unknown): boolean {
  return value === true || (typeof value === 'string' && /^(yes|true|y|1)$/i.test(value.trim()));
}

function readJsonObject(raw: Buffer | string | null | undefined): FieldReader | string {
  if (raw === null || raw === undefined) return 'empty message';
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return `not JSON: ${JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text)}`;
  }
  if (!isRecord(value)) return 'not a JSON object';
  return new FieldReader(value);
}

function stringRecord(value: Record<string, unknown> | undefined): Record<string, string> | undefined {
  if (!value) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
  return out;
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) ? value.filter((v) => typeof v === 'string' || typeof v === 'number').map(String) : undefined;
}

function countRecord(value: Record<string, unknown> | undefined): Record<string, number> | undefined {
  if (!value) return undefined;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(value)) {
    const n = toNumber(v);
    if (n !== undefined && n >= 0) out[k] = n;
  }
  return out;
}

export function parseRegister(raw: Buffer | string | null | undefined): ParseResult<RegisterMessage> {
  const fields = readJsonObject(raw);
  if (typeof fields === 'string') return { ok: false, reason: fields };
  const identity = readIdentity(fields, 'register message', ['node_ip', 'ip']);
  if (!identity) return { ok: false, reason: 'register message without node_id' };
  if ('ok' in identity) return identity;
  const { node_id } = identity;
  const messageType = fields.raw('message_type');
  if (messageType !== undefined && String(messageType).toUpperCase() !== 'DRIVER_NODE_REGISTER') {
    return { ok: false, reason: `register message with message_type ${JSON.stringify(messageType)}` };
  }
  const node_IP = identity.node_IP ?? '';
  if (!node_IP) fields.notes.push('no node_IP');
  return {
    ok: true,
    notes: fields.notes,
    message: {
      node_id,
      node_IP,
      message_type: 'DRIVER_NODE_REGISTER',
      orchestrator: fields.id('orchestrator'),
      features: parseFeatures(fields.raw('features')),
      agent_version: fields.id('agent_version'),
    },
  };
}

function parseMix(value: unknown): MixRequest[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const mix: MixRequest[] = [];
  for (const item of value) {
    if (!isRecord(item)) return undefined;
    const target = parseTarget(item);
    const name = typeof item.name === 'string' && item.name ? item.name : undefined;
    const weight = toNumber(item.weight);
    if (!target || !name || weight === undefined || weight <= 0) return undefined;
    mix.push({ ...target, name, weight });
  }
  return mix.length ? mix : undefined;
}

function parseRequestCounts(value: Record<string, unknown> | undefined): Record<string, RequestCounts> | undefined {
  if (!value) return undefined;
  const out: Record<string, RequestCounts> = {};
  for (const [name, raw] of Object.entries(value)) {
    if (!isRecord(raw)) continue;
    const sent = toNumber(raw.requests_sent);
    const responses = toNumber(raw.responses);
    const errors = toNumber(raw.errors);
    if (sent === undefined || responses === undefined) continue;
    const byKind = isRecord(raw.errors_by_kind) ? Object.fromEntries(Object.entries(raw.errors_by_kind).filter((e): e is [string, number] => typeof e[1] === 'number' && e[1] >= 0)) : undefined;
    out[name] = {
      requests_sent: sent,
      responses,
      errors: errors ?? 0,
      ...(byKind && Object.keys(byKind).length ? { errors_by_kind: byKind } : {}),
      histogram: typeof raw.histogram === 'string' && raw.histogram ? raw.histogram : undefined,
    };
  }
  return Object.keys(out).length ? out : undefined;
}

function parseIterations(value: Record<string, unknown> | undefined): IterationCounts | undefined {
  if (!value) return undefined;
  const [started, completed, failed, abandoned] = ['started', 'completed', 'failed', 'abandoned'].map((k) => toNumber(value[k]));
  if (started === undefined || completed === undefined || failed === undefined) return undefined;
  return { started, completed, failed, abandoned: abandoned ?? 0, histogram: typeof value.histogram === 'string' && value.histogram ? value.histogram : undefined };
}

function parseTarget(value: Record<string, unknown> | undefined): HttpTarget | undefined {
  if (!value) return undefined;
  const fields = new FieldReader(value);
  const url = fields.id('url');
  if (!url) return undefined;
  return {
    url,
    method: (fields.id('method') ?? 'GET').toUpperCase(),
    headers: stringRecord(fields.record('headers')),
    body: typeof fields.raw('body') === 'string' ? (fields.raw('body') as string) : undefined,
    timeout_ms: fields.number('timeout_ms') ?? 10_000,
  };
}

export function parseTestConfig(raw: Buffer | string | null | undefined): ParseResult<TestConfigMessage> {
  const fields = readJsonObject(raw);
  if (typeof fields === 'string') return { ok: false, reason: fields };
  const test_id = fields.id('test_id');
  if (!test_id) return { ok: false, reason: 'test_config without test_id' };
  const type = String(fields.raw('test_type') ?? '').trim().toUpperCase();
  if (!TEST_TYPES.includes(type as TestType)) {
    return { ok: false, reason: `test_config ${test_id}: test_type ${JSON.stringify(fields.raw('test_type'))} is neither AVALANCHE nor TSUNAMI` };
  }
  const test_type = type as TestType;
  const delay = fields.number('test_message_delay');
  if (delay === undefined && test_type === 'TSUNAMI') return { ok: false, reason: `test_config ${test_id}: TSUNAMI without a numeric test_message_delay` };
  if (delay !== undefined && delay < 0) return { ok: false, reason: `test_config ${test_id}: negative test_message_delay` };
  const count = fields.number('message_count_per_driver');
  if (count === undefined || count < 1 || !Number.isInteger(count)) {
    return { ok: false, reason: `test_config ${test_id}: message_count_per_driver must be a whole number of at least 1` };
  }
  const warmUp = fields.number('warm_up_count_per_driver');
  if (warmUp !== undefined && (warmUp < 0 || !Number.isInteger(warmUp))) {
    return { ok: false, reason: `test_config ${test_id}: warm_up_count_per_driver must be a whole number of at least 0` };
  }
  const throughput = fields.number('target_throughput');
  const concurrency = fields.number('concurrency');
  const maxConnections = fields.number('max_connections');
  const maxStreams = fields.number('max_streams');
  const driverIds = fields.raw('driver_ids');
  const profile = parseProfile(fields, test_id, test_type);
  if (typeof profile === 'string') return { ok: false, reason: profile };
  const scenario = readWireScenario(fields.raw('scenario'));
  if (typeof scenario === 'string') return { ok: false, reason: `test_config ${test_id}: ${scenario}` };
  const data = readWireTestData(fields.raw('data'));
  if (typeof data === 'string') return { ok: false, reason: `test_config ${test_id}: ${data}` };
  return {
    ok: true,
    notes: fields.notes,
    message: {
      test_id,
      test_type,
      test_message_delay: delay ?? 0,
      message_count_per_driver: count,
      warm_up_count_per_driver: warmUp || undefined,
      orchestrator: fields.id('orchestrator'),
      orchestrator_names: stringList(fields.raw('orchestrator_names')),
      target: parseTarget(fields.record('target')),
      requests: parseMix(fields.raw('requests')),
      ...(scenario ? { scenario } : {}),
      ...(data ? { data } : {}),
      target_throughput: throughput !== undefined && throughput > 0 ? throughput : undefined,
      concurrency: concurrency !== undefined && concurrency >= 1 ? Math.floor(concurrency) : undefined,
      max_connections: maxConnections !== undefined && maxConnections >= 1 ? Math.floor(maxConnections) : undefined,
      max_streams: maxStreams !== undefined && maxStreams >= 1 ? Math.floor(maxStreams) : undefined,
      driver_ids: stringList(driverIds),
      http2: fields.raw('http2') === undefined ? undefined : isYes(fields.raw('http2')),
      tls_insecure: fields.raw('tls_insecure') === undefined ? undefined : isYes(fields.raw('tls_insecure')),
      http_engine: engineName(fields.raw('http_engine')),
      ...profile,
    },
  };
}

/** duration_s, stages and their start values: refused whole when any part is unreadable, since a half-read profile would run another test. */
function parseProfile(fields: FieldReader, testId: string, testType: TestType): Pick<TestConfigMessage, 'duration_s' | 'stages' | 'start_rate' | 'start_concurrency'> | string {
  const duration = fields.number('duration_s');
  if (fields.raw('duration_s') !== undefined && !(duration !== undefined && duration > 0)) return `test_config ${testId}: duration_s must be a number of seconds above 0`;
  const startRate = fields.number('start_rate');
  const startConcurrency = fields.number('start_concurrency');
  if ((startRate ?? 0) < 0 || (startConcurrency ?? 0) < 0) return `test_config ${testId}: start_rate and start_concurrency must be at least 0`;
  const raw = fields.raw('stages');
  if (raw === undefined) return { duration_s: duration, start_rate: startRate, start_concurrency: startConcurrency };
  if (!Array.isArray(raw) || raw.length === 0) return `test_config ${testId}: stages must be a list of at least one stage`;
  const key = testType === 'TSUNAMI' ? 'target_rate' : 'target_concurrency';
  const stages: Stage[] = [];
  for (const [i, item] of raw.entries()) {
    if (!isRecord(item)) return `test_config ${testId}: stages[${i}] is not an object`;
    const stage = new FieldReader(item);
    const seconds = stage.number('duration_s');
    const value = stage.number(key);
    if (!(seconds !== undefined && seconds > 0)) return `test_config ${testId}: stages[${i}].duration_s must be a number of seconds above 0`;
    if (!(value !== undefined && value >= 0)) return `test_config ${testId}: stages[${i}].${key} must be a number of at least 0 (${testType})`;
    stages.push({ duration_s: seconds, [key]: value });
  }
  return { duration_s: stages.reduce((sum, st) => sum + st.duration_s, 0), stages, start_rate: startRate, start_concurrency: startConcurrency };
}

export function parseControl(raw: Buffer | string | null | undefined): ParseResult<ControlMessage> {
  const fields = readJsonObject(raw);
  if (typeof fields === 'string') return { ok: false, reason: fields };
  const test_id = fields.id('test_id');
  const control_id = fields.id('control_id');
  if (!test_id || !control_id) return { ok: false, reason: 'control message without test_id or control_id' };
  const action = String(fields.raw('action') ?? '').trim().toLowerCase() as ControlAction;
  if (!CONTROL_ACTIONS.includes(action)) return { ok: false, reason: `control ${control_id} for ${test_id}: action ${JSON.stringify(fields.raw('action'))} is none of ${CONTROL_ACTIONS.join(', ')}` };
  const rate = fields.number('rate');
  const concurrency = fields.number('concurrency');
  if (action === 'set' && !((rate !== undefined && rate >= 0) || (concurrency !== undefined && concurrency >= 0))) {
    return { ok: false, reason: `control ${control_id} for ${test_id}: set without a rate or concurrency of at least 0` };
  }
  return {
    ok: true,
    notes: fields.notes,
    message: { test_id, control_id, action, rate, concurrency, phase: fields.id('phase') ?? control_id, orchestrator: fields.id('orchestrator'), orchestrator_names: stringList(fields.raw('orchestrator_names')) },
  };
}

function parseFeatures(value: unknown): AgentFeature[] | undefined {
  const list = stringList(value);
  return list?.filter((f): f is AgentFeature => (AGENT_FEATURES as readonly string[]).includes(f));
}

export function parseTrigger(raw: Buffer | string | null | undefined): ParseResult<TriggerMessage> {
  const fields = readJsonObject(raw);
  if (typeof fields === 'string') return { ok: false, reason: fields };
  const test_id = fields.id('test_id');
  if (!test_id) return { ok: false, reason: 'trigger without test_id' };
  const value = fields.raw('trigger');
  let trigger: TriggerMessage['trigger'];
  if (isYes(value)) trigger = 'YES';
  else if (typeof value === 'string' && value.trim().toUpperCase() === 'STOP') trigger = 'STOP';
  else return { ok: false, reason: `trigger for ${test_id} with trigger ${JSON.stringify(value)} (expected "YES")` };
  return {
    ok: true,
    notes: fields.notes,
    message: { test_id, trigger, orchestrator: fields.id('orchestrator'), orchestrator_names: stringList(fields.raw('orchestrator_names')) },
  };
}

export function parseStop(raw: Buffer | string | null | undefined): ParseResult<StopMessage> {
  const fields = readJsonObject(raw);
  if (typeof fields === 'string') return { ok: false, reason: fields };
  const test_id = fields.id('test_id');
  if (!test_id) return { ok: false, reason: 'stop without test_id' };
  if (!isYes(fields.raw('stop'))) return { ok: false, reason: `message for ${test_id} on the stop topic without "stop": true` };
  return { ok: true, notes: fields.notes, message: { test_id, stop: true, orchestrator: fields.id('orchestrator'), orchestrator_names: stringList(fields.raw('orchestrator_names')) } };
}

const SPEC_LATENCY_KEYS = ['mean_latency', 'median_latency', 'min_latency', 'max_latency'] as const;

/** "" and null are the spec template's "no data"; a missing field is the same. */
function isNoData(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/**
 * The spec's four figures read by `pick`. Returns null when the driver has none yet (all "" or
 * null), or a reason when some are there and others are not, or not numbers.
 */
function readSpecLatency(pick: (name: string) => unknown): SpecLatency | null | string {
  const values = SPEC_LATENCY_KEYS.map((key) => pick(key));
  if (values.every(isNoData)) return null;
  const numbers = values.map(toNumber);
  const bad = SPEC_LATENCY_KEYS.filter((_, i) => numbers[i] === undefined);
  if (bad.length) return `missing or non-numeric ${bad.join(', ')}`;
  const [mean_latency, median_latency, min_latency, max_latency] = numbers as number[];
  return { mean_latency, median_latency, min_latency, max_latency };
}

function parseLatencyStats(fields: FieldReader): LatencyStats | undefined {
  const spec = readSpecLatency((name) => fields.raw(name));
  if (spec === null || typeof spec === 'string') return undefined;
  return { ...spec, p90_latency: fields.number('p90_latency'), p95_latency: fields.number('p95_latency'), p99_latency: fields.number('p99_latency') };
}

/** Names other implementations give a report's request count, most specific first. */
const REQUEST_COUNT_NAMES = ['requests_sent', 'num_requests', 'number_of_requests', 'request_count', 'requests_count', 'total_requests', 'requests', 'messages_sent', 'num_messages', 'sent', 'count'];
const RESPONSE_COUNT_NAMES = ['responses', 'num_responses', 'responses_received', 'response_count'];

/** An exact histogram (microseconds) from an array of latencies in milliseconds. */
function histogramOfLatencies(value: unknown): { histogram: string; count: number } | undefined {
  if (!Array.isArray(value)) return undefined;
  const histogram = createLatencyHistogram();
  for (const item of value) {
    const ms = toNumber(item);
    if (ms !== undefined && ms >= 0) histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
  }
  return { histogram: encodeHistogram(histogram), count: histogram.totalCount };
}

function readReportKind(fields: FieldReader): ReportKind | undefined {
  const kind = String(fields.raw('report_kind') ?? fields.raw('report_type') ?? fields.raw('kind') ?? '').trim().toLowerCase();
  if (kind === 'cumulative' || kind === 'total') return 'cumulative';
  if (kind === 'interval' || kind === 'delta' || kind === 'window') return 'interval';
  const cumulative = fields.raw('cumulative');
  if (cumulative !== undefined) return isYes(cumulative) ? 'cumulative' : 'interval';
  return undefined;
}

/**
 * Reads a metrics report from any implementation: the spec's `metrics` object (also when sent
 * as a JSON string), flat figures at the top level, our extensions beside `metrics` (and, from
 * agents of earlier versions, inside it), request counts under the names others use, and a
 * `latencies` array as an exact histogram.
 */
/** Where a message was read: a report without a report_id is named by it, the same on every reading. */
export interface MessageOrigin {
  topic: string;
  partition: number;
  offset: string;
}

export function parseMetrics(raw: Buffer | string | null | undefined, origin?: MessageOrigin): ParseResult<MetricsMessage> {
  const fields = readJsonObject(raw);
  if (typeof fields === 'string') return { ok: false, reason: fields };
  const identity = readIdentity(fields, 'metrics message');
  if (identity && 'ok' in identity) return identity;
  const node_id = identity?.node_id;
  const test_id = fields.id('test_id');
  if (!node_id || !test_id) return { ok: false, reason: 'metrics message without node_id or test_id' };
  let block = fields.raw('metrics');
  if (typeof block === 'string' && block.trim().startsWith('{')) {
    try {
      block = JSON.parse(block);
      fields.notes.push('metrics sent as a JSON string');
    } catch {
      return { ok: false, reason: `metrics from ${node_id}: the metrics string is not JSON` };
    }
  }
  const inner = isRecord(block) ? new FieldReader(block) : undefined;
  /** A field from the metrics object, else from the top level (flat reports, our extensions). */
  const pick = (name: string): unknown => {
    const value = inner?.raw(name);
    return value !== undefined ? value : fields.raw(name);
  };
  const pickNumber = (names: string[]): number | undefined => {
    for (const name of names) {
      const n = toNumber(pick(name));
      if (n !== undefined && n >= 0) return n;
    }
    return undefined;
  };

  let metrics = readSpecLatency(pick);
  if (typeof metrics === 'string') {
    fields.notes.push(`latency figures left out: ${metrics}`);
    metrics = null;
  }
  const fromLatencies = histogramOfLatencies(pick('latencies'));
  const histogramText = pick('histogram');
  const histogram = fromLatencies?.histogram ?? (typeof histogramText === 'string' && histogramText.length > 0 ? histogramText : undefined);
  const requests_sent = pickNumber(REQUEST_COUNT_NAMES);
  if (!metrics && !histogram && requests_sent === undefined) return { ok: false, reason: `metrics from ${node_id}: no latency figures, latencies or request count` };
  const uncorrectedBlock = inner?.record('uncorrected') ?? fields.record('uncorrected');
  let uncorrected: MetricsMessage['uncorrected'];
  if (uncorrectedBlock) {
    const u = new FieldReader(uncorrectedBlock);
    const stats = parseLatencyStats(u);
    const uHistogram = u.raw('histogram');
    if (stats) uncorrected = { ...stats, histogram: typeof uHistogram === 'string' && uHistogram ? uHistogram : undefined };
  }

  let report_id = fields.id('report_id');
  if (!report_id) {
    // A resumed orchestrator or a redelivery reads the same message again: it must get the same id.
    report_id = origin ? `${origin.topic}/${origin.partition}@${origin.offset}` : `${node_id}:${Date.now()}:${Math.random().toString(36).slice(2, 8)}`;
    fields.notes.push(`no report_id; named ${report_id} by where it was read`);
  }
  const status = String(fields.raw('test_status') ?? '').toLowerCase();
  const stopped = fields.raw('stopped');
  return {
    ok: true,
    notes: fields.notes,
    message: {
      node_id,
      test_id,
      report_id,
      metrics,
      report_kind: readReportKind(fields) ?? (inner ? readReportKind(inner) : undefined),
      p90_latency: toNumber(pick('p90_latency')),
      p95_latency: toNumber(pick('p95_latency')),
      p99_latency: toNumber(pick('p99_latency')),
      histogram,
      uncorrected,
      test_status: status === 'running' || status === 'complete' ? status : status === 'completed' || status === 'done' ? 'complete' : undefined,
      requests_sent,
      // Each latency in a `latencies` array is a response.
      responses: pickNumber(RESPONSE_COUNT_NAMES) ?? fromLatencies?.count,
      errors: countRecord(fields.record('errors')),
      status_codes: countRecord(fields.record('status_codes')),
      elapsed_ms: fields.number('elapsed_ms'),
      first_send_at: readTimestamp(fields.raw('first_send_at')),
      send_window_ms: fields.number('send_window_ms'),
      send_lag_ms: parseSendLag(fields.record('send_lag_ms')),
      waited_for_connection: fields.number('waited_for_connection'),
      connection_limit: fields.number('connection_limit'),
      http_engine: engineName(fields.raw('http_engine')),
      per_request: parseRequestCounts(fields.record('per_request')),
      iterations: parseIterations(fields.record('iterations')),
      data_exhausted: fields.raw('data_exhausted') === undefined ? undefined : isYes(fields.raw('data_exhausted')),
      stopped: stopped === undefined ? undefined : isYes(stopped),
      warm_up: parseWarmUp(fields.record('warm_up')),
      error_detail: fields.id('error_detail'),
      timestamp: readTimestamp(fields.raw('timestamp')),
      phases: parsePhases(fields.raw('phases')),
      controls: parseControlAnswers(fields.record('controls')),
      paused_ms: fields.number('paused_ms'),
    },
  };
}

function parsePhases(value: unknown): PhaseCounts[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const phases: PhaseCounts[] = [];
  for (const item of value) {
    if (!isRecord(item)) continue;
    const f = new FieldReader(item);
    const phase = f.id('phase');
    const started_at = readTimestamp(f.raw('started_at'));
    if (!phase || started_at === undefined) continue;
    const text = (name: string) => (typeof f.raw(name) === 'string' && f.raw(name) ? (f.raw(name) as string) : undefined);
    phases.push({
      phase,
      started_at,
      ended_at: readTimestamp(f.raw('ended_at')),
      requests_sent: f.number('requests_sent') ?? 0,
      responses: f.number('responses') ?? 0,
      errors: countRecord(f.record('errors')) ?? {},
      histogram: text('histogram'),
      uncorrected_histogram: text('uncorrected_histogram'),
      settled: isYes(f.raw('settled')),
      send_lag_ms: parseSendLag(f.record('send_lag_ms')),
      waited_for_connection: f.number('waited_for_connection'),
    });
  }
  return phases;
}

function parseControlAnswers(value: Record<string, unknown> | undefined): Record<string, ControlAnswer> | undefined {
  if (!value) return undefined;
  const out: Record<string, ControlAnswer> = {};
  for (const [id, answer] of Object.entries(value)) {
    if (!isRecord(answer)) continue;
    const refused = typeof answer.refused === 'string' ? answer.refused : undefined;
    out[id] = refused ? { refused } : { applied_at: readTimestamp(answer.applied_at) };
  }
  return out;
}

function parseWarmUp(value: Record<string, unknown> | undefined): WarmUpCounts | undefined {
  if (!value) return undefined;
  const requests_sent = toNumber(value.requests_sent);
  if (requests_sent === undefined) return undefined;
  return { requests_sent, responses: toNumber(value.responses) ?? 0, errors: toNumber(value.errors) ?? 0, done: isYes(value.done) };
}

function parseSendLag(value: Record<string, unknown> | undefined): SendLag | undefined {
  if (!value) return undefined;
  const p50 = toNumber(value.p50);
  const p99 = toNumber(value.p99);
  const max = toNumber(value.max);
  return p50 !== undefined && p99 !== undefined && max !== undefined ? { p50, p99, max } : undefined;
}

/** Epoch milliseconds from a number (seconds or milliseconds), numeric string or date string. */
function readTimestamp(value: unknown): number | undefined {
  const n = toNumber(value);
  if (n !== undefined) {
    if (n <= 0) return undefined;
    return n < 1e11 ? n * 1000 : n; // below 1e11 it can only be seconds (1e11 ms is 1973)
  }
  if (typeof value === 'string') {
    const parsed = Date.parse(value);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

/**
 * `receivedAt` stands in for a missing or unreadable timestamp: other implementations send
 * none, seconds, or a date string, and a heartbeat still means the driver is alive.
 */
export function parseHeartbeat(raw: Buffer | string | null | undefined, receivedAt = Date.now()): ParseResult<HeartbeatMessage> {
  const fields = readJsonObject(raw);
  if (typeof fields === 'string') return { ok: false, reason: fields };
  const identity = readIdentity(fields, 'heartbeat', ['node_ip']);
  if (!identity) return { ok: false, reason: 'heartbeat without node_id' };
  if ('ok' in identity) return identity;
  const { node_id } = identity;
  const beat = fields.raw('heartbeat');
  if (beat !== undefined && !isYes(beat)) return { ok: false, reason: `heartbeat from ${node_id} with heartbeat ${JSON.stringify(beat)}` };
  let timestamp = readTimestamp(fields.raw('timestamp'));
  if (timestamp === undefined) {
    fields.notes.push('missing or unreadable timestamp; the time of receipt was used');
    timestamp = receivedAt;
  }
  const state = String(fields.raw('state') ?? '').toLowerCase();
  return {
    ok: true,
    notes: fields.notes,
    message: {
      node_id,
      heartbeat: 'YES',
      timestamp,
      node_IP: identity.node_IP,
      state: state === 'idle' || state === 'running' ? state : undefined,
      test_id: fields.id('test_id'),
      cpu_percent: fields.number('cpu_percent'),
      event_loop_lag_ms: fields.number('event_loop_lag_ms'),
      leaving: fields.raw('leaving') === undefined ? undefined : isYes(fields.raw('leaving')),
      orchestrator: fields.id('orchestrator'),
      signed_commands: fields.raw('signed_commands') === undefined ? undefined : isYes(fields.raw('signed_commands')),
      rejected_commands: fields.number('rejected_commands'),
      last_rejection: fields.id('last_rejection'),
      instance: fields.id('instance'),
      features: parseFeatures(fields.raw('features')),
    },
  };
}

export const PARSERS: { [K in TopicKey]: (raw: Buffer | string | null | undefined, origin?: MessageOrigin) => ParseResult<MessageByTopic[K]> } = {
  register: parseRegister,
  test_config: parseTestConfig,
  trigger: parseTrigger,
  metrics: (raw, origin) => parseMetrics(raw, origin),
  heartbeat: (raw) => parseHeartbeat(raw),
  stop: parseStop,
  control: parseControl,
};

// ---------------------------------------------------------------------------------------------
// Strict writing

export class EncodeError extends Error {}

function requireText(name: string, value: unknown): void {
  if (typeof value !== 'string' || value === '') throw new EncodeError(`${name} must be a non-empty string`);
}

function requireNumber(name: string, value: unknown, min = -Infinity): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min) throw new EncodeError(`${name} must be a finite number${min > -Infinity ? ` >= ${min}` : ''}`);
}

function requireStats(prefix: string, stats: LatencyStats): void {
  for (const key of ['mean_latency', 'median_latency', 'min_latency', 'max_latency'] as const) requireNumber(`${prefix}.${key}`, stats[key], 0);
  for (const key of ['p90_latency', 'p95_latency', 'p99_latency'] as const) if (stats[key] !== undefined) requireNumber(`${prefix}.${key}`, stats[key], 0);
}

// JSON.stringify leaves out fields whose value is undefined, so a message carries only what was set.

function requireNodeId(value: string): void {
  const problem = nodeIdProblem(value);
  if (problem) throw new EncodeError(problem);
}

export function encodeRegister(message: RegisterMessage): string {
  requireNodeId(message.node_id);
  requireText('node_IP', message.node_IP);
  const ipProblem = nodeIpProblem(message.node_IP);
  if (ipProblem) throw new EncodeError(ipProblem);
  return JSON.stringify({ ...message, message_type: 'DRIVER_NODE_REGISTER' });
}

export function encodeTestConfig(message: TestConfigMessage): string {
  requireText('test_id', message.test_id);
  if (!TEST_TYPES.includes(message.test_type)) throw new EncodeError('test_type must be AVALANCHE or TSUNAMI');
  requireNumber('test_message_delay', message.test_message_delay, 0);
  requireNumber('message_count_per_driver', message.message_count_per_driver, 1);
  if (!Number.isInteger(message.message_count_per_driver)) throw new EncodeError('message_count_per_driver must be a whole number');
  if (message.warm_up_count_per_driver !== undefined) {
    requireNumber('warm_up_count_per_driver', message.warm_up_count_per_driver, 0);
    if (!Number.isInteger(message.warm_up_count_per_driver)) throw new EncodeError('warm_up_count_per_driver must be a whole number');
  }
  if (message.target_throughput !== undefined) requireNumber('target_throughput', message.target_throughput, 0);
  if (message.max_streams !== undefined) {
    requireNumber('max_streams', message.max_streams, 1);
    if (!Number.isInteger(message.max_streams)) throw new EncodeError('max_streams must be a whole number');
  }
  return JSON.stringify(message);
}

export function encodeTrigger(message: TriggerMessage): string {
  requireText('test_id', message.test_id);
  return JSON.stringify(message);
}

export function encodeStop(message: StopMessage): string {
  requireText('test_id', message.test_id);
  return JSON.stringify(message);
}

export function encodeControl(message: ControlMessage): string {
  requireText('test_id', message.test_id);
  requireText('control_id', message.control_id);
  requireText('phase', message.phase);
  if (!CONTROL_ACTIONS.includes(message.action)) throw new EncodeError(`action must be one of ${CONTROL_ACTIONS.join(', ')}`);
  if (message.rate !== undefined) requireNumber('rate', message.rate, 0);
  if (message.concurrency !== undefined) requireNumber('concurrency', message.concurrency, 0);
  return JSON.stringify(message);
}

/**
 * The spec's `metrics` object gets exactly its four fields (null for "no latency yet"); every
 * addition of ours sits beside it.
 */
export function encodeMetrics(message: MetricsMessage): string {
  requireNodeId(message.node_id);
  requireText('test_id', message.test_id);
  requireText('report_id', message.report_id);
  const { node_id, test_id, report_id, metrics, ...rest } = message;
  if (metrics) for (const key of SPEC_LATENCY_KEYS) requireNumber(`metrics.${key}`, metrics[key], 0);
  for (const key of ['p90_latency', 'p95_latency', 'p99_latency'] as const) if (message[key] !== undefined) requireNumber(key, message[key], 0);
  if (message.uncorrected) requireStats('uncorrected', message.uncorrected);
  const spec = Object.fromEntries(SPEC_LATENCY_KEYS.map((key) => [key, metrics ? metrics[key] : null]));
  return JSON.stringify({ node_id, test_id, report_id, metrics: spec, ...rest });
}

export function encodeHeartbeat(message: HeartbeatMessage): string {
  requireNodeId(message.node_id);
  requireNumber('timestamp', message.timestamp, 0);
  return JSON.stringify({ ...message, heartbeat: 'YES' });
}

export const HTTP_ENGINES = ['lean-http1', 'node-http2', 'undici'] as const;
export type HttpEngineName = (typeof HTTP_ENGINES)[number];

/** An engine name this agent knows; any other value is left out (a newer peer's engine means nothing here). */
function engineName(value: unknown): HttpEngineName | undefined {
  return HTTP_ENGINES.find((e) => e === value);
}
