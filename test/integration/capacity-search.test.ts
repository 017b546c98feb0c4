// The capacity search finds limits that are known: nginx refusing above N requests per second
// (limit_req), an lt-target whose queue grows beyond its capacity, and drivers held back on purpose,
// each through `lt-orchestrator capacity` as a person runs it.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CapacityResult } from '../../orchestrator/capacity/capacity-search';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { runBin, startAgents, startNginxProcess, startTargetProcess, tempDir } from '../support/processes';

async function search(name: string, target: string, capacity: object, extra: object = {}): Promise<{ code: number; out: string; result: CapacityResult }> {
  const kafka = await kafkaBootstrap();
  const prefix = uniquePrefix(name);
  await startAgents(2, name, { kafka, prefix, orchestrator: `test-${name}` });
  const dir = tempDir(name);
  const file = join(dir, 'capacity.loadtest.json');
  writeFileSync(file, JSON.stringify({ name, test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 100, target: { url: target, timeout_ms: 2000 }, capacity, ...extra }));
  const json = join(dir, 'capacity.json');
  const r = await runBin('lt-orchestrator', ['capacity', file, '--drivers', '2', '--json', json], { LT_KAFKA: kafka, LT_TOPIC_PREFIX: prefix, LT_ORCHESTRATOR_ID: `test-${name}`, LT_STORE: join(dir, 'store') });
  const out = r.stdout + r.stderr;
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${out}`);
  return { code: r.code, out, result: JSON.parse(readFileSync(json, 'utf8')) as CapacityResult };
}

describe('capacity search (on real processes)', function () {
  for (const limit of [400, 1000]) {
    it(`nginx refusing above ${limit} req/s: a capacity within 10% of it, the error rate named as the limit that broke`, async () => {
      const nginx = await startNginxProcess({ rateLimit: { rate: limit } });
      const { code, out, result } = await search(`cap-nginx-${limit}`, `${nginx.url}/ping`, { start_rate: limit / 4, max_rate: limit * 4, step_duration_s: 3, growth: 2, refine_steps: 3, slo: { p99_latency_ms: 500, error_rate: 0.01 } });
      assert.equal(code, 0, out);
      assert.ok(result.capacity_rps !== null && Math.abs(result.capacity_rps - limit) <= limit * 0.1, `capacity ${result.capacity_rps} req/s against nginx's ${limit}:\n${out}`);
      assert.equal(result.first_failure?.limit, 'error_rate', out);
      assert.ok(result.first_failure!.rate > result.capacity_rps!, 'the first failure is above the capacity');
      assert.match(out, /capacity/i);
      // The table has every step, the passing ones below the capacity and the failing above.
      for (const s of result.steps) if (!s.drivers_limited) assert.equal(s.pass, s.rate <= result.capacity_rps!, `step ${s.step} at ${s.rate} req/s: ${s.text}`);
    });
  }

  it('an lt-target whose queue grows beyond 600 req/s breaks the p99 limit near it, and the search says it was latency', async () => {
    const target = await startTargetProcess(['--capacity', '600']);
    const { code, out, result } = await search('cap-queue', `${target.url}/ping`, { start_rate: 150, max_rate: 2400, step_duration_s: 3, growth: 2, refine_steps: 3, slo: { p99_latency_ms: 100, error_rate: 0.05 } });
    assert.equal(code, 0, out);
    assert.equal(result.first_failure?.limit, 'p99_latency_ms', out);
    assert.ok(result.capacity_rps !== null && result.capacity_rps >= 600 * 0.75 && result.capacity_rps <= 600 * 1.1, `capacity ${result.capacity_rps} req/s against a queue that forms above 600:\n${out}`);
  });

  it('drivers held back (two connections each to a slow target) end the search with "the drivers offered at most", not a capacity (exit 1)', async () => {
    const target = await startTargetProcess(['--latency', '50']);
    const { code, out, result } = await search('cap-drivers', `${target.url}/ping`, { start_rate: 40, max_rate: 2000, step_duration_s: 3, growth: 2, refine_steps: 2, slo: { p99_latency_ms: 5000, error_rate: 0.01 } }, { max_connections: 2 });
    assert.equal(code, 1, out);
    assert.equal(result.ended, 'drivers_limit', out);
    assert.match(out, /the drivers offered at most [\d,]+ req\/s: add drivers or workers/);
    // Two drivers with two connections each to a 50 ms target offer at most about 80 req/s: no capacity above what passed.
    assert.ok(result.capacity_rps === null, `no capacity is reported: ${result.capacity_rps}`);
    assert.ok((result.drivers_offered_at_most_rps ?? Infinity) < 100, `the drivers offered at most ${result.drivers_offered_at_most_rps}`);
  });
});
