// The bounds of a test's settings, the one place both sides read them: the orchestrator refuses a
// definition outside them (loadtest-definition.ts; schemas/loadtest.schema.json states the same
// numbers, and a unit test holds the two together), and an agent refuses a test_config outside
// them, whoever sent it, before it allocates or arms anything for it (driver-agent.ts). A
// config from Kafka is input like any other: `concurrency: 1e9` would allocate arrays of that
// size, and a wait past MAX_TIMER_MS is cut by Node to 1 ms.
import { DEFAULT_MAX_CONNECTIONS, streamsPerConnection, type TestConfigMessage } from './wire-protocol';

/** AVALANCHE's requests in flight per driver: each holds a connection and a slot. */
export const MAX_CONCURRENCY = 10_000;
/** TSUNAMI's connections per driver; with HTTP/2 also its requests in flight (max_connections × max_streams), each a slot. */
export const MAX_CONNECTIONS = 100_000;
/**
 * Requests in flight on one HTTP/2 connection. RFC 9113 recommends servers allow at least 100
 * concurrent streams; a server that advertises fewer holds the rest in the client, unseen.
 */
export const MAX_STREAMS = 100;
/** Requests (and warm-up requests) per driver. */
export const MAX_MESSAGE_COUNT = 1_000_000_000;
/** A request's deadline, in milliseconds: at least 1, at most ten minutes. */
export const MIN_TIMEOUT_MS = 1;
export const MAX_TIMEOUT_MS = 600_000;
/**
 * The longest spacing of a driver's requests, in seconds: TSUNAMI's test_message_delay at most,
 * a target_throughput at least its inverse. Each worker thread of a driver waits that long times
 * the number of workers between its requests, which stays far below MAX_TIMER_MS.
 */
export const MAX_REQUEST_INTERVAL_S = 1000;
export const MAX_TEST_MESSAGE_DELAY_S = MAX_REQUEST_INTERVAL_S;
/** requests per second per driver */
export const MIN_TARGET_THROUGHPUT = 1 / MAX_REQUEST_INTERVAL_S;
/** A test by duration, or its stages added up: a week. */
export const MAX_DURATION_S = 7 * 24 * 3600;
/** Stages in one test: each is a window of the result, with its own figures. */
export const MAX_STAGES = 1000;
/** A total rate (stages, start_rate, a live `set`), requests per second over all drivers. */
export const MAX_TOTAL_RATE = 10_000_000;
/** Node runs a timer longer than this (2^31 - 1 ms, about 24.8 days) after 1 ms. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** 1,000,000,000 for the large; 0.001 or 1e-7 for the small, which grouping would round to 0 */
const number = (n: number) => (Math.abs(n) >= 1 ? n.toLocaleString('en-US', { maximumFractionDigits: 3 }) : String(Number(n.toPrecision(6))));

function above(field: string, value: number, max: number, unit = ''): string | undefined {
  return value > max ? `${field}: ${number(value)}${unit} is above the limit of ${number(max)}${unit}` : undefined;
}

/** A TSUNAMI driver holds a slot for every request it may have in flight: max_connections × max_streams. */
function tsunamiInFlightProblem(config: TestConfigMessage): string | undefined {
  const streams = streamsPerConnection(config);
  const connections = config.max_connections ?? DEFAULT_MAX_CONNECTIONS;
  // Each part above its own limit is named by its own check.
  if (config.test_type !== 'TSUNAMI' || streams <= 1 || streams > MAX_STREAMS || connections > MAX_CONNECTIONS) return undefined;
  const inFlight = connections * streams;
  if (inFlight <= MAX_CONNECTIONS) return undefined;
  return `max_streams: ${number(connections)} connections × ${number(streams)} streams is ${number(inFlight)} requests in flight per driver, above the limit of ${number(MAX_CONNECTIONS)}; lower max_streams or max_connections`;
}

/**
 * What is outside the bounds in a config, one text per field, each naming it (as the definition
 * names it too). Empty when the config is within them. Lower bounds the parser already enforces
 * (a count of at least 1, a concurrency of at least 1) are not repeated here.
 */
export function testConfigProblems(config: TestConfigMessage): string[] {
  const problems: (string | undefined)[] = [
    above('message_count_per_driver', config.message_count_per_driver, MAX_MESSAGE_COUNT),
    config.warm_up_count_per_driver !== undefined ? above('warm_up_count_per_driver', config.warm_up_count_per_driver, MAX_MESSAGE_COUNT) : undefined,
    config.concurrency !== undefined ? above('concurrency', config.concurrency, MAX_CONCURRENCY) : undefined,
    config.max_connections !== undefined ? above('max_connections', config.max_connections, MAX_CONNECTIONS) : undefined,
    config.max_streams !== undefined ? above('max_streams', config.max_streams, MAX_STREAMS) : undefined,
    tsunamiInFlightProblem(config),
    config.test_type === 'TSUNAMI' ? above('test_message_delay', config.test_message_delay, MAX_TEST_MESSAGE_DELAY_S, ' s') : undefined,
    config.target_throughput !== undefined && config.target_throughput < MIN_TARGET_THROUGHPUT
      ? `target_throughput: ${number(config.target_throughput)} requests per second is below the limit of ${number(MIN_TARGET_THROUGHPUT)} (one request every ${number(MAX_REQUEST_INTERVAL_S)} s)`
      : undefined,
  ];
  if (config.duration_s !== undefined) problems.push(above('duration_s', config.duration_s, MAX_DURATION_S, ' s'));
  if (config.stages) {
    if (config.stages.length > MAX_STAGES) problems.push(`stages: ${number(config.stages.length)} stages is above the limit of ${number(MAX_STAGES)}`);
    const drivers = Math.max(1, config.driver_ids?.length ?? 1);
    for (const [i, stage] of config.stages.entries()) {
      if (stage.target_rate !== undefined) problems.push(above(`stages[${i}].target_rate`, stage.target_rate, MAX_TOTAL_RATE, '/s'));
      // Each driver holds its share of the concurrency in slots and connections.
      if (stage.target_concurrency !== undefined) problems.push(above(`stages[${i}].target_concurrency`, stage.target_concurrency, MAX_CONCURRENCY * drivers));
    }
  }
  if (config.start_rate !== undefined) problems.push(above('start_rate', config.start_rate, MAX_TOTAL_RATE, '/s'));
  if (config.start_concurrency !== undefined) problems.push(above('start_concurrency', config.start_concurrency, MAX_CONCURRENCY * Math.max(1, config.driver_ids?.length ?? 1)));
  // A mix's requests carry their own deadlines; its `target` is only for drivers that know no mix.
  const timeouts = config.requests ? config.requests.map((r, i) => [`requests[${i}].timeout_ms`, r.timeout_ms] as const) : config.target ? [['target.timeout_ms', config.target.timeout_ms] as const] : [];
  for (const [field, ms] of timeouts) {
    if (!(ms >= MIN_TIMEOUT_MS)) problems.push(`${field}: ${number(ms)} ms is no deadline; give at least ${MIN_TIMEOUT_MS} ms`);
    else problems.push(above(field, ms, MAX_TIMEOUT_MS, ' ms'));
  }
  return problems.filter((p): p is string => p !== undefined);
}
