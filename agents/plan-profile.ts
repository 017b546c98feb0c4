// A test's load over time as one driver runs it (protocol/load-profile.ts holds the rule): the
// open model's profile is the driver's share of the total rate, so its dueAt(j) is when the
// driver's request j is due; the closed model's is the TOTAL concurrency, split by splitWhole at
// each moment (by driver, then by worker thread), so the shares add up to the total at every
// moment of a ramp, not only on average.
import { LoadProfile, splitWhole, type Stage } from '../protocol/load-profile';
import { MAX_CONCURRENCY } from '../protocol/test-config-limits';
import type { TestConfigMessage } from '../protocol/wire-protocol';

/** This driver's place among the test's drivers (driver_ids; one driver when absent). */
export interface DriverShare {
  index: number;
  of: number;
}

export function driverShareOf(config: Pick<TestConfigMessage, 'driver_ids'>, driver: string): DriverShare {
  const ids = config.driver_ids ?? [];
  const index = ids.indexOf(driver);
  return { index: Math.max(0, index), of: Math.max(1, ids.length) };
}

/**
 * The driver's profile of an open test: requests per second of its share over time, from the
 * stages, or flat at `driverRate` for `duration_s` (or until the count, without one).
 */
export function openProfileFor(config: TestConfigMessage, share: DriverShare, driverRate: number): LoadProfile {
  if (config.stages) return LoadProfile.fromStages(config.stages, config.start_rate ?? 0, (s: Stage) => s.target_rate ?? 0).scaled(1 / share.of);
  return LoadProfile.constant(driverRate, durationMs(config));
}

/** The TOTAL concurrency of a closed test over time; a flat one holds this driver's `concurrency` on each driver. */
export function closedProfileFor(config: TestConfigMessage, share: DriverShare, driverConcurrency: number): LoadProfile {
  if (config.stages) return LoadProfile.fromStages(config.stages, config.start_concurrency ?? 0, (s: Stage) => s.target_concurrency ?? 0);
  return LoadProfile.constant(driverConcurrency * share.of, durationMs(config));
}

function durationMs(config: TestConfigMessage): number {
  return config.duration_s !== undefined ? config.duration_s * 1000 : Infinity;
}

/** The highest value a profile reaches, including the plan a pause holds. */
export function peakOf(profile: LoadProfile): number {
  return Math.max(0, ...[...profile.segments, ...(profile.suspended ?? [])].map((s) => Math.max(s.from, s.to)));
}

/** A worker's (or, with one worker, the driver's) in-flight limit at a total concurrency. */
export function concurrencyShare(total: number, driver: DriverShare, worker: DriverShare): number {
  return splitWhole(splitWhole(total, driver.index, driver.of), worker.index, worker.of);
}

/** Slots and connections a closed test holds: its share of the profile's peak, within MAX_CONCURRENCY, at least one. */
export function closedCapacity(profile: LoadProfile, driver: DriverShare, worker: DriverShare): number {
  return Math.max(1, Math.min(MAX_CONCURRENCY, concurrencyShare(peakOf(profile), driver, worker)));
}

/**
 * What in a test's profile this agent cannot run, one text per field, naming it (the agent
 * refuses such a test_config as it refuses any other it cannot run). Bounds are checked apart
 * (testConfigProblems); this is about shapes that mean nothing to run.
 */
export function profileProblems(config: TestConfigMessage): string[] {
  const problems: string[] = [];
  const byTime = config.duration_s !== undefined || config.stages !== undefined;
  if (config.test_type === 'TSUNAMI' && !config.stages && config.duration_s !== undefined && !(config.test_message_delay > 0) && !(config.target_throughput! > 0)) {
    problems.push('duration_s: a TSUNAMI test by duration needs a rate (test_message_delay above 0, or stages)');
  }
  if (config.test_type === 'AVALANCHE' && config.stages && config.stages.every((s) => !(s.target_concurrency! > 0)) && !(config.start_concurrency! > 0)) {
    problems.push('stages: no stage of this AVALANCHE test has a target_concurrency above 0, so it would send nothing');
  }
  if (config.test_type === 'TSUNAMI' && config.stages && config.stages.every((s) => !(s.target_rate! > 0)) && !(config.start_rate! > 0)) {
    problems.push('stages: no stage of this TSUNAMI test has a target_rate above 0, so it would send nothing');
  }
  if (byTime && !(config.message_count_per_driver >= 1)) problems.push('message_count_per_driver: a test by duration still needs a bound of at least 1');
  return problems;
}
