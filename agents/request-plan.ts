// Turns a test_config into the plan a driver executes: what to request, how many, and in which
// model. TSUNAMI is open: request k is due at start + k × interval whatever happened to the
// requests before it, and connections grow up to `max_connections` to send it on time.
// AVALANCHE is closed: at most `concurrency` requests in flight, and a cap is only a ceiling.
import { DEFAULT_MAX_CONNECTIONS, type TestConfigMessage } from '../protocol/wire-protocol';

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
}

export const DEFAULT_CONCURRENCY = 16;
export const DEFAULT_TIMEOUT_MS = 10_000;

export function planFor(config: TestConfigMessage, defaultTarget: string, extraHeaders: Record<string, string>): RequestPlan {
  const target = config.target;
  const url = new URL(target?.url ?? defaultTarget);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`target ${url.href} is not an http(s) URL`);
  const capInterval = config.target_throughput ? 1000 / config.target_throughput : 0;
  const delayInterval = config.test_type === 'TSUNAMI' ? config.test_message_delay * 1000 : 0;
  const open = config.test_type === 'TSUNAMI' && delayInterval > 0;
  return {
    url,
    method: target?.method ?? 'GET',
    headers: { ...(target?.headers ?? {}), ...extraHeaders },
    body: target?.body,
    timeoutMs: target?.timeout_ms ?? DEFAULT_TIMEOUT_MS,
    count: config.message_count_per_driver,
    intervalMs: Math.max(capInterval, delayInterval),
    open,
    maxInFlight: open ? (config.max_connections ?? DEFAULT_MAX_CONNECTIONS) : (config.concurrency ?? DEFAULT_CONCURRENCY),
  };
}
