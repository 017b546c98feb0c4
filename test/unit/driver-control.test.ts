import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DriverAgent } from '../../agents/driver-agent';
import { createLogger } from '../../common/logger';
import { signCommand } from '../../protocol/command-signature';
import { AGENT_FEATURES, topicNames, type MetricsMessage, type PhaseCounts } from '../../protocol/wire-protocol';
import { FakeBus } from '../support/fake-bus';
import { FakeClock } from '../support/fake-clock';

const TOPICS = topicNames('');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('a driver agent under stages and live control (fake bus and clock, real HTTP target)', () => {
  let server: Server;
  let targetUrl: string;
  let answerDelayMs: number;
  let clock: FakeClock;
  let bus: FakeBus;
  let agent: DriverAgent;
  const SECRET = 'a-shared-secret-of-some-length';

  before(async () => {
    server = createServer((_req, res) => setTimeout(() => res.end('ok'), answerDelayMs));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    targetUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ping`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const startAgent = async (secret?: string) => {
    agent = new DriverAgent({ bus, topics: TOPICS, nodeId: 'd1', nodeIp: '10.0.0.1', orchestrator: 'orch', defaultTarget: targetUrl, secret, logger: createLogger('agent', 'error', () => {}), version: 'test', clock });
    await agent.start();
  };
  beforeEach(() => {
    answerDelayMs = 0;
    clock = new FakeClock();
    bus = new FakeBus(() => clock.now());
  });
  afterEach(async () => {
    await agent.shutdown();
    server.closeAllConnections();
  });

  const tsunami = (testId: string, extra: Record<string, unknown> = {}) => ({ test_id: testId, test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 40, orchestrator: 'orch', driver_ids: ['d1', 'd2'], target: { url: targetUrl }, ...extra });
  const avalanche = (testId: string, extra: Record<string, unknown> = {}) => ({ test_id: testId, test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 10, concurrency: 1, orchestrator: 'orch', target: { url: targetUrl }, ...extra });
  const run = async (config: Record<string, unknown>) => {
    await bus.deliver(TOPICS.test_config, config);
    await bus.deliver(TOPICS.trigger, { test_id: config.test_id, trigger: 'YES', orchestrator: 'orch' });
  };
  const control = (testId: string, id: string, fields: Record<string, unknown>) => bus.deliver(TOPICS.control, { test_id: testId, control_id: id, orchestrator: 'orch', ...fields });
  const reports = (testId: string) => bus.sent(TOPICS.metrics).filter((m) => m.test_id === testId) as unknown as MetricsMessage[];
  const finalReport = (testId: string) => reports(testId).find((m) => m.test_status === 'complete');
  const phasesOf = (m: MetricsMessage) => Object.fromEntries((m.phases ?? []).map((p) => [p.phase, p])) as Record<string, PhaseCounts>;

  it('announces duration, stages, control and scenario in its register and heartbeats', async () => {
    await startAgent();
    assert.deepEqual(bus.sent(TOPICS.register)[0].features, [...AGENT_FEATURES]);
    assert.deepEqual(bus.sent(TOPICS.heartbeat).at(-1)!.features, ['duration', 'stages', 'control', 'scenario']);
  });

  it('pauses and resumes a running test: the answers, the phases and the time paused are in its reports', async () => {
    await startAgent();
    // 50/s on this driver: the total of 100/s over two drivers.
    await run(tsunami('paced', { test_message_delay: 0.02, message_count_per_driver: 30 }));
    await sleep(150);
    await control('paced', 'c1', { action: 'pause', phase: 'pause 1' });
    await sleep(300);
    await control('paced', 'c2', { action: 'resume', phase: 'resume 1' });
    await eventually(() => finalReport('paced') !== undefined, 'the final report', 5000);
    const final = finalReport('paced')!;
    assert.equal(final.requests_sent, 30, 'the whole count, after the pause');
    assert.equal(typeof final.controls!.c1.applied_at, 'number');
    assert.ok(final.controls!.c2.applied_at! - final.controls!.c1.applied_at! >= 280, 'applied in order, the pause between');
    assert.ok(final.paused_ms! >= 280 && final.paused_ms! < 450, `paused ${final.paused_ms} ms`);
    const phases = phasesOf(final);
    assert.deepEqual(Object.keys(phases), ['main', 'pause 1', 'resume 1']);
    assert.equal(phases['pause 1'].requests_sent, 0);
    assert.equal(phases.main.requests_sent + phases['resume 1'].requests_sent, 30);
    assert.ok(Object.values(phases).every((p) => p.settled));
  });

  it('sets a TSUNAMI test’s rate by its share of the total', async () => {
    await startAgent();
    await run(tsunami('set', { test_message_delay: 0.1, message_count_per_driver: 1000, duration_s: 1 }));
    await sleep(100);
    // 400/s over the two drivers: 200/s here from now on.
    await control('set', 's1', { action: 'set', rate: 400, phase: 'set 1' });
    await eventually(() => finalReport('set') !== undefined, 'the final report', 5000);
    const final = finalReport('set')!;
    const phases = phasesOf(final);
    assert.ok(phases['set 1'].requests_sent >= 160 && phases['set 1'].requests_sent <= 185, `${phases['set 1'].requests_sent} sent at 200/s for the rest of the second`);
    assert.equal(typeof final.controls!.s1.applied_at, 'number');
  });

  it('refuses a set of the wrong kind or beyond the limits, naming the field', async () => {
    await startAgent();
    answerDelayMs = 60;
    await run(avalanche('closed'));
    await control('closed', 'r1', { action: 'set', rate: 100, phase: 'set 1' });
    await control('closed', 'r2', { action: 'set', concurrency: 20_001, phase: 'set 2' });
    await control('closed', 'ok', { action: 'set', concurrency: 2, phase: 'set 3' });
    await eventually(() => finalReport('closed') !== undefined, 'the final report', 5000);
    const controls = finalReport('closed')!.controls!;
    assert.match(controls.r1.refused!, /^rate: an AVALANCHE test \(a closed model\) is set by its concurrency/);
    assert.equal(controls.r2.refused, 'concurrency: 20,001 is above the limit of 10,000 (10,000 per driver)');
    assert.equal(typeof controls.ok.applied_at, 'number');
    await run(tsunami('open', { test_message_delay: 0.05, message_count_per_driver: 6 }));
    await control('open', 'r3', { action: 'set', concurrency: 4, phase: 'set 1' });
    await control('open', 'r4', { action: 'set', rate: 2e7, phase: 'set 2' });
    await eventually(() => finalReport('open') !== undefined, 'the final report', 5000);
    const open = finalReport('open')!.controls!;
    assert.match(open.r3.refused!, /^concurrency: a TSUNAMI test \(an open model\) is set by its rate/);
    assert.equal(open.r4.refused, 'rate: 20,000,000/s is above the limit of 10,000,000/s');
  });

  it('ignores a control for another test, or when no test runs', async () => {
    await startAgent();
    await control('nothing', 'x0', { action: 'pause', phase: 'pause 1' });
    answerDelayMs = 30;
    await run(avalanche('mine'));
    await control('theirs', 'x1', { action: 'pause', phase: 'pause 1' });
    await eventually(() => finalReport('mine') !== undefined, 'the final report', 5000);
    assert.equal(finalReport('mine')!.controls, undefined);
    assert.equal(finalReport('mine')!.requests_sent, 10, 'not paused');
  });

  it('with a shared secret, an unsigned control is refused as a stop is; a signed one is obeyed', async () => {
    await startAgent(SECRET);
    answerDelayMs = 30;
    const config = JSON.stringify(avalanche('fenced', { message_count_per_driver: 20 }));
    await bus.deliver(TOPICS.test_config, signCommand('test_config', config, SECRET, clock.now()));
    await bus.deliver(TOPICS.trigger, signCommand('trigger', JSON.stringify({ test_id: 'fenced', trigger: 'YES', orchestrator: 'orch' }), SECRET, clock.now()));
    await bus.deliver(TOPICS.control, JSON.stringify({ test_id: 'fenced', control_id: 'forged', action: 'pause', phase: 'pause 1', orchestrator: 'orch' }));
    const signed = JSON.stringify({ test_id: 'fenced', control_id: 'real', action: 'set', concurrency: 2, phase: 'set 1', orchestrator: 'orch' });
    await bus.deliver(TOPICS.control, signCommand('control', signed, SECRET, clock.now()));
    await eventually(() => finalReport('fenced') !== undefined, 'the final report', 5000);
    const final = finalReport('fenced')!;
    assert.equal(final.controls!.forged, undefined, 'the unsigned pause was not obeyed');
    assert.equal(typeof final.controls!.real.applied_at, 'number');
    await eventually(() => bus.sent(TOPICS.heartbeat).some((h) => h.last_rejection === 'control for fenced: unsigned'), 'a heartbeat naming the refusal');
  });

  it('reports each stage, a settled one only once until the final report carries all', async () => {
    await startAgent();
    await run(tsunami('staged', { message_count_per_driver: 1000, stages: [{ duration_s: 0.3, target_rate: 100 }, { duration_s: 0.9, target_rate: 100 }], duration_s: 1.2 }));
    for (let i = 0; i < 12; i++) {
      await sleep(120);
      clock.advance(1000);
    }
    await eventually(() => finalReport('staged') !== undefined, 'the final report', 5000);
    const running = reports('staged').filter((m) => m.test_status === 'running');
    const settledStage1 = running.filter((m) => phasesOf(m)['stage 1']?.settled);
    assert.equal(settledStage1.length, 1, 'stage 1 is reported settled once');
    const last = running.at(-1)!;
    assert.ok(phasesOf(last)['stage 1'] === undefined || phasesOf(last)['stage 1'].settled, 'after that, a running report leaves it out');
    const final = finalReport('staged')!;
    const phases = phasesOf(final);
    // Stage 1 ramps 0 → 50/s here (half the total) over 0.3 s, stage 2 holds 50/s for 0.9 s.
    assert.equal(phases['stage 1'].requests_sent, 8);
    assert.equal(phases['stage 2'].requests_sent, 45);
    assert.equal(final.requests_sent, 53);
    assert.equal(final.paused_ms, 0);
  });

  it('a control that arrives during the warm-up takes effect at the measured start', async () => {
    await startAgent();
    answerDelayMs = 20;
    await run(tsunami('warm', { test_message_delay: 0.01, message_count_per_driver: 20, warm_up_count_per_driver: 10, max_connections: 1 }));
    await control('warm', 'early', { action: 'set', rate: 100, phase: 'set 1' });
    await eventually(() => finalReport('warm') !== undefined, 'the final report', 5000);
    const final = finalReport('warm')!;
    assert.deepEqual(final.warm_up, { requests_sent: 10, responses: 10, errors: 0, done: true });
    assert.deepEqual((final.phases ?? []).map((p) => p.phase), ['set 1'], 'the measured part ran at the set rate from its start');
    assert.equal(final.phases![0].requests_sent, 20);
    assert.ok(Math.abs(final.controls!.early.applied_at! - final.phases![0].started_at) <= 1, 'applied at the measured start');
  });

  it('refuses a test_config whose profile it cannot run, naming the field', async () => {
    await startAgent();
    await run(tsunami('norate', { test_message_delay: 0, duration_s: 10 }));
    await eventually(() => finalReport('norate') !== undefined, 'the refusal');
    const refusal = finalReport('norate')!;
    assert.deepEqual(refusal.errors, { invalid_config: 1 });
    assert.match(String(refusal.error_detail), /duration_s: a TSUNAMI test by duration needs a rate/);
  });
});
