// How the floor clients (undici-floor.ts, bare-net-client.ts, bare-http2-client.ts) measure
// themselves, the same for each: a warm-up run first, as the driver is warm when it runs a test
// (the JIT has compiled the hot paths), then CPU and wall time around the counted requests alone,
// printed as one JSON line that peer-clients.ts reads.
import type { Histogram } from 'hdr-histogram-js';
import { ms } from '../protocol/latency-histogram';

/** What a floor client prints: times in seconds, percentiles in milliseconds (null without a histogram). */
export interface FloorResult {
  requests: number;
  wall_s: number;
  cpu_s: number;
  /** of which in the kernel */
  system_s: number;
  p50_ms: number | null;
  p99_ms: number | null;
}

/**
 * What every floor client's run keeps: how many it sent and how many were answered of `count`,
 * and a promise its last answer (or first failure) settles.
 */
export class CountedRun {
  sent = 0;
  answered = 0;
  readonly done: Promise<void>;
  resolve!: () => void;
  reject!: (error: Error) => void;

  constructor(readonly count: number) {
    this.done = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

const WARM_UP_REQUESTS = 30_000;

/**
 * Sends WARM_UP_REQUESTS (no more than `count`: a quick run's figures mean nothing, and its time
 * matters), then `count` measured, and prints the result. `send` resolves when
 * every response of its run has arrived; `histogram`, when the client records latencies, is
 * emptied after the warm-up so that it holds the counted requests only.
 */
export async function measureWarm(count: number, send: (count: number) => Promise<void>, histogram?: Histogram): Promise<void> {
  await send(Math.min(WARM_UP_REQUESTS, count));
  histogram?.reset();
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  await send(count);
  const cpu = process.cpuUsage(cpuBefore);
  const result: FloorResult = {
    requests: count,
    wall_s: Number(process.hrtime.bigint() - started) / 1e9,
    cpu_s: (cpu.user + cpu.system) / 1e6,
    system_s: cpu.system / 1e6,
    p50_ms: histogram ? ms(histogram.getValueAtPercentile(50)) : null,
    p99_ms: histogram ? ms(histogram.getValueAtPercentile(99)) : null,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Runs a floor client's main: a usage error exits 2, any other error 1. */
export function floorMain(usage: string, main: (args: string[]) => Promise<void | 'usage'>): void {
  Promise.resolve()
    .then(() => main(process.argv.slice(2)))
    .then(
      (outcome) => {
        if (outcome !== 'usage') return;
        process.stderr.write(`usage: ${usage}\n`);
        process.exit(2);
      },
      (error: unknown) => {
        process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
}
