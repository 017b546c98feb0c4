import assert from 'node:assert/strict';
import type { LoadTestDefinition } from '../../orchestrator/loadtest-definition';
import { toTestConfig } from '../../orchestrator/loadtest-definition';
import { planFields, plannedAverage, plannedValueAt, planOf, scheduleIntervalMs, shareAt } from '../../orchestrator/stages/test-plan';
import { deadlineAfterTriggerMs } from '../../orchestrator/test-deadline';
import { MAX_MESSAGE_COUNT } from '../../protocol/test-config-limits';

const TARGET = 'http://127.0.0.1:1/ping';
const sender = { id: 'orch', names: ['orch'] };
const config = (definition: LoadTestDefinition, drivers: string[]) => toTestConfig(definition, 't', sender, drivers);

describe('the test plan (one pacing rule on the orchestrator side)', () => {
  describe("each driver's share in the test_config", () => {
    it('a flat TSUNAMI test by duration goes as a count (rate × duration per driver) plus duration_s', () => {
      const fields = planFields({ test_type: 'TSUNAMI', test_message_delay: 0.01, duration_s: 30, target: TARGET }, 3);
      assert.deepEqual(fields, { message_count_per_driver: 3000, test_message_delay: 0.01, duration_s: 30 });
    });

    it('TSUNAMI stages: each driver gets its planned count as a bound and the delay that spreads it over the duration', () => {
      // 0 → 1,000/s over 10 s (5,000 requests), then 1,000/s for 10 s (10,000): 15,000 over 2 drivers.
      const fields = planFields({ test_type: 'TSUNAMI', stages: [{ duration_s: 10, target_rate: 1000 }, { duration_s: 10, target_rate: 1000 }], target: TARGET }, 2);
      assert.equal(fields.message_count_per_driver, 7500);
      assert.equal(fields.duration_s, 20);
      assert.equal(fields.start_rate, 0);
      assert.ok(Math.abs(fields.test_message_delay - 20 / 7500) < 1e-12);
      assert.deepEqual(fields.stages, [{ duration_s: 10, target_rate: 1000 }, { duration_s: 10, target_rate: 1000 }]);
    });

    it('AVALANCHE by duration or stages sends the largest count as a bound only', () => {
      assert.equal(planFields({ test_type: 'AVALANCHE', duration_s: 60, target: TARGET }, 2).message_count_per_driver, MAX_MESSAGE_COUNT);
      const staged = planFields({ test_type: 'AVALANCHE', stages: [{ duration_s: 5, target_concurrency: 9 }], start_concurrency: 3, target: TARGET }, 2);
      assert.equal(staged.message_count_per_driver, MAX_MESSAGE_COUNT);
      assert.equal(staged.start_concurrency, 3);
      assert.deepEqual(staged.stages, [{ duration_s: 5, target_concurrency: 9 }]);
    });

    it('a test by count is sent as today', () => {
      assert.deepEqual(planFields({ test_type: 'TSUNAMI', test_message_delay: 0.5, message_count_per_driver: 40, target: TARGET }, 2), { message_count_per_driver: 40, test_message_delay: 0.5 });
    });

    it('AVALANCHE concurrency is split whole over the drivers in driver_ids order; a rate evenly', () => {
      const avalanche = planOf(config({ test_type: 'AVALANCHE', stages: [{ duration_s: 10, target_concurrency: 10 }], start_concurrency: 10, target: TARGET }, ['a', 'b', 'c']));
      assert.deepEqual(avalanche.shares.map((s) => s.value), [4, 3, 3]);
      const tsunami = planOf(config({ test_type: 'TSUNAMI', stages: [{ duration_s: 10, target_rate: 300 }], start_rate: 300, target: TARGET }, ['a', 'b', 'c']));
      assert.deepEqual(tsunami.shares.map((s) => s.value), [100, 100, 100]);
      assert.equal(shareAt(avalanche.profile!, 'AVALANCHE', 0, 0, 3) + shareAt(avalanche.profile!, 'AVALANCHE', 0, 1, 3) + shareAt(avalanche.profile!, 'AVALANCHE', 0, 2, 3), 10);
    });
  });

  describe('planned length and requests', () => {
    it('stages: the sum of their durations, and the integral of the rate over them', () => {
      const plan = planOf(config({ test_type: 'TSUNAMI', stages: [{ duration_s: 10, target_rate: 1000 }, { duration_s: 10, target_rate: 1000 }], target: TARGET }, ['a', 'b']));
      assert.equal(plan.kind, 'stages');
      assert.equal(plan.plannedMs, 20_000);
      assert.equal(plan.plannedRequests, 15_000);
    });

    it('a closed model by time plans no request count', () => {
      const plan = planOf(config({ test_type: 'AVALANCHE', duration_s: 30, concurrency: 8, target: TARGET }, ['a', 'b']));
      assert.equal(plan.plannedMs, 30_000);
      assert.equal(plan.plannedRequests, undefined);
      assert.equal(plan.profile!.valueAt(1000), 16, 'the total in flight: 8 per driver over 2');
    });

    it('a test by count has no profile, and its deadline is computed as before', () => {
      const c = config({ test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 100, target: TARGET }, ['a']);
      assert.equal(planOf(c).profile, undefined);
      assert.equal(deadlineAfterTriggerMs(c), 2 * 1000 + 10_000 + 15_000);
    });

    it('the deadline of a test by time is its length, the warm-up, the request timeout and 15 s', () => {
      const c = config({ test_type: 'TSUNAMI', test_message_delay: 0.01, duration_s: 60, warm_up_count_per_driver: 100, target: { url: TARGET, timeout_ms: 2000 } }, ['a']);
      assert.equal(deadlineAfterTriggerMs(c), 60_000 + 1000 + 2000 + 15_000);
    });
  });

  describe('the completeness tolerance', () => {
    it('is at least 1 s', () => {
      const plan = planOf(config({ test_type: 'TSUNAMI', test_message_delay: 0.01, duration_s: 10, target: TARGET }, ['a']));
      assert.equal(plan.toleranceMs, 1000);
    });

    it('is the last planned gap between requests when that is longer', () => {
      // One request every 4 s per driver: the last of 10 s is due at 8 s, 4 s after the one before.
      const plan = planOf(config({ test_type: 'TSUNAMI', test_message_delay: 4, duration_s: 10, target: TARGET }, ['a']));
      assert.equal(plan.toleranceMs, 4000);
      // A ramp down to a trickle: the last requests are far apart.
      const down = planOf(config({ test_type: 'TSUNAMI', stages: [{ duration_s: 10, target_rate: 0 }], start_rate: 2, target: TARGET }, ['a']));
      assert.ok(down.toleranceMs > 1000, `tolerance ${down.toleranceMs}`);
    });
  });

  describe('the planned total at a moment, for the charts and the stage windows', () => {
    const plan = planOf(config({ test_type: 'TSUNAMI', stages: [{ duration_s: 10, target_rate: 1000 }, { duration_s: 10, target_rate: 1000 }], target: TARGET }, ['a', 'b']));

    it('follows the ramp, holds the plateau, and is 0 after the end', () => {
      assert.equal(plannedValueAt(plan.profile, 5000), 500);
      assert.equal(plannedValueAt(plan.profile, 15_000), 1000);
      assert.equal(plannedValueAt(plan.profile, 25_000), 0);
      assert.equal(plannedValueAt(plan.profile, -1), null);
    });

    it('averages over a window by the integral', () => {
      assert.equal(plannedAverage(plan.profile, 0, 10_000), 500);
      assert.equal(plannedAverage(plan.profile, 10_000, 20_000), 1000);
    });

    it('the schedule warnings judge stages against their tightest spacing', () => {
      assert.equal(scheduleIntervalMs(config({ test_type: 'TSUNAMI', stages: [{ duration_s: 10, target_rate: 1000 }], target: TARGET }, ['a', 'b'])), 2);
    });
  });
});
