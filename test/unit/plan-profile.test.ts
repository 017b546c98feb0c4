// A test_config as one driver plans it: its share of the profile, its slots, and what it refuses.
import assert from 'node:assert/strict';
import { changeOf, controlRefusal } from '../../agents/control-check';
import { profileProblems } from '../../agents/plan-profile';
import { connectionsOf, planFor } from '../../agents/request-plan';
import type { ControlMessage, TestConfigMessage } from '../../protocol/wire-protocol';

const base = { test_id: 't', message_count_per_driver: 1000, target: { url: 'http://127.0.0.1:1/', method: 'GET', timeout_ms: 1000 } };
const tsunami = (extra: Partial<TestConfigMessage> = {}) => ({ ...base, test_type: 'TSUNAMI', test_message_delay: 0.01, ...extra }) as TestConfigMessage;
const avalanche = (extra: Partial<TestConfigMessage> = {}) => ({ ...base, test_type: 'AVALANCHE', test_message_delay: 0, ...extra }) as TestConfigMessage;

describe('a driver’s plan of a test over time', () => {
  it('a flat TSUNAMI by count keeps its schedule: request k due at k × interval, with no end but the count', () => {
    const plan = planFor(tsunami(), 'http://x/', {});
    assert.equal(plan.open, true);
    for (const k of [0, 1, 7, 999]) assert.ok(Math.abs(plan.profile!.dueAt(k) - k * 10) < 1e-9);
    assert.equal(plan.profile!.endMs, Infinity);
  });

  it('TSUNAMI stages: the driver’s share of the total rate, paced by the profile whatever test_message_delay and target_throughput say', () => {
    const config = tsunami({ test_message_delay: 0, target_throughput: 1, driver_ids: ['d1', 'd2'], stages: [{ duration_s: 10, target_rate: 2000 }], start_rate: 200, duration_s: 10 });
    const plan = planFor(config, 'http://x/', {}, 'd2');
    assert.equal(plan.open, true);
    assert.equal(plan.intervalMs, 0, 'no spec pacing');
    assert.equal(plan.profile!.valueAt(0), 100);
    assert.equal(plan.profile!.valueAt(10_000), 1000);
    assert.equal(plan.profile!.plannedRequests, 5500);
  });

  it('AVALANCHE stages: slots for this driver’s share of the peak, split by its place in driver_ids', () => {
    const config = avalanche({ driver_ids: ['d1', 'd2'], stages: [{ duration_s: 1, target_concurrency: 9 }, { duration_s: 1, target_concurrency: 3 }], duration_s: 2 });
    assert.equal(planFor(config, 'http://x/', {}, 'd1').maxInFlight, 5);
    assert.equal(planFor(config, 'http://x/', {}, 'd2').maxInFlight, 4);
    assert.equal(planFor(avalanche({ concurrency: 3, driver_ids: ['d1', 'd2'] }), 'http://x/', {}, 'd2').maxInFlight, 3, 'a flat test’s concurrency is per driver, as the spec says');
    assert.equal(planFor(avalanche({ concurrency: 3, duration_s: 5 }), 'http://x/', {}).profile!.endMs, 5000);
  });

  it('HTTP/2 streams: the requests in flight stay the model’s, the connections they need fewer', () => {
    const https = { target: { url: 'https://127.0.0.1:8443/', method: 'GET', timeout_ms: 1000 }, http2: true };
    const closed = planFor(avalanche({ ...https, concurrency: 25 }), 'http://x/', {});
    assert.deepEqual([closed.maxInFlight, closed.maxStreams, connectionsOf(closed)], [25, 10, 3], 'AVALANCHE: concurrency in flight on ceil(25 / 10) connections (the default max_streams)');
    const open = planFor(tsunami({ ...https, max_connections: 4, max_streams: 5 }), 'http://x/', {});
    assert.deepEqual([open.maxInFlight, open.maxStreams, connectionsOf(open)], [20, 5, 4], 'TSUNAMI: max_connections × max_streams in flight');
    assert.equal(planFor(avalanche({ max_streams: 5, http2: true }), 'http://x/', {}).maxStreams, 1, 'plain http: no HTTP/2, one request per connection');
    assert.equal(planFor(avalanche({ ...https, http2: false, max_streams: 5 }), 'http://x/', {}).maxStreams, 1);
  });

  it('refuses a profile it cannot run, naming the field', () => {
    assert.deepEqual(profileProblems(tsunami({ test_message_delay: 0, duration_s: 10 })), ['duration_s: a TSUNAMI test by duration needs a rate (test_message_delay above 0, or stages)']);
    assert.deepEqual(profileProblems(avalanche({ stages: [{ duration_s: 1, target_concurrency: 0 }] })), ['stages: no stage of this AVALANCHE test has a target_concurrency above 0, so it would send nothing']);
    assert.deepEqual(profileProblems(tsunami({ stages: [{ duration_s: 1, target_rate: 10 }], duration_s: 1 })), []);
  });

  it('a live set is a total: a TSUNAMI driver takes its share of the rate, an AVALANCHE driver the total concurrency to split', () => {
    const control = (fields: Partial<ControlMessage>) => ({ test_id: 't', control_id: 'c', phase: 'set 1', action: 'set', ...fields }) as ControlMessage;
    assert.deepEqual(changeOf(tsunami({ driver_ids: ['d1', 'd2', 'd3'] }), control({ rate: 300 }), 'd3'), { action: 'set', value: 100, phase: 'set 1' });
    assert.deepEqual(changeOf(avalanche({ driver_ids: ['d1', 'd2'] }), control({ concurrency: 7 }), 'd1'), { action: 'set', value: 7, phase: 'set 1' });
    assert.equal(controlRefusal(tsunami({ test_message_delay: 0 }), control({ action: 'pause' }), false), 'pause: this TSUNAMI test has no schedule to change (no test_message_delay and no stages)');
    assert.equal(controlRefusal(tsunami(), control({ action: 'pause' }), true), undefined, 'a pause needs no value');
  });
});
