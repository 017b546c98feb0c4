// The capacity search as a state machine, without I/O: which rate to offer next, whether a step
// met the SLO, and what the search found. Growth by `growth` until the first step that fails (the
// last growth step capped at max_rate), then bisection between the last passing and the lowest
// failing rate for `refine_steps` steps. A step the drivers could not offer says nothing about the
// server unless the server failed even what was offered (errors, server queries, latency measured
// without the drivers' own queue); else the search ends there and reports no capacity beyond what
// the server showed.
import { OrchestratorError } from '../orchestrator-error';
import type { CapacityConfig, CapacitySlo } from './capacity-config';

/** One step's window as the orchestrator's per-phase figures give it: totals over all drivers. */
export interface StepFigures {
  phase: string;
  /** requests per second the plan asked for in the window */
  planned_rate: number;
  /** requests per second the drivers put on the wire in the window */
  achieved_rate: number;
  requests_sent: number;
  responses: number;
  errors: Record<string, number>;
  error_rate: number;
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
  /**
   * p99 from send to answer, without the time a request waited in its driver: what the server
   * showed when the drivers fell short (the corrected p99 then includes the drivers' own queue)
   */
  uncorrected_p99_ms?: number | null;
  /** the worst driver's send lag p99: how late requests went out after they were due */
  send_lag_p99_ms?: number;
  /** requests due while every connection of their driver was busy */
  waited_for_connection?: number;
  /** each server query's value for the window (absent: no sample) */
  server?: Record<string, number | undefined>;
}

export type CapacityLimit = 'p99_latency_ms' | 'error_rate' | `server:${string}`;
export type CapacityEnding = 'found' | 'max_rate_reached' | 'drivers_limit' | 'failed_at_start' | 'stopped';

export interface StepVerdict {
  pass: boolean;
  /** the limit that failed (the first in the order p99, error rate, server queries) */
  limit?: CapacityLimit;
  /** what was judged, e.g. "p99 412 ms > 200 ms" or "p99 38 ms ≤ 200 ms, errors 0% ≤ 1%" */
  text: string;
}

export interface CapacityStep {
  step: number;
  phase: string;
  /** the total rate the search asked for */
  rate: number;
  achieved_rate: number;
  p50_ms: number | null;
  p99_ms: number | null;
  error_rate: number;
  errors: Record<string, number>;
  server: Record<string, number | undefined>;
  pass: boolean;
  limit?: CapacityLimit;
  /** set when the drivers, not the server, fell short: this step is not judged against the SLO */
  drivers_limited?: boolean;
  text: string;
}

export interface CapacityResult {
  /** the largest total rate that met the SLO, when the search could bound it; null otherwise */
  capacity_rps: number | null;
  per_driver_rps: number | null;
  /** the lowest rate that failed the SLO (the upper bound of the capacity) and what broke */
  first_failure: { rate: number; limit: CapacityLimit; text: string } | null;
  ended: CapacityEnding;
  drivers: number;
  /** the largest rate that met the SLO, whatever the ending (a lower bound when capacity_rps is null) */
  passed_up_to_rps: number | null;
  /** drivers_limit: the highest rate the drivers achieved in any step */
  drivers_offered_at_most_rps?: number;
  /** one sentence for people: the capacity and the first failure, or why there is none */
  summary: string;
  steps: CapacityStep[];
}

/** Below this share of the planned rate a step was not offered as planned. */
export const MIN_ACHIEVED_SHARE = 0.97;
/**
 * More than this share of a step's requests waiting for a connection means the drivers' connection
 * limit, not the server, set the pace. A handful of waits at a step's start (connections still
 * opening) do not change the load; a percent does, and the corrected latency then measures the queue
 * in the driver.
 */
export const MAX_WAITED_SHARE = 0.01;
/**
 * Send lag p99 above both this and two request intervals of a driver means the driver itself fell
 * behind (CPU, event loop). The same bound as the schedule warnings of a whole test: a few ms of
 * timer jitter and GC are normal, this much changes the load.
 */
export const MAX_SEND_LAG_P99_MS = 20;

const LIMIT_ORDER = ['p99_latency_ms', 'error_rate'] as const;

/**
 * Bisection stops when the passing and failing rates are this close (a share of the passing one):
 * closer steps differ by less than a step's achieved rate may wander, so they cannot be told apart.
 */
export const MIN_BISECTION_GAP = 0.01;

/** Rates a person can read and repeat: whole req/s below 100, three significant figures above (sub-1 rates keep three figures). */
export function roundRate(rate: number): number {
  if (rate <= 0) return 0;
  if (rate >= 1 && rate < 100) return Math.round(rate);
  return Number(rate.toPrecision(3));
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const latency = (n: number) => (n < 10 ? `${Number(n.toFixed(1))}` : int(n));
const percent = (n: number) => `${Number((n * 100).toPrecision(3))}%`;
const value = (n: number) => (Math.abs(n) >= 100 ? int(n) : `${Number(n.toPrecision(3))}`);

/**
 * A step's figures against the SLO. Every limit is listed; `limit` names the first that failed.
 * `serverOnly` judges only what the server showed whoever offered the load: errors, server queries,
 * and the uncorrected p99 (skipped when absent), for a step the drivers did not offer in full.
 */
export function judgeStep(figures: StepFigures, slo: CapacitySlo, options: { serverOnly?: boolean } = {}): StepVerdict {
  const checks: { limit: CapacityLimit; pass: boolean; text: string }[] = [];
  for (const limit of LIMIT_ORDER) {
    const bound = slo[limit];
    if (bound === undefined) continue;
    if (limit === 'p99_latency_ms' && options.serverOnly) {
      const p99 = figures.uncorrected_p99_ms;
      if (p99 === undefined || p99 === null) continue;
      checks.push({ limit, pass: p99 <= bound, text: `p99 ${latency(p99)} ms uncorrected ${p99 <= bound ? '≤' : '>'} ${latency(bound)} ms` });
    } else if (limit === 'p99_latency_ms') {
      const p99 = figures.p99_ms;
      // No latency at all (nothing answered) is no evidence of meeting the limit.
      if (p99 === null) checks.push({ limit, pass: false, text: `p99 not measured (no responses) > ${latency(bound)} ms` });
      else checks.push({ limit, pass: p99 <= bound, text: `p99 ${latency(p99)} ms ${p99 <= bound ? '≤' : '>'} ${latency(bound)} ms` });
    } else if (options.serverOnly) {
      // The drivers fell short: a timeout may be a request's own wait in its driver for a
      // connection, so only the errors the server gave are judged.
      const rate = serverErrorRate(figures);
      checks.push({ limit, pass: rate <= bound, text: `errors ${percent(rate)} without timeouts ${rate <= bound ? '≤' : '>'} ${percent(bound)}` });
    } else {
      const rate = figures.error_rate;
      checks.push({ limit, pass: rate <= bound, text: `errors ${percent(rate)} ${rate <= bound ? '≤' : '>'} ${percent(bound)}` });
    }
  }
  for (const [name, server] of Object.entries(slo.server ?? {})) {
    const limit: CapacityLimit = `server:${name}`;
    const seen = figures.server?.[name];
    if (seen === undefined || !Number.isFinite(seen)) {
      // As for a whole test's thresholds: no pass on no evidence, unless the limit says it may go unjudged.
      checks.push({ limit, pass: server.optional === true, text: `${name} no sample${server.optional ? ' (optional, not judged)' : ''}` });
      continue;
    }
    if (server.max !== undefined) checks.push({ limit, pass: seen <= server.max, text: `${name} ${value(seen)} ${seen <= server.max ? '≤' : '>'} ${value(server.max)}` });
    if (server.min !== undefined) checks.push({ limit, pass: seen >= server.min, text: `${name} ${value(seen)} ${seen >= server.min ? '≥' : '<'} ${value(server.min)}` });
  }
  const failed = checks.filter((c) => !c.pass);
  if (failed.length === 0) return { pass: true, text: checks.map((c) => c.text).join(', ') || 'no limits set' };
  return { pass: false, limit: failed[0].limit, text: failed.map((c) => c.text).join(', ') };
}

/** Errors other than timeouts, over the requests sent. */
function serverErrorRate(figures: StepFigures): number {
  const errors = Object.entries(figures.errors).reduce((a, [kind, n]) => a + (kind === 'timeout' ? 0 : n), 0);
  return figures.requests_sent > 0 ? errors / figures.requests_sent : 0;
}

/**
 * Why the drivers, not the server, set the pace of a step; undefined when they offered it.
 * `lateSends` false leaves send lag out (a step that met the SLO: corrected latency counted it).
 */
export function driverShortfall(figures: StepFigures, rate: number, drivers: number, lateSends = true): string | undefined {
  if (figures.achieved_rate < rate * MIN_ACHIEVED_SHARE) return `offered ${int(figures.achieved_rate)} of ${int(rate)} req/s planned`;
  const waited = figures.waited_for_connection ?? 0;
  if (waited > Math.max(0, figures.requests_sent) * MAX_WAITED_SHARE) return `${int(waited)} of ${int(figures.requests_sent)} requests waited for a free connection`;
  const intervalMs = (1000 * Math.max(1, drivers)) / rate;
  const lag = figures.send_lag_p99_ms;
  if (lateSends && lag !== undefined && lag > Math.max(MAX_SEND_LAG_P99_MS, 2 * intervalMs)) return `requests went out late (send lag p99 ${latency(lag)} ms)`;
  return undefined;
}

type SearchState =
  | { kind: 'growing'; rate: number }
  | { kind: 'refining'; rate: number; left: number }
  | { kind: 'ended'; ended: CapacityEnding };

export class CapacitySearch {
  private state: SearchState;
  private readonly steps: CapacityStep[] = [];
  /** largest passing rate, lowest failing step */
  private passed: number | null = null;
  private failed: CapacityStep | null = null;

  constructor(
    readonly config: CapacityConfig,
    /** how many drivers run the test: known only once it started (set then), before any step is recorded */
    public drivers: number,
  ) {
    this.state = { kind: 'growing', rate: roundRate(Math.min(config.start_rate, config.max_rate)) };
  }

  /** The total rate of the next step; null once the search has ended. */
  nextRate(): number | null {
    return this.state.kind === 'ended' ? null : this.state.rate;
  }

  get ended(): CapacityEnding | undefined {
    return this.state.kind === 'ended' ? this.state.ended : undefined;
  }

  /** Judges the step just run at nextRate() and chooses the next rate (or ends the search). */
  record(figures: StepFigures): CapacityStep {
    const state = this.state;
    if (state.kind === 'ended') throw new OrchestratorError('the capacity search has ended; no step to record', 'conflict');
    const rate = state.rate;
    const base = {
      step: this.steps.length + 1,
      phase: figures.phase,
      rate,
      achieved_rate: figures.achieved_rate,
      p50_ms: figures.p50_ms,
      p99_ms: figures.p99_ms,
      error_rate: figures.error_rate,
      errors: { ...figures.errors },
      server: { ...(figures.server ?? {}) },
    };
    const full = judgeStep(figures, this.config.slo);
    // A rate short of the plan, or requests waiting in the drivers for a connection, always matter:
    // the server was not shown the rate at its times. Late sends (a busy event loop) matter only in
    // a step that failed: corrected latency counts them from the due times, so a step that met the
    // SLO with them met it at its rate.
    const shortfall = driverShortfall(figures, rate, this.drivers, !full.pass);
    // A server that fails even the load the drivers did offer has failed at this rate or below it:
    // a sound upper bound. Otherwise a short step shows nothing about the server and ends the search.
    const verdict = shortfall ? judgeStep(figures, this.config.slo, { serverOnly: true }) : full;
    if (shortfall && verdict.pass) {
      const step: CapacityStep = { ...base, pass: false, drivers_limited: true, text: `drivers were the limit: ${shortfall}` };
      this.steps.push(step);
      this.state = { kind: 'ended', ended: 'drivers_limit' };
      return step;
    }
    const text = shortfall ? `${verdict.text} (the drivers fell short too: ${shortfall})` : verdict.text;
    const step: CapacityStep = { ...base, pass: verdict.pass, ...(verdict.limit ? { limit: verdict.limit } : {}), text };
    this.steps.push(step);
    if (verdict.pass) this.passed = Math.max(this.passed ?? 0, rate);
    else if (!this.failed || rate < this.failed.rate) this.failed = step;
    this.state = this.after(state, verdict.pass);
    return step;
  }

  /** Ends the search before its time (Ctrl-C, the test stopped): what it knows so far. */
  stop(): void {
    if (this.state.kind !== 'ended') this.state = { kind: 'ended', ended: 'stopped' };
  }

  private after(state: Exclude<SearchState, { kind: 'ended' }>, pass: boolean): SearchState {
    if (state.kind === 'growing') {
      if (pass) {
        if (state.rate >= this.config.max_rate) return { kind: 'ended', ended: 'max_rate_reached' };
        // Rounding must not stall the growth at small rates: the next rate is always above this one.
        const grown = roundRate(state.rate * this.config.growth);
        return { kind: 'growing', rate: Math.min(this.config.max_rate, grown > state.rate ? grown : state.rate + 1) };
      }
      if (this.passed === null) return { kind: 'ended', ended: 'failed_at_start' };
      return this.bisect(this.config.refine_steps);
    }
    return this.bisect(state.left - 1);
  }

  /** The midpoint of the passing and failing rates, while steps are left and it differs from both. */
  private bisect(left: number): SearchState {
    const low = this.passed!;
    const high = this.failed!.rate;
    const middle = roundRate((low + high) / 2);
    if (left <= 0 || high - low <= low * MIN_BISECTION_GAP || middle <= low || middle >= high) return { kind: 'ended', ended: 'found' };
    return { kind: 'refining', rate: middle, left };
  }

  result(): CapacityResult {
    const ended = this.state.kind === 'ended' ? this.state.ended : 'stopped';
    const bounded = ended === 'found' || ended === 'max_rate_reached';
    const capacity = bounded ? this.passed : null;
    const failure = this.failed ? { rate: this.failed.rate, limit: this.failed.limit!, text: this.failed.text } : null;
    const offered = this.steps.length ? Math.max(...this.steps.map((s) => s.achieved_rate)) : undefined;
    const result: CapacityResult = {
      capacity_rps: capacity,
      per_driver_rps: capacity === null ? null : roundRate(capacity / Math.max(1, this.drivers)),
      first_failure: failure,
      ended,
      drivers: this.drivers,
      passed_up_to_rps: this.passed,
      ...(ended === 'drivers_limit' && offered !== undefined ? { drivers_offered_at_most_rps: Math.round(offered) } : {}),
      summary: '',
      steps: this.steps.map((s) => ({ ...s })),
    };
    result.summary = capacitySummary(result);
    return result;
  }
}

/** The one sentence of a result: the CLI's last line, the dashboard's headline, the JSON's summary. */
export function capacitySummary(r: Pick<CapacityResult, 'capacity_rps' | 'per_driver_rps' | 'first_failure' | 'ended' | 'drivers' | 'passed_up_to_rps' | 'drivers_offered_at_most_rps'>): string {
  const perDriver = (rate: number | null) => (r.drivers > 1 && rate !== null ? ` (${int(rate)} per driver)` : '');
  const failure = r.first_failure ? `first failure at ${int(r.first_failure.rate)} req/s: ${r.first_failure.text}` : '';
  const passedSoFar = r.passed_up_to_rps !== null ? `the SLO held up to ${int(r.passed_up_to_rps)} req/s` : 'no step met the SLO';
  switch (r.ended) {
    case 'found':
      return `capacity: ${int(r.capacity_rps!)} req/s${perDriver(r.per_driver_rps)}; ${failure}`;
    case 'max_rate_reached':
      return `capacity: at least ${int(r.capacity_rps!)} req/s${perDriver(r.per_driver_rps)}: every step met the SLO up to max_rate; raise capacity.max_rate to find the limit`;
    case 'failed_at_start':
      return `no capacity: the start rate already failed: ${failure}; lower capacity.start_rate`;
    case 'drivers_limit':
      return `no capacity: the drivers offered at most ${int(r.drivers_offered_at_most_rps ?? 0)} req/s: add drivers or workers (${passedSoFar})`;
    case 'stopped':
      return `no capacity: the search was stopped (${passedSoFar}${failure ? `; ${failure}` : ''})`;
  }
}

/** 0 when a capacity was found (also when max_rate was reached with every step passing), 1 otherwise. */
export function capacityExitCode(result: Pick<CapacityResult, 'capacity_rps'>): 0 | 1 {
  return result.capacity_rps !== null ? 0 : 1;
}
