// Turns a test_config into the plan a driver executes: what to request, how many, and in which
// model. TSUNAMI is open: request k is due at start + k × interval whatever happened to the
// requests before it, and connections grow up to `max_connections` to send it on time.
// AVALANCHE is closed: at most `concurrency` requests in flight, and a cap is only a ceiling.
import { compileFill, staticFill, weightedCycle, type Fill } from '../protocol/request-mix';
import { DEFAULT_MAX_CONNECTIONS, type MixRequest, type TestConfigMessage } from '../protocol/wire-protocol';

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
  /** requests in flight at once, each on a connection of its own: never more connections than this */
  maxInFlight: number;
  /** a weighted mix to `url`'s origin, instead of the one request above */
  mix?: PlannedMix;
  /** for an https target: offer HTTP/2, what to trust */
  tls?: TargetTls;
  /**
   * One worker's share of a driver's plan (plan-share.ts): its requests are numbers
   * seqOffset, seqOffset + seqStride, …, of the driver's, due phaseMs later than its own k × intervalMs.
   */
  phaseMs?: number;
  seqOffset?: number;
  seqStride?: number;
  /** `{seq}` of the driver's first request: after a warm-up, its numbers are not used again */
  firstSeq?: number;
}

export interface TargetTls {
  http2: boolean;
  /** PEM certificates of the authorities to trust besides the system's (lt-agent --target-ca) */
  ca?: string[];
  /** accept any certificate (the test's tls_insecure) */
  insecure: boolean;
}

export const DEFAULT_CONCURRENCY = 16;
export const DEFAULT_TIMEOUT_MS = 10_000;

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
  const mixed = config.requests ? planMix(config.requests, extraHeaders, driver) : undefined;
  const url = mixed?.url ?? new URL(target?.url ?? defaultTarget);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`target ${url.href} is not an http(s) URL`);
  const capInterval = config.target_throughput ? 1000 / config.target_throughput : 0;
  const delayInterval = config.test_type === 'TSUNAMI' ? config.test_message_delay * 1000 : 0;
  const open = config.test_type === 'TSUNAMI' && delayInterval > 0;
  return {
    url,
    method: target?.method ?? 'GET',
    headers: { ...(target?.headers ?? {}), ...extraHeaders },
    body: target?.body,
    timeoutMs: mixed ? Math.max(...mixed.mix.requests.map((r) => r.timeoutMs)) : (target?.timeout_ms ?? DEFAULT_TIMEOUT_MS),
    count: config.message_count_per_driver,
    intervalMs: Math.max(capInterval, delayInterval),
    open,
    maxInFlight: open ? (config.max_connections ?? DEFAULT_MAX_CONNECTIONS) : (config.concurrency ?? DEFAULT_CONCURRENCY),
    mix: mixed?.mix,
    tls: url.protocol === 'https:' ? { http2: config.http2 === true, ca: trustedCa, insecure: config.tls_insecure === true } : undefined,
  };
}
