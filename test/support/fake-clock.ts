// A clock that moves only when a test says so: timers fire in order of their due times as it advances.
import type { Clock, TimerHandle } from '../../common/clock';

interface Timer {
  at: number;
  every?: number;
  fn: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  private timers: Timer[] = [];

  constructor(private time = Date.UTC(2026, 10, 21, 12, 0, 0)) {}

  now(): number {
    return this.time;
  }

  every(ms: number, fn: () => void): TimerHandle {
    return this.add({ at: this.time + ms, every: ms, fn, cancelled: false });
  }

  after(ms: number, fn: () => void): TimerHandle {
    return this.add({ at: this.time + ms, fn, cancelled: false });
  }

  private add(timer: Timer): TimerHandle {
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      const next = this.timers.reduce<Timer | undefined>((a, t) => (t.at <= end && (!a || t.at < a.at) ? t : a), undefined);
      if (!next) break;
      this.time = Math.max(this.time, next.at);
      if (next.every) next.at += next.every;
      else next.cancelled = true;
      next.fn();
    }
    this.time = end;
  }

  /** Jumps forward without firing timers on the way (an event-loop stall); the next advance fires what is due. */
  jump(ms: number): void {
    this.time += ms;
  }
}
