// Time as the state machines see it. Production code uses the system clock; unit tests inject a
// fake one and move it by hand, so that deadlines of minutes are tested in microseconds.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** epoch milliseconds */
  now(): number;
  /** Calls `fn` every `ms` until cancelled. The timer never keeps the process alive by itself. */
  every(ms: number, fn: () => void): TimerHandle;
  /** Calls `fn` once after `ms` unless cancelled. */
  after(ms: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, fn) {
    const timer = setInterval(fn, ms);
    timer.unref();
    return { cancel: () => clearInterval(timer) };
  },
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return { cancel: () => clearTimeout(timer) };
  },
};
