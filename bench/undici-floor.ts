// The floor under any driver built on undici: the driver's own connections (connection-pool.ts,
// the same Client settings) carrying back-to-back GETs with a handler that does nothing but send
// the next request. No clock, no histogram, no schedule, no Kafka. The efficiency benchmark runs
// it beside the driver, so that what the driver adds and what undici and Node cost are told apart.
//
//   node dist/undici-floor.js URL CONNECTIONS REQUESTS   →   {"requests":…,"wall_s":…,"cpu_s":…} (floor-measurement.ts)
import type { Dispatcher } from 'undici';
import type { HttpConnection } from '../agents/http-engine/http-connection';
import { ConnectionPool } from '../agents/connection-pool';
import { dispatchOptionsFor } from '../agents/load-generator';
import { CountedRun, floorMain, measureWarm } from './floor-measurement';

/** One run's state; each request's handler is as small as the driver's, with no closure per request. */
class FloorRun extends CountedRun {
  constructor(
    readonly pool: ConnectionPool,
    readonly options: Dispatcher.DispatchOptions,
    count: number,
  ) {
    super(count);
  }

  send(client: HttpConnection): void {
    this.sent++;
    client.dispatch(this.options, new FloorHandler(this, client));
  }
}

class FloorHandler {
  constructor(
    private readonly run: FloorRun,
    private readonly client: HttpConnection,
  ) {}

  onConnect(): void {}

  onHeaders(status: number): boolean {
    if (status !== 200) this.run.reject(new Error(`the target answered ${status}`));
    return true;
  }

  onData(): boolean {
    return true;
  }

  onComplete(): void {
    const run = this.run;
    run.answered++;
    if (run.sent < run.count) run.send(this.client);
    else if (run.answered === run.count) run.pool.close().then(run.resolve, run.reject);
  }

  onError(error: Error): void {
    this.run.reject(error);
  }
}

/** Sends `count` requests over `connections` connections, as fast as they are answered. */
function run(url: URL, connections: number, count: number): Promise<void> {
  const floor = new FloorRun(new ConnectionPool(url.origin, connections, { connectTimeoutMs: 10_000, engine: 'undici' }), dispatchOptionsFor({ url, method: 'GET', headers: {} }), count);
  for (let i = 0; i < Math.min(connections, count); i++) floor.send(floor.pool.acquire()!);
  return floor.done;
}

floorMain('node dist/undici-floor.js URL CONNECTIONS REQUESTS', async ([target, connections, count]) => {
  if (!target || !Number(connections) || !Number(count)) return 'usage';
  const url = new URL(target);
  // A pool of its own for each run: the counted run opens its connections, as an agent's test does.
  await measureWarm(Number(count), (n) => run(url, Number(connections), n));
});
