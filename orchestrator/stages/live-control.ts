// Live control of one running test: whether a change may be made, the message that makes it, and
// what the drivers answered. A change is applied once every participant answered `applied_at`;
// it is refused as a whole as soon as any refuses, with that driver's reason.
import { randomBytes } from 'node:crypto';
import { MAX_CONCURRENCY, MAX_TOTAL_RATE } from '../../protocol/test-config-limits';
import type { ControlAction, ControlAnswer, ControlMessage, TestType } from '../../protocol/wire-protocol';
import { CONTROL_ACTIONS } from '../../protocol/wire-protocol';
import { OrchestratorError } from '../orchestrator-error';
import { controlText, type ControlLogEntry } from './control-log';

/** What a caller asks: rate and concurrency are totals over all the test's drivers. */
export interface ControlRequest {
  action: ControlAction;
  rate?: number;
  concurrency?: number;
}

/** The field a `set` takes on each model. */
export function setField(testType: TestType): 'rate' | 'concurrency' {
  return testType === 'TSUNAMI' ? 'rate' : 'concurrency';
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');

/**
 * Why `request` cannot be applied to a test of this type and state, as an OrchestratorError
 * (invalid: the request itself is wrong; conflict: the test's state does not allow it).
 */
export function controlProblem(request: ControlRequest, test: { testType: TestType; drivers: number; paused: boolean }): OrchestratorError | undefined {
  if (!CONTROL_ACTIONS.includes(request.action)) return new OrchestratorError(`action: ${JSON.stringify(request.action)} is none of ${CONTROL_ACTIONS.join(', ')}`, 'invalid');
  const field = setField(test.testType);
  const other = field === 'rate' ? 'concurrency' : 'rate';
  const model = test.testType === 'TSUNAMI' ? 'a TSUNAMI test (open model: requests per second over all drivers)' : 'an AVALANCHE test (closed model: requests in flight over all drivers)';
  if (request.action !== 'set') {
    if (request.rate !== undefined || request.concurrency !== undefined) return new OrchestratorError(`${request.action} takes no rate or concurrency; to change the load, use "set"`, 'invalid');
    if (request.action === 'pause' && test.paused) return new OrchestratorError('the test is already paused; resume it first', 'conflict');
    if (request.action === 'resume' && !test.paused) return new OrchestratorError('the test is not paused; there is nothing to resume', 'conflict');
    return undefined;
  }
  if (request[other] !== undefined) return new OrchestratorError(`${other}: ${model} takes "${field}", not "${other}"`, 'invalid');
  const value = request[field];
  if (value === undefined) return new OrchestratorError(`${field}: set on ${model} needs "${field}"`, 'invalid');
  const max = field === 'rate' ? MAX_TOTAL_RATE : MAX_CONCURRENCY * Math.max(1, test.drivers);
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return new OrchestratorError(`${field}: must be a number of at least 0, got ${JSON.stringify(value)}`, 'invalid');
  if (field === 'concurrency' && !Number.isInteger(value)) return new OrchestratorError(`concurrency: must be a whole number of requests in flight, got ${value}`, 'invalid');
  if (value > max) {
    const why = field === 'rate' ? '/s over all drivers' : ` over ${test.drivers} driver(s), ${int(MAX_CONCURRENCY)} each`;
    return new OrchestratorError(`${field}: ${int(value)} is above the limit of ${int(max)}${why}`, 'invalid');
  }
  return undefined;
}

/** A change sent, and what each participant answered so far. */
interface Pending {
  entry: ControlLogEntry;
  answers: Map<string, ControlAnswer>;
}

/** A change whose outcome became known: applied by all, or refused as a whole. */
export type ControlOutcome = { entry: ControlLogEntry; outcome: 'applied' | 'refused' };

export class LiveControl {
  /** in the order sent */
  private readonly sent: Pending[] = [];
  private readonly counts: Record<ControlAction, number> = { set: 0, pause: 0, resume: 0 };
  private pausedNow = false;

  constructor(
    private readonly test: { testId: string; testType: TestType; participants: () => string[] },
    private readonly sender: { id: string; names: string[] },
  ) {}

  get paused(): boolean {
    return this.pausedNow;
  }

  /**
   * Checks `request` and makes its message and log entry (throws OrchestratorError). `phase` names
   * the window it begins; by default "set 1", "pause 1", "resume 1", … in the order of each action.
   */
  prepare(request: ControlRequest, by: string, at: number, triggeredAt: number, phase?: string): { message: ControlMessage; entry: ControlLogEntry } {
    const problem = controlProblem(request, { testType: this.test.testType, drivers: this.test.participants().length, paused: this.pausedNow });
    if (problem) throw problem;
    const field = setField(this.test.testType);
    const number = this.counts[request.action] + 1;
    const control_id = `${this.test.testId}:${request.action}-${number}:${randomBytes(3).toString('hex')}`;
    const value = request.action === 'set' ? request[field] : undefined;
    const message: ControlMessage = {
      test_id: this.test.testId,
      control_id,
      action: request.action,
      ...(value !== undefined ? { [field]: value } : {}),
      phase: phase ?? `${request.action} ${number}`,
      orchestrator: this.sender.id,
      orchestrator_names: this.sender.names,
    };
    const entry: ControlLogEntry = {
      at,
      t: Math.round((at - triggeredAt) / 100) / 10,
      action: request.action,
      ...(value !== undefined ? { value } : {}),
      by,
      text: controlText(request.action, value, field, at, by),
      control_id,
      phase: message.phase,
    };
    return { message, entry };
  }

  /** The change went out: it counts, and the test's state follows it. */
  commit(entry: ControlLogEntry): void {
    this.counts[entry.action]++;
    if (entry.action === 'pause') this.pausedNow = true;
    if (entry.action === 'resume') this.pausedNow = false;
    this.sent.push({ entry, answers: new Map() });
  }

  /** A participant's answers from one report; returns the changes whose outcome became known. */
  onAnswers(nodeId: string, controls: Record<string, ControlAnswer> | undefined): ControlOutcome[] {
    if (!controls) return [];
    const outcomes: ControlOutcome[] = [];
    for (const pending of this.sent) {
      const answer = controls[pending.entry.control_id];
      if (!answer || pending.answers.has(nodeId)) continue;
      pending.answers.set(nodeId, answer);
      const decided = this.decide(pending);
      if (decided) outcomes.push(decided);
    }
    return outcomes;
  }

  /** A participant whose part ended without answering no longer holds a change back. */
  recheck(): ControlOutcome[] {
    return this.sent.map((p) => this.decide(p)).filter((o): o is ControlOutcome => o !== undefined);
  }

  private decide(pending: Pending): ControlOutcome | undefined {
    const { entry, answers } = pending;
    if (entry.refused !== undefined || entry.applied_at !== undefined) return undefined;
    const refusal = [...answers].find(([, a]) => a.refused);
    if (refusal) {
      entry.refused = `${refusal[0]}: ${refusal[1].refused}`;
      // A refused pause or resume leaves the test as it was.
      if (entry.action === 'pause') this.pausedNow = false;
      if (entry.action === 'resume') this.pausedNow = true;
      return { entry, outcome: 'refused' };
    }
    const participants = this.test.participants();
    if (!participants.length || !participants.every((id) => answers.get(id)?.applied_at !== undefined)) return undefined;
    entry.applied_at = Math.max(...participants.map((id) => answers.get(id)!.applied_at!));
    return { entry, outcome: 'applied' };
  }

  /** Every change sent, oldest first, with its outcome so far. */
  log(): ControlLogEntry[] {
    return this.sent.map((p) => ({ ...p.entry }));
  }

  /** Restores the log of a run picked up again from the store. */
  restore(entries: ControlLogEntry[]): void {
    for (const entry of entries) {
      this.counts[entry.action]++;
      this.sent.push({ entry: { ...entry }, answers: new Map() });
      if (entry.refused === undefined) this.pausedNow = entry.action === 'pause' ? true : entry.action === 'resume' ? false : this.pausedNow;
    }
  }
}
