// Turns a test_config into the plan a driver executes: what to request, how many, and on what
// schedule. The schedule is open: request k is due at start + k × interval, whatever happened
// to the requests before it.
import type { TestConfigMessage } from '../protocol/wire-protocol';

export interface RequestPlan {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** milliseconds */
  timeoutMs: number;
  count: number;
  /** milliseconds between due times; 0 means as fast as the in-flight limit allows */
  intervalMs: number;
  /** requests in flight at once; Infinity for TSUNAMI, whose requests go out when due */
  maxInFlight: number;
  /** connections kept open to the target */
  connections: number;
}

export const DEFAULT_CONCURRENCY = 16;
export const DEFAULT_TIMEOUT_MS = 10_000;

export function planFor(config: TestConfigMessage, defaultTarget: string, extraHeaders: Record<string, string>): RequestPlan {
  const target = config.target;
  const url = new URL(target?.url ?? defaultTarget);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`target ${url.href} is not an http(s) URL`);
  const concurrency = config.concurrency ?? DEFAULT_CONCURRENCY;
  const capInterval = config.target_throughput ? 1000 / config.target_throughput : 0;
  const delayInterval = config.test_type === 'TSUNAMI' ? config.test_message_delay * 1000 : 0;
  const intervalMs = Math.max(capInterval, delayInterval);
  // TSUNAMI with a delay is open: a request is sent at its due time even if earlier ones are
  // still waiting. AVALANCHE (capped or not) keeps at most `concurrency` in flight.
  const open = config.test_type === 'TSUNAMI' && delayInterval > 0;
  return {
    url,
    method: target?.method ?? 'GET',
    headers: { ...(target?.headers ?? {}), ...extraHeaders },
    body: target?.body,
    timeoutMs: target?.timeout_ms ?? DEFAULT_TIMEOUT_MS,
    count: config.message_count_per_driver,
    intervalMs,
    maxInFlight: open ? Infinity : concurrency,
    connections: concurrency,
  };
}
