// A driver node: registers with the orchestrator over Kafka, heartbeats every second, and runs
// the tests it is configured and triggered for, reporting metrics every second and at the end.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { systemClock, type Clock, type TimerHandle } from '../common/clock';
import { errorMessage, type Logger } from '../common/logger';
import type { MessageBus, Subscription } from '../protocol/message-bus';
import { MessageIntake } from '../protocol/message-intake';
import {
  AGENT_FEATURES,
  DRIVER_HEADER,
  type ControlAnswer,
  type ControlMessage,
  type PhaseCounts,
  encodeHeartbeat,
  encodeMetrics,
  encodeRegister,
  type MetricsMessage,
  type TestConfigMessage,
  type TopicNames,
  type StopMessage,
  type TriggerMessage,
} from '../protocol/wire-protocol';
import { LatencyLog } from './latency-log';
import type { LoadRun, RecorderView } from './load-run';
import { usableWorkers } from './plan-share';
import type { LoadWorkers } from './threaded-load';
import { LoadGenerator } from './load-generator';
import { WarmUpFirst } from './warm-up-first';
import { ProcessStats } from './process-stats';
import { ReportOutbox } from './report-outbox';
import { planFor } from './request-plan';
import { chooseEngine, type EngineName } from './http-engine/http-connection';
import { testConfigProblems } from '../protocol/test-config-limits';
import { CommandVerifier, signDriverMessage, type CommandKind, type DriverMessageKind } from '../protocol/command-signature';
import { TargetRefused, type TargetAllowlist } from './target-allowlist';
import { changeOf, CONTROL_LEAD_MS, controlRefusal } from './control-check';
import { profileProblems } from './plan-profile';

export interface AgentOptions {
  bus: MessageBus;
  topics: TopicNames;
  nodeId: string;
  nodeIp: string;
  /** The orchestrator this agent serves; commands that name another one are ignored. */
  orchestrator?: string;
  /** Used when a test_config names no target (as other implementations' configs do). */
  defaultTarget: string;
  /** Where this agent agrees to send load; a config aimed elsewhere is refused. */
  allowlist?: TargetAllowlist;
  /** PEM certificates of authorities to trust for https targets (lt-agent --target-ca) */
  trustedCa?: string[];
  /** worker threads that share each test's requests (lt-agent --workers); without, this thread sends them */
  workers?: LoadWorkers;
  /** Shared with the orchestrator: only commands signed with it are obeyed, and what this agent sends is signed with it (command-signature.ts). */
  secret?: string;
  logger: Logger;
  version: string;
  heartbeatIntervalMs?: number;
  reportIntervalMs?: number;
  /** How long a trigger waits for its test_config before it is dropped as unknown. */
  heldTriggerMs?: number;
  /** When set, every latency of every test is also written to DIR/NODE-TEST.u32 (see latency-log.ts). */
  latencyLogDir?: string;
  clock?: Clock;
}

interface RunningTest {
  config: TestConfigMessage;
  generator: LoadRun;
  reports: number;
  reportTimer: TimerHandle;
  /** live controls by control_id: when on the test's clock each took effect, or why it was refused */
  controls: Map<string, { atMs: number } | { refused: string }>;
  /** phases already reported as settled: a report carries them only once (the final one all) */
  reportedSettled: Set<string>;
  /** the engine that carries its requests (every thread of the driver makes the same choice from the same plan) */
  engine: EngineName;
}

const REMEMBERED_CONFIGS = 100;

/** What this agent has done since it started, for its /metrics (agent-metrics.ts). */
export interface AgentActivity {
  state: 'idle' | 'running';
  /** the running test, else the last one */
  test?: { testId: string; recorder: RecorderView; inFlight: number };
  /** requests, responses and failures of the tests that ended here */
  finished: { tests: number; requests: number; responses: number; errors: Record<string, number> };
  heartbeatsSent: number;
  heartbeatsFailed: number;
  rejectedCommands: number;
}

export class DriverAgent {
  private readonly verifier: CommandVerifier | undefined;
  private rejectedCommands = 0;
  private lastRejection: string | undefined;
  private readonly configs = new Map<string, TestConfigMessage>();
  private readonly heldTriggers = new Map<string, TimerHandle>();
  private readonly finishedTests = new Set<string>();
  /** tests stopped before they started here: a stop may overtake its trigger (another topic) */
  private readonly stoppedTests = new Set<string>();
  private readonly stats = new ProcessStats();
  private readonly intake: MessageIntake;
  private readonly log: Logger;
  private subscription: Subscription | undefined;
  private heartbeatTimer: TimerHandle | undefined;
  private readonly clock: Clock;
  private heartbeatPending = false;
  private heartbeatAgain = false;
  /** this process among agents that may share its node_id (see HeartbeatMessage.instance) */
  private readonly instance = randomBytes(6).toString('hex');
  private current: RunningTest | undefined;
  private readonly outbox: ReportOutbox;
  private stopping = false;
  private readonly finished: AgentActivity['finished'] = { tests: 0, requests: 0, responses: 0, errors: {} };
  private lastTest: { testId: string; recorder: RecorderView } | undefined;
  private heartbeatsSent = 0;
  private heartbeatsFailed = 0;

  constructor(private readonly options: AgentOptions) {
    this.log = options.logger;
    this.clock = options.clock ?? systemClock;
    this.outbox = new ReportOutbox((message) => options.bus.publish(options.topics.metrics, message, options.nodeId), this.log);
    this.verifier = options.secret ? new CommandVerifier(options.secret) : undefined;
    this.intake = new MessageIntake(
      options.topics,
      {
        test_config: (m, raw) => void (this.verified('test_config', m.test_id, raw.value, m) && this.onConfig(m)),
        trigger: (m, raw) => void (this.verified('trigger', m.test_id, raw.value, m) && this.onTrigger(m)),
        stop: (m, raw) => void (this.verified('stop', m.test_id, raw.value, m) && this.onStop(m)),
        control: (m, raw) => void (this.verified('control', m.test_id, raw.value, m) && this.onControl(m)),
      },
      this.log,
    );
  }

  activity(): AgentActivity {
    const current = this.current;
    const test = current ? { testId: current.config.test_id, recorder: current.generator.recorder, inFlight: current.generator.requestsInFlight } : this.lastTest && { ...this.lastTest, inFlight: 0 };
    return { state: this.state, test, finished: this.finished, heartbeatsSent: this.heartbeatsSent, heartbeatsFailed: this.heartbeatsFailed, rejectedCommands: this.rejectedCommands };
  }

  /** With a secret, what this agent sends is signed: the orchestrator then hears no one else in its name. */
  private sealed(kind: DriverMessageKind, json: string): string {
    return this.options.secret ? signDriverMessage(kind, json, this.options.secret, this.clock.now()) : json;
  }

  /** Running while a test runs here, and until its final report has reached Kafka. */
  get state(): 'idle' | 'running' {
    return this.current || this.outbox.undeliveredFinal() ? 'running' : 'idle';
  }

  private get stateTestId(): string | undefined {
    return this.current?.config.test_id ?? this.outbox.undeliveredFinal();
  }

  /** Joins the command topics first, so that the orchestrator never sees a driver that could miss a command. */
  async start(): Promise<void> {
    const { bus, topics } = this.options;
    await bus.ensureTopics(Object.values(topics));
    this.subscription = await bus.subscribe({
      groupId: `lt-agent-${this.options.nodeId}-${process.pid}-${Date.now()}`,
      topics: [
        { topic: topics.test_config, from: 'now' },
        { topic: topics.trigger, from: 'now' },
        { topic: topics.stop, from: 'now' },
        { topic: topics.control, from: 'now' },
      ],
      onMessage: this.intake.accept,
    });
    await bus.publish(
      topics.register,
      this.sealed('register', encodeRegister({
        node_id: this.options.nodeId,
        node_IP: this.options.nodeIp,
        message_type: 'DRIVER_NODE_REGISTER',
        orchestrator: this.options.orchestrator,
        agent_version: this.options.version,
        features: [...AGENT_FEATURES],
      })),
      this.options.nodeId,
    );
    await this.heartbeat();
    this.heartbeatTimer = this.clock.every(this.options.heartbeatIntervalMs ?? 1000, () => void this.heartbeat());
  }

  private servesSender(command: { orchestrator?: string; orchestrator_names?: string[] }): boolean {
    const mine = this.options.orchestrator?.toLowerCase();
    if (!mine) return true;
    const names = [command.orchestrator, ...(command.orchestrator_names ?? [])].filter((n): n is string => !!n).map((n) => n.toLowerCase());
    // Commands that name no orchestrator come from other implementations of the spec: obey them.
    return names.length === 0 || names.includes(mine);
  }

  /**
   * With a secret, a command for this agent is obeyed only if it verifies; one naming another
   * orchestrator is passed on (and ignored there) whatever its signature.
   */
  private verified(kind: CommandKind, testId: string, raw: Buffer | null, command: { orchestrator?: string; orchestrator_names?: string[] }): boolean {
    if (!this.verifier || !this.servesSender(command)) return true;
    const why = this.verifier.check(kind, raw, this.clock.now());
    if (why === undefined) return true;
    this.rejectedCommands++;
    this.lastRejection = `${kind} for ${testId}: ${why}`;
    this.log.warn(`rejected a ${kind} for ${testId}: ${why}`);
    void this.heartbeat();
    return false;
  }

  private onConfig(config: TestConfigMessage): void {
    if (!this.servesSender(config)) {
      this.log.info(`ignoring test_config ${config.test_id} from orchestrator ${config.orchestrator}, not ${this.options.orchestrator}`);
      return;
    }
    if (config.driver_ids && !config.driver_ids.includes(this.options.nodeId)) {
      this.log.debug(`test ${config.test_id} does not include this driver`);
      return;
    }
    this.configs.set(config.test_id, config);
    if (this.configs.size > REMEMBERED_CONFIGS) this.configs.delete(this.configs.keys().next().value!);
    const shape = config.stages ? `${config.stages.length} stages over ${config.duration_s} s` : config.duration_s !== undefined ? `for ${config.duration_s} s` : `${config.message_count_per_driver} requests`;
    this.log.info(`received test_config ${config.test_id}: ${config.test_type}, ${shape}`);
    const held = this.heldTriggers.get(config.test_id);
    if (held) {
      held.cancel();
      this.heldTriggers.delete(config.test_id);
      this.log.info(`running ${config.test_id}, whose trigger arrived before its config`);
      this.runTest(config);
    }
  }

  private onStop(stop: StopMessage): void {
    if (!this.servesSender(stop)) return;
    this.stopTest(stop.test_id);
  }

  /**
   * A live change of the running test: taken at one time on the test's clock a little ahead (or
   * at the measured start, before it), or refused with the reason; answered in the next reports.
   */
  private onControl(control: ControlMessage): void {
    if (!this.servesSender(control)) return;
    const test = this.current;
    if (!test || test.config.test_id !== control.test_id) {
      this.log.debug(`ignoring control ${control.control_id} for ${control.test_id}: not running here`);
      return;
    }
    if (test.controls.has(control.control_id)) return;
    const refused = controlRefusal(test.config, control, test.generator.controllable);
    if (refused) {
      this.log.warn(`refused control ${control.control_id} of ${control.test_id}: ${refused}`);
      test.controls.set(control.control_id, { refused });
      return;
    }
    const clock = test.generator.testClockMs;
    const atMs = clock === undefined ? 0 : clock + CONTROL_LEAD_MS;
    test.generator.apply(changeOf(test.config, control, this.options.nodeId), atMs);
    test.controls.set(control.control_id, { atMs });
    this.log.info(`control ${control.control_id} of ${control.test_id}: ${control.action}${control.action === 'set' ? ` ${control.rate ?? control.concurrency}` : ''} (phase ${control.phase})`);
  }

  private stopTest(testId: string): void {
    if (this.current?.config.test_id === testId) {
      this.log.info(`stopping ${testId} on the orchestrator's request`);
      this.current.generator.stop();
      return;
    }
    if (this.finishedTests.has(testId)) return;
    // Not started here (yet): its trigger, on another topic, may still come, and must not start it.
    this.stoppedTests.add(testId);
    if (this.stoppedTests.size > REMEMBERED_CONFIGS) this.stoppedTests.delete(this.stoppedTests.values().next().value!);
  }

  private onTrigger(trigger: TriggerMessage): void {
    if (!this.servesSender(trigger)) {
      this.log.info(`ignoring trigger for ${trigger.test_id} from orchestrator ${trigger.orchestrator}, not ${this.options.orchestrator}`);
      return;
    }
    if (trigger.trigger === 'STOP') {
      // An orchestrator of an earlier version stops tests on the trigger topic.
      this.stopTest(trigger.test_id);
      return;
    }
    const config = this.configs.get(trigger.test_id);
    if (config) {
      this.runTest(config);
      return;
    }
    if (this.heldTriggers.has(trigger.test_id)) return;
    const waitMs = this.options.heldTriggerMs ?? 30_000;
    this.log.info(`trigger for ${trigger.test_id} arrived before its config; holding it for up to ${waitMs / 1000} s`);
    this.heldTriggers.set(
      trigger.test_id,
      this.clock.after(waitMs, () => {
        this.heldTriggers.delete(trigger.test_id);
        this.log.warn(`ignored the trigger for unknown test ${trigger.test_id}: no test_config for it arrived`);
      }),
    );
  }

  private runTest(config: TestConfigMessage): void {
    if (this.stopping) return;
    if (this.finishedTests.has(config.test_id) || this.current?.config.test_id === config.test_id) {
      this.log.info(`test ${config.test_id} already ran here; ignoring the repeated trigger`);
      return;
    }
    if (this.current) {
      this.log.warn(`busy with test ${this.current.config.test_id}; ignoring the trigger for ${config.test_id}`);
      return;
    }
    if (this.stoppedTests.delete(config.test_id)) {
      // Its part ends at once, as stopped with nothing sent, instead of running a stopped test.
      this.log.info(`test ${config.test_id} was stopped before its trigger arrived; not running it`);
      this.rememberFinished(config.test_id);
      this.queueReport(config.test_id, { requests_sent: 0, responses: 0, errors: {}, status_codes: {}, elapsed_ms: 0, metrics: null, stopped: true }, 'complete', 1);
      return;
    }
    let generator: LoadRun;
    let engine: EngineName;
    try {
      // Before anything is sized or timed from it: a config from Kafka may come from anyone.
      const problems = [...testConfigProblems(config), ...profileProblems(config)];
      if (problems.length) throw new Error(`the config is outside this agent's limits: ${problems.join('; ')}`);
      const headers = { [DRIVER_HEADER]: this.options.nodeId, 'user-agent': `lt-agent/${this.options.version}` };
      const plan = planFor(config, this.options.defaultTarget, headers, this.options.nodeId, this.options.trustedCa);
      const refusal = this.options.allowlist?.refusal(plan.url);
      if (refusal) throw new TargetRefused(refusal);
      engine = chooseEngine(plan).engine;
      const workers = this.options.workers;
      // The latency log is one file written in order: a test that keeps it runs on this thread.
      const threads = workers && !this.options.latencyLogDir ? usableWorkers(plan, workers.size) : 1;
      const warmUp = config.warm_up_count_per_driver ?? 0;
      // The measured requests number on from the warm-up's, so `{seq}` never repeats in a test.
      const load = (run: TestConfigMessage, measured: boolean): LoadRun => {
        const firstSeq = measured ? warmUp : 0;
        const n = Math.min(threads, run.message_count_per_driver);
        if (workers && n > 1) return workers.run(run, { defaultTarget: this.options.defaultTarget, headers, driver: this.options.nodeId, trustedCa: this.options.trustedCa, firstSeq }, n, plan.open, plan.profile !== undefined);
        const log = measured && this.options.latencyLogDir ? new LatencyLog(join(this.options.latencyLogDir, `${this.options.nodeId}-${run.test_id}.u32`)) : undefined;
        return new LoadGenerator({ ...plan, count: run.message_count_per_driver, firstSeq }, log);
      };
      generator = warmUp > 0 ? new WarmUpFirst(load({ ...config, message_count_per_driver: warmUp }, false), load(config, true)) : load(config, true);
    } catch (error) {
      this.log.error(`cannot run test ${config.test_id}: ${errorMessage(error)}`);
      this.rememberFinished(config.test_id);
      this.queueReport(
        config.test_id,
        {
          requests_sent: 0,
          responses: 0,
          errors: error instanceof TargetRefused ? { refused: 1 } : { invalid_config: 1 },
          error_detail: errorMessage(error).slice(0, 500),
          status_codes: {},
          elapsed_ms: 0,
          metrics: null,
        },
        'complete',
        1,
      );
      return;
    }
    const test: RunningTest = {
      config,
      generator,
      controls: new Map(),
      reportedSettled: new Set(),
      engine,
      reports: 0,
      reportTimer: this.clock.every(this.options.reportIntervalMs ?? 1000, () => this.report(test, 'running')),
    };
    this.current = test;
    this.log.info(`test ${config.test_id} started`);
    void this.heartbeat();
    generator.start().then(() => {
      test.reportTimer.cancel();
      this.rememberFinished(config.test_id);
      this.report(test, 'complete');
      const r = generator.recorder;
      this.finished.tests++;
      this.finished.requests += r.requestsSent;
      this.finished.responses += r.responses;
      for (const [kind, count] of Object.entries(r.errorsByKind())) this.finished.errors[kind] = (this.finished.errors[kind] ?? 0) + count;
      this.lastTest = { testId: config.test_id, recorder: r };
      this.log.info(`test ${config.test_id} ${generator.wasStopped ? 'stopped' : 'complete'}: ${r.requestsSent} sent, ${r.responses} responses, ${r.errorTotal} errors in ${(generator.elapsedMs / 1000).toFixed(1)} s`);
      this.current = undefined;
      void this.heartbeat();
    });
  }

  private rememberFinished(testId: string): void {
    this.finishedTests.add(testId);
    if (this.finishedTests.size > REMEMBERED_CONFIGS) this.finishedTests.delete(this.finishedTests.values().next().value!);
  }

  private report(test: RunningTest, status: 'running' | 'complete'): void {
    const snapshot = test.generator.recorder.snapshot();
    test.reports++;
    const warm_up = test.generator instanceof WarmUpFirst ? test.generator.warmUpCounts : undefined;
    this.queueReport(
      test.config.test_id,
      {
        ...snapshot,
        warm_up,
        connection_limit: test.generator.connectionLimit,
        http_engine: test.engine,
        elapsed_ms: Math.round(test.generator.elapsedMs),
        first_send_at: test.generator.firstSendEpoch,
        stopped: status === 'complete' && test.generator.wasStopped ? true : undefined,
        data_exhausted: test.generator.dataExhausted || undefined,
        ...this.profileFigures(test, status === 'complete'),
      },
      status,
      test.reports,
    );
  }

  /**
   * A test by time or under live control reports its phases (those not settled yet and those
   * settled since the last report; the final report all), its answers to controls and the time
   * it spent paused. A flat test by count that no control touched reports as it always has.
   */
  private profileFigures(test: RunningTest, final: boolean): { phases?: PhaseCounts[]; controls?: Record<string, ControlAnswer>; paused_ms?: number } {
    const { config, generator } = test;
    const controls: Record<string, ControlAnswer> = {};
    for (const [id, answer] of test.controls) {
      if ('refused' in answer) controls[id] = answer;
      else {
        const at = generator.epochAt(answer.atMs);
        if (at !== undefined) controls[id] = { applied_at: at };
        else if (final) controls[id] = { refused: 'the test ended before its measured part began' };
      }
    }
    const applied = [...test.controls.values()].some((a) => 'atMs' in a);
    if (config.stages === undefined && config.duration_s === undefined && !applied) return test.controls.size ? { controls } : {};
    const all = generator.phases();
    const phases = final ? all : all.filter((p) => !p.settled || !test.reportedSettled.has(p.phase));
    for (const p of phases) if (p.settled) test.reportedSettled.add(p.phase);
    return { phases, controls: test.controls.size ? controls : undefined, paused_ms: Math.round(generator.pausedMs) };
  }

  private queueReport(testId: string, body: Omit<MetricsMessage, 'node_id' | 'test_id' | 'report_id' | 'test_status'>, status: 'running' | 'complete', seq: number): void {
    const message = this.sealed('metrics', encodeMetrics({
      node_id: this.options.nodeId,
      test_id: testId,
      report_id: `${testId}:${this.options.nodeId}:${seq}`,
      report_kind: 'cumulative',
      test_status: status,
      timestamp: this.clock.now(),
      ...body,
    }));
    this.outbox.enqueue(testId, message, status === 'complete');
  }

  private async heartbeat(leaving = false): Promise<void> {
    if (this.heartbeatPending && !leaving) {
      // The one on its way may carry the state before a test started or ended: send the news after it.
      this.heartbeatAgain = true;
      return;
    }
    this.heartbeatPending = true;
    this.heartbeatAgain = false;
    try {
      const load = this.stats.sample();
      await this.options.bus.publish(
        this.options.topics.heartbeat,
        this.sealed('heartbeat', encodeHeartbeat({
          node_id: this.options.nodeId,
          heartbeat: 'YES',
          timestamp: Date.now(),
          node_IP: this.options.nodeIp,
          state: this.state,
          test_id: this.stateTestId,
          orchestrator: this.options.orchestrator,
          leaving: leaving || undefined,
          signed_commands: this.verifier ? true : undefined,
          rejected_commands: this.rejectedCommands || undefined,
          last_rejection: this.lastRejection,
          instance: this.instance,
          features: [...AGENT_FEATURES],
          ...load,
        })),
        this.options.nodeId,
      );
      this.heartbeatsSent++;
    } catch (error) {
      this.heartbeatsFailed++;
      this.log.warn(`heartbeat not sent: ${errorMessage(error)}`);
    } finally {
      this.heartbeatPending = false;
    }
    if (this.heartbeatAgain && !this.stopping) void this.heartbeat();
  }

  /** Ends a running test with a final report, says goodbye, and leaves the consumer group. */
  async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.heartbeatTimer?.cancel();
    for (const timer of this.heldTriggers.values()) timer.cancel();
    const test = this.current;
    if (test) {
      test.generator.stop();
      let timer: NodeJS.Timeout | undefined;
      const settled = await Promise.race([test.generator.done.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 2000)))]);
      clearTimeout(timer);
      // Requests still out after that are abandoned; the final report still goes out when they fail.
      if (!settled) await test.generator.destroy();
      await test.generator.done;
    }
    if (!(await this.outbox.flush(10_000))) this.log.error(`left with ${this.outbox.size} report(s) undelivered: Kafka did not answer within 10 s`);
    this.outbox.close();
    await this.heartbeat(true);
    await this.subscription?.close();
    this.stats.dispose();
  }
}
