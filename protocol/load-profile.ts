// The load of a test over time, the one rule both sides compute it with: an agent paces its
// requests by it, the orchestrator plans, checks completeness and sets deadlines by it.
//
// A profile is a list of segments on the test's clock (milliseconds since its measured part
// began), each a straight line from `from` to `to`: requests per second in an open model
// (TSUNAMI), requests in flight in a closed one (AVALANCHE). Stages become segments; live control
// changes the segments from the moment it takes effect (a `set` replaces the rest of the plan by
// its value, a pause holds the rest until the resume and then shifts it by the time paused).
//
// In the open model request j (0, 1, 2, …) is due where the integral of the rate reaches j, so the
// first request goes at the start and a ramp's requests are spaced by the rate of their moment:
// corrected latency is measured from those due times through a ramp as on a plateau.

/** One stage of a definition or a test_config: totals over all drivers. */
export interface Stage {
  duration_s: number;
  /** TSUNAMI: requests per second over all drivers at the stage's end */
  target_rate?: number;
  /** AVALANCHE: requests in flight over all drivers at the stage's end */
  target_concurrency?: number;
}

export interface ProfileSegment {
  /** the window of the result this time belongs to: "stage 2", "set 1", "pause 1" */
  phase: string;
  /** ms on the test's clock; `endMs` may be Infinity (a plan bounded by its request count, or a pause) */
  startMs: number;
  endMs: number;
  /** the value at the segment's start and at its end: requests per second, or requests in flight */
  from: number;
  to: number;
  /** a pause: no requests, and not part of the planned length */
  paused?: boolean;
}

/** A change made while the test runs; `phase` names the window it begins. */
export type ProfileChange = { action: 'set'; value: number; phase: string } | { action: 'pause'; phase: string } | { action: 'resume'; phase?: string };

const EPSILON = 1e-9;

export class LoadProfile {
  /** cumulative requests (open model) at each segment's start */
  private readonly before: number[];
  /** a cursor: queries move forward through time, so most start where the last one ended */
  private cursor = 0;

  /**
   * `suspended`: while paused, the plan that resumes (segments on the clock as if resumed at the
   * pause's start); undefined when not paused.
   */
  constructor(
    readonly segments: readonly ProfileSegment[],
    readonly suspended?: readonly ProfileSegment[],
  ) {
    if (segments.length === 0) throw new Error('a load profile needs at least one segment');
    this.before = [0];
    for (const s of segments) this.before.push(this.before[this.before.length - 1] + area(s, s.endMs));
  }

  /** One value from the start to `endMs` (Infinity: until the request count is reached). */
  static constant(value: number, endMs = Infinity, phase = 'main'): LoadProfile {
    return new LoadProfile([{ phase, startMs: 0, endMs, from: value, to: value }]);
  }

  /** Stages ramping linearly from `startValue`, each from the previous one's end; phases "stage 1", "stage 2", … */
  static fromStages(stages: readonly Stage[], startValue: number, valueOf: (stage: Stage) => number): LoadProfile {
    let at = 0;
    let from = startValue;
    const segments = stages.map((stage, i): ProfileSegment => {
      const to = valueOf(stage);
      const segment = { phase: `stage ${i + 1}`, startMs: at, endMs: at + stage.duration_s * 1000, from, to };
      at = segment.endMs;
      from = to;
      return segment;
    });
    return new LoadProfile(segments);
  }

  /** The same profile with every value multiplied (a driver's share of a total rate). */
  scaled(factor: number): LoadProfile {
    const scale = (list: readonly ProfileSegment[]) => list.map((s) => ({ ...s, from: s.from * factor, to: s.to * factor }));
    return new LoadProfile(scale(this.segments), this.suspended && scale(this.suspended));
  }

  /** ms on the test's clock when the plan ends; Infinity while paused or when a count bounds it */
  get endMs(): number {
    return this.segments[this.segments.length - 1].endMs;
  }

  get paused(): boolean {
    return this.suspended !== undefined;
  }

  /** The planned length in ms, pauses excluded: what a duration test's send window must cover. */
  get plannedMs(): number {
    const active = [...this.segments, ...(this.suspended ?? [])].filter((s) => !isPause(s));
    return active.reduce((sum, s) => sum + (s.endMs - s.startMs), 0);
  }

  valueAt(ms: number): number {
    const s = this.segments[this.indexAt(ms)];
    if (ms <= s.startMs) return s.from;
    if (ms >= s.endMs) return s.to;
    return s.from + ((s.to - s.from) * (ms - s.startMs)) / (s.endMs - s.startMs);
  }

  phaseAt(ms: number): string {
    return this.segments[this.indexAt(ms)].phase;
  }

  /**
   * The average value (requests per second, or in flight) of the plan over the time it gives one
   * phase, up to `untilMs` on the test's clock; null when the phase has no time yet. A pause's is 0.
   */
  phaseAverage(phase: string, untilMs: number): number | null {
    let integral = 0;
    let duration = 0;
    for (const s of this.segments) {
      if (s.phase !== phase) continue;
      const end = Math.min(s.endMs, untilMs);
      if (end <= s.startMs) continue;
      integral += area(s, end);
      duration += end - s.startMs;
    }
    return duration > 0 ? (integral * 1000) / duration : null;
  }

  /** Requests due by `ms` in the open model: the integral of the rate from the start. */
  cumulativeAt(ms: number): number {
    const i = this.indexAt(ms);
    return this.before[i] + area(this.segments[i], Math.min(ms, this.segments[i].endMs));
  }

  /**
   * When request `n` (counting from 0) is due in the open model: where the integral reaches n.
   * Infinity when the plan ends first (or a pause holds it).
   */
  dueAt(n: number): number {
    if (n <= EPSILON) return this.segments[0].startMs;
    let i = this.cursor;
    if (this.before[i] > n) i = 0;
    while (i < this.segments.length && this.before[i + 1] < n - EPSILON) i++;
    if (i >= this.segments.length) return Infinity;
    this.cursor = i;
    const s = this.segments[i];
    const left = n - this.before[i];
    if (left <= EPSILON) return s.startMs;
    // Within the segment the integral is from·τ + slope·τ²/2 (τ in seconds): solved in the form
    // that holds for a falling rate and for a ramp from zero alike.
    const seconds = (s.endMs - s.startMs) / 1000;
    const slope = Number.isFinite(seconds) && seconds > 0 ? (s.to - s.from) / seconds : 0;
    const root = Math.sqrt(Math.max(0, s.from * s.from + 2 * slope * left));
    const tau = (2 * left) / (s.from + root);
    if (!Number.isFinite(tau)) return Infinity;
    const at = Math.min(s.endMs, s.startMs + tau * 1000);
    // Due exactly as a pause begins: it waits for the resume (Infinity while paused), as everything after it does.
    const next = this.segments[i + 1];
    if (at >= s.endMs && next?.paused) return next.endMs;
    return at;
  }

  /** Requests the open model sends in its whole plan: how many are due before it ends (Infinity if unbounded). */
  get plannedRequests(): number {
    if (!Number.isFinite(this.endMs)) return Infinity;
    const total = this.before[this.segments.length];
    // Request n is sent when due strictly before the end: a plan of 1 s at 10/s sends 0 … 9.
    const whole = Math.ceil(total - EPSILON);
    return Math.max(whole, this.segments[0].from > 0 || total > 0 ? 1 : 0);
  }

  /** The profile after a change that takes effect at `atMs`. */
  apply(change: ProfileChange, atMs: number): LoadProfile {
    if (change.action === 'resume') {
      if (!this.suspended) return this;
      const last = this.segments[this.segments.length - 1];
      const pausedFor = atMs - last.startMs;
      const head = [...this.segments.slice(0, -1), { ...last, endMs: atMs }];
      const rest = this.suspended.map((s) => ({ ...s, startMs: s.startMs + pausedFor, endMs: s.endMs + pausedFor }));
      if (change.phase && rest.length) rest[0] = { ...rest[0], phase: change.phase };
      return new LoadProfile([...head, ...rest]);
    }
    if (change.action === 'pause') {
      if (this.suspended) return this;
      const { head, tail } = splitAt(this.segments, atMs);
      return new LoadProfile([...head, { phase: change.phase, startMs: atMs, endMs: Infinity, from: 0, to: 0, paused: true }], tail);
    }
    // set: the rest of the plan holds the value until the plan's end (pauses still shift it)
    if (this.suspended) {
      // The suspended plan is on the clock as if resumed at the pause's start: the set begins
      // there, so that it runs from the moment of the resume (not as much later as the set came
      // after the pause, a silence nobody asked for).
      const pausedAt = this.segments[this.segments.length - 1].startMs;
      const end = this.suspended.length ? this.suspended[this.suspended.length - 1].endMs : pausedAt;
      return new LoadProfile(this.segments, [{ phase: change.phase, startMs: pausedAt, endMs: Math.max(end, pausedAt), from: change.value, to: change.value }]);
    }
    const { head } = splitAt(this.segments, atMs);
    return new LoadProfile([...head, { phase: change.phase, startMs: atMs, endMs: Math.max(this.endMs, atMs), from: change.value, to: change.value }]);
  }

  /** The phases in the order they begin, each once. */
  get phases(): string[] {
    return [...new Set([...this.segments, ...(this.suspended ?? [])].map((s) => s.phase))];
  }

  private indexAt(ms: number): number {
    let i = this.cursor;
    if (i >= this.segments.length || this.segments[i].startMs > ms) i = 0;
    while (i < this.segments.length - 1 && this.segments[i].endMs <= ms) i++;
    return i;
  }
}

function isPause(s: ProfileSegment): boolean {
  return s.paused === true;
}

/** Requests due in a segment from its start to `untilMs` (open model). */
function area(s: ProfileSegment, untilMs: number): number {
  const until = Math.min(untilMs, s.endMs);
  if (until <= s.startMs) return 0;
  if (s.from === s.to) return (s.from * (until - s.startMs)) / 1000;
  const valueAtUntil = s.from + ((s.to - s.from) * (until - s.startMs)) / (s.endMs - s.startMs);
  return ((s.from + valueAtUntil) / 2) * ((until - s.startMs) / 1000);
}

/** The segments before `atMs` (the one across it cut there) and those after (the cut one's rest first). */
function splitAt(segments: readonly ProfileSegment[], atMs: number): { head: ProfileSegment[]; tail: ProfileSegment[] } {
  const head: ProfileSegment[] = [];
  const tail: ProfileSegment[] = [];
  for (const s of segments) {
    if (s.endMs <= atMs) head.push(s);
    else if (s.startMs >= atMs) tail.push(s);
    else {
      const mid = Number.isFinite(s.endMs) ? s.from + ((s.to - s.from) * (atMs - s.startMs)) / (s.endMs - s.startMs) : s.from;
      if (atMs > s.startMs) head.push({ ...s, endMs: atMs, to: mid });
      tail.push({ ...s, startMs: atMs, from: mid });
    }
  }
  if (head.length === 0) head.push({ ...segments[0], endMs: atMs, to: segments[0].from });
  return { head, tail };
}

/**
 * A whole number split over `of` parts so that the parts add up to it: part `index` gets one more
 * than the floor while the remainder lasts. AVALANCHE's concurrency over drivers (and a driver's
 * over its worker threads) is split so.
 */
export function splitWhole(total: number, index: number, of: number): number {
  const whole = Math.round(total);
  return Math.floor(whole / of) + (index < whole % of ? 1 : 0);
}
