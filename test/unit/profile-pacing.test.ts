import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoadGenerator } from '../../agents/load-generator';
import { shareOfPlan } from '../../agents/plan-share';
import { concurrencyShare } from '../../agents/plan-profile';
import type { RequestPlan } from '../../agents/request-plan';
import { LoadProfile } from '../../protocol/load-profile';
import type { PhaseCounts } from '../../protocol/wire-protocol';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function openPlan(url: string, profile: LoadProfile, fields: Partial<RequestPlan> = {}): RequestPlan {
  return { url: new URL(url), method: 'GET', headers: {}, timeoutMs: 5000, count: 1_000_000, intervalMs: 0, open: true, maxInFlight: 200, profile, ...fields };
}

function closedPlan(url: string, profile: LoadProfile, maxInFlight: number, fields: Partial<RequestPlan> = {}): RequestPlan {
  return { url: new URL(url), method: 'GET', headers: {}, timeoutMs: 5000, count: 1_000_000, intervalMs: 0, open: false, maxInFlight, profile, ...fields };
}

const byPhase = (phases: PhaseCounts[]) => Object.fromEntries(phases.map((p) => [p.phase, p]));

describe('pacing by the load profile (against a local server)', () => {
  let server: Server;
  let url: string;
  let handler: Handler;
  /** performance.now() of each request's arrival */
  let arrivals: number[];
  let open: number;
  beforeEach(async () => {
    arrivals = [];
    open = 0;
    handler = (_req, res) => res.end('ok');
    server = createServer((req, res) => {
      arrivals.push(performance.now());
      open++;
      res.on('finish', () => open--);
      handler(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  describe('an open model through stages', () => {
    // 0 → 100/s over 2 s, then 100/s for 1 s: 25, 75 and 100 requests in its three seconds.
    const ramp = () => LoadProfile.fromStages([{ duration_s: 2, target_rate: 100 }, { duration_s: 1, target_rate: 100 }], 0, (s) => s.target_rate!);

    it('sends per second within one request of the integral of the rate, and ends with the plan', async () => {
      const generator = new LoadGenerator(openPlan(url, ramp()));
      await generator.start();
      const perSecond = [0, 0, 0];
      for (const t of arrivals) perSecond[Math.min(2, Math.floor((t - generator.startedAt) / 1000))]++;
      for (const [second, planned] of [25, 75, 100].entries()) assert.ok(Math.abs(perSecond[second] - planned) <= 1, `second ${second + 1}: ${perSecond[second]} sent, ${planned} planned`);
      assert.equal(generator.recorder.requestsSent, 200, 'every request due strictly before the end, and no more: the count only bounds it');
      assert.ok(generator.elapsedMs >= 2990 && generator.elapsedMs < 3300, `ended with the plan's time: ${Math.round(generator.elapsedMs)} ms`);
    });

    it('counts each request in the phase of its due time: the stages add up to the whole, and all settle', async () => {
      const generator = new LoadGenerator(openPlan(url, ramp()));
      const done = generator.start();
      await sleep(1500);
      const during = byPhase(generator.phases());
      assert.equal(during['stage 1'].settled, false, 'stage 1 still runs');
      assert.equal(during['stage 1'].ended_at, undefined);
      assert.equal(during['stage 2'], undefined, 'stage 2 has not begun');
      await sleep(800);
      const later = byPhase(generator.phases());
      assert.equal(later['stage 1'].settled, true, 'stage 1 ended and every request due in it was answered');
      assert.equal(later['stage 1'].ended_at, later['stage 2'].started_at);
      assert.equal(later['stage 2'].settled, false);
      await done;
      const phases = byPhase(generator.phases());
      // Request j is due where the integral reaches j: 0 … 99 in stage 1 (its integral is 100), 100 … 199 in stage 2.
      assert.equal(phases['stage 1'].requests_sent, 100);
      assert.equal(phases['stage 2'].requests_sent, 100);
      const s = generator.recorder.snapshot();
      assert.equal(phases['stage 1'].responses + phases['stage 2'].responses, s.responses);
      assert.ok(phases['stage 1'].settled && phases['stage 2'].settled);
      assert.ok(phases['stage 1'].histogram && phases['stage 2'].uncorrected_histogram, 'each phase has its latency');
    });

    it('catches up after a stall across a stage boundary at no more than twice the rate of the moment', async () => {
      // 50/s for 500 ms, then 100/s for 500 ms: a 200 ms stall across the boundary.
      const profile = LoadProfile.constant(50, 500, 'stage 1').apply({ action: 'set', value: 100, phase: 'stage 2' }, 500);
      const generator = new LoadGenerator(openPlan(url, LoadProfile.constant(50, 1000, 'stage 1').apply({ action: 'set', value: 100, phase: 'stage 2' }, 500)));
      assert.equal(profile.plannedRequests, 25, 'a set holds to the plan’s end');
      const done = generator.start();
      await sleep(400);
      const end = performance.now() + 200;
      while (performance.now() < end);
      await done;
      // The backlog (about 20 requests) goes out at most at 2 × 100/s in bursts of two: in any
      // 50 ms at most 10 + 2 (a window, not single gaps: the server shares this busy event loop).
      const sent = arrivals.map((t) => t - generator.startedAt).filter((t) => t > 601);
      const most = Math.max(...sent.map((t) => sent.filter((u) => u >= t && u < t + 50).length));
      assert.ok(most <= 12, `${most} sends within 50 ms after the stall: ${sent.map(Math.round).join(' ')}`);
      assert.ok(generator.recorder.corrected.maxValue >= 150_000, 'the late requests are measured from their due times');
      assert.equal(generator.recorder.requestsSent, 75);
      const phases = byPhase(generator.phases());
      assert.equal(phases['stage 1'].requests_sent, 25);
      assert.equal(phases['stage 2'].requests_sent, 50);
    });
  });

  it('worker threads take requests j = m × W + w of the driver: their parts add up to the plan, due at the driver’s times', async () => {
    const profile = LoadProfile.fromStages([{ duration_s: 1, target_rate: 90 }], 0, (s) => s.target_rate!);
    const driver = openPlan(url, profile);
    const workers = [0, 1, 2].map((w) => new LoadGenerator(shareOfPlan(driver, w, 3)));
    await Promise.all(workers.map((g) => g.start()));
    const sent = workers.map((g) => g.recorder.requestsSent);
    assert.equal(sent.reduce((a, b) => a + b), profile.plannedRequests, `parts ${sent.join(' + ')}`);
    assert.deepEqual(sent, [15, 15, 15]);
    // Together they send on the driver's schedule: the k-th arrival is near the driver's request k's due time.
    const start = Math.min(...workers.map((g) => g.startedAt));
    const times = arrivals.map((t) => t - start).sort((a, b) => a - b);
    for (const [k, t] of times.entries()) assert.ok(Math.abs(t - profile.dueAt(k)) < 25, `request ${k} at ${t.toFixed(1)} ms, due at ${profile.dueAt(k).toFixed(1)} ms`);
  });

  describe('a closed model through stages', () => {
    it('holds its in-flight limit to its share of the concurrency of the moment, and ends when the plan’s time ends', async () => {
      handler = (_req, res) => setTimeout(() => res.end('ok'), 20);
      // 0 → 8 in flight over 600 ms, 8 for 300 ms, then 2 for 300 ms.
      const profile = LoadProfile.fromStages([{ duration_s: 0.6, target_concurrency: 8 }, { duration_s: 0.3, target_concurrency: 8 }, { duration_s: 0.3, target_concurrency: 2 }], 0, (s) => s.target_concurrency!).apply({ action: 'set', value: 2, phase: 'stage 3' }, 900);
      const generator = new LoadGenerator(closedPlan(url, profile, 8));
      const done = generator.start();
      let overLimit = 0;
      let mostOnPlateau = 0;
      let mostAtEnd = 0;
      let finished = false;
      void done.then(() => (finished = true));
      while (!finished) {
        const clock = performance.now() - generator.startedAt;
        const limit = concurrencyShare(profile.valueAt(clock), { index: 0, of: 1 }, { index: 0, of: 1 });
        // The limit only ever rises during the ramp: in flight never above it (a step down drains first).
        if (clock < 880 && generator.requestsInFlight > limit) overLimit++;
        if (clock > 650 && clock < 880) mostOnPlateau = Math.max(mostOnPlateau, generator.requestsInFlight);
        if (clock > 1000) mostAtEnd = Math.max(mostAtEnd, generator.requestsInFlight);
        await sleep(2);
      }
      assert.equal(overLimit, 0, 'never more in flight than the ramp allowed');
      assert.equal(mostOnPlateau, 8);
      assert.ok(mostAtEnd <= 2, `after the step down at most 2 in flight (${mostAtEnd})`);
      assert.ok(generator.elapsedMs >= 1200 && generator.elapsedMs < 1400, `ended at the plan's end: ${Math.round(generator.elapsedMs)} ms`);
      const phases = byPhase(generator.phases());
      const total = Object.values(phases).reduce((a, p) => a + p.requests_sent, 0);
      assert.equal(total, generator.recorder.requestsSent, 'the phases add up to the whole');
      assert.ok(Object.values(phases).every((p) => p.settled));
    });

    it('splits the concurrency of the moment by driver and then by worker thread, adding up to the total', () => {
      for (let total = 0; total <= 25; total++) {
        let sum = 0;
        for (let d = 0; d < 3; d++) for (let w = 0; w < 2; w++) sum += concurrencyShare(total, { index: d, of: 3 }, { index: w, of: 2 });
        assert.equal(sum, total);
      }
    });
  });

  describe('a test by duration', () => {
    it('TSUNAMI: the flat rate for that long, whatever its count bound', async () => {
      const generator = new LoadGenerator(openPlan(url, LoadProfile.constant(100, 600)));
      await generator.start();
      assert.equal(generator.recorder.requestsSent, 60);
      assert.ok(generator.elapsedMs >= 595 && generator.elapsedMs < 800, `${Math.round(generator.elapsedMs)} ms`);
    });

    it('TSUNAMI: a backlog still unsent when the plan’s time ends goes out at the catch-up pace, and the test ends', async () => {
      // 100/s for 600 ms; the event loop stalls from 450 ms to past the end, so about 15 requests due
      // before the end are still unsent when it passes. The plan's integral stops growing there, so
      // the bucket must refill at the catch-up pace of the rate they were due at (as in a pause).
      const generator = new LoadGenerator(openPlan(url, LoadProfile.constant(100, 600)));
      const done = generator.start();
      await sleep(450);
      const end = performance.now() + 250;
      while (performance.now() < end);
      const ended = await Promise.race([done.then(() => true), sleep(2000).then(() => false)]);
      if (!ended) generator.stop();
      assert.ok(ended, `the test ended (${generator.recorder.requestsSent} of 60 sent, ${generator.requestsInFlight} in flight)`);
      assert.equal(generator.recorder.requestsSent, 60, 'every request due before the end was sent');
      // About 15 late requests at 2 × 100/s: some 75 ms after the stall, not all at once.
      const late = arrivals.map((t) => t - generator.startedAt).filter((t) => t > 700);
      assert.ok(late.length >= 10, `${late.length} sent after the stall`);
      assert.ok(late[late.length - 1] - late[0] >= 40, `the backlog went out paced, over ${Math.round(late[late.length - 1] - late[0])} ms`);
    });

    it('AVALANCHE: as fast as its concurrency allows for that long', async () => {
      handler = (_req, res) => setTimeout(() => res.end('ok'), 10);
      const generator = new LoadGenerator(closedPlan(url, LoadProfile.constant(4, 500), 4));
      await generator.start();
      assert.ok(generator.elapsedMs >= 495 && generator.elapsedMs < 700, `${Math.round(generator.elapsedMs)} ms`);
      // 4 in flight, about 10 ms each: on the order of 200 in 500 ms.
      assert.ok(generator.recorder.requestsSent > 60 && generator.recorder.requestsSent <= 210, `${generator.recorder.requestsSent} sent`);
      assert.equal(generator.wasStopped, false, 'the end of its time is no stop');
    });
  });

  describe('live changes', () => {
    const clockOf = (g: LoadGenerator) => g.testClockMs!;

    it('pause sends nothing new, lets those in flight finish, and its length extends the plan; resume goes on with the rest', async () => {
      const generator = new LoadGenerator(openPlan(url, LoadProfile.constant(100, 600)));
      const done = generator.start();
      await sleep(200);
      generator.apply({ action: 'pause', phase: 'pause 1' }, clockOf(generator) + 20);
      await sleep(60);
      const atPause = generator.recorder.requestsSent;
      await sleep(300);
      assert.equal(generator.recorder.requestsSent, atPause, 'nothing sent while paused');
      generator.apply({ action: 'resume', phase: 'resume 1' }, clockOf(generator) + 20);
      await done;
      assert.equal(generator.recorder.requestsSent, 60, 'the whole plan, after the pause');
      assert.ok(generator.pausedMs >= 320 && generator.pausedMs < 420, `paused ${Math.round(generator.pausedMs)} ms`);
      assert.ok(generator.elapsedMs >= 600 + generator.pausedMs - 5, `the end moved by the pause: ${Math.round(generator.elapsedMs)} ms`);
      const phases = byPhase(generator.phases());
      assert.equal(phases['pause 1'].requests_sent, 0);
      assert.equal(phases.main.requests_sent + phases['resume 1'].requests_sent, 60);
      assert.ok(Object.values(phases).every((p) => p.settled));
    });

    it('a backlog due before a pause still goes out during it, so the phase before the pause settles', async () => {
      // 200/s; the event loop stalls 150 ms, then the pause takes effect at once: about 30 requests
      // were due before it and not sent. They go out (at the catch-up pace of 200/s) while paused.
      const generator = new LoadGenerator(openPlan(url, LoadProfile.constant(200, Infinity, 'step 1')));
      void generator.start();
      await sleep(100);
      const end = performance.now() + 150;
      while (performance.now() < end);
      const pausedAt = clockOf(generator);
      generator.apply({ action: 'pause', phase: 'judge 1' }, pausedAt);
      // Due at 0, 5, 10, … ms: those strictly before the pause.
      const due = Math.ceil(pausedAt / 5 - 1e-9);
      await sleep(500);
      const phases = byPhase(generator.phases());
      assert.equal(phases['step 1'].requests_sent, due, 'every request due before the pause was sent');
      assert.equal(phases['step 1'].settled, true, 'and the phase settled while paused');
      assert.equal(phases['judge 1'].requests_sent, 0);
      generator.stop();
    });

    it('a set while paused changes what resumes', async () => {
      const generator = new LoadGenerator(openPlan(url, LoadProfile.constant(50)));
      const done = generator.start();
      await sleep(100);
      generator.apply({ action: 'pause', phase: 'pause 1' }, clockOf(generator) + 20);
      await sleep(100);
      generator.apply({ action: 'set', value: 200, phase: 'set 1' }, clockOf(generator) + 20);
      await sleep(100);
      assert.equal(byPhase(generator.phases())['set 1'], undefined, 'nothing of the set runs while paused');
      generator.apply({ action: 'resume' }, clockOf(generator) + 20);
      await sleep(40);
      const before = generator.recorder.requestsSent;
      await sleep(500);
      const sent = generator.recorder.requestsSent - before;
      generator.stop();
      await done;
      assert.ok(sent >= 90 && sent <= 110, `${sent} sent in 500 ms after the resume: the set's 200/s`);
      assert.ok(byPhase(generator.phases())['set 1'].requests_sent > 90);
    });

    it('a set while paused runs from the resume on, without a silence (the rule in load-profile.ts)', () => {
      const profile = LoadProfile.constant(100, 10_000).apply({ action: 'pause', phase: 'pause 1' }, 2000).apply({ action: 'set', value: 50, phase: 'set 1' }, 3000).apply({ action: 'resume' }, 4000);
      // Requests 0 … 199 due in 0 … 1990 ms; 200, due as the pause begins, waits for the resume at 4000 ms; then 50/s.
      assert.equal(profile.dueAt(199), 1990);
      assert.equal(profile.dueAt(200), 4000);
      assert.ok(Math.abs(profile.dueAt(201) - 4020) < 1e-6, `request 201 at ${profile.dueAt(201)} ms`);
      assert.ok(Math.abs(profile.dueAt(250) - 5000) < 1e-6, `request 250 at ${profile.dueAt(250)} ms`);
      assert.equal(profile.endMs, 12_000, 'the rest of the plan, shifted by the 2 s paused');
    });

    it('a set raises a closed model’s concurrency beyond what it started with', async () => {
      handler = (_req, res) => setTimeout(() => res.end('ok'), 30);
      const generator = new LoadGenerator(closedPlan(url, LoadProfile.constant(2), 2));
      const done = generator.start();
      await sleep(100);
      generator.apply({ action: 'set', value: 6, phase: 'set 1' }, clockOf(generator) + 20);
      let most = 0;
      for (let i = 0; i < 50; i++) {
        most = Math.max(most, open);
        await sleep(3);
      }
      generator.stop();
      await done;
      assert.equal(most, 6);
    });

    it('a test by time sent with its planned count as a bound: after a set above the plan, its time ends it, not the count', async () => {
      const generator = new LoadGenerator(openPlan(url, LoadProfile.constant(50, 600), { count: 30 }));
      const done = generator.start();
      await sleep(200);
      generator.apply({ action: 'set', value: 100, phase: 'set 1' }, clockOf(generator) + 20);
      await done;
      assert.ok(generator.recorder.requestsSent >= 45 && generator.recorder.requestsSent <= 52, `${generator.recorder.requestsSent} sent: about 11 at 50/s, then 100/s to the end`);
      assert.ok(generator.elapsedMs >= 595, `ran its whole time: ${Math.round(generator.elapsedMs)} ms`);
      assert.equal(generator.wasStopped, false);
    });

    it('a change made before the start takes effect at it', async () => {
      const generator = new LoadGenerator(openPlan(url, LoadProfile.constant(100, 300)));
      generator.apply({ action: 'set', value: 50, phase: 'set 1' }, 0);
      await generator.start();
      assert.equal(generator.recorder.requestsSent, 15);
      assert.deepEqual(generator.phases().map((p) => p.phase), ['set 1']);
    });
  });
});
