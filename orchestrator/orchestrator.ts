// The orchestrator: keeps the driver registry from register and heartbeat messages, starts tests
// (test_config, then trigger), aggregates their metrics and keeps the history. It knows nothing of
// VS Code or of HTTP: the extension, the REST API and the CLI are shells around this class.
import { EventEmitter } from 'node:events';
import { errorMessage, type Logger } from '../common/logger';
import { ownAddresses, primaryAddress } from '../common/network-address';
import { KafkaBus, type Subscription } from '../protocol/kafka-bus';
import { MessageIntake } from '../protocol/message-intake';
import { encodeTestConfig, encodeTrigger, topicNames, type TopicNames } from '../protocol/wire-protocol';
import { DriverRegistry, type DriverInfo } from './driver-registry';
import { newTestId, toTestConfig, validateDefinition, type LoadTestDefinition } from './loadtest-definition';
import { MetricsStore, type TestListing } from './metrics-store';
import { TestRun, type TestResult, type TestSnapshot, type TimePoint } from './test-run';

export interface OrchestratorOptions {
  brokers: string[];
  topicPrefix?: string;
  /** Folder of the metrics store (history survives restarts). */
  storeDir: string;
  /** This orchestrator's id in the commands it sends (default: this machine's address). */
  id?: string;
  logger: Logger;
  lostAfterMs?: number;
  /** A participant that sends no test_status is done after this long without a new report (ms). */
  quietAfterMs?: number;
  connectRetries?: number;
}

/** An error whose `status` says how the REST API answers it. */
export class OrchestratorError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 404 | 409 | 503,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

export interface OrchestratorEvents {
  drivers: [drivers: DriverInfo[]];
  update: [snapshot: TestSnapshot, point: TimePoint];
  end: [result: TestResult];
  /** A test was created or triggered. */
  test: [snapshot: TestSnapshot];
}

export interface StartOptions {
  /** How long to wait for enough drivers before giving up (milliseconds). */
  waitForDriversMs?: number;
}

export class Orchestrator extends EventEmitter<OrchestratorEvents> {
  readonly id: string;
  readonly names: string[];
  readonly registry: DriverRegistry;
  readonly store: MetricsStore;
  readonly topics: TopicNames;
  readonly intake: MessageIntake;
  private readonly runs = new Map<string, TestRun>();
  private subscription: Subscription | undefined;
  private readonly log: Logger;
  private readonly quietAfterMs: number | undefined;

  private constructor(
    private readonly bus: KafkaBus,
    options: OrchestratorOptions,
  ) {
    super();
    this.log = options.logger;
    this.quietAfterMs = options.quietAfterMs;
    this.id = options.id ?? primaryAddress();
    this.names = [...new Set([this.id, ...ownAddresses()])];
    this.topics = topicNames(options.topicPrefix);
    this.store = new MetricsStore(options.storeDir);
    this.registry = new DriverRegistry({ ownNames: this.names, lostAfterMs: options.lostAfterMs });
    this.registry.on('changed', () => this.emit('drivers', this.registry.list()));
    this.registry.on('removed', () => this.emit('drivers', this.registry.list()));
    this.registry.on('lost', (driver) => {
      this.log.warn(`driver ${driver.node_id} is lost: no heartbeat for ${(options.lostAfterMs ?? 3000) / 1000} s`);
      for (const run of this.runs.values()) run.onDriverLost(driver.node_id);
    });
    this.intake = new MessageIntake(
      this.topics,
      {
        register: (m, raw) => {
          const known = this.registry.get(m.node_id);
          this.registry.onRegister(m, raw.timestamp);
          if (!known && this.registry.get(m.node_id)?.foreign) {
            this.log.warn(`driver ${m.node_id} serves orchestrator "${m.orchestrator}", not this one (${this.id}); it will ignore our commands. Start it with --orchestrator ${this.id}`);
          }
        },
        heartbeat: (m) => {
          const wasLost = this.registry.get(m.node_id)?.health === 'lost';
          this.registry.onHeartbeat(m);
          if (wasLost) {
            this.log.info(`driver ${m.node_id} is alive again`);
            for (const run of this.runs.values()) run.onDriverAlive(m.node_id);
          }
        },
        metrics: (m) => this.runs.get(m.test_id)?.onReport(m, Date.now()),
      },
      this.log.child('intake'),
    );
  }

  /** Connects to Kafka, learns the drivers already registered, and starts listening. */
  static async start(options: OrchestratorOptions): Promise<Orchestrator> {
    const bus = await KafkaBus.connect({ brokers: options.brokers, clientId: 'lt-orchestrator', logger: options.logger, connectRetries: options.connectRetries });
    const orchestrator = new Orchestrator(bus, options);
    try {
      await bus.ensureTopics(Object.values(orchestrator.topics));
      orchestrator.subscription = await bus.subscribe({
        groupId: `lt-orchestrator-${orchestrator.id}-${process.pid}-${Date.now()}`,
        topics: [
          // Registrations are read from the topic's start, so an orchestrator started after its agents still learns of them.
          { topic: orchestrator.topics.register, from: 'beginning' },
          { topic: orchestrator.topics.heartbeat, from: 'now' },
          { topic: orchestrator.topics.metrics, from: 'now' },
        ],
        onMessage: orchestrator.intake.accept,
      });
    } catch (error) {
      await orchestrator.shutdown();
      throw error;
    }
    return orchestrator;
  }

  get brokers(): string[] {
    return this.bus.brokers;
  }

  drivers(): DriverInfo[] {
    return this.registry.list();
  }

  /** The test being run now, if any. */
  activeRun(): TestRun | undefined {
    return [...this.runs.values()].find((r) => r.status === 'running');
  }

  private async waitForDrivers(needed: number, waitMs: number): Promise<DriverInfo[]> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const available = this.registry.available();
      if (available.length >= needed) return available;
      if (Date.now() >= deadline) return available;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Validates a definition, picks the drivers and sends them the test_config. */
  async createTest(input: unknown, options: StartOptions = {}): Promise<TestSnapshot> {
    const checked = validateDefinition(input);
    if (!checked.ok) throw new OrchestratorError(`invalid load test: ${checked.errors.join('; ')}`, 400, checked.errors);
    const definition: LoadTestDefinition = checked.definition;
    const active = this.activeRun();
    if (active) throw new OrchestratorError(`test ${active.testId} is running; stop it or wait until it ends`, 409);
    const testId = definition.test_id ?? newTestId();
    if (this.runs.has(testId) || this.store.has(testId)) throw new OrchestratorError(`test_id ${testId} was already used; leave test_id out to get a fresh one`, 409);
    const needed = definition.drivers ?? 1;
    const available = await this.waitForDrivers(needed, options.waitForDriversMs ?? 0);
    if (available.length < needed) {
      const alive = this.registry.alive().length;
      throw new OrchestratorError(
        `the test needs ${needed} driver${needed > 1 ? 's' : ''} but ${available.length} ${available.length === 1 ? 'is' : 'are'} available (${alive} alive). ` +
          `Start agents with: npx lt-agent --kafka ${this.brokers.join(',')} --orchestrator ${this.id}`,
        409,
      );
    }
    const participants = (definition.drivers ? available.slice(0, definition.drivers) : available).map((d) => d.node_id);
    const config = toTestConfig(definition, testId, { id: this.id, names: this.names }, participants);
    const run = new TestRun({ definition, config, participants, store: this.store, quietAfterMs: this.quietAfterMs });
    run.on('update', (s, p) => this.emit('update', s, p));
    run.on('end', (r) => {
      for (const id of r.participants) {
        const d = this.registry.get(id);
        if (d && d.current_test === r.test_id) d.activity = 'idle';
      }
      this.forgetFinishedRunsBefore(run);
      this.emit('end', r);
    });
    this.runs.set(testId, run);
    await this.bus.publish(this.topics.test_config, encodeTestConfig(config), testId);
    this.log.info(`test ${testId} created: ${config.test_type} on ${participants.join(', ')}`);
    const snapshot = run.snapshot();
    this.emit('test', snapshot);
    return snapshot;
  }

  async triggerTest(testId: string): Promise<TestSnapshot> {
    const run = this.runs.get(testId);
    if (!run) throw new OrchestratorError(this.store.has(testId) ? `test ${testId} has already run; create a new one` : `no test ${testId}`, this.store.has(testId) ? 409 : 404);
    if (run.status !== 'created') throw new OrchestratorError(`test ${testId} was already triggered`, 409);
    const active = this.activeRun();
    if (active) throw new OrchestratorError(`test ${active.testId} is running; stop it or wait until it ends`, 409);
    const gone = run.participants.filter((id) => this.registry.get(id)?.health !== 'alive');
    if (gone.length) throw new OrchestratorError(`driver${gone.length > 1 ? 's' : ''} ${gone.join(', ')} ${gone.length > 1 ? 'are' : 'is'} no longer alive; create the test again`, 409);
    run.markTriggered();
    for (const id of run.participants) this.registry.markRunning(id, testId);
    await this.bus.publish(this.topics.trigger, encodeTrigger({ test_id: testId, trigger: 'YES', orchestrator: this.id, orchestrator_names: this.names }), testId);
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
    if (!run) return Promise.reject(new OrchestratorError(`no test ${testId} running here`, 404));
    if (run.result) return Promise.resolve(run.result);
    return new Promise((resolve) => run.once('end', resolve));
  }

  async stopTest(testId: string): Promise<TestSnapshot> {
    const run = this.runs.get(testId);
    if (!run) throw new OrchestratorError(`no test ${testId} running here`, 404);
    if (run.status !== 'running') throw new OrchestratorError(`test ${testId} is ${run.status}, not running`, 409);
    run.markStopRequested();
    await this.bus.publish(this.topics.trigger, encodeTrigger({ test_id: testId, trigger: 'STOP', orchestrator: this.id, orchestrator_names: this.names }), testId);
    this.log.info(`test ${testId}: stop requested`);
    return run.current();
  }

  /** A test's figures: live if it runs in this process, else from the store. */
  getTest(testId: string): TestSnapshot | TestResult | undefined {
    const run = this.runs.get(testId);
    if (run) return run.result ?? run.current();
    try {
      return this.store.loadResult(testId) ?? this.interruptedSnapshot(testId);
    } catch {
      return undefined;
    }
  }

  private interruptedSnapshot(testId: string): TestSnapshot | undefined {
    const stored = this.store.loadTest(testId);
    if (!stored) return undefined;
    const last = this.store.loadTimeSeries(testId).at(-1);
    const listing = this.store.list().find((t) => t.test_id === testId);
    return {
      test_id: testId,
      name: stored.name,
      test_type: stored.config.test_type,
      status: listing?.status === 'created' ? 'created' : 'interrupted',
      created_at: stored.created_at,
      triggered_at: stored.triggered_at,
      elapsed_s: last?.t ?? 0,
      config: stored.config,
      participants: stored.participants,
      aggregate: {
        drivers: stored.participants.length,
        drivers_reporting: 0,
        requests_sent: last?.requests_sent ?? 0,
        responses: last?.responses ?? 0,
        errors: last?.errors ?? 0,
        error_rate: last && last.requests_sent > 0 ? last.errors / last.requests_sent : 0,
        rate: 0,
        latency: null,
        uncorrected: null,
        error_kinds: {},
        status_codes: {},
      },
      per_driver: [],
      throughput: 0,
      computed_at: Date.now(),
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

  /** Ends a running test with what was reported, leaves the consumer group and disconnects. */
  async shutdown(): Promise<void> {
    for (const run of this.runs.values()) {
      if (run.status === 'running') {
        await this.bus.publish(this.topics.trigger, encodeTrigger({ test_id: run.testId, trigger: 'STOP', orchestrator: this.id, orchestrator_names: this.names }), run.testId).catch((e) => {
          this.log.warn(`could not tell drivers to stop ${run.testId}: ${errorMessage(e)}`);
        });
      }
      run.abandon();
    }
    this.registry.dispose();
    await this.subscription?.close();
    await this.bus.close();
  }
}
