// A worker thread of `lt-agent --workers N`: it warms its HTTP client once, then, for each test,
// plans its share of the driver's requests (plan-share.ts), sends them from a common start time,
// and posts its figures every quarter second and once at the end. Kafka stays with the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { encodeHistogram } from '../protocol/latency-histogram';
import type { ProfileChange } from '../protocol/load-profile';
import type { TestConfigMessage } from '../protocol/wire-protocol';
import { LoadGenerator, warmUpHttpClient } from './load-generator';
import type { WorkerPart } from './merged-recorder';
import { shareOfPlan } from './plan-share';
import { planFor } from './request-plan';
import { lowerThisThreadPriority } from './thread-priority';

/** What every worker of a driver's test shares besides the config. */
export interface RunSettings {
  defaultTarget: string;
  headers: Record<string, string>;
  driver: string;
  trustedCa?: string[];
  /** `{seq}` of the driver's first request (after a warm-up's) */
  firstSeq?: number;
}

export interface RunCommand extends RunSettings {
  type: 'run';
  config: TestConfigMessage;
  index: number;
  of: number;
  /** epoch milliseconds at which every worker starts */
  startAt: number;
  /** live changes made before the start: they take effect at it */
  changes?: { change: ProfileChange; atMs: number }[];
}

/** `control`: a live change from `atMs` on the test's clock, the same for every worker of the driver. */
export type ToWorker = RunCommand | { type: 'stop' } | { type: 'destroy' } | { type: 'control'; change: ProfileChange; atMs: number };
/** `nice`: the worker thread's nice value, when it could lower it (thread-priority.ts). */
export type FromWorker = { type: 'ready'; nice?: number } | { type: 'part'; index: number; part: WorkerPart } | { type: 'failed'; message: string };

const POST_EVERY_MS = 250;

if (parentPort && workerData?.loadWorker) {
  const port = parentPort;
  // Before any load: heartbeats, reports and commands on the main thread must never wait behind it.
  const nice = lowerThisThreadPriority();
  let generator: LoadGenerator | undefined;

  const part = (g: LoadGenerator, final: boolean): WorkerPart => ({
    snapshot: g.recorder.snapshot(),
    sendLag: g.recorder.sendLag.totalCount > 0 ? encodeHistogram(g.recorder.sendLag) : undefined,
    firstSendEpoch: g.firstSendEpoch,
    lastSendEpoch: g.lastSendEpoch,
    inFlight: g.requestsInFlight,
    elapsedMs: g.elapsedMs,
    wasStopped: g.wasStopped,
    dataExhausted: g.dataExhausted,
    connectionLimit: g.connectionLimit,
    final,
    phases: g.phaseCounts(),
    pausedMs: g.pausedMs,
  });

  port.on('message', (message: ToWorker) => {
    if (message.type === 'stop') return generator?.stop();
    if (message.type === 'destroy') return void generator?.destroy();
    if (message.type === 'control') return generator?.apply(message.change, message.atMs);
    let g: LoadGenerator;
    try {
      const plan = { ...shareOfPlan(planFor(message.config, message.defaultTarget, message.headers, message.driver, message.trustedCa), message.index, message.of), firstSeq: message.firstSeq };
      g = generator = new LoadGenerator(plan);
      for (const { change, atMs } of message.changes ?? []) g.apply(change, atMs);
    } catch (error) {
      port.postMessage({ type: 'failed', message: (error as Error).message } satisfies FromWorker);
      return;
    }
    const post = (final: boolean) => port.postMessage({ type: 'part', index: message.index, part: part(g, final) } satisfies FromWorker);
    setTimeout(() => {
      const ticker = setInterval(() => post(false), POST_EVERY_MS);
      void g.start().then(() => {
        clearInterval(ticker);
        post(true);
        generator = undefined;
      });
    }, Math.max(0, message.startAt - Date.now()));
  });

  void warmUpHttpClient().then(() => port.postMessage({ type: 'ready', nice } satisfies FromWorker));
}
