// One participant's part in one test: a single state, changed only by `nextPart`. TestRun turns
// what it hears (reports, heartbeats, the registry's verdicts on the driver, its own clock) into
// events; this module alone decides what each event does to a part, so every rule about a part's
// life is in one place and each is unit-tested (test/unit/driver-part.test.ts).
import type { DriverEnding, DriverTestState } from './result-model';

/** A final state: the part is over and nothing but a final report or a duplicate changes it. */
export type EndedState = Exclude<DriverTestState, 'waiting' | 'running' | 'lost'>;

export type Part =
  /** picked, not yet heard running the test */
  | { state: 'waiting' }
  /** heard running it: a report, or a heartbeat naming it */
  | { state: 'running' }
  /** it said it went idle, moved on or shut down; its final report may still be on its way */
  | { state: 'winding_down'; started: boolean; since: number; wentOff: string }
  /** silent: it may come back within the lost grace (`expired` once the grace has passed) */
  | { state: 'lost'; started: boolean; since: number; expired: boolean; ending: DriverEnding }
  | { state: EndedState; ending?: DriverEnding };

export type PartEvent =
  | { on: 'report' }
  | { on: 'final_report' }
  /** a final report marked stopped although nobody asked for a stop: the agent was shut down */
  | { on: 'shut_down_early' }
  | { on: 'refused'; reason: string }
  | { on: 'heartbeat_this_test' }
  | { on: 'heartbeat_other_test'; testId: string }
  | { on: 'heartbeat_idle'; leaving: boolean }
  | { on: 'lost'; reason: string }
  | { on: 'alive' }
  /** a new agent process took its id after the trigger (the caller checks the time) */
  | { on: 'restarted'; reason: string }
  | { on: 'duplicate'; reason: string }
  /** a driver that sends no test_status has been quiet long enough after its reports */
  | { on: 'quiet' }
  /** the run's clock: graces that may have passed */
  | { on: 'clock' }
  | { on: 'deadline'; reason: string };

export interface PartContext {
  nodeId: string;
  now: number;
  triggeredAt: number | undefined;
  /** how long a lost part may take to come back (ms) */
  lostGraceMs: number;
}

/** A final report and an idle heartbeat travel on different topics; either may come first. */
export const IDLE_GRACE_MS = 3000;
/** A driver that heartbeats idle this long after the trigger without ever starting did not take the test. */
export const START_GRACE_MS = 5000;

/**
 * A driver that sends no test_status (another implementation) is done with its part once quiet
 * this long after its last report (ms): the run completes its part, the registry calls it idle.
 */
export const QUIET_AFTER_MS = 10_000;

export const WAITING: Part = { state: 'waiting' };

/** The state every view shows. A part winding down still runs, as far as anyone can tell. */
export function shownState(part: Part): DriverTestState {
  if (part.state === 'winding_down') return part.started ? 'running' : 'waiting';
  return part.state;
}

/** A shown state that is over for good (`lost` may still come back, so it is not). */
export function isOverState(state: DriverTestState): boolean {
  return state !== 'waiting' && state !== 'running' && state !== 'lost';
}

/** Over for good: the test does not wait for it any more. */
export function isOver(part: Part): boolean {
  return part.state === 'lost' ? part.expired : part.state !== 'waiting' && part.state !== 'running' && part.state !== 'winding_down';
}

/** Why the part ended without a complete final report, if it did. */
export function endingOf(part: Part): DriverEnding | undefined {
  return part.state === 'lost' || isEnded(part) ? part.ending : undefined;
}

function isEnded(part: Part): part is { state: EndedState; ending?: DriverEnding } {
  return part.state !== 'waiting' && part.state !== 'running' && part.state !== 'winding_down' && part.state !== 'lost';
}

const started = (part: Part): boolean => part.state === 'running' || ((part.state === 'winding_down' || part.state === 'lost') && part.started);

function end(state: EndedState, reason: string, ctx: PartContext): Part {
  return { state, ending: { node_id: ctx.nodeId, state, at: ctx.now, reason } };
}

const pastStartGrace = (ctx: PartContext) => ctx.triggeredAt !== undefined && ctx.now - ctx.triggeredAt > START_GRACE_MS;

/** The part after `event`; the same part when the event changes nothing. */
export function nextPart(part: Part, event: PartEvent, ctx: PartContext): Part {
  // Whichever agent anything came from, a part run by two agents stays uncounted.
  if (part.state === 'duplicate') return part;
  switch (event.on) {
    case 'duplicate':
      return end('duplicate', `${event.reason}: its figures mix both agents' and cannot be counted`, ctx);
    case 'refused':
      return end('refused', event.reason, ctx);
    case 'final_report':
      // A final report settles the part, even one judged lost, left or timed out before it arrived.
      return { state: 'complete' };
    case 'shut_down_early':
      return end('left', 'ended before its plan: the agent was shut down', ctx);
    case 'report':
      // A lost driver that reports is back; one winding down keeps its grace (a late periodic report).
      if (part.state === 'waiting' || part.state === 'lost') return { state: 'running' };
      return part;
    case 'deadline':
      return isOver(part) ? part : end('timed_out', event.reason, ctx);
  }
  if (isEnded(part)) return part;
  switch (event.on) {
    case 'lost':
      // One winding down already said it is going: its shorter idle grace decides.
      if (part.state === 'waiting' || part.state === 'running') {
        return { state: 'lost', started: started(part), since: ctx.now, expired: false, ending: { node_id: ctx.nodeId, state: 'lost', at: ctx.now, reason: event.reason } };
      }
      return part;
    case 'alive':
      return part.state === 'lost' ? (part.started ? { state: 'running' } : WAITING) : part;
    case 'restarted':
      return end('restarted', `${event.reason}: the agent restarted`, ctx);
    case 'heartbeat_this_test':
      return part.state === 'lost' ? { ...part, started: true } : { state: 'running' };
    case 'heartbeat_other_test':
      // Heartbeats and commands travel on different topics, so a heartbeat sent before the trigger
      // reached the agent may be read after it. Only one that still names the other test past the
      // start grace says the agent was busy and ignored ours. One that ran ours says "running" it
      // until its final report is in Kafka: that report is on its way.
      if (started(part)) return windDown(part, `went on to another test, ${event.testId},`, ctx, false);
      return pastStartGrace(ctx) ? end('left', `it is running another test, ${event.testId}`, ctx) : part;
    case 'heartbeat_idle':
      // After it ran, the final report may still be on its way; before it ran, the trigger may be. Both get a grace.
      if (started(part) || event.leaving) return windDown(part, event.leaving ? 'shut down' : 'went idle', ctx, event.leaving);
      return pastStartGrace(ctx) ? end('left', 'it heartbeats idle and never started the test (busy, or the config did not reach it)', ctx) : part;
    case 'quiet':
      return started(part) && part.state !== 'lost' ? { state: 'complete' } : part;
    case 'clock':
      if (part.state === 'lost' && !part.expired && ctx.now - part.since > ctx.lostGraceMs) {
        return { ...part, expired: true, ending: { ...part.ending, reason: `${part.ending.reason}; not back within ${ctx.lostGraceMs / 1000} s` } };
      }
      if (part.state === 'winding_down' && ctx.now - part.since > IDLE_GRACE_MS) return end('left', `it ${part.wentOff} without a final report reaching the orchestrator`, ctx);
      return part;
  }
  return part;
}

/** `shutDown`: a goodbye says more than an idle heartbeat, so it replaces what was said before. */
function windDown(part: Part, wentOff: string, ctx: PartContext, shutDown: boolean): Part {
  if (part.state === 'winding_down') return shutDown ? { ...part, wentOff } : part;
  return { state: 'winding_down', started: started(part), since: ctx.now, wentOff };
}
