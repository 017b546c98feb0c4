// The orchestrator: keeps the driver registry from register and heartbeat messages, starts tests
// (test_config, then trigger), aggregates their metrics and keeps the history. It knows nothing of
// VS Code or of HTTP: the extension, the REST API and the CLI are shells around this class. It
// receives its message bus, so that unit tests can hand it a fake one.
import { EventEmitter } from 'node:events';
import { dirname } from 'node:path';
import { systemClock, type Clock } from '../common/clock';
import type { Logger } from '../common/logger';
import { runKey, sourceFileKey } from './history/baselines';
import { baselineFor } from './compare/baseline-verdict';
import type { StoredRun } from './compare/compare-runs';
import type { RunOutput } from './outputs/run-output';
import { storeOutput } from './outputs/store-output';
import { ownAddresses, primaryAddress } from '../common/network-address';
import { KafkaBus, type KafkaSecurity } from '../protocol/kafka-bus';
import type { BusHealth, BusMessage, MessageBus, StartPosition } from '../protocol/message-bus';
import { MessageIntake } from '../protocol/message-intake';
import { DriverMessageVerifier, signCommand, type CommandKind, type DriverMessageKind, type DropKind } from '../protocol/command-signature';
import { testConfigProblems } from '../protocol/test-config-limits';
import { encodeControl, encodeStop, encodeTestConfig, encodeTrigger, topicNames, type TopicKey, type TopicNames } from '../protocol/wire-protocol';
import { agentCommandHint } from './agent-hint';
import { PrometheusWatcher } from './prometheus-watcher';
import { DriverRegistry } from './driver-registry';
import { isOverState } from './driver-part';
import { newTestId, toTestConfig, validateDefinition, type LoadTestDefinition } from './loadtest-definition';
import { MetricsStore, type StoredTest } from './metrics-store';
import { OrchestratorError } from './orchestrator-error';
import type { DriverInfo, TestListing, TestResult, TestSnapshot, TimePoint } from './result-model';
import { TestRun } from './test-run';
import { controlRefusal, neededFeatures, notPickedReason } from './stages/agent-features';
import type { ControlLogEntry } from './stages/control-log';
import type { ControlRequest } from './stages/live-control';
import type { StageStats } from './stages/stage-stats';
import { planOf } from './stages/test-plan';
import { scenarioProblems } from './scenarios/scenario-definition';
import { readTestData } from './scenarios/test-data-file';

export interface OrchestratorOptions {
  topicPrefix?: string;
  /** Folder of the metrics store (history survives restarts). */
  storeDir: string;
  /** This orchestrator's id in the commands it sends (default: this machine's address). */
  id?: string;
  logger: Logger;
  lostAfterMs?: number;
  /** How long a lost participant may take to come back before its part of a test is over (ms). */
  lostGraceMs?: number;
  /** A participant that sends no test_status is done after this long without a new report (ms). */
  quietAfterMs?: number;
  /** Lost drivers leave the list after this long (ms). */
  driverRetentionMs?: number;
  /**
   * Before the first test, how long after connecting to listen for heartbeats, so that every
   * driver already alive is known when the drivers are picked (ms; default two heartbeat periods).
   */
  settleMs?: number;
  /**
   * Shared with the agents: test_config, trigger and stop are signed with it, and what agents
   * send is checked with it (command-signature.ts): a driver that signs is heard only signed.
   */
  secret?: string;
  /** With `secret`: drop every unsigned message, also from drivers that never signed (other implementations). */
  requireSignatures?: boolean;
  clock?: Clock;
}

export interface ConnectOptions extends OrchestratorOptions {
  brokers: string[];
  kafkaSecurity?: KafkaSecurity;
  connectRetries?: number;
}

export interface OrchestratorEvents {
  /** The list of drivers changed state (not on every heartbeat). */
  drivers: [drivers: DriverInfo[]];
  update: [snapshot: TestSnapshot, point: TimePoint];
  end: [result: TestResult];
  /** A test was created, triggered or resumed. */
  test: [snapshot: TestSnapshot];
  /** A test was cancelled or deleted (deleteTest): views that list tests drop it. */
  deleted: [testId: string];
  /** A live change was sent, or became applied by every participant or refused as a whole. */
  control: [testId: string, entry: ControlLogEntry, outcome: 'sent' | 'applied' | 'refused'];
  /** A phase of a running test settled on every participant: its figures are final. */
  phase_settled: [testId: string, stats: StageStats];
}

export interface StartOptions {
  /** How long to wait for enough drivers before giving up (milliseconds). */
  waitForDriversMs?: number;
  /** The .loadtest.json the definition came from: the history files the run under it (baselines, the editor's CodeLens). */
  sourceFile?: string;
  /** Judge the run against a baseline as it ends: a stored run's id, or `file` for the baseline of its file (or name). */
  baseline?: string;
  /** What else consumes this run besides the store (the terminal, report files). */
  outputs?: RunOutput[];
}

/** StartOptions.baseline: the baseline of the run's own file. */
export const BASELINE_OF_FILE = 'file';

/** An unfinished test older than this is not picked up again after a restart. */
const RESUME_WITHIN_MS = 60 * 60_000;
/** Tests remembered as ended, for heartbeats that were sent before their final reports. */
const ENDED_TESTS_KEPT = 100;

export class Orchestrator extends EventEmitter<OrchestratorEvents> {
  readonly id: string;
  readonly names: string[];
  readonly registry: DriverRegistry;
  readonly store: MetricsStore;
  readonly topics: TopicNames;
  readonly intake: MessageIntake;
  private readonly runs = new Map<string, TestRun>();
  /** outputs of every run, started here or resumed, until detached (attachOutput) */
  private readonly standingOutputs = new Set<RunOutput>();
  /**
   * The latest tests that ended here, each with the drivers whose final report arrived, kept
   * after their runs are forgotten, to read the heartbeats that were sent before those reports.
   */
  private readonly finishedParts = new Map<string, Set<string>>();
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly settledAt: number;
  private closed = false;
  private readonly verifier: DriverMessageVerifier | undefined;
  /** Drivers' messages dropped for their signature (see DriverMessageVerifier), by why. */
  readonly dropped: Record<DropKind, number> = { unsigned: 0, forged: 0, stale: 0, replayed: 0 };
  /** Per test running here, the reports dropped per driver, for its result. */

  /** A command as sent: signed when this orchestrator shares a secret with its agents. */
  private signed(kind: CommandKind, json: string): string {
    return this.options.secret ? signCommand(kind, json, this.options.secret, this.clock.now()) : json;
  }

  private constructor(
    private readonly bus: MessageBus,
    private readonly options: OrchestratorOptions,
  ) {
    super();
    this.log = options.logger;
    this.clock = options.clock ?? systemClock;
    this.id = options.id ?? primaryAddress();
    this.names = [...new Set([this.id, ...ownAddresses()])];
    this.topics = topicNames(options.topicPrefix);
    this.store = new MetricsStore(options.storeDir);
    if (options.requireSignatures && !options.secret) throw new OrchestratorError('requiring signed messages needs the shared secret', 'invalid');
    this.verifier = options.secret ? new DriverMessageVerifier(options.secret, { requireSigned: options.requireSignatures }) : undefined;
    const moved = this.store.migration;
    if (moved) this.log.info(`moved ${moved.moved.length} test(s) from ${moved.from} into ${this.store.dir}/tests${moved.leftBehind.length ? `; left ${moved.leftBehind.join(', ')} there (the same ids exist in both)` : ''}`);
    this.registry = new DriverRegistry({
      ownNames: this.names,
      lostAfterMs: options.lostAfterMs,
      retentionMs: options.driverRetentionMs,
      clock: this.clock,
      observation: this.observation,
      reportsQuietMs: options.quietAfterMs,
    });
    this.settledAt = this.clock.now() + (options.settleMs ?? 2 * 1000);
    this.registry.on('changed', () => this.emit('drivers', this.registry.list()));
    this.registry.on('removed', () => this.emit('drivers', this.registry.list()));
    this.registry.on('lost', (driver, reason) => {
      this.log.warn(`driver ${driver.node_id} is lost: ${reason}`);
      for (const run of this.runs.values()) run.onDriverLost(driver.node_id, reason);
    });
    this.registry.on('registered', (driver, at) => {
      for (const run of this.runs.values()) run.onDriverRestarted(driver.node_id, at, 'it registered again');
    });
    // A new agent process under the id, told by the heartbeat's instance: a restart, seen
    // without comparing the agent's clock with ours (as the registration's timestamp must be).
    this.registry.on('replaced', (driver) => {
      for (const run of this.runs.values()) run.onDriverRestarted(driver.node_id, this.clock.now(), 'a new agent process heartbeats under its id');
    });
    this.registry.on('duplicate', (driver, reason) => {
      this.log.warn(reason);
      for (const run of this.runs.values()) run.onDriverDuplicate(driver.node_id, reason);
    });
    this.intake = new MessageIntake(
      this.topics,
      {
        register: (m, raw) => {
          if (!this.admitted('register', m.node_id, raw)) return;
          const known = this.registry.get(m.node_id);
          this.registry.onRegister(m, raw.timestamp);
          if (!known && this.registry.get(m.node_id)?.foreign) {
            this.log.warn(`driver ${m.node_id} serves orchestrator "${m.orchestrator}", not this one (${this.id}); it will ignore our commands. Start it with --orchestrator ${this.id}`);
          }
        },
        heartbeat: (m, raw) => {
          if (!this.admitted('heartbeat', m.node_id, raw)) return;
          const wasLost = this.registry.get(m.node_id)?.health === 'lost';
          // A heartbeat sent just before the driver's final report may arrive after it: a test
          // whose final report from this driver arrived no longer keeps it busy, in the registry
          // nor in the next test. (A driver judged lost or left may still be running it.)
          const over = m.state === 'running' && m.test_id !== undefined && this.finishedParts.get(m.test_id)?.has(m.node_id) === true;
          const heard = over ? { ...m, state: 'idle' as const, test_id: undefined } : m;
          this.registry.onHeartbeat(heard);
          if (wasLost && !m.leaving) this.log.info(`driver ${m.node_id} is alive again`);
          for (const run of this.runs.values()) {
            if (wasLost) run.onDriverAlive(m.node_id);
            run.onDriverHeartbeat(m.node_id, heard.state, heard.test_id, m.leaving === true);
          }
        },
        metrics: (m, raw) => {
          if (!this.admitted('metrics', m.node_id, raw, m.test_id)) return;
          this.registry.onReport(m.node_id, m.test_id, m.test_status === 'complete');
          this.runs.get(m.test_id)?.onReport(m, this.clock.now());
        },
      },
      this.log.child('intake'),
    );
  }

  /**
   * Whether a driver's message may be heard: with a secret, one that does not verify is dropped
   * (counted, and warned of once per kind), and a dropped report is counted in its test's result.
   */
  private admitted(kind: DriverMessageKind, nodeId: string, raw: BusMessage, testId?: string): boolean {
    const verdict = this.verifier?.check(kind, nodeId, raw.value, this.clock.now(), raw.timestamp);
    if (!verdict) return true;
    if (this.dropped[verdict.drop]++ === 0) {
      this.log.warn(`dropped a ${kind} message in the name of ${nodeId}: ${verdict.why}. Every ${verdict.drop} message from a driver is dropped; this is said once`);
    } else this.log.debug(`dropped a ${kind} message in the name of ${nodeId}: ${verdict.why}`);
    if (testId !== undefined) this.runs.get(testId)?.onDroppedReport(nodeId);
    return false;
  }

  /** Whether this orchestrator hears the broker now (see MessageBus.health). */
  readonly observation = (): BusHealth => this.bus.health();

  /** Connects to Kafka and opens an orchestrator on it; the orchestrator closes the connection on shutdown. */
  static async start(options: ConnectOptions): Promise<Orchestrator> {
    const bus = await KafkaBus.connect({ brokers: options.brokers, security: options.kafkaSecurity, clientId: 'lt-orchestrator', logger: options.logger, connectRetries: options.connectRetries });
    return Orchestrator.open(bus, options);
  }

  /** Learns the drivers already registered, picks up an unfinished test, and starts listening. */
  static async open(bus: MessageBus, options: OrchestratorOptions): Promise<Orchestrator> {
    const orchestrator = new Orchestrator(bus, options);
    try {
      await bus.ensureTopics(Object.values(orchestrator.topics));
      const resumable = orchestrator.resumableTest();
      const metricsFrom: StartPosition = resumable?.metrics_offsets ? { offsets: resumable.metrics_offsets } : 'now';
      if (resumable) orchestrator.resume(resumable);
      const group = `lt-orchestrator-${orchestrator.id}-${process.pid}-${Date.now()}`;
      // Liveness and figures on consumers of their own: a fetch full of reports (histograms to
      // decode, aggregates to make) must never hold the heartbeats behind it, or busy drivers
      // look lost while the orchestrator is only busy reading their figures.
      await Promise.all([
        bus.subscribe({
          groupId: `${group}-liveness`,
          topics: [
            // Registrations are read from the topic's start, so an orchestrator started after its agents still learns of them.
            { topic: orchestrator.topics.register, from: 'beginning' },
            { topic: orchestrator.topics.heartbeat, from: 'now' },
          ],
          onMessage: orchestrator.intake.accept,
        }),
        bus.subscribe({ groupId: `${group}-metrics`, topics: [{ topic: orchestrator.topics.metrics, from: metricsFrom }], onMessage: orchestrator.intake.accept }),
      ]);
    } catch (error) {
      await orchestrator.shutdown();
      throw error;
    }
    return orchestrator;
  }

  get brokers(): string[] {
    return this.bus.brokers;
  }

  /**
   * Messages published and not read yet, per topic this orchestrator reads (partitions it has read
   * from; a partition never read has no position to measure from).
   */
  async consumerLag(): Promise<Partial<Record<TopicKey, number>>> {
    const lag: Partial<Record<TopicKey, number>> = {};
    for (const [key, partitions] of this.intake.positions) {
      const ends = await this.bus.endOffsets(this.topics[key]);
      let behind = 0n;
      for (const [partition, offset] of partitions) {
        const end = ends[partition];
        if (end !== undefined && BigInt(end) > offset + 1n) behind += BigInt(end) - offset - 1n;
      }
      lag[key] = Number(behind);
    }
    return lag;
  }

  get kafkaSecurity(): KafkaSecurity | undefined {
    return this.bus.security;
  }

  /**
   * Makes `output` an output of every run from now on: the run under way, if any, from its next
   * second, and each run started or resumed later. This is how a view that outlives one test (the
   * editor's dashboard, its tree and status bar) consumes runs. The returned function detaches it.
   */
  attachOutput(output: RunOutput): () => void {
    this.standingOutputs.add(output);
    for (const run of this.runs.values()) if (!run.result) run.attach(output);
    return () => {
      this.standingOutputs.delete(output);
      for (const run of this.runs.values()) run.detach(output);
    };
  }

  drivers(): DriverInfo[] {
    return this.registry.list();
  }

  /** The test being run now, if any. */
  activeRun(): TestRun | undefined {
    return [...this.runs.values()].find((r) => r.status === 'running');
  }

  /** The newest test that ran (or runs) in this process. */
  latestRun(): TestRun | undefined {
    return [...this.runs.values()].at(-1);
  }

  /** The newest triggered test without a result, if recent: this orchestrator stopped while it ran. */
  private resumableTest(): StoredTest | undefined {
    const now = this.clock.now();
    const unfinished = this.store.list().find((t) => t.status === 'interrupted' && t.triggered_at !== undefined && now - t.triggered_at < RESUME_WITHIN_MS);
    return unfinished ? this.store.loadTest(unfinished.test_id) : undefined;
  }

  /** Picks a test up again: the reports stored so far, then the metrics topic from the test's first offset. */
  private resume(stored: StoredTest): void {
    const run = this.newRun(stored.definition, stored.config, stored.participants, { triggeredAt: stored.triggered_at! }, { controlLog: stored.control_log });
    this.log.info(`resuming test ${stored.test_id}, which was running when this orchestrator last stopped`);
    this.emit('test', run.snapshot());
  }

  private newRun(
    definition: LoadTestDefinition,
    config: StoredTest['config'],
    participants: string[],
    resumed?: { triggeredAt: number },
    extra: { notPicked?: string[]; controlLog?: ControlLogEntry[]; baseline?: StoredRun; outputs?: RunOutput[] } = {},
  ): TestRun {
    const run = new TestRun({
      definition,
      config,
      participants,
      store: this.store,
      clock: this.clock,
      observation: this.observation,
      quietAfterMs: this.options.quietAfterMs,
      lostGraceMs: this.options.lostGraceMs,
      resumed,
      sender: { id: this.id, names: this.names },
      notPicked: extra.notPicked,
      controlLog: extra.controlLog,
      baseline: extra.baseline,
      outputs: [storeOutput(this.store), ...(extra.outputs ?? []), ...this.standingOutputs],
      server: definition.prometheus ? new PrometheusWatcher(definition.prometheus) : undefined,
    });
    run.on('update', (s, p) => {
      for (const d of s.per_driver) if (isOverState(d.state)) this.registry.markIdle(d.node_id, s.test_id);
      this.emit('update', s, p);
    });
    run.on('control', (entry, outcome) => {
      if (outcome === 'refused') this.log.warn(`test ${config.test_id}: ${entry.text}: refused as a whole (${entry.refused})`);
      else this.log.info(`test ${config.test_id}: ${entry.text}: applied by every driver`);
      this.emit('control', config.test_id, entry, outcome);
    });
    run.on('phase_settled', (stats) => this.emit('phase_settled', config.test_id, stats));
    run.on('output_error', (output, message) => this.log.error(`test ${config.test_id}: ${output === 'store' ? 'the metrics store' : output} ${message}; the test goes on and its result says so`));
    run.on('end', (r) => {
      // Every driver that reported counts, also one that took the test unasked (a spec-only driver ignores driver_ids).
      for (const id of new Set([...r.participants, ...r.per_driver.map((d) => d.node_id)])) this.registry.markIdle(id, r.test_id);
      this.finishedParts.set(r.test_id, new Set(r.per_driver.filter((d) => d.state === 'complete').map((d) => d.node_id)));
      if (this.finishedParts.size > ENDED_TESTS_KEPT) this.finishedParts.delete(this.finishedParts.keys().next().value!);
      this.forgetFinishedRunsBefore(run);
      const level = r.verdict.passed ? 'info' : 'warn';
      this.log[level](`test ${r.test_id} ended ${r.status}: ${r.verdict.reason}`);
      this.emit('end', r);
    });
    this.runs.set(config.test_id, run);
    return run;
  }

  /** Resolves once the registry has heard a full heartbeat period since connecting. */
  private async settled(): Promise<void> {
    const wait = this.settledAt - this.clock.now();
    if (wait > 0) await new Promise<void>((resolve) => this.clock.after(wait, resolve));
  }

  /** The drivers available and fit for the test (`unfit` says why one is not), waiting up to `waitMs` for `needed`. */
  private async waitForDrivers(needed: number, waitMs: number, unfit: (d: DriverInfo) => string | undefined = () => undefined): Promise<{ available: DriverInfo[]; notPicked: string[] }> {
    await this.settled();
    const deadline = this.clock.now() + waitMs;
    for (;;) {
      const all = this.registry.available();
      const notPicked = all.map(unfit).filter((r): r is string => r !== undefined);
      const available = all.filter((d) => unfit(d) === undefined);
      if (available.length >= needed || this.clock.now() >= deadline) return { available, notPicked };
      await new Promise<void>((resolve) => this.clock.after(100, resolve));
    }
  }

  /** Validates a definition, picks the drivers and sends them the test_config. */
  async createTest(input: unknown, options: StartOptions = {}): Promise<TestSnapshot> {
    const checked = validateDefinition(input);
    if (!checked.ok) throw new OrchestratorError(`invalid load test: ${checked.errors.join('; ')}`, 'invalid', checked.errors);
    const definition: LoadTestDefinition = checked.definition;
    // The scenario's data travels with the test; its columns are known only now, and so are the variables they give.
    const data = definition.data ? readTestData(definition.data, options.sourceFile ? dirname(options.sourceFile) : process.cwd()) : undefined;
    const variableProblems = data ? scenarioProblems(definition, data.columns) : [];
    if (variableProblems.length) throw new OrchestratorError(`invalid load test: ${variableProblems.join('; ')}`, 'invalid', variableProblems);
    const active = this.activeRun();
    if (active) throw new OrchestratorError(`test ${active.testId} is running; stop it or wait until it ends`, 'conflict');
    const testId = definition.test_id ?? newTestId();
    if (this.runs.has(testId) || this.store.has(testId)) throw new OrchestratorError(`test_id ${testId} was already used; leave test_id out to get a fresh one`, 'conflict');
    const needed = definition.drivers ?? 1;
    const features = neededFeatures(definition);
    const { available, notPicked } = await this.waitForDrivers(needed, options.waitForDriversMs ?? 0, (d) => notPickedReason(d, features));
    for (const reason of notPicked) this.log.info(reason);
    if (available.length < needed) {
      const alive = this.registry.alive();
      const shared = alive.filter((d) => d.duplicate).map((d) => `${d.duplicate}.`);
      throw new OrchestratorError(
        `the test needs ${needed} driver${needed > 1 ? 's' : ''} but ${available.length} ${available.length === 1 ? 'is' : 'are'} available (${alive.length} alive). ` +
          (shared.length ? `Not picked: ${shared.join(' ')} ` : '') +
          (notPicked.length ? `${notPicked.join('. ')}. ` : '') +
          `Start agents with: ${agentCommandHint(this.brokers, this.id, this.bus.security)}`,
        'conflict',
      );
    }
    // Without "drivers", every alive idle driver takes part (the registry has settled, so all are known).
    const participants = (definition.drivers ? available.slice(0, definition.drivers) : available).map((d) => d.node_id);
    const config = toTestConfig(definition, testId, { id: this.id, names: this.names }, participants, data);
    // The per-driver limits on totals (stages' concurrency) are checked again on the drivers picked.
    const problems = testConfigProblems(config);
    if (problems.length) throw new OrchestratorError(`invalid load test on ${participants.length} driver(s): ${problems.join('; ')}`, 'invalid', problems);
    // Where this test's reports will begin: a restarted orchestrator reads them again from there.
    const metricsOffsets = await this.bus.endOffsets(this.topics.metrics);
    const source_file = options.sourceFile ? sourceFileKey(this.store, options.sourceFile) : undefined;
    // The baseline is read before anything is sent: a run is not spent to learn it has none.
    const baseline = options.baseline === undefined ? undefined : baselineFor(this.store, runKey({ source_file, name: definition.name }), options.baseline === BASELINE_OF_FILE ? undefined : options.baseline);
    this.store.saveTest({ test_id: testId, name: definition.name, created_at: this.clock.now(), definition, config, participants, metrics_offsets: metricsOffsets, ...(source_file ? { source_file } : {}) });
    const run = this.newRun(definition, config, participants, undefined, { notPicked, baseline, outputs: options.outputs });
    await this.bus.publish(this.topics.test_config, this.signed('test_config', encodeTestConfig(config)), testId);
    this.log.info(`test ${testId} created: ${config.test_type} on ${participants.join(', ')}`);
    const snapshot = run.snapshot();
    this.emit('test', snapshot);
    return snapshot;
  }

  async triggerTest(testId: string): Promise<TestSnapshot> {
    const run = this.runs.get(testId);
    if (!run) {
      if (this.store.has(testId)) throw new OrchestratorError(`test ${testId} has already run; create a new one`, 'conflict');
      throw new OrchestratorError(`no test ${testId}`, 'not_found');
    }
    if (run.status !== 'created') throw new OrchestratorError(`test ${testId} was already triggered`, 'conflict');
    const active = this.activeRun();
    if (active) throw new OrchestratorError(`test ${active.testId} is running; stop it or wait until it ends`, 'conflict');
    const gone = run.participants.filter((id) => this.registry.get(id)?.health !== 'alive');
    if (gone.length) throw new OrchestratorError(`driver${gone.length > 1 ? 's' : ''} ${gone.join(', ')} ${gone.length > 1 ? 'are' : 'is'} no longer alive; create the test again`, 'conflict');
    run.markTriggered();
    for (const id of run.participants) this.registry.markRunning(id, testId);
    await this.bus.publish(this.topics.trigger, this.signed('trigger', encodeTrigger({ test_id: testId, trigger: 'YES', orchestrator: this.id, orchestrator_names: this.names })), testId);
    this.log.info(`test ${testId} triggered`);
    const snapshot = run.snapshot();
    this.emit('test', snapshot);
    return snapshot;
  }

  /**
   * A finished run holds its drivers' decoded histograms; the store has everything it reported.
   * A long-lived host (the extension) keeps only the latest finished run in memory, for
   * waitForEnd() and for refusing a second trigger.
   */
  private forgetFinishedRunsBefore(latest: TestRun): void {
    for (const [id, run] of this.runs) if (run !== latest && run.isOver) this.runs.delete(id);
  }

  /** Creates and triggers in one step; resolves with the run once triggered. */
  async startTest(input: unknown, options: StartOptions = {}): Promise<TestRun> {
    const created = await this.createTest(input, options);
    await this.triggerTest(created.test_id);
    return this.runs.get(created.test_id)!;
  }

  /** Resolves with the result when the test ends. */
  waitForEnd(testId: string): Promise<TestResult> {
    const run = this.runs.get(testId);
    if (!run) return Promise.reject(new OrchestratorError(`no test ${testId} running here`, 'not_found'));
    if (run.result) return Promise.resolve(run.result);
    return new Promise((resolve) => run.once('end', resolve));
  }

  /** Tells the drivers to stop; the test ends `stopped` once their final reports arrive. */
  async stopTest(testId: string, by = 'a person'): Promise<TestSnapshot> {
    const run = this.runs.get(testId);
    if (!run) throw new OrchestratorError(`no test ${testId} running here`, 'not_found');
    if (run.status !== 'running') throw new OrchestratorError(`test ${testId} is ${run.status}, not running`, 'conflict');
    run.markStopRequested(by);
    await this.bus.publish(this.topics.stop, this.signed('stop', encodeStop({ test_id: testId, stop: true, orchestrator: this.id, orchestrator_names: this.names })), testId);
    this.log.info(`test ${testId}: stop requested by ${by}`);
    return run.current();
  }

  /**
   * Changes a running test: pause, resume, or set its total rate (TSUNAMI) or concurrency
   * (AVALANCHE). Sent on `test_control`, signed like a stop; the change is in the test's control
   * log at once, and applied or refused as its drivers answer (the `control` event says which).
   * `by` says who asked ("REST", "dashboard", "CLI", "capacity search"); `phase` names the window
   * of the result that begins with it (default "set 1", "pause 1", …).
   * Throws OrchestratorError: not_found (no such test here), conflict (not running, already
   * paused, not paused, a participant lacks 'control'), invalid (the wrong field for its type,
   * out of bounds, an unknown action).
   */
  async controlTest(testId: string, request: ControlRequest, by: string, phase?: string): Promise<{ control_id: string; phase: string; at: number }> {
    const run = this.runs.get(testId);
    if (!run) {
      if (this.store.has(testId)) throw new OrchestratorError(`test ${testId} is not running here`, 'conflict');
      throw new OrchestratorError(`no test ${testId}`, 'not_found');
    }
    if (run.status !== 'running') throw new OrchestratorError(`test ${testId} is ${run.status}, not running`, 'conflict');
    const lacking = controlRefusal(run.participants.map((id) => ({ node_id: id, features: this.registry.get(id)?.features })));
    if (lacking) throw new OrchestratorError(`cannot control test ${testId}: ${lacking}`, 'conflict');
    const { message, entry } = run.prepareControl(request, by, phase);
    await this.bus.publish(this.topics.control, this.signed('control', encodeControl(message)), testId);
    run.commitControl(entry);
    this.log.info(`test ${testId}: ${entry.text} (${entry.phase})`);
    this.emit('control', testId, entry, 'sent');
    return { control_id: entry.control_id, phase: entry.phase, at: entry.at };
  }

  /**
   * Resolves with a phase's merged figures once every participant reported it settled (at once
   * if it already is). Rejects with OrchestratorError 'timeout' after `timeoutMs`, 'not_running'
   * when the test ends first or is not running here, 'not_found' when there is no such test.
   */
  waitForPhaseSettled(testId: string, phase: string, timeoutMs: number): Promise<StageStats> {
    const run = this.runs.get(testId);
    if (!run) return Promise.reject(new OrchestratorError(`no test ${testId} running here`, this.store.has(testId) ? 'not_running' : 'not_found'));
    const now = run.stageStatsOf(phase);
    if (now?.settled) return Promise.resolve(now);
    if (run.isOver) return Promise.reject(new OrchestratorError(`test ${testId} ended ${run.status} before phase "${phase}" settled`, 'not_running'));
    return new Promise((resolve, reject) => {
      const done = () => {
        timer.cancel();
        run.off('phase_settled', onSettled);
        run.off('end', onEnd);
      };
      const onSettled = (stats: StageStats) => {
        if (stats.phase !== phase) return;
        done();
        resolve(stats);
      };
      const onEnd = () => {
        done();
        const last = run.stageStatsOf(phase);
        if (last?.settled) resolve(last);
        else reject(new OrchestratorError(`test ${testId} ended ${run.status} before phase "${phase}" settled`, 'not_running'));
      };
      const timer = this.clock.after(timeoutMs, () => {
        done();
        reject(new OrchestratorError(`phase "${phase}" of test ${testId} did not settle on every driver within ${Math.round(timeoutMs / 1000)} s`, 'timeout'));
      });
      run.on('phase_settled', onSettled);
      run.on('end', onEnd);
    });
  }

  /**
   * Forgets a test: one created but never triggered is cancelled first (its drivers are told to
   * stop, so a trigger that still comes never starts it); a running test must be stopped first.
   */
  async deleteTest(testId: string): Promise<{ test_id: string; cancelled: boolean }> {
    const run = this.runs.get(testId);
    if (run?.status === 'running') throw new OrchestratorError(`test ${testId} is running; stop it first`, 'conflict');
    if (!run && !this.store.has(testId)) throw new OrchestratorError(`no test ${testId}`, 'not_found');
    const cancelled = run?.status === 'created';
    if (cancelled) {
      await this.bus.publish(this.topics.stop, this.signed('stop', encodeStop({ test_id: testId, stop: true, orchestrator: this.id, orchestrator_names: this.names })), testId);
      this.log.info(`test ${testId} cancelled before its trigger`);
    }
    run?.release();
    this.runs.delete(testId);
    this.store.deleteTest(testId);
    this.emit('deleted', testId);
    return { test_id: testId, cancelled };
  }

  /** A test's figures: live if it runs in this process, else from the store. */
  getTest(testId: string): TestSnapshot | TestResult | undefined {
    const run = this.runs.get(testId);
    if (run) return run.result ?? run.current();
    // A test the store cannot read is an error (code storage), not a missing one.
    if (!this.store.has(testId)) return undefined;
    return this.store.loadResult(testId) ?? this.interruptedSnapshot(testId);
  }

  private interruptedSnapshot(testId: string): TestSnapshot | undefined {
    const stored = this.store.loadTest(testId);
    if (!stored) return undefined;
    const last = this.store.loadTimeSeries(testId).at(-1);
    return {
      test_id: testId,
      name: stored.name,
      test_type: stored.config.test_type,
      status: stored.triggered_at ? 'interrupted' : 'created',
      created_at: stored.created_at,
      triggered_at: stored.triggered_at,
      elapsed_s: last?.t ?? 0,
      config: stored.config,
      participants: stored.participants,
      planned_requests: stored.config.duration_s !== undefined ? (planOf(stored.config, stored.participants).plannedRequests ?? 0) : stored.participants.length * stored.config.message_count_per_driver,
      aggregate: {
        drivers: stored.participants.length,
        drivers_reporting: 0,
        requests_sent: last?.requests_sent ?? 0,
        responses: last?.responses ?? 0,
        errors: last?.errors ?? 0,
        error_rate: last && last.requests_sent > 0 ? last.errors / last.requests_sent : 0,
        errors_unknown_from: [],
        requests_with_unknown_errors: 0,
        histogram_missing_from: [],
        rate: 0,
        latency: null,
        uncorrected: null,
        error_kinds: {},
        status_codes: {},
        warm_up: null,
      },
      per_driver: [],
      warnings: [],
      throughput: 0,
      run_s: 0,
      computed_at: this.clock.now(),
      deadline_at: stored.deadline_at,
    };
  }

  getTimeSeries(testId: string): TimePoint[] | undefined {
    if (!this.runs.has(testId) && !this.store.has(testId)) return undefined;
    return this.store.loadTimeSeries(testId);
  }

  listTests(): TestListing[] {
    const live = new Set([...this.runs.values()].filter((r) => !r.isOver).map((r) => r.testId));
    return this.store.list(live);
  }

  /**
   * Leaves Kafka, waiting at most `timeoutMs` for the broker. A running test is left running on
   * its drivers and stays resumable from the store: the next orchestrator on this store picks it
   * up. (To end it, stop it first: the CLI does so on Ctrl-C.)
   */
  async shutdown(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const run of this.runs.values()) {
      if (run.status === 'running') this.log.info(`test ${run.testId} is still running on its drivers; an orchestrator started on the same store resumes it`);
      run.release();
    }
    this.registry.dispose();
    // The bus leaves every consumer group (ours included) and gives up on a broker that does not answer.
    await this.bus.close(timeoutMs);
  }
}
