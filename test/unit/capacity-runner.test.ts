import assert from 'node:assert/strict';
import { resolveCapacityConfig } from '../../orchestrator/capacity/capacity-config';
import { runCapacitySearch, type CapacityPort, type CapacityProgress } from '../../orchestrator/capacity/capacity-runner';
import type { StepFigures } from '../../orchestrator/capacity/capacity-search';

/** A test run that the port drives: its rate, whether it is paused, and every call in order. */
class FakePort implements CapacityPort {
  readonly calls: string[] = [];
  rate = 0;
  paused = false;
  stopped = false;
  /** the rate each settled phase ran at, as the drivers would report it */
  private phaseRate = new Map<string, number>();
  private phase = '';

  constructor(
    private readonly serve: (rate: number) => Partial<StepFigures>,
    private readonly driverCount = 2,
    private readonly hooks: { onSettle?: (phase: string) => Promise<void> | void } = {},
  ) {}

  private enter(phase: string) {
    this.phase = phase;
    if (!this.paused) this.phaseRate.set(phase, this.rate);
  }

  async start(rate: number) {
    this.calls.push(`start ${rate}`);
    this.rate = rate;
    this.enter('step 1');
    return 'cap-1';
  }
  async setRate(testId: string, rate: number, phase: string) {
    this.calls.push(`set ${rate} "${phase}"${this.paused ? ' (paused)' : ''}`);
    this.rate = rate;
    this.phase = phase;
  }
  async pause(testId: string, phase: string) {
    this.calls.push(`pause "${phase}"`);
    this.paused = true;
    this.phase = phase;
  }
  async resume(testId: string, phase: string) {
    this.calls.push(`resume "${phase}"`);
    this.paused = false;
    this.enter(phase);
  }
  async waitForPhaseSettled(testId: string, phase: string): Promise<StepFigures> {
    this.calls.push(`settled "${phase}"`);
    assert.ok(this.paused, 'a step is judged while the test is paused');
    await this.hooks.onSettle?.(phase);
    const rate = this.phaseRate.get(phase)!;
    return { phase, planned_rate: rate, achieved_rate: rate, requests_sent: rate * 5, responses: rate * 5, errors: {}, error_rate: 0, p50_ms: 1, p99_ms: 5, max_ms: 9, ...this.serve(rate) };
  }
  async stop(testId: string) {
    this.calls.push('stop');
    this.stopped = true;
  }
  drivers() {
    return this.driverCount;
  }
}

const config = resolveCapacityConfig({ start_rate: 100, max_rate: 10_000, step_duration_s: 5, growth: 2, refine_steps: 1, slo: { p99_latency_ms: 100 } });
const slowAbove = (limit: number) => (rate: number) => (rate > limit ? { p99_ms: 400 } : {});

describe('the capacity runner (against a fake port)', () => {
  it('runs one test: each step for step_duration_s, paused to judge, the next rate set while paused, then resumed; stopped at the end', async () => {
    const port = new FakePort(slowAbove(300));
    const slept: number[] = [];
    const result = await runCapacitySearch({ config, port, sleep: async (ms) => void slept.push(ms) });
    assert.deepEqual(port.calls, [
      'start 100',
      'pause "judge 1"', 'settled "step 1"', 'set 200 "step 2" (paused)', 'resume "step 2"',
      'pause "judge 2"', 'settled "step 2"', 'set 400 "step 3" (paused)', 'resume "step 3"',
      'pause "judge 3"', 'settled "step 3"', 'set 300 "step 4" (paused)', 'resume "step 4"',
      'pause "judge 4"', 'settled "step 4"',
      'stop',
    ]);
    assert.deepEqual(slept, [5000, 5000, 5000, 5000]);
    assert.equal(result.ended, 'found');
    assert.equal(result.capacity_rps, 300);
    assert.equal(result.per_driver_rps, 150);
    assert.deepEqual(result.first_failure, { rate: 400, limit: 'p99_latency_ms', text: 'p99 400 ms > 100 ms' });
    assert.deepEqual(result.steps.map((s) => [s.phase, s.rate, s.pass]), [['step 1', 100, true], ['step 2', 200, true], ['step 3', 400, false], ['step 4', 300, true]]);
  });

  it('reports progress as each step starts and is judged, and the result at the end', async () => {
    const port = new FakePort(slowAbove(150));
    const events: CapacityProgress[] = [];
    await runCapacitySearch({ config: { ...config, refine_steps: 0 }, port, sleep: async () => {}, onProgress: (p) => events.push(p) });
    assert.deepEqual(events.map((e) => (e.kind === 'step_judged' ? `judged ${e.step.rate} next ${e.next}` : e.kind === 'step_started' ? `started ${e.rate}` : e.kind)), [
      'started',
      'started 100', 'judged 100 next 200',
      'started 200', 'judged 200 next null',
      'ended',
    ]);
  });

  it('stops the test and ends "stopped" with the steps so far when aborted during a step', async () => {
    const port = new FakePort(() => ({}));
    const abort = new AbortController();
    let steps = 0;
    const result = await runCapacitySearch({
      config,
      port,
      signal: abort.signal,
      sleep: async () => {
        if (++steps === 3) abort.abort();
      },
    });
    assert.equal(result.ended, 'stopped');
    assert.equal(result.capacity_rps, null);
    assert.deepEqual(result.steps.map((s) => s.rate), [100, 200]);
    assert.equal(port.calls.at(-1), 'stop');
    assert.ok(!port.calls.includes('pause "judge 3"'), 'no step judged after the stop');
  });

  it('does not wait for a phase to settle once stopped', async () => {
    const abort = new AbortController();
    const port = new FakePort(() => ({}), 1, { onSettle: () => new Promise<void>(() => abort.abort()) }); // never settles
    const result = await runCapacitySearch({ config, port, signal: abort.signal, sleep: async () => {} });
    assert.equal(result.ended, 'stopped');
    assert.deepEqual(port.calls, ['start 100', 'pause "judge 1"', 'settled "step 1"', 'stop']);
  });

  it('stops the test and rejects when the port fails (a phase that never settles)', async () => {
    const port = new FakePort(() => ({}), 1, {
      onSettle: (phase) => {
        if (phase === 'step 2') throw new Error('step 2 did not settle within 60 s');
      },
    });
    await assert.rejects(runCapacitySearch({ config, port, sleep: async () => {} }), /did not settle/);
    assert.equal(port.calls.at(-1), 'stop');
  });

  it('ends on the drivers limit, stopping the test, without a capacity', async () => {
    const port = new FakePort((rate) => (rate >= 400 ? { achieved_rate: 350 } : {}));
    const result = await runCapacitySearch({ config, port, sleep: async () => {} });
    assert.equal(result.ended, 'drivers_limit');
    assert.equal(result.capacity_rps, null);
    assert.equal(result.summary, 'no capacity: the drivers offered at most 350 req/s: add drivers or workers (the SLO held up to 200 req/s)');
    assert.equal(port.calls.at(-1), 'stop');
  });
});
