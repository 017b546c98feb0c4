// Runs a capacity search as ONE open-model test whose rate the search changes between steps, through
// a port the orchestrator implements (so the search is tested with a fake, and hosts wire it to the
// real test run). Each step: run step_duration_s, pause (phase "judge k") so that no request of the
// next rate mixes into this step's window, wait until every driver settled "step k", judge it, set
// the next rate while paused (phase "step k+1"), resume. The test is stopped at the end, whatever ends it.
import type { CapacityConfig } from './capacity-config';
import { CapacitySearch, type CapacityResult, type CapacityStep, type StepFigures } from './capacity-search';

/** What the search needs of the orchestrator. Rates are totals over all drivers. */
export interface CapacityPort {
  /** Starts the TSUNAMI test at `rate` with a duration bound (capacityTestDurationS) and its first phase named "step 1"; the test id. */
  start(rate: number): Promise<string>;
  /** A live `set` of the total rate; `phase` names the window it begins. */
  setRate(testId: string, rate: number, phase: string): Promise<void>;
  pause(testId: string, phase: string): Promise<void>;
  resume(testId: string, phase: string): Promise<void>;
  /** The phase's figures over all drivers once every driver reported it settled; rejects after `timeoutMs`. */
  waitForPhaseSettled(testId: string, phase: string, timeoutMs: number): Promise<StepFigures>;
  stop(testId: string): Promise<void>;
  /** how many drivers run the test (per-driver rates and the send-lag bound follow from it) */
  drivers(): number;
}

export type CapacityProgress =
  | { kind: 'started'; testId: string; rate: number; drivers: number }
  | { kind: 'step_started'; step: number; phase: string; rate: number }
  | { kind: 'step_judged'; step: CapacityStep; next: number | null }
  | { kind: 'ended'; result: CapacityResult };

export interface CapacityRunOptions {
  config: CapacityConfig;
  port: CapacityPort;
  onProgress?: (progress: CapacityProgress) => void;
  /** aborting it (Ctrl-C, a REST stop) stops the test; the result then ends 'stopped' with the steps so far */
  signal?: AbortSignal;
  /** how long a step's window may take to settle after the pause: the requests still in flight must end */
  settleTimeoutMs?: number;
  /** waits `ms` or until the signal aborts; tests pass a fake clock's */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Long enough for requests still in flight at the pause to be answered or time out (a request's
 * timeout is at most what the definition sets; 60 s covers the usual ones) and for every driver's next report.
 */
export const DEFAULT_SETTLE_TIMEOUT_MS = 60_000;

export const stepPhase = (k: number) => `step ${k}`;
export const judgePhase = (k: number) => `judge ${k}`;

class Stopped extends Error {}

function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs the search to its end. A port failure stops the test and rejects (the steps judged so far
 * reached onProgress); an abort stops the test and resolves with ended 'stopped'.
 */
export async function runCapacitySearch(options: CapacityRunOptions): Promise<CapacityResult> {
  const { config, port, signal } = options;
  const sleep = options.sleep ?? realSleep;
  const settleTimeoutMs = options.settleTimeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS;
  const progress = options.onProgress ?? (() => {});
  const search = new CapacitySearch(config, port.drivers());
  const checkAbort = () => {
    if (signal?.aborted) throw new Stopped();
  };
  // A stop must not wait for a minute of settling: the port's call is left to finish on its own.
  const aborted = new Promise<never>((_, reject) => signal?.addEventListener('abort', () => reject(new Stopped()), { once: true }));
  aborted.catch(() => {});
  const orStop = <T>(work: Promise<T>): Promise<T> => {
    checkAbort();
    return Promise.race([work, aborted]);
  };

  let testId: string | undefined;
  try {
    checkAbort();
    let rate = search.nextRate()!;
    // Not raced with the stop: the test id is needed to stop what was started.
    testId = await port.start(rate);
    // The drivers are picked as the test starts: the search's per-driver figures follow from them.
    search.drivers = port.drivers();
    checkAbort();
    progress({ kind: 'started', testId, rate, drivers: search.drivers });
    for (let k = 1; ; k++) {
      progress({ kind: 'step_started', step: k, phase: stepPhase(k), rate });
      await sleep(config.step_duration_s * 1000, signal);
      checkAbort();
      await orStop(port.pause(testId, judgePhase(k)));
      const figures = await orStop(port.waitForPhaseSettled(testId, stepPhase(k), settleTimeoutMs));
      checkAbort();
      const step = search.record({ ...figures, phase: stepPhase(k) });
      const next = search.nextRate();
      progress({ kind: 'step_judged', step, next });
      if (next === null) break;
      // Set while paused, so the new rate's window holds only requests due at the new rate.
      await orStop(port.setRate(testId, next, stepPhase(k + 1)));
      await orStop(port.resume(testId, stepPhase(k + 1)));
      rate = next;
    }
  } catch (error) {
    if (!(error instanceof Stopped)) {
      if (testId !== undefined) await port.stop(testId).catch(() => {});
      throw error;
    }
    search.stop();
  }
  if (testId !== undefined) await port.stop(testId);
  const result = search.result();
  progress({ kind: 'ended', result });
  return result;
}
