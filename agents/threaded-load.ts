// `lt-agent --workers N`: N worker threads (load-worker.ts), started and warmed once, share each
// test's requests; the main thread keeps the one Kafka connection and registration and reports
// their merged figures (merged-recorder.ts) as one driver's.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ProfileChange } from '../protocol/load-profile';
import type { PhaseCounts, TestConfigMessage } from '../protocol/wire-protocol';
import type { Logger } from '../common/logger';
import type { FromWorker, RunCommand, RunSettings, ToWorker } from './load-worker';
import type { LoadRun } from './load-run';
import { MergedRecorder, type WorkerPart } from './merged-recorder';

/**
 * More load threads than cores only take turns on them, each with its own connections and
 * memory: `--workers` is bounded at this many per core.
 */
export const WORKERS_PER_CORE = 4;

export function maxWorkers(cores = availableParallelism()): number {
  return WORKERS_PER_CORE * cores;
}

/** A moment for every worker to receive its share before the common start. */
const START_DELAY_MS = 20;

export class LoadWorkers {
  private closing = false;

  private constructor(
    private workers: Worker[],
    private readonly log: Logger,
  ) {}

  /** Starts `count` workers and waits until each has warmed its HTTP client. */
  static async start(count: number, log: Logger, script = join(__dirname, 'load-worker.js')): Promise<LoadWorkers> {
    const workers = Array.from({ length: count }, () => new Worker(script, { workerData: { loadWorker: true } }));
    const niceValues = await Promise.all(
      workers.map(
        (w, i) =>
          new Promise<number | undefined>((resolve, reject) => {
            const onMessage = (m: FromWorker) => {
              if (m.type !== 'ready') return;
              w.off('message', onMessage);
              resolve(m.nice);
            };
            w.on('message', onMessage);
            w.once('error', (error) => reject(new Error(`load worker ${i + 1} failed to start: ${error.message}`)));
          }),
      ),
    );
    const nice = niceValues.find((n) => n !== undefined);
    log.info(nice === undefined ? `${count} load workers` : `${count} load workers at nice ${nice}: the main thread (heartbeats, reports, commands) runs first when the cores are busy`);
    const pool = new LoadWorkers(workers, log);
    for (const [i, w] of workers.entries()) {
      w.on('error', (error) => log.error(`load worker ${i + 1}: ${error.message}`));
      w.once('exit', (code) => pool.lose(w, i + 1, code));
    }
    return pool;
  }

  /**
   * A worker that exited (a crash: they never end on their own) leaves the pool, so that no later
   * test waits on it; its running test's share ends with what it reported (ThreadedLoad). With
   * none left, tests run on the main thread.
   */
  private lose(worker: Worker, number: number, code: number): void {
    if (this.closing) return;
    this.workers = this.workers.filter((w) => w !== worker);
    this.log.error(`load worker ${number} exited (code ${code}); ${this.workers.length ? `${this.workers.length} left` : 'tests run on the main thread from now on'}`);
  }

  get size(): number {
    return this.workers.length;
  }

  /** message and exit listeners on each worker (a test's are removed when its share ends) */
  listenerCounts(): { message: number; exit: number }[] {
    return this.workers.map((w) => ({ message: w.listenerCount('message'), exit: w.listenerCount('exit') }));
  }

  /** A test's load on the first `count` workers. */
  run(config: TestConfigMessage, settings: RunSettings, count: number, scheduled: boolean, controllable = true): ThreadedLoad {
    return new ThreadedLoad(this.workers.slice(0, count), config, settings, scheduled, this.log, controllable);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

export class ThreadedLoad implements LoadRun {
  readonly recorder: MergedRecorder;
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private readonly parts: (WorkerPart | undefined)[];
  private readonly finished = new Set<number>();
  /** a worker exited during this test: its share ended early */
  private crashed = false;
  private readonly listeners: { message: (m: FromWorker) => void; exit: () => void }[] = [];
  /** epoch ms of the common start: 0 on every worker's test clock */
  private startAt: number | undefined;
  /** changes made before the start, sent with the run command to take effect at it */
  private readonly early: { change: ProfileChange; atMs: number }[] = [];

  constructor(
    private readonly workers: Worker[],
    private readonly config: TestConfigMessage,
    private readonly settings: RunSettings,
    scheduled: boolean,
    private readonly log: Logger,
    readonly controllable = true,
  ) {
    this.parts = new Array(workers.length).fill(undefined);
    this.recorder = new MergedRecorder(this.parts, scheduled);
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  start(): Promise<void> {
    const startAt = Date.now() + START_DELAY_MS;
    this.startAt = startAt;
    for (const [index, worker] of this.workers.entries()) {
      const listener = (m: FromWorker) => {
        if (m.type === 'part' && m.index === index) {
          this.recorder.update(index, m.part);
          if (m.part.final) this.finish(index);
        } else if (m.type === 'failed') {
          this.log.error(`load worker ${index + 1} could not run its share: ${m.message}`);
          this.finish(index);
        }
      };
      // A worker that dies has finished its share, with what it reported: short of its plan, as a stopped one is.
      const exited = () => {
        this.crashed = true;
        this.finish(index);
      };
      worker.on('message', listener);
      worker.once('exit', exited);
      this.listeners[index] = { message: listener, exit: exited };
      const command: RunCommand = { type: 'run', config: this.config, ...this.settings, index, of: this.workers.length, startAt, changes: this.early.length ? [...this.early] : undefined };
      worker.postMessage(command satisfies ToWorker);
    }
    return this.done;
  }

  private finish(index: number): void {
    if (this.finished.has(index)) return;
    this.finished.add(index);
    // The workers outlive the test: its listeners must not pile up on them, test after test.
    this.workers[index].off('message', this.listeners[index].message);
    this.workers[index].off('exit', this.listeners[index].exit);
    if (this.finished.size === this.workers.length) this.resolveDone();
  }

  stop(): void {
    for (const w of this.workers) w.postMessage({ type: 'stop' } satisfies ToWorker);
  }

  async destroy(): Promise<void> {
    for (const w of this.workers) w.postMessage({ type: 'destroy' } satisfies ToWorker);
  }

  get requestsInFlight(): number {
    return this.recorder.present.reduce((a, p) => a + p.inFlight, 0);
  }

  get wasStopped(): boolean {
    return this.crashed || this.recorder.present.some((p) => p.wasStopped);
  }

  get dataExhausted(): boolean {
    return this.recorder.present.some((p) => p.dataExhausted);
  }

  get firstSendEpoch(): number | undefined {
    const firsts = this.recorder.present.map((p) => p.firstSendEpoch).filter((t): t is number => t !== undefined);
    return firsts.length ? Math.min(...firsts) : undefined;
  }

  get connectionLimit(): number | undefined {
    const limits = this.recorder.present.map((p) => p.connectionLimit).filter((l): l is number => l !== undefined);
    return limits.length ? limits.reduce((a, b) => a + b, 0) : undefined;
  }

  get elapsedMs(): number {
    return Math.max(0, ...this.recorder.present.map((p) => p.elapsedMs));
  }

  get testClockMs(): number | undefined {
    return this.startAt === undefined ? undefined : Math.max(0, Date.now() - this.startAt);
  }

  epochAt(testMs: number): number | undefined {
    return this.startAt === undefined ? undefined : Math.round(this.startAt + testMs);
  }

  /**
   * Every worker cuts its plan at the same `atMs` of its own test clock (each started at the
   * common startAt), so the split j = m × W + w stays exact through the change.
   */
  apply(change: ProfileChange, atMs: number): void {
    if (this.startAt === undefined) {
      this.early.push({ change, atMs: 0 });
      return;
    }
    for (const [index, w] of this.workers.entries()) if (!this.finished.has(index)) w.postMessage({ type: 'control', change, atMs } satisfies ToWorker);
  }

  get pausedMs(): number {
    return Math.max(0, ...this.recorder.present.map((p) => p.pausedMs ?? 0));
  }

  phases(): PhaseCounts[] {
    return this.recorder.phases();
  }
}
