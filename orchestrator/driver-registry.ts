// The drivers this orchestrator knows, from register and heartbeat messages. Liveness is judged by
// the time messages arrive here, never by the senders' clocks, and only while this orchestrator
// can hear: a driver is lost after `lostAfterMs` of silence counted from the later of its last
// message, the moment the broker became reachable again, and the end of this process's own last
// event-loop stall (messages queued behind a stall are read before anyone is judged). A whole
// fleet falling silent together is put down to the bus for a while (see updateFleetSilence).
//
// Listeners hear of state changes only (health, activity, test, identity); the load figures a
// heartbeat carries (CPU, event-loop lag) change every second and are read from list() when shown.
//
// A driver's activity comes from its heartbeats when they say it (ours: `state`, `test_id`). A
// driver whose heartbeats say nothing of it (another implementation, speaking only the spec) is
// running from the trigger of a test it takes part in until its part there ends, and while its
// reports keep coming on the metrics topic; it is idle again when its final report arrives, or
// once its part has ended and its reports have stopped for `reportsQuietMs`.
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from '../common/clock';
import type { BusHealth } from '../protocol/message-bus';
import { nodeIdProblem, type HeartbeatMessage, type RegisterMessage } from '../protocol/wire-protocol';
import { QUIET_AFTER_MS } from './driver-part';
import type { DriverInfo } from './result-model';

export interface RegistryOptions {
  /** Every name this orchestrator answers to; a driver naming another one is foreign. */
  ownNames: string[];
  lostAfterMs?: number;
  /** Lost drivers leave the list after this long (drivers that say goodbye leave at once). */
  retentionMs?: number;
  clock?: Clock;
  /** Whether this orchestrator hears the broker now. */
  observation?: () => BusHealth;
  /**
   * A driver that says nothing of its state in heartbeats is running while its reports come at
   * least this often (ms; as TestRun's quietAfterMs, after which such a driver's part is over).
   */
  reportsQuietMs?: number;
}

export interface RegistryEvents {
  changed: [driver: DriverInfo];
  lost: [driver: DriverInfo, reason: string];
  removed: [nodeId: string];
  /** A register message arrived; `at` is the broker's timestamp. */
  registered: [driver: DriverInfo, at: number];
  /** Two agent processes heartbeat under one node_id: what either sends cannot be told apart. */
  duplicate: [driver: DriverInfo, reason: string];
  /** A new agent process heartbeats under a node_id another one held: a restart (or a duplicate's start). */
  replaced: [driver: DriverInfo];
}

export const DEFAULT_LOST_AFTER_MS = 3000;
export const DEFAULT_RETENTION_MS = 10 * 60_000;
const SWEEP_MS = 100;
/** A sweep this late means the event loop stalled: nobody is judged on the silence it caused. */
const STALL_MS = 1000;
/** Drivers whose last heartbeats lie within this span fell silent together. */
const FLEET_SILENCE_SPREAD_MS = 2000;
/**
 * Every alive driver silent this long at once (each has missed a heartbeat: they come every
 * second) may be a fleet silence beginning: none of them is judged until it is told (see
 * fleetSilenceForming).
 */
const FLEET_SILENCE_FORMING_MS = 1500;
/** How long a whole fleet's common silence is put down to the bus before its drivers are lost. */
export const FLEET_SILENCE_GRACE_MS = 15_000;
/**
 * When this orchestrator itself lost the broker during a fleet silence, how long its drivers have
 * to come back once it hears the broker again: their clients reconnect on their own backoff, and
 * a broker that took long to come back must not leave them less time than this.
 */
export const FLEET_RECONNECT_GRACE_MS = 10_000;

type Identity = Pick<DriverInfo, 'node_IP' | 'agent_version' | 'orchestrator' | 'registered_at' | 'features'>;

/** What tells the activity of a driver whose heartbeats do not. */
interface ReportedActivity {
  /** the test it takes part in here, from the trigger until its part there ended */
  held?: string;
  /** its latest report that was not a final one */
  report?: { testId: string; at: number };
}

export class DriverRegistry extends EventEmitter<RegistryEvents> {
  private readonly drivers = new Map<string, DriverInfo>();
  /** Drivers known only from the register topic's history: listed once they heartbeat. */
  private readonly history = new Map<string, Identity>();
  private readonly ownNames: Set<string>;
  readonly lostAfterMs: number;
  private readonly retentionMs: number;
  private readonly clock: Clock;
  private readonly observation: () => BusHealth;
  private readonly timer: TimerHandle;
  private lastSweepAt: number;
  private stallEndedAt = 0;
  /**
   * Per node_id, the agent processes heard (HeartbeatMessage.instance), the latest heard last.
   * Heartbeats of one node_id share a partition, so they arrive in the order they were sent: after
   * a restart the old instance is never heard again, while of two agents sharing the id each is
   * heard again after the other.
   */
  private readonly instances = new Map<string, Map<string, { ip: string; heardAt: number }>>();
  /** Drivers whose latest heartbeat said nothing of their state, and what tells it instead. */
  private readonly reported = new Map<string, ReportedActivity>();
  private readonly reportsQuietMs: number;
  /** the fleet silence under way, if any (see updateFleetSilence) */
  private fleetSilence: { members: Set<string>; startedAt: number; until: number } | undefined;

  constructor(options: RegistryOptions) {
    super();
    this.ownNames = new Set(options.ownNames.map((n) => n.toLowerCase()));
    this.lostAfterMs = options.lostAfterMs ?? DEFAULT_LOST_AFTER_MS;
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.clock = options.clock ?? systemClock;
    this.observation = options.observation ?? (() => ({ reachable: true, since: 0 }));
    this.reportsQuietMs = options.reportsQuietMs ?? QUIET_AFTER_MS;
    this.lastSweepAt = this.clock.now();
    this.timer = this.clock.every(Math.min(SWEEP_MS, this.lostAfterMs / 10), () => this.sweep());
  }

  list(): DriverInfo[] {
    return [...this.drivers.values()].sort((a, b) => a.node_id.localeCompare(b.node_id));
  }

  get(nodeId: string): DriverInfo | undefined {
    return this.drivers.get(nodeId);
  }

  /** Drivers that can take part in a test: alive, idle, serving this orchestrator, and one agent each. */
  available(): DriverInfo[] {
    return this.list().filter((d) => d.health === 'alive' && d.activity === 'idle' && !d.foreign && !d.duplicate);
  }

  alive(): DriverInfo[] {
    return this.list().filter((d) => d.health === 'alive');
  }

  private isForeign(orchestrator: string | undefined): boolean {
    return orchestrator !== undefined && !this.ownNames.has(orchestrator.toLowerCase());
  }

  /** `sentAt` is the broker's timestamp: a register read from the topic's history may be old. */
  onRegister(message: RegisterMessage, sentAt: number): void {
    if (nodeIdProblem(message.node_id)) return; // the intake refuses these; never listed whatever the caller
    const now = this.clock.now();
    const seen = Math.min(sentAt, now);
    const identity: Identity = { node_IP: message.node_IP, agent_version: message.agent_version, orchestrator: message.orchestrator, registered_at: seen, features: message.features };
    const existing = this.drivers.get(message.node_id);
    if (!existing && now - seen > this.lostAfterMs) {
      // History: remembered for its identity, shown only if it turns out to be alive.
      if (now - seen <= this.retentionMs) this.history.set(message.node_id, identity);
      return;
    }
    const driver: DriverInfo = {
      ...(existing ?? { activity: 'idle', health: 'alive', last_seen: seen, node_id: message.node_id, foreign: false }),
      ...identity,
      node_IP: message.node_IP || existing?.node_IP || '',
      foreign: this.isForeign(message.orchestrator),
      last_seen: Math.max(existing?.last_seen ?? 0, seen),
    };
    // A fresh registration is a fresh agent: whatever it was running, it runs nothing now.
    driver.health = 'alive';
    driver.activity = 'idle';
    driver.current_test = undefined;
    if (this.reported.has(driver.node_id)) this.reported.set(driver.node_id, {});
    this.drivers.set(driver.node_id, driver);
    this.emit('registered', driver, sentAt);
    this.emit('changed', driver);
  }

  /** A heartbeat from a driver never seen registering still makes it known (e.g. we started after it). */
  onHeartbeat(message: HeartbeatMessage): void {
    if (nodeIdProblem(message.node_id)) return;
    const now = this.clock.now();
    const existing = this.drivers.get(message.node_id);
    if (message.leaving) {
      // One of two agents sharing the id leaving does not take the other's entry with it.
      if (existing && !this.forgetInstance(message.node_id, message.instance)) this.remove(message.node_id);
      this.history.delete(message.node_id);
      return;
    }
    const known = this.history.get(message.node_id);
    const driver: DriverInfo = existing ?? { node_id: message.node_id, node_IP: '', health: 'alive', activity: 'idle', last_seen: now, foreign: false, ...known };
    this.history.delete(message.node_id);
    const before = stateKey(driver);
    driver.last_seen = now;
    if (message.node_IP) driver.node_IP = message.node_IP;
    if (message.orchestrator !== undefined) driver.orchestrator = message.orchestrator;
    driver.foreign = this.isForeign(driver.orchestrator);
    driver.health = 'alive';
    if (message.state) {
      this.reported.delete(driver.node_id);
      driver.activity = message.state;
      driver.current_test = message.state === 'running' ? message.test_id : undefined;
    } else {
      // Nothing said of its state: what this orchestrator knows of its tests stands (see ReportedActivity).
      if (!this.reported.has(driver.node_id)) this.reported.set(driver.node_id, driver.activity === 'running' && driver.current_test ? { held: driver.current_test } : {});
      this.updateReportedActivity(driver, now); // announced below with the rest
    }
    driver.cpu_percent = message.cpu_percent;
    driver.event_loop_lag_ms = message.event_loop_lag_ms;
    driver.signed_commands = message.signed_commands;
    driver.rejected_commands = message.rejected_commands;
    driver.last_rejection = message.last_rejection;
    // Ours say their features in every heartbeat; one that says none keeps what its register said.
    if (message.features !== undefined) driver.features = message.features;
    this.drivers.set(driver.node_id, driver);
    const heard = this.noteInstance(driver, message.instance, now);
    if (heard === 'replaced') this.emit('replaced', driver);
    else if (heard) this.emit('duplicate', driver, heard);
    if (!existing || stateKey(driver) !== before) this.emit('changed', driver);
  }

  /**
   * 'replaced' when this heartbeat comes from a new agent process under a node_id another one held;
   * the reason when it shows two agents under the node_id for the first time.
   */
  private noteInstance(driver: DriverInfo, instance: string | undefined, now: number): 'replaced' | string | undefined {
    if (!instance) return undefined; // another implementation: nothing to tell agents apart by
    let heard = this.instances.get(driver.node_id);
    if (!heard) this.instances.set(driver.node_id, (heard = new Map()));
    const latest = [...heard.keys()].at(-1);
    const known = heard.has(instance);
    heard.delete(instance);
    heard.set(instance, { ip: driver.node_IP, heardAt: now });
    if (instance === latest) return undefined;
    if (!known) return latest === undefined ? undefined : 'replaced';
    if (driver.duplicate) return undefined;
    const where = [...new Set([...heard.values()].map((h) => h.ip || 'an unknown address'))];
    const on = where.length > 1 ? `on ${where.join(' and ')}` : `both on ${where[0]}`;
    driver.duplicate = `two agents run as ${driver.node_id} (${on}); stop one, or give each its own --id`;
    return driver.duplicate;
  }

  /** An instance said goodbye; returns whether another still runs under the same node_id. */
  private forgetInstance(nodeId: string, instance: string | undefined): boolean {
    const heard = this.instances.get(nodeId);
    if (!heard || !instance) return false;
    heard.delete(instance);
    if (heard.size > 0 && this.drivers.get(nodeId)?.duplicate) return true;
    this.instances.delete(nodeId);
    return false;
  }

  /** A node_id's instances not heard for `lostAfterMs` are gone; with one left, the id is one agent's again. */
  private pruneInstances(now: number): void {
    for (const [nodeId, heard] of this.instances) {
      for (const [instance, h] of heard) if (heard.size > 1 && now - h.heardAt > this.lostAfterMs) heard.delete(instance);
      const driver = this.drivers.get(nodeId);
      if (!driver) this.instances.delete(nodeId);
      else if (driver.duplicate && heard.size === 1) {
        driver.duplicate = undefined;
        this.emit('changed', driver);
      }
    }
  }

  /** Marks a participant as running as soon as the test is triggered, before its next heartbeat says so. */
  markRunning(nodeId: string, testId: string): void {
    const driver = this.drivers.get(nodeId);
    if (!driver) return;
    const reported = this.reported.get(nodeId);
    if (reported) reported.held = testId;
    driver.activity = 'running';
    driver.current_test = testId;
    this.emit('changed', driver);
  }

  /**
   * A participant's part of a test is over here: it is idle (its heartbeat may say so a second
   * later), unless it says nothing of its state and its reports still come (see ReportedActivity).
   */
  markIdle(nodeId: string, testId: string): void {
    const driver = this.drivers.get(nodeId);
    if (!driver) return;
    const reported = this.reported.get(nodeId);
    if (reported) {
      if (reported.held === testId) reported.held = undefined;
      this.applyReportedActivity(driver, this.clock.now());
      return;
    }
    if (driver.current_test !== testId) return;
    driver.activity = 'idle';
    driver.current_test = undefined;
    this.emit('changed', driver);
  }

  /**
   * A metrics report (it verified, if it had to) from a driver for a test, here or elsewhere:
   * for a driver whose heartbeats say nothing of its state, its reports are what it is doing.
   */
  onReport(nodeId: string, testId: string, final: boolean): void {
    const reported = this.reported.get(nodeId);
    const driver = this.drivers.get(nodeId);
    if (!reported || !driver) return;
    const now = this.clock.now();
    if (final) {
      if (reported.held === testId) reported.held = undefined;
      if (reported.report?.testId === testId) reported.report = undefined;
    } else reported.report = { testId, at: now };
    this.applyReportedActivity(driver, now);
  }

  /** Announces the change, if any, of updateReportedActivity. */
  private applyReportedActivity(driver: DriverInfo, now: number): void {
    if (this.updateReportedActivity(driver, now)) this.emit('changed', driver);
  }

  /** Running a test held here, or one it reported on lately; else idle. Returns whether that changed. */
  private updateReportedActivity(driver: DriverInfo, now: number): boolean {
    const reported = this.reported.get(driver.node_id);
    if (!reported || driver.health !== 'alive') return false;
    if (reported.report && now - reported.report.at > this.reportsQuietMs) reported.report = undefined;
    const test = reported.held ?? reported.report?.testId;
    const activity = test ? 'running' : 'idle';
    if (driver.activity === activity && driver.current_test === test) return false;
    driver.activity = activity;
    driver.current_test = test;
    return true;
  }

  private remove(nodeId: string): void {
    this.drivers.delete(nodeId);
    this.reported.delete(nodeId);
    this.emit('removed', nodeId);
  }

  private sweep(): void {
    const now = this.clock.now();
    const late = now - this.lastSweepAt;
    this.lastSweepAt = now;
    if (late > STALL_MS) {
      // This process could not read its messages for `late` ms: judge nobody until it has.
      this.stallEndedAt = now;
      return;
    }
    const health = this.observation();
    const listeningSince = Math.max(health.since, this.stallEndedAt);
    if (health.reachable) this.pruneInstances(now);
    this.updateFleetSilence(now, health);
    const forming = this.fleetSilenceForming(now);
    for (const driver of [...this.drivers.values()]) {
      const silentFor = now - driver.last_seen;
      if (driver.health === 'alive' && health.reachable && !forming && !this.inFleetSilence(driver, now) && now - Math.max(driver.last_seen, listeningSince) > this.lostAfterMs) {
        driver.health = 'lost';
        driver.activity = 'idle';
        driver.current_test = undefined;
        if (this.reported.has(driver.node_id)) this.reported.set(driver.node_id, {});
        this.emit('lost', driver, `no heartbeat for ${(silentFor / 1000).toFixed(1)} s`);
        this.emit('changed', driver);
      } else if (driver.health !== 'alive' && silentFor > this.retentionMs) {
        this.remove(driver.node_id);
      } else if (driver.health === 'alive') {
        this.applyReportedActivity(driver, now);
      }
    }
  }

  /**
   * A fleet silence: every alive driver (two or more) fell silent at the same moment, which the
   * bus, not the fleet, explains best. A broker in a controlled shutdown can still answer this
   * orchestrator's fetches while it refuses the agents' heartbeats, so our own hearing does not
   * tell; and when it is back, the agents' clients reconnect one by one, seconds apart. So each
   * driver of such a silence has FLEET_SILENCE_GRACE_MS from its start to come back, whoever
   * comes back first; past that, a driver still silent is lost. If this orchestrator lost the
   * broker too, the grace also runs to FLEET_RECONNECT_GRACE_MS after it heard the broker again.
   */
  private updateFleetSilence(now: number, health: BusHealth): void {
    const episode = this.fleetSilence;
    if (episode && health.reachable && health.since > episode.startedAt) episode.until = Math.max(episode.until, health.since + FLEET_RECONNECT_GRACE_MS);
    if (episode && (now >= episode.until || [...episode.members].every((id) => (this.drivers.get(id)?.last_seen ?? Infinity) > episode.startedAt))) {
      this.fleetSilence = undefined;
    }
    if (this.fleetSilence) return;
    const alive = [...this.drivers.values()].filter((d) => d.health === 'alive');
    if (alive.length < 2) return;
    const newest = Math.max(...alive.map((d) => d.last_seen));
    const oldest = Math.min(...alive.map((d) => d.last_seen));
    if (now - newest > this.lostAfterMs && newest - oldest <= FLEET_SILENCE_SPREAD_MS) {
      this.fleetSilence = { members: new Set(alive.map((d) => d.node_id)), startedAt: newest, until: newest + FLEET_SILENCE_GRACE_MS };
    }
  }

  /**
   * Every alive driver (two or more) has been silent for FLEET_SILENCE_FORMING_MS, their silences
   * beginning within FLEET_SILENCE_SPREAD_MS: a fleet silence may be under way. Its drivers' last
   * heartbeats are up to a second apart, so the first of them passes lostAfterMs before the last
   * does and the silence can be told (updateFleetSilence); until then nobody is judged. A driver
   * still heard meanwhile ends it, and whoever was silent is judged as usual.
   */
  private fleetSilenceForming(now: number): boolean {
    if (this.fleetSilence) return false;
    const alive = [...this.drivers.values()].filter((d) => d.health === 'alive');
    if (alive.length < 2) return false;
    const newest = Math.max(...alive.map((d) => d.last_seen));
    const oldest = Math.min(...alive.map((d) => d.last_seen));
    return now - newest > FLEET_SILENCE_FORMING_MS && newest - oldest <= FLEET_SILENCE_SPREAD_MS;
  }

  /** Whether a driver's silence is part of a fleet silence still within its grace. */
  private inFleetSilence(driver: DriverInfo, now: number): boolean {
    const episode = this.fleetSilence;
    return !!episode && episode.members.has(driver.node_id) && driver.last_seen <= episode.startedAt && now < episode.until;
  }

  dispose(): void {
    this.timer.cancel();
    this.removeAllListeners();
  }
}

/** The fields whose change is worth announcing. */
function stateKey(d: DriverInfo): string {
  return `${d.health}|${d.activity}|${d.current_test ?? ''}|${d.node_IP}|${d.orchestrator ?? ''}|${d.foreign}|${d.agent_version ?? ''}|${d.signed_commands ?? ''}|${d.rejected_commands ?? 0}|${d.duplicate ?? ''}|${d.features?.join(',') ?? ''}`;
}
