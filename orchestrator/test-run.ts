// One test as the orchestrator sees it, from creation to its result: which drivers take part,
// their latest reports, the aggregate every second, and when and how it is over.
//
// A participant's part ends when its final report arrives (`complete`), or without it when it is
// lost and does not come back within a grace (`lost`), registers again (`restarted`), heartbeats
// idle or another test, or ends early on its own (`left`), refuses the config (`refused`), turns
// out to be two agents under one node_id (`duplicate`), or has not finished by the deadline
// (`timed_out`). The test is `complete` only when every part ended with its final report and the
// requests reported equal the plan; otherwise `incomplete`, with who, when and why, or `stopped`
// when a person stopped it. Silence is judged, and the deadline counts, only while the
// orchestrator can itself hear the broker (see `observation`).
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from '../common/clock';
import { encodeHistogram, type Histogram } from '../protocol/latency-histogram';
import type { BusHealth } from '../protocol/message-bus';
import type { AgentState, ControlMessage, MetricsMessage, TestConfigMessage } from '../protocol/wire-protocol';
import type { LoadProfile, ProfileChange } from '../protocol/load-profile';
import type { LoadTestDefinition } from './loadtest-definition';
import { OrchestratorError } from './orchestrator-error';
import type { ControlLogEntry } from './stages/control-log';
import { LiveControl, type ControlOutcome, type ControlRequest } from './stages/live-control';
import { PhaseBook, phaseHistogram, stageStats, type ServerWindow, type StageStats } from './stages/stage-stats';
import { openPlannedRequests, plannedAverage, plannedValueAt, planOf, type TestPlan } from './stages/test-plan';
import { evaluateNamedThresholds, evaluateStageThresholds } from './thresholds';
import { aggregate, driverStats, finalHistograms, intervalHistogram, iterationBreakdown, mergedHistogram, perSecond, requestBreakdown, runSeconds, summarizeHistogram } from './metrics-aggregator';
import { endingOf, isOver, nextPart, QUIET_AFTER_MS, shownState, WAITING, type Part, type PartEvent } from './driver-part';
import { ReportAccumulator, type DriverReport } from './report-accumulator';
import { scheduleWarnings } from './schedule-warnings';
import type { MetricsStore } from './metrics-store';
import { judgedAgainst } from './compare/baseline-verdict';
import type { StoredRun } from './compare/compare-runs';
import type { RunOutput } from './outputs/run-output';
import { storeOutput } from './outputs/store-output';
import type { DriverEnding, FinalStatus, RunHistograms, SecondInterval, ServerMetrics, TestResult, TestSnapshot, TestStatus, TimePoint } from './result-model';
import { deadlineAfterTriggerMs, STALL_AFTER_MS } from './test-deadline';
import { judge } from './verdict';

export interface TestRunEvents {
  /** about once a second while the test runs, with that second's point of the time series */
  update: [snapshot: TestSnapshot, point: TimePoint];
  end: [result: TestResult];
  /** a phase became settled on every participant: its figures are final */
  phase_settled: [stats: StageStats];
  /** a live change was applied by every participant, or refused as a whole */
  control: [entry: ControlLogEntry, outcome: 'applied' | 'refused'];
  /** an output (the store, a report file) failed, said once per output: the test goes on, and its result says so */
  output_error: [output: string, message: string];
}

export interface TestRunOptions {
  definition: LoadTestDefinition;
  config: TestConfigMessage;
  participants: string[];
  store: MetricsStore;
  clock?: Clock;
  /** Whether this orchestrator hears the broker now; silence is not judged while it does not. */
  observation?: () => BusHealth;
  /** How long a lost participant may take to come back before its part is over (ms). */
  lostGraceMs?: number;
  /** A participant that sends no test_status is done after this long without a new report (ms). */
  quietAfterMs?: number;
  /** Where no plan bounds the run: how long without any report before it is given up (ms). */
  stallAfterMs?: number;
  /**
   * The most time in which the broker could not be heard that the deadline and the watchdog give
   * back (ms): past it the test ends whatever the bus says, so a consumer that died for good cannot
   * keep a test open for ever.
   */
  maxUnheardMs?: number;
  /** Set when an orchestrator restarted mid-test picks the run up again from the store. */
  resumed?: { triggeredAt: number };
  /** Server-side figures while the test runs (prometheus-watcher.ts), when the definition names a Prometheus. */
  server?: ServerMetricsSource;
  /** This orchestrator's id and names, for the control messages it signs. */
  sender?: { id: string; names: string[] };
  /** Drivers not picked for a feature the test needs, and why: said in its snapshot. */
  notPicked?: string[];
  /** The changes made before a restart (resumed runs). */
  controlLog?: ControlLogEntry[];
  /** What consumes the run (outputs/run-output.ts); by default the store alone. */
  outputs?: RunOutput[];
  /** The run it is judged against when it ends: the comparison goes in its result, a broken regression limit fails it. */
  baseline?: StoredRun;
}

export interface ServerMetricsSource {
  start(): void;
  stop(): void;
  latest(): Record<string, number | null>;
  summary(): ServerMetrics;
  /** each query over an epoch-ms window, for the stages' figures */
  window?(fromMs: number, toMs: number): Record<string, ServerWindow>;
}

interface DriverTrack {
  /** its part in the test: changed only through `move` (driver-part.ts) */
  part: Part;
  accumulator: ReportAccumulator;
  latest?: DriverReport;
  previous?: DriverReport;
  reports: number;
  sendsStatus: boolean;
}

const SEEN_REPORT_IDS = 10_000;
/** At most this often, even if reports come faster. */
const MIN_EMIT_INTERVAL_MS = 250;
/**
 * At least this often while a test runs. Longer than the drivers' 1 s report interval, so that
 * complete rounds, not this clock, pace the updates; it only speaks when a driver falls silent.
 */
const EMIT_INTERVAL_MS = 1500;
const CHECK_INTERVAL_MS = 200;
/** After the orchestrator hears the broker again, queued messages are read before silence is judged. */
const DRAIN_AFTER_RECONNECT_MS = 2000;

const always: () => BusHealth = () => ({ reachable: true, since: 0 });
/** See TestRunOptions.maxUnheardMs. */
export const MAX_UNHEARD_MS = 10 * 60_000;

export class TestRun extends EventEmitter<TestRunEvents> {
  readonly testId: string;
  status: TestStatus = 'created';
  readonly createdAt: number;
  triggeredAt: number | undefined;
  endedAt: number | undefined;
  deadlineAt: number | undefined;
  private readonly tracks = new Map<string, DriverTrack>();
  private readonly seenReports = new Set<string>();
  private readonly clock: Clock;
  private readonly observation: () => BusHealth;
  private ticker: TimerHandle | undefined;
  private lastEmitAt = 0;
  private lastProgressAt = 0;
  private lastCheckAt: number | undefined;
  /** time given back to the deadline and the watchdog while the broker could not be heard (ms) */
  private unheardMs = 0;
  /** each output's first failure, said in the result (the store's: the figures are whole, their copy on disk is not) */
  private readonly outputErrors = new Map<string, string>();
  /** the run's outputs; more may attach while it runs (attach), and they are fed from then on */
  private readonly outputs: RunOutput[];
  /** every second's own counts and histogram, for the comparison with a baseline at the end */
  private readonly intervals: SecondInterval[] = [];
  private readonly reportedSinceEmit = new Set<string>();
  /** reports dropped because their signature did not verify, per node_id: in no figure */
  private readonly droppedReports: Record<string, number> = {};
  private stoppedBy: string | undefined;
  private previousMerged: Histogram | null = null;
  /** the counts of the time point before, to tell a second's own */
  private previousCounts: { requests_sent: number; responses: number; errors: number } | undefined;
  private lastSnapshot: TestSnapshot | undefined;
  result: TestResult | undefined;
  /** what the test asks of its drivers over time (test-plan.ts) */
  readonly plan: TestPlan;
  /** the plan's load with the live changes applied, on the test's clock (undefined for a test by count) */
  private profile: LoadProfile | undefined;
  /** the latest figures of each phase per driver */
  private readonly phaseBook = new PhaseBook();
  /** phases settled on every participant, with their final figures (merged once) */
  private readonly settledPhases = new Map<string, StageStats>();
  readonly live: LiveControl;
  /** per control_id, the profile before the change: a refusal as a whole takes it back */
  private readonly profileBefore = new Map<string, LoadProfile | undefined>();

  constructor(private readonly options: TestRunOptions) {
    super();
    this.testId = options.config.test_id;
    this.outputs = [...(options.outputs ?? [storeOutput(options.store)])];
    this.clock = options.clock ?? systemClock;
    this.observation = options.observation ?? always;
    this.createdAt = this.clock.now();
    this.plan = planOf(options.config, options.participants);
    this.profile = this.plan.profile;
    this.live = new LiveControl({ testId: this.testId, testType: options.config.test_type, participants: () => this.answering() }, options.sender ?? { id: options.config.orchestrator ?? '', names: options.config.orchestrator_names ?? [] });
    if (options.controlLog) this.live.restore(options.controlLog);
    for (const id of options.participants) this.tracks.set(id, newTrack());
    if (options.resumed) {
      const stored = options.store.loadTest(this.testId);
      this.createdAt = stored?.created_at ?? this.createdAt;
      for (const report of options.store.loadReports(this.testId)) this.applyReport(report, report.received_at, false);
      // The plan as the changes made before the restart left it.
      for (const entry of options.controlLog ?? []) if (entry.refused === undefined && this.profile) this.profile = this.profile.apply(profileChange(entry), Math.max(0, entry.at - this.clockOrigin()));
      this.begin(options.resumed.triggeredAt);
    }
  }

  get definition(): LoadTestDefinition {
    return this.options.definition;
  }

  get config(): TestConfigMessage {
    return this.options.config;
  }

  get participants(): string[] {
    return [...this.tracks.keys()];
  }

  /**
   * Requests the plan asks for; 0 where it counts none (a closed model by duration or stages). An
   * open model's follows the live changes as the plan placed them: a set of the rate changes it
   * (it counted the first plan's only, and a test set from 40/s to 80/s said "1,475 of 800").
   */
  get plannedRequests(): number {
    // A driver that ran a scenario unpicked (one that reads no driver_ids) ran its first step as a flat test, by count.
    const outsiders = this.options.config.scenario && this.plan.kind === 'count' ? this.tracks.size - this.options.participants.length : 0;
    return this.plannedArrivals * this.requestsPerArrival + outsiders * this.options.config.message_count_per_driver;
  }

  /** What the plan counts: requests, or a scenario's iterations (each of its steps' requests) on the drivers picked. */
  private get plannedArrivals(): number {
    if (this.plan.kind === 'count') return (this.options.config.scenario ? this.options.participants.length : this.tracks.size) * this.options.config.message_count_per_driver;
    if (this.plan.plannedRequests === undefined || !this.profile) return this.plan.plannedRequests ?? 0;
    return openPlannedRequests(this.profile, this.plan.shares.length);
  }

  /**
   * Requests an arrival of the plan sends when nothing fails: a scenario's steps. Planned rates and
   * counts are shown in requests, beside the requests achieved (an iteration that stops at a failed
   * step shows as fewer requests than planned); the verdict counts iterations.
   */
  private get requestsPerArrival(): number {
    return this.options.config.scenario?.steps.length ?? 1;
  }

  /** A planned value in requests: a rate (open model) times the requests per arrival; a concurrency as it is. */
  private inRequests(planned: number | null): number | null {
    return planned !== null && this.options.config.test_type === 'TSUNAMI' ? planned * this.requestsPerArrival : planned;
  }

  get paused(): boolean {
    return this.live.paused;
  }

  /**
   * Where the test's clock starts (epoch ms): the first measured request of any participant, or
   * until one is known, the trigger. The plan's phases and planned values are read on this clock.
   */
  private clockOrigin(): number {
    let first = Infinity;
    for (const t of this.tracks.values()) {
      const at = t.latest?.message.first_send_at;
      if (at !== undefined && at < first) first = at;
    }
    return Number.isFinite(first) ? first : (this.triggeredAt ?? this.createdAt);
  }

  /**
   * Checks a live change against this test and its state, and makes its message and log entry
   * (throws OrchestratorError). Call commitControl once the message went out.
   */
  prepareControl(request: ControlRequest, by: string, phase?: string): { message: ControlMessage; entry: ControlLogEntry } {
    if (this.status !== 'running') throw new OrchestratorError(`test ${this.testId} is ${this.status}, not running`, 'conflict');
    return this.live.prepare(request, by, this.clock.now(), this.triggeredAt ?? this.createdAt, phase);
  }

  /** The change went out: it is in the log, and the plan's planned values follow it. */
  commitControl(entry: ControlLogEntry): void {
    this.live.commit(entry);
    this.profileBefore.set(entry.control_id, this.profile);
    if (this.profile) {
      this.profile = this.profile.apply(profileChange(entry), Math.max(0, entry.at - this.clockOrigin()));
    }
    this.tell('the control log', (o) => o.controls?.(this.testId, this.live.log()));
  }

  /** The participants a change waits for: those whose part is not over (a lost one may still come back). */
  private answering(): string[] {
    return this.options.participants.filter((id) => {
      const track = this.tracks.get(id);
      return track !== undefined && !isOver(track.part);
    });
  }

  /**
   * The participants a phase waits for to be settled: all but those whose part ended without a
   * final report (lost for good, left, timed out), which will never settle anything.
   */
  private settling(): string[] {
    return this.options.participants.filter((id) => {
      const track = this.tracks.get(id);
      return track !== undefined && (!isOver(track.part) || track.part.state === 'complete');
    });
  }

  /** Said once a change's outcome is known: a refusal takes back its planned values if nothing came after it. */
  private onControlOutcomes(outcomes: ControlOutcome[]): void {
    for (const { entry, outcome } of outcomes) {
      if (outcome === 'refused') {
        const latest = this.live.log().at(-1);
        if (latest?.control_id === entry.control_id) this.profile = this.profileBefore.get(entry.control_id);
      }
      this.tell('the control log', (o) => o.controls?.(this.testId, this.live.log()));
      this.emit('control', entry, outcome);
    }
  }

  /**
   * Drivers that ran the test without being picked: a driver of another implementation reads no
   * driver_ids and runs every test_config it hears. Its requests reached the target, so they
   * count; for a test with a plan over time it ran the config as a flat test beside the plan.
   */
  private outsiderWarnings(): string[] {
    const picked = new Set(this.options.participants);
    const outsiders = [...this.tracks.keys()].filter((id) => !picked.has(id));
    if (outsiders.length === 0) return [];
    const planned = this.plan.kind !== 'count' ? ' as a flat test beside the planned load over time' : '';
    return [`${outsiders.join(', ')} ran this test without being picked (a driver that reads no driver_ids runs every test_config)${planned}: its requests reached the target and are counted. Give such drivers topics of their own (a topic prefix) to keep them out.`];
  }

  /** One phase's figures now, or undefined when no participant reported it yet. */
  stageStatsOf(phase: string): StageStats | undefined {
    const final = this.settledPhases.get(phase);
    if (final) return final;
    const drivers = this.phaseBook.of(phase);
    return drivers.size ? stageStats(phase, drivers, this.stageContext()) : undefined;
  }

  private stageContext() {
    const origin = this.clockOrigin();
    const profile = this.profile;
    const server = this.options.server;
    return {
      participants: this.settling(),
      now: this.clock.now(),
      plannedOfPhase: profile ? (phase: string) => this.inRequests(profile.phaseAverage(phase, this.clock.now() - origin)) : undefined,
      plannedAverage: profile ? (from: number, to: number) => this.inRequests(plannedAverage(profile, from - origin, to - origin)) : undefined,
      server: server?.window ? (from: number, to: number) => server.window!(from, to) : undefined,
    };
  }

  /** Phases that became settled on every participant since the last look: their figures are final. */
  private announceSettledPhases(phases: readonly string[]): void {
    for (const phase of phases) {
      if (this.settledPhases.has(phase)) continue;
      const stats = this.stageStatsOf(phase);
      if (!stats?.settled) continue;
      this.settledPhases.set(phase, stats);
      this.emit('phase_settled', stats);
    }
  }

  get isOver(): boolean {
    return this.status === 'complete' || this.status === 'incomplete' || this.status === 'stopped';
  }

  markTriggered(): void {
    const at = this.clock.now();
    this.begin(at);
    this.tell('its trigger time', (o) => o.triggered?.(this.testId, at, this.deadlineAt));
  }

  private begin(triggeredAt: number): void {
    this.triggeredAt = triggeredAt;
    this.status = 'running';
    const deadline = deadlineAfterTriggerMs(this.options.config);
    this.deadlineAt = deadline === undefined ? undefined : triggeredAt + deadline;
    this.lastEmitAt = this.clock.now();
    this.lastProgressAt = Math.max(this.lastProgressAt, triggeredAt);
    this.ticker = this.clock.every(CHECK_INTERVAL_MS, () => this.onTimer());
    // With a warm-up, the server's figures begin with the measured requests, as the drivers' do.
    if (!this.options.config.warm_up_count_per_driver) this.options.server?.start();
  }

  /** A person asked for the stop; the test ends `stopped` when the parts end, or at the deadline. */
  markStopRequested(by = 'a person'): void {
    this.stoppedBy ??= by;
  }

  get stopRequested(): boolean {
    return this.stoppedBy !== undefined;
  }

  onReport(message: MetricsMessage, receivedAt: number): void {
    if (message.test_id !== this.testId || this.isOver) return;
    if (this.applyReport(message, receivedAt, true)) this.emitIfRoundComplete();
  }

  /** `store`: false when replaying reports the store already holds. Returns whether it was new. */
  private applyReport(message: MetricsMessage, receivedAt: number, store: boolean): boolean {
    // Kafka delivers at least once. Report ids are a driver's own (other implementations number
    // theirs 1, 2, 3), so a report is known by its driver and id together.
    const key = `${message.node_id}\u0000${message.report_id}`;
    if (this.seenReports.has(key)) return false;
    this.seenReports.add(key);
    if (this.seenReports.size > SEEN_REPORT_IDS) this.seenReports.delete(this.seenReports.values().next().value!);
    let track = this.tracks.get(message.node_id);
    if (!track) {
      // A driver we did not pick ran the test anyway (another implementation ignoring driver_ids):
      // its requests reached the target, so they count.
      track = newTrack();
      this.tracks.set(message.node_id, track);
    }
    const story = track.accumulator.add(message, receivedAt);
    if (!story) return false;
    if (store) this.tell('a report', (o) => o.report?.(this.testId, { ...message, received_at: receivedAt }));
    track.previous = track.latest;
    track.latest = story;
    track.reports++;
    this.phaseBook.add(message.node_id, message.phases);
    this.onControlOutcomes(this.live.onAnswers(message.node_id, message.controls));
    this.lastProgressAt = Math.max(this.lastProgressAt, receivedAt);
    if (message.test_status) track.sendsStatus = true;
    if (message.warm_up?.done || message.requests_sent) this.options.server?.start();
    if (message.errors?.invalid_config || message.errors?.refused) {
      const why = message.errors?.refused ? 'refused the test' : 'could not run the config';
      this.move(message.node_id, track, { on: 'refused', reason: message.error_detail ? `${why}: ${message.error_detail}` : `${why} (see its log)` });
    } else if (message.test_status === 'complete') {
      this.move(message.node_id, track, message.stopped && !this.stopRequested ? { on: 'shut_down_early' } : { on: 'final_report' });
    } else {
      this.move(message.node_id, track, { on: 'report' });
    }
    this.reportedSinceEmit.add(message.node_id);
    if (store && message.phases?.some((p) => p.settled)) this.announceSettledPhases(message.phases.filter((p) => p.settled).map((p) => p.phase));
    if (this.status === 'running') this.checkCompletion();
    return true;
  }

  /**
   * Drivers report once a second, in step (they start within milliseconds of one trigger), so
   * the aggregate is freshest right after the last report of each round: emit then, rather
   * than on a clock of our own that would add up to a second of age.
   */
  private emitIfRoundComplete(): void {
    if (this.status !== 'running' || this.reportedSinceEmit.size === 0 || this.clock.now() - this.lastEmitAt < MIN_EMIT_INTERVAL_MS) return;
    for (const [id, track] of this.tracks) if (!isOver(track.part) && track.part.state !== 'lost' && !this.reportedSinceEmit.has(id)) return;
    this.tick();
  }

  /**
   * The fallback clock: judges silence and deadlines, emits a round that completed too soon after
   * the last update (else it would wait for the next round's first report, and every update
   * after it would be a round old), and emits when a round never completes.
   */
  private onTimer(): void {
    if (this.status !== 'running') return;
    this.checkTimeouts();
    this.checkCompletion();
    this.emitIfRoundComplete();
    if (this.status === 'running' && this.clock.now() - this.lastEmitAt >= EMIT_INTERVAL_MS) this.tick();
  }

  onDriverLost(nodeId: string, reason: string): void {
    this.hear(nodeId, { on: 'lost', reason });
  }

  /** A lost participant heard from again is waited for again. */
  onDriverAlive(nodeId: string): void {
    this.hear(nodeId, { on: 'alive' });
  }

  /** A new agent process took its id after the trigger (`evidence` says how it showed): its part is over. */
  onDriverRestarted(nodeId: string, at: number, evidence: string): void {
    if (this.triggeredAt === undefined || at <= this.triggeredAt) return;
    this.hear(nodeId, { on: 'restarted', reason: evidence });
  }

  /**
   * Two agents run under its node_id: both took the test, and their reports (same node_id, same
   * report ids) cannot be told apart, so its part can never be counted, whatever arrives later.
   */
  onDriverDuplicate(nodeId: string, reason: string): void {
    this.hear(nodeId, { on: 'duplicate', reason });
  }

  /** A report in a driver's name that did not verify (forged, or unsigned from a signer): counted, never applied. */
  onDroppedReport(nodeId: string): void {
    if (this.isOver) return;
    this.droppedReports[nodeId] = (this.droppedReports[nodeId] ?? 0) + 1;
  }

  /** What a participant's heartbeat says about its part: this test, another test, or idle. */
  onDriverHeartbeat(nodeId: string, state: AgentState | undefined, testId: string | undefined, leaving: boolean): void {
    if (state === undefined) return; // another implementation's heartbeat says nothing about its part
    if (state === 'running' && testId === this.testId) this.hear(nodeId, { on: 'heartbeat_this_test' });
    else if (state === 'running' && testId !== undefined) this.hear(nodeId, { on: 'heartbeat_other_test', testId });
    else this.hear(nodeId, { on: 'heartbeat_idle', leaving });
  }

  /** An event about a participant from outside the run (the registry, heartbeats), while it runs. */
  private hear(nodeId: string, event: PartEvent): void {
    const track = this.tracks.get(nodeId);
    if (!track || this.status !== 'running') return;
    this.move(nodeId, track, event);
    // A part that ended no longer holds a change back.
    if (isOver(track.part)) this.onControlOutcomes(this.live.recheck());
    this.checkCompletion();
  }

  /** The one place a part changes. */
  private move(nodeId: string, track: DriverTrack, event: PartEvent): void {
    track.part = nextPart(track.part, event, { nodeId, now: this.clock.now(), triggeredAt: this.triggeredAt, lostGraceMs: this.options.lostGraceMs ?? 15_000 });
  }

  /**
   * Feeds every output. One that fails never stops the run: the test is judged on what it heard,
   * ends on time, and its warnings say what that output could not do (said once per output).
   */
  private tell(what: string, feed: (output: RunOutput) => void): void {
    for (const output of this.outputs) this.tellOne(output, what, feed);
  }

  private tellOne(output: RunOutput, what: string, feed: (output: RunOutput) => void): void {
    try {
      feed(output);
    } catch (error) {
      if (this.outputErrors.has(output.name)) return;
      const message = `could not save ${what}: ${error instanceof Error ? error.message : String(error)}`;
      this.outputErrors.set(output.name, message);
      this.emit('output_error', output.name, message);
    }
  }

  /** The outputs' failures as warnings of the result. */
  private outputWarnings(): string[] {
    return [...this.outputErrors].map(([name, message]) => (name === 'store' ? `store: ${message}; the figures shown are whole, but the stored copy of this test is not` : `${name}: ${message}`));
  }

  /** Whether silence means anything now: the broker is heard, and has been long enough to drain what queued. */
  private observing(now: number): boolean {
    const health = this.observation();
    return health.reachable && now - health.since >= DRAIN_AFTER_RECONNECT_MS;
  }

  private checkTimeouts(): void {
    const now = this.clock.now();
    const sinceCheck = now - (this.lastCheckAt ?? now);
    this.lastCheckAt = now;
    const maxUnheard = this.options.maxUnheardMs ?? MAX_UNHEARD_MS;
    if (!this.observing(now) && this.unheardMs < maxUnheard) {
      // Time in which nothing could be heard does not count against the run: the drivers keep
      // their reports meanwhile, and deliver them when their own connections come back.
      const credit = Math.min(sinceCheck, maxUnheard - this.unheardMs);
      this.unheardMs += credit;
      if (this.deadlineAt !== undefined) this.deadlineAt += credit;
      this.lastProgressAt += credit;
      return;
    }
    // Paused time is not part of the plan: the deadline moves with it.
    if (this.live.paused && this.deadlineAt !== undefined) this.deadlineAt += sinceCheck;
    const quietAfter = this.options.quietAfterMs ?? QUIET_AFTER_MS;
    for (const [id, track] of this.tracks) {
      this.move(id, track, { on: 'clock' });
      // Another implementation may send no test_status: its part is over when its count is
      // reached, or when it has been quiet for a while (its count, if it sends one, is checked at the end).
      if (!track.sendsStatus && track.latest && now - track.latest.receivedAt > quietAfter) this.move(id, track, { on: 'quiet' });
    }
    const stalled = this.deadlineAt === undefined && now - this.lastProgressAt > (this.options.stallAfterMs ?? STALL_AFTER_MS);
    if ((this.deadlineAt !== undefined && now > this.deadlineAt) || stalled) {
      const unheard = this.unheardMs >= maxUnheard ? `; the orchestrator could not hear the broker for ${Math.round(this.unheardMs / 1000)} s, the most a test waits for it` : '';
      const why = stalled
        ? `no report from any driver for ${Math.round((now - this.lastProgressAt) / 1000)} s${unheard}`
        : `no final report by the deadline, ${Math.round((this.deadlineAt! - this.triggeredAt!) / 1000)} s after the trigger${unheard}`;
      for (const [id, track] of this.tracks) this.move(id, track, { on: 'deadline', reason: why });
    }
  }

  private checkCompletion(): void {
    if (this.status !== 'running') return;
    if ([...this.tracks.values()].every((t) => isOver(t.part))) this.finish();
  }

  snapshot(): TestSnapshot {
    return this.measure().snapshot;
  }

  /** A scenario whose unique data ran out on some drivers: they began no more iterations, and the run says so. */
  private dataWarnings(): string[] {
    const data = this.options.config.data;
    if (!data || data.mode !== 'unique') return [];
    const out = [...this.tracks.entries()].filter(([, t]) => t.latest?.message.data_exhausted).map(([id, t]) => `${id} after ${(t.latest?.message.iterations?.started ?? 0).toLocaleString('en-US')}`);
    if (out.length === 0) return [];
    return [`data: the ${data.rows.length.toLocaleString('en-US')} rows of the test data (unique: each used once in the test) ran out: ${out.join(', ')} iterations; the run ended with every row used, before its plan. Give more rows, or "mode": "cycle" to reuse them`];
  }

  /** The names results are kept by: a scenario's steps, or a mix's requests. */
  private requestNames(): string[] {
    return (this.options.config.scenario?.steps ?? this.options.config.requests ?? []).map((r) => r.name);
  }

  /** The snapshot, and the drivers' corrected histograms merged once for it and its time point. */
  private measure(): { snapshot: TestSnapshot; merged: Histogram | null } {
    const now = this.clock.now();
    const drivers = [...this.tracks.entries()].map(([id, t]) => ({ stats: driverStats(id, shownState(t.part), t.latest, t.previous, t.reports), report: t.latest }));
    // Two agents under one node_id mix their figures in one story: it is listed, never counted.
    const counted = drivers.filter((d) => d.stats.state !== 'duplicate');
    const merged = mergedHistogram(counted.map((d) => d.report));
    const agg = aggregate(counted, merged);
    const seconds = runSeconds(counted.map((d) => d.stats));
    const end = this.endedAt ?? now;
    const server = this.options.server?.summary();
    const snapshot: TestSnapshot = {
      test_id: this.testId,
      name: this.options.definition.name,
      test_type: this.options.config.test_type,
      status: this.status,
      created_at: this.createdAt,
      triggered_at: this.triggeredAt,
      ended_at: this.endedAt,
      elapsed_s: this.triggeredAt ? (end - this.triggeredAt) / 1000 : 0,
      config: this.options.config,
      participants: this.participants,
      planned_requests: this.plannedRequests,
      aggregate: agg,
      per_driver: drivers.map((d) => d.stats),
      warnings: [...scheduleWarnings(this.options.config, drivers.map((d) => d.stats)), ...this.dataWarnings(), ...this.outsiderWarnings(), ...(server?.warnings ?? []), ...this.outputWarnings()],
      server,
      per_request: this.requestNames().length ? requestBreakdown(this.options.config.scenario?.steps ?? this.options.config.requests!, counted.map((d) => d.report), seconds) : undefined,
      iterations: this.options.config.scenario ? iterationBreakdown(counted.map((d) => d.report), seconds) : undefined,
      throughput: perSecond(agg.responses, seconds) ?? 0,
      run_s: seconds,
      dropped_reports: Object.keys(this.droppedReports).length ? { ...this.droppedReports } : undefined,
      computed_at: now,
      deadline_at: this.deadlineAt,
      ...this.stagesPart(),
    };
    return { snapshot, merged };
  }

  /** The snapshot's fields of a test by duration or stages, or with phases or live changes. */
  private stagesPart(): Pick<TestSnapshot, 'planned_s' | 'stages' | 'control_log' | 'paused' | 'not_picked'> {
    // A settled phase's figures are final: merged once, then kept.
    const context = this.stageContext();
    const stages = this.phaseBook.phases().map((phase) => this.settledPhases.get(phase) ?? stageStats(phase, this.phaseBook.of(phase), context));
    const log = this.live.log();
    return {
      ...(this.profile ? { planned_s: Math.round(this.profile.plannedMs) / 1000 } : {}),
      ...(stages.length || this.plan.kind !== 'count' ? { stages } : {}),
      ...(log.length ? { control_log: log, paused: this.live.paused } : {}),
      ...(this.options.notPicked?.length ? { not_picked: this.options.notPicked } : {}),
    };
  }

  /**
   * Feeds one more output from now on: a view opened while the test runs (the editor's dashboard)
   * receives the next seconds and the end, as the outputs given at the start do.
   */
  attach(output: RunOutput): void {
    if (!this.outputs.includes(output)) this.outputs.push(output);
  }

  /** Stops feeding `output`. */
  detach(output: RunOutput): void {
    const at = this.outputs.indexOf(output);
    if (at >= 0) this.outputs.splice(at, 1);
  }

  /** The newest snapshot, computed at most once per tick. */
  current(): TestSnapshot {
    return this.result ?? this.lastSnapshot ?? this.snapshot();
  }

  private tick(): void {
    if (this.status !== 'running') return;
    this.lastEmitAt = this.clock.now();
    this.reportedSinceEmit.clear();
    const { snapshot, merged } = this.measure();
    this.lastSnapshot = snapshot;
    const { point, interval } = this.timePoint(snapshot, merged);
    this.tell('a time point', (o) => o.second?.(snapshot, point, interval));
    this.emit('update', snapshot, point);
  }

  /** `final`: the point made as the test ends, when no driver is running any more but the last interval's rate is still theirs. */
  private timePoint(snapshot: TestSnapshot, merged: Histogram | null, final = false): { point: TimePoint; interval: SecondInterval | undefined } {
    let histogram: Histogram | null = null;
    try {
      histogram = intervalHistogram(merged, this.previousMerged);
    } catch {
      histogram = null; // a histogram that shrank cannot be differenced; skip this interval's latency
    }
    const interval = histogram ? summarizeHistogram(histogram) : null;
    this.previousMerged = merged;
    const fallback = snapshot.aggregate.latency;
    const latency = interval ?? (merged === null ? fallback : null);
    const per_driver: TimePoint['per_driver'] = {};
    const counts = (d: (typeof snapshot.per_driver)[number]) => d.state === 'running' || (final && d.state === 'complete');
    for (const d of snapshot.per_driver) per_driver[d.node_id] = { rate: counts(d) ? d.rate : 0, requests_sent: d.requests_sent };
    const rate = final ? snapshot.per_driver.reduce((sum, d) => sum + (counts(d) ? (d.rate ?? 0) : 0), 0) : snapshot.aggregate.rate;
    const point: TimePoint = {
      t: Math.round(snapshot.elapsed_s * 10) / 10,
      timestamp: snapshot.computed_at,
      requests_sent: snapshot.aggregate.requests_sent,
      responses: snapshot.aggregate.responses,
      errors: snapshot.aggregate.errors,
      rate: Math.round(rate * 10) / 10,
      latency: latency ? { mean: latency.mean, p50: latency.median, p90: latency.p90, p95: latency.p95, p99: latency.p99, max: latency.max } : null,
      per_driver,
      server: this.options.server?.latest(),
      ...this.plannedPoint(snapshot.computed_at),
    };
    return { point, interval: this.intervalOf(point, histogram) };
  }

  /** The second just measured, as a comparison reads it (its counts and its own histogram); undefined for a second with nothing in it. */
  private intervalOf(point: TimePoint, histogram: Histogram | null): SecondInterval | undefined {
    const before = this.previousCounts;
    this.previousCounts = { requests_sent: point.requests_sent, responses: point.responses, errors: point.errors };
    // A run picked up again after a restart first measures everything reported before it: no second of its own.
    if (!before && this.options.resumed) return undefined;
    const from = before ?? { requests_sent: 0, responses: 0, errors: 0 };
    const interval: SecondInterval = {
      t: point.t,
      requests_sent: Math.max(0, point.requests_sent - from.requests_sent),
      responses: Math.max(0, point.responses - from.responses),
      errors: Math.max(0, point.errors - from.errors),
      ...(histogram ? { histogram: encodeHistogram(histogram) } : {}),
      ...(point.phase ? { phase: point.phase } : {}),
    };
    if (!interval.requests_sent && !interval.responses && !interval.errors) return undefined;
    this.intervals.push(interval);
    return interval;
  }

  /** The plan at a moment, for the charts: the planned total and the phase (tests by duration or stages). */
  private plannedPoint(at: number): Pick<TimePoint, 'planned' | 'phase'> {
    if (!this.profile) return {};
    const ms = at - this.clockOrigin();
    return { planned: this.inRequests(plannedValueAt(this.profile, ms)) ?? undefined, phase: ms >= 0 ? this.profile.phaseAt(ms) : undefined };
  }

  /** Every part that ended without its final report, plus parts whose count (or send window) fell short of the plan. */
  private endings(): DriverEnding[] {
    const plan = this.options.config.message_count_per_driver;
    const byTime = this.plan.kind !== 'count' && this.profile !== undefined;
    const out: DriverEnding[] = [];
    for (const [id, track] of this.tracks) {
      const ending = endingOf(track.part);
      if (ending) out.push(ending);
      else if (track.part.state === 'complete') {
        // A scenario's plan counts iterations; a driver whose unique data ran out ended its part complete (dataWarnings says so).
        if (track.latest?.message.data_exhausted) continue;
        // A driver that reports no iterations ran it unpicked, as a flat test of its first step: checked as one.
        const iterations = this.options.config.scenario ? track.latest?.message.iterations : undefined;
        const sent = iterations ? iterations.started : track.latest?.message.requests_sent;
        // A flat TSUNAMI test by duration goes as a count: a driver that speaks only the spec (no
        // send window in its reports) ran it as one, and is checked against that count.
        const asCount = this.plan.kind === 'duration' && this.options.config.test_type === 'TSUNAMI' && track.latest?.message.send_window_ms === undefined;
        // A part whose count is unknown cannot be checked against the plan: it never makes a test complete.
        if (byTime && !asCount) {
          const short = this.stopRequested ? undefined : this.windowShortfall(track);
          if (short) out.push({ node_id: id, state: 'complete', at: track.latest?.receivedAt ?? this.clock.now(), reason: short });
        } else if (sent === undefined && !this.stopRequested) {
          out.push({ node_id: id, state: 'complete', at: track.latest?.receivedAt ?? this.clock.now(), reason: 'its reports gave no request count, so its part cannot be checked against the plan' });
        } else if (sent !== undefined && sent < plan && !this.stopRequested) {
          out.push({ node_id: id, state: 'complete', at: track.latest!.receivedAt, reason: `its final report counts ${sent.toLocaleString('en-US')} of ${plan.toLocaleString('en-US')} ${iterations ? 'iterations' : 'requests'}` });
        }
      }
    }
    return out;
  }

  /** The merged histograms kept with the result, for comparisons: the test's, each request name's, each phase's. */
  private runHistograms(): RunHistograms {
    const reports = [...this.tracks.values()].filter((t) => shownState(t.part) !== 'duplicate').map((t) => t.latest);
    const { latency, uncorrected, perRequest } = finalHistograms(reports, this.requestNames());
    const perStage: Record<string, string> = {};
    for (const phase of this.phaseBook.phases()) {
      const h = phaseHistogram(this.phaseBook.of(phase));
      if (h) perStage[phase] = encodeHistogram(h);
    }
    return {
      ...(latency ? { latency: encodeHistogram(latency) } : {}),
      ...(uncorrected ? { uncorrected: encodeHistogram(uncorrected) } : {}),
      ...(perRequest.size ? { per_request: Object.fromEntries([...perRequest].map(([name, h]) => [name, encodeHistogram(h)])) } : {}),
      ...(Object.keys(perStage).length ? { per_stage: perStage } : {}),
    };
  }

  /**
   * Why a finished part of a test by duration or stages did not cover the plan, or undefined when
   * it did: its send window must reach the planned length plus the time it was paused, less the
   * tolerance (the last planned gap between its requests, at least 1 s).
   */
  private windowShortfall(track: DriverTrack): string | undefined {
    const m = track.latest?.message;
    const plannedMs = this.profile!.plannedMs;
    const tolerance = this.plan.toleranceMs;
    const seconds = (ms: number) => `${Number((ms / 1000).toFixed(ms < 10_000 ? 2 : 1))} s`;
    if (m?.send_window_ms === undefined) return 'its reports gave no send window, so its part cannot be checked against the planned duration';
    const paused = m.paused_ms ?? 0;
    const needed = plannedMs + paused;
    if (m.send_window_ms + tolerance >= needed) return undefined;
    return `its send window of ${seconds(m.send_window_ms)} falls short of the planned ${seconds(plannedMs)}${paused ? ` plus ${seconds(paused)} paused` : ''} (tolerance ${seconds(tolerance)})`;
  }

  private finish(): void {
    if (this.isOver) return;
    this.ticker?.cancel();
    this.options.server?.stop();
    this.endedAt = this.clock.now();
    const ending = this.endings();
    const status: FinalStatus = this.stopRequested ? 'stopped' : ending.length === 0 ? 'complete' : 'incomplete';
    this.status = status;
    const { snapshot, merged } = this.measure();
    const { point, interval } = this.timePoint(snapshot, merged, true);
    this.tell('the last time point', (o) => o.second?.(snapshot, point, interval));
    const histograms = this.runHistograms();
    const limits = this.options.definition.thresholds;
    const stageChecks = [
      ...this.stageThresholdChecks(snapshot.stages ?? []),
      ...evaluateNamedThresholds(limits?.steps, snapshot.per_request, 'step'),
      ...evaluateNamedThresholds(limits?.requests, snapshot.per_request, 'request'),
    ];
    const { verdict, thresholds } = judge({
      stageChecks,
      plannedSeconds: snapshot.planned_s,
      status,
      thresholds: this.options.definition.thresholds,
      aggregate: snapshot.aggregate,
      throughput: snapshot.throughput,
      // A scenario's verdict counts iterations against the plan's.
      plannedRequests: this.options.config.scenario ? this.plannedArrivals : this.plannedRequests,
      ending,
      stoppedBy: this.stoppedBy,
      warnings: snapshot.warnings,
      server: snapshot.server,
      iterations: snapshot.iterations,
    });
    let result: TestResult = { ...snapshot, status, ended_at: this.endedAt, thresholds, verdict, ending };
    if (this.options.baseline) {
      const current = { test: { test_id: this.testId, created_at: this.createdAt, definition: this.options.definition, config: this.options.config, participants: this.participants }, result, histograms, intervals: this.intervals };
      result = judgedAgainst(this.options.baseline, current);
    }
    this.result = result;
    // Each output in turn; a failure is said in the result the next ones, and the caller, receive.
    for (const output of this.outputs) {
      this.tellOne(output, 'the result', (o) => o.end?.(result, histograms));
      result.warnings = [...result.warnings.filter((w) => !this.outputErrors.has(w.split(':')[0])), ...this.outputWarnings()];
    }
    this.emit('end', result);
  }

  /** Each stage's own thresholds, judged on its window. */
  private stageThresholdChecks(stages: StageStats[]) {
    return (this.options.definition.stages ?? []).flatMap((stage, i) => {
      if (!stage.thresholds) return [];
      const phase = `stage ${i + 1}`;
      return evaluateStageThresholds(stage.thresholds, phase, stages.find((s) => s.phase === phase));
    });
  }

  /** Ends the test now with what was reported, as `stopped` (the person running it gave up waiting). */
  finishNow(by: string): void {
    if (this.status !== 'running') return;
    this.markStopRequested(by);
    this.finish();
  }

  /** Lets go of the run without a result (orchestrator shutdown): it stays resumable from the store. */
  release(): void {
    this.ticker?.cancel();
    this.options.server?.stop();
    this.removeAllListeners();
  }
}

/** A logged change as the load profile applies it. */
function profileChange(entry: ControlLogEntry): ProfileChange {
  if (entry.action === 'set') return { action: 'set', value: entry.value!, phase: entry.phase };
  return entry.action === 'pause' ? { action: 'pause', phase: entry.phase } : { action: 'resume', phase: entry.phase };
}

function newTrack(): DriverTrack {
  return { part: WAITING, accumulator: new ReportAccumulator(), reports: 0, sendsStatus: false };
}
