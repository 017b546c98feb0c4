// The one pacing rule on the orchestrator's side: what a test asks of its drivers over time. From
// a definition and the picked drivers it makes the test_config's fields (each driver's share as
// the contract says); from a test_config it tells the planned length, the planned requests, the
// planned total at any second (for the charts and the per-stage figures), the completeness
// tolerance, and the deadline and the schedule warnings read it. Every figure is computed with
// protocol/load-profile.ts, the rule the agents pace their requests by, so the two sides agree.
import { LoadProfile } from '../../protocol/load-profile';
import { MAX_MESSAGE_COUNT } from '../../protocol/test-config-limits';
import { DEFAULT_CONCURRENCY, type TestConfigMessage } from '../../protocol/wire-protocol';
import type { LoadTestDefinition } from '../loadtest-definition';

/** How a test's length is given: a request count (the spec's), a duration, or stages. */
export type PlanKind = 'count' | 'duration' | 'stages';

/** The smallest tolerance on a send window: timers, the first request's connection, report timing. */
export const MIN_TOLERANCE_MS = 1000;

export function planKindOf(source: Pick<TestConfigMessage, 'duration_s' | 'stages'>): PlanKind {
  if (source.stages?.length) return 'stages';
  return source.duration_s !== undefined ? 'duration' : 'count';
}

/** The test_config fields that follow from the plan: its length and each driver's share of it. */
export type PlanFields = Pick<TestConfigMessage, 'message_count_per_driver' | 'test_message_delay' | 'duration_s' | 'stages' | 'start_rate' | 'start_concurrency'>;

/**
 * The fields of the test_config for `drivers` drivers. A flat TSUNAMI test by duration goes as a
 * count (its rate × its duration) plus duration_s, so a driver that speaks only the spec runs it;
 * TSUNAMI stages go with each driver's planned count as a bound and the delay that spreads it over
 * the duration (only spec readers use it: ours pace by the stages); AVALANCHE by time sends the
 * largest count as a bound and ends when the time is up.
 */
export function planFields(definition: LoadTestDefinition, drivers: number): PlanFields {
  const n = Math.max(1, drivers);
  const delay = definition.test_type === 'TSUNAMI' ? definition.test_message_delay! : (definition.test_message_delay ?? 0);
  if (definition.stages?.length) {
    const stages = definition.stages.map((s) => (definition.test_type === 'TSUNAMI' ? { duration_s: s.duration_s, target_rate: s.target_rate } : { duration_s: s.duration_s, target_concurrency: s.target_concurrency }));
    const duration_s = stages.reduce((sum, s) => sum + s.duration_s, 0);
    if (definition.test_type === 'TSUNAMI') {
      const perDriver = Math.max(1, totalProfile({ test_type: 'TSUNAMI', stages, start_rate: definition.start_rate, test_message_delay: 0 })!.scaled(1 / n).plannedRequests);
      return { message_count_per_driver: perDriver, test_message_delay: duration_s / perDriver, duration_s, stages, start_rate: definition.start_rate ?? 0 };
    }
    return { message_count_per_driver: MAX_MESSAGE_COUNT, test_message_delay: delay, duration_s, stages, start_concurrency: definition.start_concurrency ?? 0 };
  }
  if (definition.duration_s !== undefined) {
    if (definition.test_type === 'TSUNAMI') {
      const count = LoadProfile.constant(1 / delay, definition.duration_s * 1000).plannedRequests;
      return { message_count_per_driver: Math.max(1, count), test_message_delay: delay, duration_s: definition.duration_s };
    }
    return { message_count_per_driver: MAX_MESSAGE_COUNT, test_message_delay: delay, duration_s: definition.duration_s };
  }
  return { message_count_per_driver: definition.message_count_per_driver!, test_message_delay: delay };
}

/** The drivers a config's totals are split over (driver_ids, or 1 when absent), as the agents count them. */
export function driverCount(config: Pick<TestConfigMessage, 'driver_ids'>): number {
  return Math.max(1, config.driver_ids?.length ?? 1);
}

type ProfileSource = Pick<TestConfigMessage, 'test_type' | 'test_message_delay' | 'duration_s' | 'stages' | 'start_rate' | 'start_concurrency' | 'concurrency' | 'driver_ids'>;

/**
 * The test's load over time, totals over all drivers: requests per second (TSUNAMI) or requests in
 * flight (AVALANCHE). Undefined for a test by count, whose length follows from its drivers' pace.
 */
export function totalProfile(config: ProfileSource): LoadProfile | undefined {
  const n = driverCount(config);
  if (config.stages?.length) {
    if (config.test_type === 'TSUNAMI') return LoadProfile.fromStages(config.stages, config.start_rate ?? 0, (s) => s.target_rate ?? 0);
    return LoadProfile.fromStages(config.stages, config.start_concurrency ?? 0, (s) => s.target_concurrency ?? 0);
  }
  if (config.duration_s === undefined) return undefined;
  const endMs = config.duration_s * 1000;
  if (config.test_type === 'TSUNAMI') return LoadProfile.constant(config.test_message_delay > 0 ? n / config.test_message_delay : 0, endMs);
  return LoadProfile.constant(n * (config.concurrency ?? DEFAULT_CONCURRENCY), endMs);
}

/** What the orchestrator plans for a test: read by the run, its deadline, its warnings and its result. */
export interface TestPlan {
  kind: PlanKind;
  /** the load over time (totals); undefined for a test by count */
  profile: LoadProfile | undefined;
  /** the measured part's planned length, pauses excluded (ms); undefined for a test by count */
  plannedMs: number | undefined;
  /** requests all drivers send by the plan; undefined where the plan counts none (AVALANCHE by time) */
  plannedRequests: number | undefined;
  /** how far short of the planned length a driver's send window may end and still be whole (ms) */
  toleranceMs: number;
  /** each driver's share: its planned requests (open model) and its rate or concurrency at the start */
  shares: DriverShare[];
}

export interface DriverShare {
  node_id: string;
  requests: number | undefined;
  /** its share of the total at the plan's start */
  value: number;
}

export function planOf(config: TestConfigMessage & ProfileSource, participants: readonly string[] = config.driver_ids ?? []): TestPlan {
  const kind = planKindOf(config);
  const profile = totalProfile(config);
  const ids = config.driver_ids?.length ? config.driver_ids : participants;
  const n = Math.max(1, ids.length);
  if (kind === 'count' || !profile) {
    return {
      kind,
      profile: undefined,
      plannedMs: undefined,
      plannedRequests: Math.max(1, participants.length) * config.message_count_per_driver,
      toleranceMs: MIN_TOLERANCE_MS,
      shares: ids.map((node_id) => ({ node_id, requests: config.message_count_per_driver, value: config.test_type === 'TSUNAMI' ? (config.test_message_delay > 0 ? 1 / config.test_message_delay : 0) : (config.concurrency ?? DEFAULT_CONCURRENCY) })),
    };
  }
  const open = config.test_type === 'TSUNAMI';
  const perDriver = open ? profile.scaled(1 / n).plannedRequests : undefined;
  return {
    kind,
    profile,
    plannedMs: profile.plannedMs,
    plannedRequests: open ? openPlannedRequests(profile, n) : undefined,
    toleranceMs: open ? openTolerance(profile.scaled(1 / n)) : MIN_TOLERANCE_MS,
    shares: ids.map((node_id, i) => ({ node_id, requests: perDriver, value: shareAt(profile, config.test_type, 0, i, n) })),
  };
}

/**
 * The requests an open model's plan asks of `drivers` drivers: each driver's share of the total,
 * counted as the driver counts it, times the drivers. A paused plan is counted as if resumed at
 * once: a pause moves the rest of the plan, it takes none of it away.
 */
export function openPlannedRequests(profile: LoadProfile, drivers: number): number {
  const whole = profile.paused ? profile.apply({ action: 'resume' }, profile.segments[profile.segments.length - 1].startMs) : profile;
  const n = Math.max(1, drivers);
  return whole.scaled(1 / n).plannedRequests * n;
}

/** A driver's share of the total at `ms`: the rate divided evenly, the concurrency split whole (as the agents split it). */
export function shareAt(profile: LoadProfile, testType: TestConfigMessage['test_type'], ms: number, index: number, of: number): number {
  const total = profile.valueAt(ms);
  if (testType === 'TSUNAMI') return total / of;
  const whole = Math.round(total);
  return Math.floor(whole / of) + (index < whole % of ? 1 : 0);
}

/**
 * The last planned gap between a driver's requests, at least MIN_TOLERANCE_MS: its last request is
 * due that long before the plan ends at most, so its send window can be that much shorter.
 */
function openTolerance(share: LoadProfile): number {
  const count = share.plannedRequests;
  if (!Number.isFinite(count) || count < 1) return MIN_TOLERANCE_MS;
  const last = share.dueAt(count - 1);
  const before = count >= 2 ? share.dueAt(count - 2) : 0;
  return Math.max(MIN_TOLERANCE_MS, last - before, share.endMs - last);
}

/** The planned total (req/s, or requests in flight) at `ms` on the test's clock; null before the start or without a profile. */
export function plannedValueAt(profile: LoadProfile | undefined, ms: number): number | null {
  if (!profile || ms < 0) return null;
  if (ms >= profile.endMs) return 0;
  return profile.valueAt(ms);
}

/** The average planned total over [fromMs, toMs) on the test's clock: the integral over the window ÷ its length. */
export function plannedAverage(profile: LoadProfile | undefined, fromMs: number, toMs: number): number | null {
  if (!profile || !(toMs > fromMs)) return null;
  const from = Math.max(0, fromMs);
  const to = Math.min(toMs, Number.isFinite(profile.endMs) ? profile.endMs : toMs);
  if (!(to > from)) return 0;
  return ((profile.cumulativeAt(to) - profile.cumulativeAt(from)) * 1000) / (toMs - fromMs);
}

/**
 * The spacing of one driver's requests the schedule warnings judge lateness against (ms): the
 * config's own for a flat test, the tightest of the plan for stages (their peak rate).
 */
export function scheduleIntervalMs(config: TestConfigMessage): number {
  const capMs = config.target_throughput ? 1000 / config.target_throughput : 0;
  if (config.test_type === 'TSUNAMI' && config.stages?.length) {
    const peak = Math.max(config.start_rate ?? 0, ...config.stages.map((s) => s.target_rate ?? 0)) / driverCount(config);
    return Math.max(peak > 0 ? 1000 / peak : 0, capMs);
  }
  return Math.max(config.test_type === 'TSUNAMI' ? config.test_message_delay * 1000 : 0, capMs);
}

/** How long the warm-up takes at the least (ms): its requests at the plan's average pace; a closed model's is not paced. */
export function warmUpAllowanceMs(config: TestConfigMessage, plan: TestPlan): number {
  const warmUp = config.warm_up_count_per_driver ?? 0;
  if (!warmUp) return 0;
  if (config.test_type === 'TSUNAMI' && plan.plannedRequests && plan.plannedMs) {
    const perDriver = plan.plannedRequests / Math.max(1, plan.shares.length);
    return Math.ceil((warmUp * plan.plannedMs) / Math.max(1, perDriver));
  }
  // A closed model's warm-up goes as fast as its target answers: allow a slow one 10 ms a request.
  return warmUp * 10;
}
