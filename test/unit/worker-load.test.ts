// lt-agent --workers: a plan dealt to worker threads, and their figures merged into one driver's.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { shareOfPlan, usableWorkers } from '../../agents/plan-share';
import type { RequestPlan } from '../../agents/request-plan';
import { LoadWorkers } from '../../agents/threaded-load';
import { WarmUpFirst } from '../../agents/warm-up-first';
import { MergedRecorder, type WorkerPart } from '../../agents/merged-recorder';
import { createLogger } from '../../common/logger';
import { waitFor } from '../support/processes';
import { decodeHistogram } from '../../protocol/latency-histogram';
import type { TestConfigMessage } from '../../protocol/wire-protocol';

const plan = (over: Partial<RequestPlan>): RequestPlan => ({ url: new URL('http://h/'), method: 'GET', headers: {}, timeoutMs: 1000, count: 10, intervalMs: 0, open: false, maxInFlight: 4, ...over });

describe('worker threads of one driver', () => {
  it('deal the requests round robin: counts, schedule phases and concurrency add up to the driver’s', () => {
    const open = plan({ count: 1001, intervalMs: 2, open: true, maxInFlight: 100 });
    const shares = [0, 1, 2].map((i) => shareOfPlan(open, i, 3));
    assert.deepEqual(shares.map((s) => s.count), [334, 334, 333]);
    assert.deepEqual(shares.map((s) => [s.intervalMs, s.phaseMs]), [[6, 0], [6, 2], [6, 4]], 'worker i sends the driver’s requests i, i+3, …, each at its own due time');
    assert.equal(shares.reduce((a, s) => a + s.maxInFlight, 0), 100);
    assert.equal(usableWorkers(plan({ maxInFlight: 2 }), 8), 2, 'a closed plan never has more workers than requests in flight');
    assert.equal(usableWorkers(plan({ count: 1 }), 8), 1);
    assert.equal(usableWorkers(plan({ open: true, intervalMs: 20, maxInFlight: 1 }), 2), 1, 'an open plan never has more workers than its connection limit: each holds at least one');
    assert.equal(usableWorkers(plan({ open: true, intervalMs: 20, maxInFlight: 3 }), 2), 2);
  });

  it('with HTTP/2 streams, an open plan deals its connections (each with its streams) and a closed one its requests in flight; never more workers than connections', () => {
    const open = plan({ count: 1000, intervalMs: 1, open: true, maxInFlight: 30, maxStreams: 10 });
    assert.deepEqual([0, 1].map((i) => shareOfPlan(open, i, 2).maxInFlight), [20, 10], 'max_connections 3: two connections to one worker, one to the other');
    const closed = plan({ count: 1000, maxInFlight: 25, maxStreams: 10 });
    assert.deepEqual([0, 1].map((i) => shareOfPlan(closed, i, 2).maxInFlight), [13, 12]);
    assert.equal(usableWorkers(plan({ maxInFlight: 10, maxStreams: 10 }), 4), 1, 'one connection carries the concurrency: one worker');
    assert.equal(usableWorkers(plan({ open: true, intervalMs: 1, maxInFlight: 20, maxStreams: 10 }), 4), 2);
  });

  it('a driver’s phase is settled only when every worker’s part of it is: one that has not reached it holds it open until its share ends', () => {
    const phase = (name: string, sent: number, settled: boolean) => ({ phase: name, started_at: 1000, ended_at: settled ? 2000 : undefined, requests_sent: sent, responses: sent, errors: { http_5xx: 1 }, settled });
    const part = (phases: ReturnType<typeof phase>[], final: boolean): WorkerPart => ({ snapshot: { requests_sent: 0, responses: 0, errors: {}, status_codes: {}, metrics: null }, inFlight: 0, elapsedMs: 0, wasStopped: false, final, phases });
    const merged = new MergedRecorder([undefined, undefined], true);
    merged.update(0, part([phase('stage 1', 5, true), phase('stage 2', 2, false)], false));
    merged.update(1, part([phase('stage 1', 4, true)], false));
    const [one, two] = merged.phases();
    assert.deepEqual([one.phase, one.requests_sent, one.settled, one.errors.http_5xx], ['stage 1', 9, true, 2]);
    assert.deepEqual([two.phase, two.requests_sent, two.settled], ['stage 2', 2, false]);
    merged.update(0, part([phase('stage 1', 5, true), phase('stage 2', 2, true)], true));
    assert.equal(merged.phases()[1].settled, false, 'worker 2 may still send in stage 2');
    merged.update(1, part([phase('stage 1', 4, true)], true));
    assert.equal(merged.phases()[1].settled, true, 'worker 2’s share ended without reaching it');
  });

  describe('on real threads against a local server', () => {
    let server: Server;
    let url: string;
    let workers: LoadWorkers;
    const paths: string[] = [];
    before(async () => {
      server = createServer((req, res) => {
        paths.push(req.url!);
        res.end('ok');
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      workers = await LoadWorkers.start(2, createLogger('test', 'error'), join(__dirname, '..', '..', 'agents', 'load-worker.js'));
    });
    after(async () => {
      await workers.close();
      server.closeAllConnections();
      server.close();
    });

    it('two workers send the driver’s plan once, and the merged figures equal what one thread reports', async () => {
      paths.length = 0;
      const config = { test_id: 't', test_type: 'TSUNAMI', test_message_delay: 0.002, message_count_per_driver: 600, target: { url: `${url}/x?n={seq}`, method: 'GET', timeout_ms: 2000 },
        requests: [{ name: 'a', weight: 1, url: `${url}/a/{seq}`, method: 'GET', timeout_ms: 2000 }, { name: 'b', weight: 1, url: `${url}/b/{seq}`, method: 'GET', timeout_ms: 2000 }] } as TestConfigMessage;
      const load = workers.run(config, { defaultTarget: url, headers: {}, driver: 'd1' }, 2, true);
      await load.start();
      const s = load.recorder.snapshot();
      assert.equal(s.requests_sent, 600);
      assert.equal(s.responses, 600);
      assert.equal(decodeHistogram(s.histogram!).totalCount, 600);
      assert.equal(decodeHistogram(s.uncorrected!.histogram!).totalCount, 600);
      assert.deepEqual(Object.fromEntries(Object.entries(s.per_request!).map(([k, v]) => [k, v.responses])), { a: 300, b: 300 });
      // Every request number of the driver went out exactly once, each with its own name's path.
      const seqs = paths.map((p) => Number(p.split('/')[2])).sort((x, y) => x - y);
      assert.deepEqual(seqs, Array.from({ length: 600 }, (_, i) => i));
      assert.ok(paths.every((p) => (Number(p.split('/')[2]) % 2 === 0) === p.startsWith('/a/')), 'request k is the mix’s k-th, whichever worker sent it');
      // 600 requests at 2 ms: the send window follows the driver's schedule (about 1.2 s), never a burst.
      // How late they went out is the benchmark's to measure, not a test's on a shared machine.
      assert.ok(s.send_window_ms! > 1100, `window ${s.send_window_ms} ms`);
      assert.ok(s.send_lag_ms, 'the send lag is reported');
      assert.equal(load.connectionLimit, 1000, 'the two shares of max_connections add up to the driver’s');
    });

    it('a warm-up on the same workers, then the measured load: every number once, the figures only the measured', async () => {
      paths.length = 0;
      const config = { test_id: 'w', test_type: 'TSUNAMI', test_message_delay: 0.002, message_count_per_driver: 200, target: { url: `${url}/w/{seq}`, method: 'GET', timeout_ms: 2000 },
        requests: [{ name: 'w', weight: 1, url: `${url}/w/{seq}`, method: 'GET', timeout_ms: 2000 }] } as TestConfigMessage;
      const settings = { defaultTarget: url, headers: {}, driver: 'd1' };
      const load = new WarmUpFirst(workers.run({ ...config, message_count_per_driver: 100 }, settings, 2, true), workers.run(config, { ...settings, firstSeq: 100 }, 2, true));
      await load.start();
      const s = load.recorder.snapshot();
      assert.equal(s.requests_sent, 200);
      assert.equal(decodeHistogram(s.histogram!).totalCount, 200);
      assert.deepEqual(load.warmUpCounts, { requests_sent: 100, responses: 100, errors: 0, done: true });
      const seqs = paths.map((p) => Number(p.split('/')[2])).sort((x, y) => x - y);
      assert.deepEqual(seqs, Array.from({ length: 300 }, (_, i) => i));
    });

    it('through stages and a pause, the workers cut their plans at one time: every number once, the phases merged', async () => {
      paths.length = 0;
      // 0 → 200/s over 0.5 s and 200/s for 0.5 s over two drivers: 0 → 100/s then 100/s here, 75 requests.
      const config = { test_id: 'st', test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 1000, driver_ids: ['d1', 'd2'], duration_s: 1,
        stages: [{ duration_s: 0.5, target_rate: 200 }, { duration_s: 0.5, target_rate: 200 }], requests: [{ name: 'st', weight: 1, url: `${url}/st/{seq}`, method: 'GET', timeout_ms: 2000 }] } as TestConfigMessage;
      const load = workers.run(config, { defaultTarget: url, headers: {}, driver: 'd1' }, 2, true);
      const done = load.start();
      await new Promise((r) => setTimeout(r, 400));
      load.apply({ action: 'pause', phase: 'pause 1' }, load.testClockMs! + 20);
      await new Promise((r) => setTimeout(r, 250));
      load.apply({ action: 'resume', phase: 'resume 1' }, load.testClockMs! + 20);
      await done;
      const seqs = paths.map((p) => Number(p.split('/')[2])).sort((x, y) => x - y);
      assert.deepEqual(seqs, Array.from({ length: 75 }, (_, i) => i), 'the driver’s plan exactly, split over the threads');
      assert.ok(load.pausedMs >= 230 && load.pausedMs < 350, `paused ${load.pausedMs} ms`);
      const phases = Object.fromEntries(load.phases().map((p) => [p.phase, p]));
      // The resume names the window it begins: the rest of stage 1, until stage 2.
      assert.deepEqual(Object.keys(phases), ['stage 1', 'pause 1', 'resume 1', 'stage 2']);
      assert.equal(phases['stage 1'].requests_sent + phases['resume 1'].requests_sent, 25, 'the ramp’s integral, from both threads');
      assert.equal(phases['pause 1'].requests_sent, 0);
      assert.equal(phases['stage 2'].requests_sent, 50);
      assert.ok(load.phases().every((p) => p.settled && p.ended_at !== undefined));
      assert.equal(decodeHistogram(phases['stage 2'].histogram!).totalCount, 50);
    });

    it('a scenario with unique data on two workers: every row of the driver’s share once, the iterations merged', async () => {
      paths.length = 0;
      // Driver d2 of 2 takes rows 1, 3, 5, ...: 10 rows of 20; the plan asks for more, so they run out.
      const data = { mode: 'unique' as const, columns: ['row'], rows: Array.from({ length: 20 }, (_, i) => [String(i)]) };
      const config = { test_id: 'sc', test_type: 'AVALANCHE', test_message_delay: 0, message_count_per_driver: 50, concurrency: 4, driver_ids: ['d1', 'd2'], target: { url: `${url}/r`, method: 'GET', timeout_ms: 2000 }, data,
        scenario: { steps: [{ name: 'one', url: `${url}/r/{row}/one` }, { name: 'two', url: `${url}/r/{row}/two` }] } } as TestConfigMessage;
      const load = workers.run(config, { defaultTarget: url, headers: {}, driver: 'd2' }, 2, true);
      await load.start();
      const s = load.recorder.snapshot();
      const rows = paths.filter((p) => p.endsWith('/one')).map((p) => Number(p.split('/')[2])).sort((x, y) => x - y);
      assert.deepEqual(rows, [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
      assert.deepEqual([s.iterations!.started, s.iterations!.completed, s.per_request!.one.responses, s.per_request!.two.responses], [10, 10, 10, 10]);
      assert.equal(load.dataExhausted, true);
      assert.equal(load.wasStopped, false);
    });

    it('stop ends every worker’s share early', async () => {
      const config = { test_id: 't2', test_type: 'TSUNAMI', test_message_delay: 0.01, message_count_per_driver: 1000, target: { url: `${url}/s`, method: 'GET', timeout_ms: 2000 } } as TestConfigMessage;
      const load = workers.run(config, { defaultTarget: url, headers: {}, driver: 'd1' }, 2, true);
      const done = load.start();
      setTimeout(() => load.stop(), 300);
      await done;
      assert.ok(load.recorder.requestsSent < 200, `${load.recorder.requestsSent} sent before the stop`);
      assert.equal(load.wasStopped, true);
    });

    it('a worker that crashes ends its share of the test and leaves the pool: no later test waits on it', async () => {
      const errors: string[] = [];
      const log = { ...createLogger('test', 'error'), error: (m: string) => errors.push(m) };
      const crashing = await LoadWorkers.start(2, log, join(__dirname, '..', 'support', 'crashing-load-worker.js'));
      try {
        const config = { test_id: 'crash', test_type: 'AVALANCHE', message_count_per_driver: 20, target: { url: `${url}/c`, method: 'GET', timeout_ms: 2000 } } as TestConfigMessage;
        const load = crashing.run(config, { defaultTarget: url, headers: {}, driver: 'd1' }, 2, false);
        await load.start();
        assert.equal(load.wasStopped, true, 'the driver reports its part ended before its plan');
        await waitFor(() => crashing.size === 0, 'both crashed workers to leave the pool');
        assert.match(errors.join('\n'), /load worker 1 exited \(code 3\)/);
        assert.match(errors.at(-1)!, /tests run on the main thread from now on/);
      } finally {
        await crashing.close();
      }
    });

    it('the workers carry no listener of a finished test', async () => {
      const before = workers.listenerCounts();
      for (const id of ['t3', 't4', 't5']) {
        const config = { test_id: id, test_type: 'AVALANCHE', message_count_per_driver: 20, target: { url: `${url}/l`, method: 'GET', timeout_ms: 2000 } } as TestConfigMessage;
        await workers.run(config, { defaultTarget: url, headers: {}, driver: 'd1' }, 2, false).start();
      }
      assert.deepEqual(workers.listenerCounts(), before);
    });
  });

});
