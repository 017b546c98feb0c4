// The wire protocol between orchestrator and driver agents: five Kafka topics carrying JSON.
// The spec's fields are kept exactly; everything this product adds is an extra field that other
// implementations can ignore. Parsing is tolerant (other implementations disagree in details);
// encoding is strict (we emit exactly the spec's types). Nothing else in the product builds or
// parses a Kafka message by hand.

export const TOPIC_KEYS = ['register', 'test_config', 'trigger', 'metrics', 'heartbeat'] as const;
export type TopicKey = (typeof TOPIC_KEYS)[number];
export type TopicNames = Record<TopicKey, string>;

/** Topic names, optionally prefixed so that several orchestrators (or test runs) share one cluster. */
export function topicNames(prefix = ''): TopicNames {
  return Object.fromEntries(TOPIC_KEYS.map((key) => [key, `${prefix}${key}`])) as TopicNames;
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
}

export interface HttpTarget {
  url: string;
  method: string;
  headers?: Record<string, string>;
  body?: string;
  /** milliseconds */
  timeout_ms: number;
}

export interface TestConfigMessage {
  test_id: string;
  test_type: TestType;
  /** seconds between requests (TSUNAMI); fractions allowed */
  test_message_delay: number;
  message_count_per_driver: number;
  // Extensions:
  /** The orchestrator that sent this command (its id). */
  orchestrator?: string;
  /** Every name the sending orchestrator answers to (id, host name, addresses), for agents' --orchestrator. */
  orchestrator_names?: string[];
  target?: HttpTarget;
  /** requests per second per driver; absent means uncapped */
  target_throughput?: number;
  /** requests in flight at once per driver */
  concurrency?: number;
  /** The drivers that take part; absent means every driver that receives it. */
  driver_ids?: string[];
}

export interface TriggerMessage {
  test_id: string;
  /** "YES" starts the test (spec). Extension: "STOP" ends a running test early. */
  trigger: 'YES' | 'STOP';
  orchestrator?: string;
  orchestrator_names?: string[];
}

export interface LatencyStats {
  /** milliseconds, as every latency in the wire format */
  mean_latency: number;
  median_latency: number;
  min_latency: number;
  max_latency: number;
  p90_latency?: number;
  p95_latency?: number;
  p99_latency?: number;
}

export interface MetricsBlock extends LatencyStats {
  /** Extension: HdrHistogram's compressed base64 form, values in microseconds. */
  histogram?: string;
  /** Extension: latency measured from the actual send rather than the scheduled time. */
  uncorrected?: LatencyStats & { histogram?: string };
}

/** A driver's own word on its part, in its reports. */
export type ReportStatus = 'running' | 'complete';

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
  metrics: MetricsBlock;
  // Extensions (cumulative since the driver started the test):
  test_status?: ReportStatus;
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
  /** the driver's own lateness against the schedule; a large p99 means the driver is the bottleneck */
  send_lag_ms?: SendLag;
  /** true on the final report of a test that was stopped before its request count */
  stopped?: boolean;
  /** why the driver could not run the test, on the report that refuses it */
  error_detail?: string;
  /** epoch milliseconds when the report was made */
  timestamp?: number;
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
}

export interface MessageByTopic {
  register: RegisterMessage;
  test_config: TestConfigMessage;
  trigger: TriggerMessage;
  metrics: MetricsMessage;
  heartbeat: HeartbeatMessage;
}

export type ParseResult<T> = { ok: true; message: T; notes: string[] } | { ok: false; reason: string };

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
  const node_id = fields.id('node_id');
  if (!node_id) return { ok: false, reason: 'register message without node_id' };
  const messageType = fields.raw('message_type');
  if (messageType !== undefined && String(messageType).toUpperCase() !== 'DRIVER_NODE_REGISTER') {
    return { ok: false, reason: `register message with message_type ${JSON.stringify(messageType)}` };
  }
  const node_IP = fields.id('node_ip') ?? fields.id('ip') ?? '';
  if (!node_IP) fields.notes.push('no node_IP');
  return {
    ok: true,
    notes: fields.notes,
    message: {
      node_id,
      node_IP,
      message_type: 'DRIVER_NODE_REGISTER',
      orchestrator: fields.id('orchestrator'),
      agent_version: fields.id('agent_version'),
    },
  };
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
  const throughput = fields.number('target_throughput');
  const concurrency = fields.number('concurrency');
  const driverIds = fields.raw('driver_ids');
  return {
    ok: true,
    notes: fields.notes,
    message: {
      test_id,
      test_type,
      test_message_delay: delay ?? 0,
      message_count_per_driver: count,
      orchestrator: fields.id('orchestrator'),
      orchestrator_names: stringList(fields.raw('orchestrator_names')),
      target: parseTarget(fields.record('target')),
      target_throughput: throughput !== undefined && throughput > 0 ? throughput : undefined,
      concurrency: concurrency !== undefined && concurrency >= 1 ? Math.floor(concurrency) : undefined,
      driver_ids: stringList(driverIds),
    },
  };
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

function parseLatencyStats(fields: FieldReader): LatencyStats | string {
  const mean = fields.number('mean_latency');
  const median = fields.number('median_latency');
  const min = fields.number('min_latency');
  const max = fields.number('max_latency');
  const missing = Object.entries({ mean_latency: mean, median_latency: median, min_latency: min, max_latency: max })
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  if (missing.length) return `missing or non-numeric ${missing.join(', ')}`;
  return {
    mean_latency: mean!,
    median_latency: median!,
    min_latency: min!,
    max_latency: max!,
    p90_latency: fields.number('p90_latency'),
    p95_latency: fields.number('p95_latency'),
    p99_latency: fields.number('p99_latency'),
  };
}

export function parseMetrics(raw: Buffer | string | null | undefined): ParseResult<MetricsMessage> {
  const fields = readJsonObject(raw);
  if (typeof fields === 'string') return { ok: false, reason: fields };
  const node_id = fields.id('node_id');
  const test_id = fields.id('test_id');
  if (!node_id || !test_id) return { ok: false, reason: 'metrics message without node_id or test_id' };
  const block = fields.record('metrics');
  if (!block) return { ok: false, reason: `metrics from ${node_id} without a metrics object` };
  const blockFields = new FieldReader(block);
  const stats = parseLatencyStats(blockFields);
  if (typeof stats === 'string') return { ok: false, reason: `metrics from ${node_id}: ${stats}` };
  const metrics: MetricsBlock = { ...stats };
  const histogram = blockFields.raw('histogram');
  if (typeof histogram === 'string' && histogram.length > 0) metrics.histogram = histogram;
  const uncorrected = blockFields.record('uncorrected');
  if (uncorrected) {
    const u = new FieldReader(uncorrected);
    const uStats = parseLatencyStats(u);
    if (typeof uStats !== 'string') {
      const uHistogram = u.raw('histogram');
      metrics.uncorrected = { ...uStats, histogram: typeof uHistogram === 'string' ? uHistogram : undefined };
    }
  }
  let report_id = fields.id('report_id');
  if (!report_id) {
    report_id = `${node_id}:${Date.now()}:${Math.random().toString(36).slice(2, 8)}`;
    fields.notes.push('no report_id; one was assigned on receipt');
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
      test_status: status === 'running' || status === 'complete' ? status : status === 'completed' || status === 'done' ? 'complete' : undefined,
      requests_sent: fields.number('requests_sent'),
      responses: fields.number('responses'),
      errors: countRecord(fields.record('errors')),
      status_codes: countRecord(fields.record('status_codes')),
      elapsed_ms: fields.number('elapsed_ms'),
      first_send_at: readTimestamp(fields.raw('first_send_at')),
      send_window_ms: fields.number('send_window_ms'),
      send_lag_ms: parseSendLag(fields.record('send_lag_ms')),
      stopped: stopped === undefined ? undefined : isYes(stopped),
      error_detail: fields.id('error_detail'),
      timestamp: readTimestamp(fields.raw('timestamp')),
    },
  };
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
  const node_id = fields.id('node_id');
  if (!node_id) return { ok: false, reason: 'heartbeat without node_id' };
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
      node_IP: fields.id('node_ip'),
      state: state === 'idle' || state === 'running' ? state : undefined,
      test_id: fields.id('test_id'),
      cpu_percent: fields.number('cpu_percent'),
      event_loop_lag_ms: fields.number('event_loop_lag_ms'),
      leaving: fields.raw('leaving') === undefined ? undefined : isYes(fields.raw('leaving')),
      orchestrator: fields.id('orchestrator'),
    },
  };
}

export const PARSERS: { [K in TopicKey]: (raw: Buffer | string | null | undefined) => ParseResult<MessageByTopic[K]> } = {
  register: parseRegister,
  test_config: parseTestConfig,
  trigger: parseTrigger,
  metrics: parseMetrics,
  heartbeat: (raw) => parseHeartbeat(raw),
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

export function encodeRegister(message: RegisterMessage): string {
  requireText('node_id', message.node_id);
  requireText('node_IP', message.node_IP);
  return JSON.stringify({ ...message, message_type: 'DRIVER_NODE_REGISTER' });
}

export function encodeTestConfig(message: TestConfigMessage): string {
  requireText('test_id', message.test_id);
  if (!TEST_TYPES.includes(message.test_type)) throw new EncodeError('test_type must be AVALANCHE or TSUNAMI');
  requireNumber('test_message_delay', message.test_message_delay, 0);
  requireNumber('message_count_per_driver', message.message_count_per_driver, 1);
  if (!Number.isInteger(message.message_count_per_driver)) throw new EncodeError('message_count_per_driver must be a whole number');
  if (message.target_throughput !== undefined) requireNumber('target_throughput', message.target_throughput, 0);
  return JSON.stringify(message);
}

export function encodeTrigger(message: TriggerMessage): string {
  requireText('test_id', message.test_id);
  return JSON.stringify(message);
}

export function encodeMetrics(message: MetricsMessage): string {
  requireText('node_id', message.node_id);
  requireText('test_id', message.test_id);
  requireText('report_id', message.report_id);
  requireStats('metrics', message.metrics);
  if (message.metrics.uncorrected) requireStats('metrics.uncorrected', message.metrics.uncorrected);
  return JSON.stringify(message);
}

export function encodeHeartbeat(message: HeartbeatMessage): string {
  requireText('node_id', message.node_id);
  requireNumber('timestamp', message.timestamp, 0);
  return JSON.stringify({ ...message, heartbeat: 'YES' });
}
