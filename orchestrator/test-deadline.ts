// When a test must be over, from its plan. A run never waits forever: past its deadline it ends
// `incomplete (timed out)` with what arrived. Where no plan bounds the run (AVALANCHE without a
// cap), a watchdog ends it when no participant has reported for a while.
// A test by duration or stages ends when its time is up: its deadline is that time, the warm-up,
// the last request's timeout and the grace (test-plan.ts tells the time), and a pause extends it.
import type { TestConfigMessage } from '../protocol/wire-protocol';
import { planOf, warmUpAllowanceMs } from './stages/test-plan';

/** The fixed part of every deadline: trigger delivery, connection set-up, the last reports' journey. */
export const DEADLINE_GRACE_MS = 15_000;
/** Without a plan's bound: how long a run may go without any report before it is given up. */
export const STALL_AFTER_MS = 60_000;

/** How long the plan, warm-up included, takes at the least, in milliseconds; undefined when nothing bounds it. */
export function plannedDurationMs(config: TestConfigMessage): number | undefined {
  const count = config.message_count_per_driver + (config.warm_up_count_per_driver ?? 0);
  const delayMs = config.test_type === 'TSUNAMI' ? config.test_message_delay * 1000 : 0;
  const capMs = config.target_throughput ? 1000 / config.target_throughput : 0;
  const spacing = Math.max(delayMs, capMs);
  return spacing > 0 ? count * spacing : undefined;
}

/**
 * Milliseconds from the trigger to the deadline: twice the plan (a loaded target or client may
 * fall behind the schedule without the run being lost), the last request's own timeout, and a
 * grace. Undefined when no plan bounds the run: the watchdog applies instead.
 */
export function deadlineAfterTriggerMs(config: TestConfigMessage): number | undefined {
  const plan = planOf(config);
  if (plan.plannedMs !== undefined) return Math.ceil(plan.plannedMs + warmUpAllowanceMs(config, plan) + (config.target?.timeout_ms ?? 10_000) + DEADLINE_GRACE_MS);
  const planned = plannedDurationMs(config);
  if (planned === undefined) return undefined;
  return Math.ceil(2 * planned + (config.target?.timeout_ms ?? 10_000) + DEADLINE_GRACE_MS);
}
