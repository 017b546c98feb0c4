// Turns a test_config into the plan a driver executes: what to request, how many, and in which
// model. TSUNAMI is open: request k is due when the profile's integral reaches k (k × interval on
// a flat test) whatever happened to the requests before it, and connections grow up to
// `max_connections` to send it on time. AVALANCHE is closed: at most its share of the
// concurrency of the moment in flight, and a cap is only a ceiling. With HTTP/2 a connection
// carries `max_streams` requests at once: the requests in flight stay the model's (TSUNAMI's
// limit becomes max_connections × max_streams), the connections they need fewer.
import type { LoadProfile } from '../protocol/load-profile';
import { compileFill, staticFill, weightedCycle, type Fill } from '../protocol/request-mix';
import { closedCapacity, closedProfileFor, driverShareOf, openProfileFor, type DriverShare } from './plan-profile';
import type { EngineName } from './http-engine/http-connection';
import { planScenario, type PlannedScenario } from './scenario-plan';
import { DEFAULT_CONCURRENCY, DEFAULT_MAX_CONNECTIONS, streamsPerConnection, type MixRequest, type TestConfigMessage } from '../protocol/wire-protocol';

/** One request of a mix, ready to send: its path and body filled per request. */
export interface PlannedRequest {
  name: string;
  method: string;
  headers: Record<string, string>;
  path: Fill;
  body?: Fill;
  /** true when path or body change per request */
  templated: boolean;
  timeoutMs: number;
}

export interface PlannedMix {
  requests: PlannedRequest[];
  /** request k is requests[cycle[k % cycle.length]] */
  cycle: Uint16Array;
}

export interface RequestPlan {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** milliseconds from a request's due time to its deadline: queueing, connect and response */
  timeoutMs: number;
  count: number;
  /**
   * milliseconds between due times. With `open` it is the schedule every latency is corrected
   * against; without, it is the ceiling's spacing (0: no ceiling).
   */
  intervalMs: number;
  /** true for an open model (TSUNAMI): requests are due on the schedule, not after each other */
  open: boolean;
  /**
   * requests in flight at once: AVALANCHE's concurrency, TSUNAMI's max_connections × maxStreams.
   * They go on connectionsOf(plan) connections, maxStreams on each (one each over HTTP/1.1).
   */
  maxInFlight: number;
  /** requests in flight at once on one HTTP/2 connection (max_streams); absent: 1 */
  maxStreams?: number;
  /** a weighted mix to `url`'s origin, instead of the one request above */
  mix?: PlannedMix;
  /**
   * a scenario's steps to `url`'s origin, instead of the one request above: `count`, the schedule
   * and the concurrency then count iterations, each running the steps in order
   */
  scenario?: PlannedScenario;
  /** for an https target: offer HTTP/2, what to trust */
  tls?: TargetTls;
  /** the engine the test names (http_engine); absent: chooseEngine picks (http-engine/http-connection.ts) */
  engine?: EngineName;
  /**
   * One worker's share of a driver's plan (plan-share.ts): its requests are numbers
   * seqOffset, seqOffset + seqStride, …, of the driver's, due phaseMs later than its own k × intervalMs.
   */
  phaseMs?: number;
  seqOffset?: number;
  seqStride?: number;
  /** `{seq}` of the driver's first request: after a warm-up, its numbers are not used again */
  firstSeq?: number;
  /**
   * The load over time (plan-profile.ts). Open: the driver's share of the rate, request j of the
   * driver due at profile.dueAt(j). Closed: the total concurrency, split by `driverShare` and then
   * by worker (seqOffset of seqStride). Absent for a TSUNAMI without a schedule (delay 0).
   */
  profile?: LoadProfile;
  driverShare?: DriverShare;
}

export interface TargetTls {
  http2: boolean;
  /** PEM certificates of the authorities to trust besides the system's (lt-agent --target-ca) */
  ca?: string[];
  /** accept any certificate (the test's tls_insecure) */
  insecure: boolean;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The connections a plan's requests in flight need, each carrying maxStreams: TSUNAMI's
 * max_connections exactly, AVALANCHE's ceil(concurrency / max_streams).
 */
export function connectionsOf(plan: Pick<RequestPlan, 'maxInFlight' | 'maxStreams'>): number {
  return Math.ceil(plan.maxInFlight / (plan.maxStreams ?? 1));
}

function planMix(requests: MixRequest[], extraHeaders: Record<string, string>, driver: string): { url: URL; mix: PlannedMix } {
  // The one origin every request goes to: connections are shared, and an allowlist checks it once.
  const url = new URL(staticFill(requests[0].url));
  const planned = requests.map((r): PlannedRequest => {
    const target = new URL(staticFill(r.url));
    if (target.origin !== url.origin) throw new Error(`the mix goes to more than one origin (${url.origin}, ${target.origin})`);
    // The path is what undici sends; placeholders are filled in the URL's text, then cut to the path.
    const fullUrl = compileFill(r.url, driver);
    const origin = url.origin;
    const pathOf = (seq: number) => {
      const filled = fullUrl(seq);
      if (filled.startsWith(origin)) return filled.slice(origin.length) || '/';
      const u = new URL(filled);
      return u.pathname + u.search;
    };
    const body = r.body === undefined ? undefined : compileFill(r.body, driver);
    const templated = staticFill(r.url) !== r.url || (r.body !== undefined && staticFill(r.body) !== r.body);
    const fixedPath = target.pathname + target.search;
    return { name: r.name, method: r.method ?? 'GET', headers: { ...(r.headers ?? {}), ...extraHeaders }, path: templated ? pathOf : () => fixedPath, body, templated, timeoutMs: r.timeout_ms ?? DEFAULT_TIMEOUT_MS };
  });
  return { url, mix: { requests: planned, cycle: weightedCycle(requests.map((r) => r.weight)) } };
}

export function planFor(config: TestConfigMessage, defaultTarget: string, extraHeaders: Record<string, string>, driver = '', trustedCa?: string[]): RequestPlan {
  const target = config.target;
  const mixed = config.requests && !config.scenario ? planMix(config.requests, extraHeaders, driver) : undefined;
  const scenario = config.scenario ? planScenario(config.scenario, config.data, driverShareOf(config, driver), driver, extraHeaders, DEFAULT_TIMEOUT_MS) : undefined;
  const url = scenario?.origin ?? mixed?.url ?? new URL(target?.url ?? defaultTarget);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`target ${url.href} is not an http(s) URL`);
  // With stages the profile paces the test: test_message_delay and target_throughput are for drivers that know only the spec.
  const staged = config.stages !== undefined;
  const capInterval = config.target_throughput && !staged ? 1000 / config.target_throughput : 0;
  const delayInterval = config.test_type === 'TSUNAMI' && !staged ? config.test_message_delay * 1000 : 0;
  const open = config.test_type === 'TSUNAMI' && (staged || delayInterval > 0);
  const intervalMs = Math.max(capInterval, delayInterval);
  const driverShare = driverShareOf(config, driver);
  const profile = open
    ? openProfileFor(config, driverShare, intervalMs > 0 ? 1000 / intervalMs : 0)
    : config.test_type === 'AVALANCHE'
      ? closedProfileFor(config, driverShare, config.concurrency ?? DEFAULT_CONCURRENCY)
      : undefined;
  const one = { index: 0, of: 1 };
  const maxStreams = streamsPerConnection(config, url.protocol === 'https:');
  return {
    url,
    method: target?.method ?? 'GET',
    headers: { ...(target?.headers ?? {}), ...extraHeaders },
    body: target?.body,
    timeoutMs: scenario ? Math.max(...scenario.steps.map((s) => s.timeoutMs)) : mixed ? Math.max(...mixed.mix.requests.map((r) => r.timeoutMs)) : (target?.timeout_ms ?? DEFAULT_TIMEOUT_MS),
    count: config.message_count_per_driver,
    intervalMs,
    open,
    maxInFlight: open ? (config.max_connections ?? DEFAULT_MAX_CONNECTIONS) * maxStreams : profile ? closedCapacity(profile, driverShare, one) : (config.concurrency ?? DEFAULT_CONCURRENCY),
    maxStreams,
    mix: mixed?.mix,
    scenario,
    tls: url.protocol === 'https:' ? { http2: config.http2 === true, ca: trustedCa, insecure: config.tls_insecure === true } : undefined,
    engine: config.http_engine,
    profile,
    driverShare,
  };
}
