// The one model of a test's figures and state, as every view shows it: the CLI's table, the REST
// API, the dashboard, the drivers tree, CSV and the metrics store all read these types and no
// others. Latency is in milliseconds throughout.
import type { Comparison } from './compare/comparison-model';
import type { AgentFeature, HttpEngineName, TestConfigMessage, SendLag, WarmUpCounts } from '../protocol/wire-protocol';
import type { ControlLogEntry } from './stages/control-log';
import type { StageStats } from './stages/stage-stats';

export type { ControlLogEntry, StageStats };

/**
 * A test's state.
 * - `created`: the config was sent, no trigger yet.
 * - `running`: triggered, not over.
 * - `complete`: every participant's final report arrived and the requests reported equal the plan.
 * - `incomplete`: it ended without that (a driver lost, restarted, left, silent or shared by two
 *   agents, or the deadline passed); `ending` says who, when and why. An incomplete test never passes.
 * - `stopped`: a person stopped it.
 * - `interrupted`: found in the store without a result (the orchestrator stopped while it ran and
 *   nothing has finished it since).
 */
/** `unreadable`: its files in the store cannot be read (the listing's `error` says why); never resumed. */
export type TestStatus = 'created' | 'running' | 'complete' | 'incomplete' | 'stopped' | 'interrupted' | 'unreadable';
export type FinalStatus = 'complete' | 'incomplete' | 'stopped';

/** A participant's part in a test. */
export type DriverTestState = 'waiting' | 'running' | 'complete' | 'lost' | 'restarted' | 'left' | 'timed_out' | 'refused' | 'duplicate';

/** Why a participant's part ended without its final report. */
export interface DriverEnding {
  node_id: string;
  state: DriverTestState;
  /** epoch ms */
  at: number;
  /** e.g. "no heartbeat for 3 s" */
  reason: string;
}

export interface LatencySummary {
  mean: number;
  median: number;
  min: number;
  max: number;
  p90: number | null;
  p95: number | null;
  p99: number | null;
  /** true when a percentile had to be estimated from drivers that sent no histogram */
  approximate: boolean;
  /** how many latencies these figures describe, when known */
  count: number | null;
}

export interface DriverStats {
  node_id: string;
  state: DriverTestState;
  requests_sent: number | null;
  responses: number | null;
  /** null when the driver sends no error counts: unknown, not zero */
  errors: number | null;
  /** errors ÷ requests sent; null when either is unknown */
  error_rate: number | null;
  error_kinds: Record<string, number>;
  status_codes: Record<string, number>;
  /** responses per second now: over the interval between this driver's last two reports */
  rate: number | null;
  /** responses per second over its whole run (its elapsed_s): what a finished part achieved */
  average_rate: number | null;
  elapsed_s: number | null;
  latency: LatencySummary | null;
  uncorrected: LatencySummary | null;
  reports: number;
  stopped: boolean;
  /** the driver's lateness against its schedule; large values mean the driver was the bottleneck */
  send_lag_ms: SendLag | null;
  /** requests that were due while every connection was busy (TSUNAMI), so went out late */
  waited_for_connection: number | null;
  /** the most connections the driver would open (TSUNAMI's max_connections) */
  connection_limit: number | null;
  /** the engine that carried its requests; null for a driver that does not say (other implementations) */
  http_engine: HttpEngineName | null;
  /** epoch ms of its first request */
  first_send_at: number | null;
  /** milliseconds from its first request to its latest */
  send_window_ms: number | null;
  /** epoch ms when the driver made its latest report */
  report_timestamp: number | null;
  /** its warm-up (warm_up_count_per_driver), apart from every figure above; null when it reported none */
  warm_up: WarmUpCounts | null;
}

export interface AggregateStats {
  drivers: number;
  drivers_reporting: number;
  requests_sent: number;
  responses: number;
  /** errors counted by the drivers that count them (see errors_unknown_from) */
  errors: number;
  /** errors ÷ requests of the drivers that count errors; 0 when none does (then errors_unknown_from names them all) */
  error_rate: number;
  /** drivers whose reports carry no error counts (other implementations): their errors are unknown, not zero */
  errors_unknown_from: string[];
  /** the requests those drivers sent, left out of error_rate */
  requests_with_unknown_errors: number;
  /** drivers with latency figures but no histogram: percentiles across them are estimates (latency.approximate) */
  histogram_missing_from: string[];
  /** responses per second, summed over drivers */
  rate: number;
  latency: LatencySummary | null;
  uncorrected: LatencySummary | null;
  error_kinds: Record<string, number>;
  status_codes: Record<string, number>;
  /** the drivers' warm-ups added up, apart from every figure above; null when none reported one */
  warm_up: WarmUpTotals | null;
}

export interface WarmUpTotals {
  requests_sent: number;
  responses: number;
  errors: number;
  /** drivers still in their warm-up */
  warming: number;
}

/**
 * One second of a test as a comparison reads it (metrics-store.ts, intervals.ndjson): what the
 * drivers counted in it and the merged corrected latency of its responses, the interval's own.
 */
export interface SecondInterval {
  /** seconds since the trigger, as the time point of the same second */
  t: number;
  /** in this second only */
  requests_sent: number;
  responses: number;
  errors: number;
  /** HdrHistogram's compressed base64 form, microseconds; absent when no latency was recorded or a driver sent no histogram */
  histogram?: string;
  phase?: string;
}

/** The merged corrected histograms of a finished test (histograms.json), HdrHistogram's compressed base64, microseconds. */
export interface RunHistograms {
  latency?: string;
  uncorrected?: string;
  per_request?: Record<string, string>;
  per_stage?: Record<string, string>;
}

export interface TimePoint {
  /** seconds since the trigger */
  t: number;
  timestamp: number;
  requests_sent: number;
  responses: number;
  errors: number;
  /** responses per second across drivers */
  rate: number;
  /** latency of the responses in this interval only */
  latency: { mean: number; p50: number; p90: number | null; p95: number | null; p99: number | null; max: number } | null;
  per_driver: Record<string, { rate: number | null; requests_sent: number | null }>;
  /** each server-side query's value at this time (prometheus-watcher.ts) */
  server?: Record<string, number | null>;
  /** the planned total at this second: requests per second (TSUNAMI) or requests in flight (AVALANCHE); tests by duration or stages */
  planned?: number | null;
  /** the phase of the plan at this second ("stage 2", "set 1"); tests by duration or stages */
  phase?: string;
}

/** One request name of a mix, over all drivers. */
export interface RequestStats {
  name: string;
  /** its share of the mix, as defined (weight / sum of weights); a scenario step's, of the requests sent */
  share: number;
  requests_sent: number;
  responses: number;
  errors: number;
  /** its errors by kind (a scenario step's check_failed among them), when it has any */
  errors_by_kind?: Record<string, number>;
  error_rate: number;
  /** responses per second over the test's run (the same seconds as the test's throughput) */
  rate: number;
  /** pooled from the drivers' histograms of this request */
  latency: LatencySummary | null;
}

/** A scenario's iterations: each runs the steps from the first; started = completed + failed + abandoned + in progress. */
export interface IterationStats {
  started: number;
  /** every step ran and passed */
  completed: number;
  /** a step failed (an error, a failed check or capture) */
  failed: number;
  /** cut off by a stop before its last step */
  abandoned: number;
  /** iterations ended (completed or failed) per second over the run */
  rate: number;
  /** from an iteration's start (its due time, TSUNAMI) to its last step's end, think time included */
  duration: LatencySummary | null;
}

/** One server-side query over the test so far. */
export interface ServerQuerySummary {
  name: string;
  query: string;
  /** answers that gave a number */
  samples: number;
  last: number | null;
  min: number | null;
  max: number | null;
  mean: number | null;
}

/** What Prometheus said during the test, beside what the drivers measured. */
export interface ServerMetrics {
  url: string;
  queries: ServerQuerySummary[];
  /** Prometheus away, a query refused or not one number: said, never a failure */
  warnings: string[];
}

export interface TestSnapshot {
  test_id: string;
  name?: string;
  test_type: string;
  status: TestStatus;
  created_at: number;
  triggered_at?: number;
  ended_at?: number;
  elapsed_s: number;
  config: TestConfigMessage;
  participants: string[];
  /** requests the plan asks for: message_count_per_driver × participants */
  planned_requests: number;
  aggregate: AggregateStats;
  per_driver: DriverStats[];
  /** where a driver did not do what its model promises (schedule not held, cap not reached), and what to do; and Prometheus' problems */
  warnings: string[];
  /**
   * Reports dropped because they did not verify (unsigned in the name of a driver that signs, or
   * forged), per node_id: in no figure.
   */
  dropped_reports?: Record<string, number>;
  /** the server-side queries of the definition's "prometheus", when it names one */
  server?: ServerMetrics;
  /** a mix's figures by request name, or a scenario's by step name (they add up to the aggregate) */
  per_request?: RequestStats[];
  /** a scenario's iterations over every driver */
  iterations?: IterationStats;
  /** responses per second over the whole test so far: responses ÷ run_s */
  throughput: number;
  /** the test's run so far: the longest a driver has run its measured requests (warm-up excluded), in seconds */
  run_s: number;
  /** epoch ms when these figures were computed */
  computed_at: number;
  /** epoch ms by which the test ends by itself, reported or not */
  deadline_at?: number;
  /** the planned length of the measured part in seconds, pauses excluded (tests by duration or stages) */
  planned_s?: number;
  /** every phase's own figures: the stages, and the windows live changes began (stage-stats.ts) */
  stages?: StageStats[];
  /** the changes made while it ran, each a marked point in the time series and a line of the result */
  control_log?: ControlLogEntry[];
  /** paused by live control now */
  paused?: boolean;
  /** drivers alive and idle that were not picked, and why (a feature the test needs) */
  not_picked?: string[];
}

export interface ThresholdCheck {
  /** a threshold's field name, or `default_error_rate` when the definition sets no error_rate */
  name: string;
  limit: number;
  actual: number | null;
  passed: boolean;
  /** an optional server-side limit without data (Prometheus away): not judged, and said so */
  skipped?: boolean;
  /** judged on percentiles estimated from drivers that sent no histogram */
  approximate?: boolean;
  /** e.g. "p99 latency 12.3 ms <= 250 ms" */
  text: string;
  /** set when the limit is a stage's own, judged on that stage's window */
  stage?: string;
}

export interface ThresholdResult {
  passed: boolean;
  checks: ThresholdCheck[];
}

/** Pass or fail, and why: the one line every view shows. */
export interface Verdict {
  passed: boolean;
  /** e.g. "PASSED: 2,000 of 2,000 requests, 3 thresholds met" or "FAILED: incomplete: d2 lost at 12:00:03 (no heartbeat for 3 s)" */
  reason: string;
}

export interface TestResult extends TestSnapshot {
  status: FinalStatus;
  ended_at: number;
  thresholds: ThresholdResult;
  verdict: Verdict;
  /** participants whose part ended without a final report, and why */
  ending: DriverEnding[];
  /** the comparison with the baseline it was judged against (run --baseline), regression limits included */
  comparison?: Comparison;
}

/** One stored test in a listing (history). */
export interface TestListing {
  test_id: string;
  name?: string;
  /** the .loadtest.json it was run from, relative to the store's workspace */
  source_file?: string;
  test_type: string;
  created_at: number;
  triggered_at?: number;
  ended_at?: number;
  status: TestStatus;
  drivers: number;
  requests_sent?: number;
  errors?: number;
  passed?: boolean;
  /** why the store could not read this test, when its status is `unreadable` */
  error?: string;
}

export type DriverHealth = 'alive' | 'lost' | 'left';

/** A driver as the registry knows it. */
export interface DriverInfo {
  node_id: string;
  node_IP: string;
  health: DriverHealth;
  activity: 'idle' | 'running';
  current_test?: string;
  /** epoch ms of the last register or heartbeat received */
  last_seen: number;
  registered_at?: number;
  agent_version?: string;
  /** the orchestrator the driver says it serves */
  orchestrator?: string;
  /** true when the driver serves another orchestrator: it will ignore our commands */
  foreign: boolean;
  cpu_percent?: number;
  event_loop_lag_ms?: number;
  /** the driver obeys only commands signed with the shared secret */
  signed_commands?: boolean;
  /** commands it refused (unsigned, badly signed, stale, replayed), and the latest with why */
  rejected_commands?: number;
  last_rejection?: string;
  /** set while two agent processes heartbeat under this node_id: what they are, and what to do */
  duplicate?: string;
  /** what it does beyond the spec, from its register and heartbeats (absent: speaks only the spec) */
  features?: AgentFeature[];
}

export function isFinal(status: TestStatus): status is FinalStatus {
  return status === 'complete' || status === 'incomplete' || status === 'stopped';
}
