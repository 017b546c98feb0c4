// One way to try again, for every loop that waits for something to answer (the bus's admin calls,
// the agent's report outbox, the agent's start, the long-lived hosts' connection). Whether to try
// again is the error's to say: kafkajs puts `retriable` on its errors, and our own Kafka errors do
// the same (a broker that does not answer is worth waiting for; one that refused our password is not).
import type { Clock } from './clock';

/**
 * What an error says of trying again: its own `retriable` flag, else that of the error it wraps
 * (`originalError` for kafkajs, `cause` for ours), else undefined (it does not say).
 */
export function retriableFlag(error: unknown): boolean | undefined {
  let e: unknown = error;
  for (let depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    const flag = (e as { retriable?: unknown }).retriable;
    if (typeof flag === 'boolean') return flag;
    e = (e as { originalError?: unknown }).originalError ?? (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Errors that say nothing are tried again; those that say `retriable: false` are not. */
export const unlessRefused = (error: unknown): boolean => retriableFlag(error) !== false;
/** Only errors that say `retriable: true` are tried again. */
export const onlyIfRetriable = (error: unknown): boolean => retriableFlag(error) === true;

export interface RetryOptions {
  /** the wait after the first failure (ms); each further failure doubles it, up to `maxDelayMs` */
  firstDelayMs: number;
  /** the longest wait (ms); the default is `firstDelayMs`, a constant pace */
  maxDelayMs?: number;
  /** attempts in all before the last error is thrown; unlimited by default */
  attempts?: number;
  /** which failures are worth another attempt (default: `unlessRefused`) */
  retriable?: (error: unknown) => boolean;
  /** told of each failure that will be tried again, before the wait */
  onRetry?: (error: unknown, failures: number, delayMs: number) => void;
  /** ends the waiting: retry() then rejects with RetryStopped */
  signal?: AbortSignal;
  /**
   * Whose timers pace the attempts (tests pass a fake one). Without one, the waits are plain
   * timers that keep the process alive: a process waiting for its broker has nothing else to do.
   */
  clock?: Clock;
}

/** retry() was stopped through its signal before an attempt succeeded. */
export class RetryStopped extends Error {
  constructor(readonly lastError: unknown) {
    super('stopped before an attempt succeeded');
  }
}

/** The wait after the `failures`-th failure in a row (ms). */
export function retryDelay(options: Pick<RetryOptions, 'firstDelayMs' | 'maxDelayMs'>, failures: number): number {
  const max = options.maxDelayMs ?? options.firstDelayMs;
  return Math.min(max, options.firstDelayMs * 2 ** Math.min(30, failures - 1));
}

/**
 * Calls `operation` (with the attempt's number, from 1) until it resolves, waiting between
 * attempts. Throws the error of an attempt that is not retriable or is the last one allowed.
 */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const retriable = options.retriable ?? unlessRefused;
  let lastError: unknown;
  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) throw new RetryStopped(lastError);
    try {
      return await operation(attempt);
    } catch (error) {
      lastError = error;
      if (!retriable(error) || (options.attempts !== undefined && attempt >= options.attempts)) throw error;
      const delay = retryDelay(options, attempt);
      options.onRetry?.(error, attempt, delay);
      if (!(await wait(delay, options))) throw new RetryStopped(lastError);
    }
  }
}

/** Resolves true after `ms`, or false as soon as the signal aborts. */
function wait(ms: number, { clock, signal }: Pick<RetryOptions, 'clock' | 'signal'>): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    let cancel: () => void;
    const onAbort = () => {
      cancel();
      resolve(false);
    };
    const done = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    };
    if (clock) cancel = clock.after(ms, done).cancel;
    else {
      const timer = setTimeout(done, ms);
      cancel = () => clearTimeout(timer);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
