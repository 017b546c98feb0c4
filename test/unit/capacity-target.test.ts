import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { freePort } from '../../common/free-port';
import { NGINX, writeNginxConfig } from '../../target-server/nginx-target';
import { ServiceQueue } from '../../target-server/service-queue';
import { startTarget, type RunningTarget } from '../../target-server/target-server';
import { spawnCommand, tempDir, waitFor, type ProductProcess } from '../support/processes';

interface Offered {
  statuses: Record<number, number>;
  /** the slowest answer of each status, in ms */
  slowest: Record<number, number>;
}

/**
 * Sends GET requests at `rate` per second for `durationMs`, each when due (open model), over
 * keep-alive connections; resolves when every one was answered. Loopback only, a few hundred requests.
 */
async function offer(url: string, rate: number, durationMs: number): Promise<Offered> {
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const statuses: Record<number, number> = {};
  const slowest: Record<number, number> = {};
  const pending: Promise<void>[] = [];
  const total = Math.round((rate * durationMs) / 1000);
  const start = performance.now();
  let sent = 0;
  const send = () =>
    new Promise<void>((resolve, reject) => {
      const at = performance.now();
      const req = request(url, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          statuses[status] = (statuses[status] ?? 0) + 1;
          slowest[status] = Math.max(slowest[status] ?? 0, performance.now() - at);
          resolve();
        });
      });
      req.on('error', reject);
      req.end();
    });
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
      while (sent < due) {
        sent++;
        pending.push(send());
      }
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(pending);
  agent.destroy();
  return { statuses, slowest };
}

describe('a target with a known capacity', () => {
  describe('the service queue', () => {
    it('serves a request at once when idle, taking one service time (1/capacity s)', () => {
      const queue = new ServiceQueue(200, 1000);
      assert.equal(queue.admit(0), 5);
      assert.equal(queue.admit(100), 5);
    });

    it('makes requests above the capacity wait in turn, and refuses one that would wait beyond the queue limit', () => {
      const queue = new ServiceQueue(100, 25); // 10 ms of service each
      assert.deepEqual([0, 0, 0, 0].map(() => queue.admit(0)), [10, 20, 30, null]); // the 4th would wait 30 ms > 25
      // A refused request does not take the server's time: the next arrival waits 25 ms behind the third, then 10 of its own.
      assert.equal(queue.admit(5), 35);
    });

    it('never refuses an offered rate below the capacity, however long it lasts', () => {
      const queue = new ServiceQueue(1000, 1);
      for (let i = 0; i < 100_000; i++) assert.notEqual(queue.admit(i * 1.01), null);
    });
  });

  describe('lt-target --capacity', () => {
    let target: RunningTarget | undefined;
    afterEach(async () => target?.close());

    it('answers every request below the capacity, and 503 to about the excess above it, with latency grown by the queue', async function () {
      this.timeout(20_000);
      target = await startTarget({ port: 0, capacityRps: 200, queueLimitMs: 100 });
      const below = await offer(`${target.url}/ping`, 100, 1000);
      assert.deepEqual(below.statuses, { 200: 100 });
      const above = await offer(`${target.url}/ping`, 400, 1500);
      const ok = above.statuses[200] ?? 0;
      const refused = above.statuses[503] ?? 0;
      assert.equal(ok + refused, 600, JSON.stringify(above.statuses));
      // 1.5 s at 200/s, plus the 100 ms queue it may hold: about 320 served, the rest refused.
      assert.ok(ok >= 250 && ok <= 380, `served ${ok} of 600 at twice the capacity`);
      assert.ok(above.slowest[200] >= 80, `the queue made answers slower (slowest ${above.slowest[200]} ms)`);
    });
  });

  describe('nginx with limit_req', () => {
    let nginx: ProductProcess | undefined;
    afterEach(async () => {
      nginx?.kill();
      await nginx?.exited;
    });

    it('answers every request below N r/s and 503 to about the excess above it', async function () {
      if (!NGINX) this.skip(); // apt-get install nginx-light
      this.timeout(20_000);
      const port = await freePort();
      const dir = tempDir('nginx-limit');
      nginx = spawnCommand(NGINX, ['-p', dir, '-c', writeNginxConfig(dir, port, undefined, { rate: 200 })]);
      const url = `http://127.0.0.1:${port}`;
      await waitFor(() => fetch(`${url}/nginx_status`).then((r) => r.ok, () => false), `nginx to answer (${nginx!.output()})`, 15_000);
      const below = await offer(`${url}/ping`, 100, 1000);
      assert.deepEqual(below.statuses, { 200: 100 });
      const above = await offer(`${url}/ping`, 400, 1500);
      const ok = above.statuses[200] ?? 0;
      assert.equal(ok + (above.statuses[503] ?? 0), 600, JSON.stringify(above.statuses));
      // 1.5 s at 200/s plus the burst of 10: about 310 served.
      assert.ok(ok >= 250 && ok <= 380, `served ${ok} of 600 at twice the limit`);
    });
  });
});
