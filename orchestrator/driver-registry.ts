// The drivers this orchestrator knows, from register and heartbeat messages. A driver that sends
// no heartbeat for `lostAfterMs` is marked lost, and alive again when heartbeats resume. Liveness
// is judged by the time messages arrive here, never by the senders' clocks.
import { EventEmitter } from 'node:events';
import type { HeartbeatMessage, RegisterMessage } from '../protocol/wire-protocol';

export type DriverHealth = 'alive' | 'lost' | 'left';

export interface DriverInfo {
  node_id: string;
  node_IP: string;
  health: DriverHealth;
  activity: 'idle' | 'running';
  current_test?: string;
  /** epoch ms of the last register or heartbeat received */
  last_seen: number;
  registered_at?: number;
  agent_version?: string;
  /** the orchestrator the driver says it serves */
  orchestrator?: string;
  /** true when the driver serves another orchestrator: it will ignore our commands */
  foreign: boolean;
  cpu_percent?: number;
  event_loop_lag_ms?: number;
}

export interface RegistryOptions {
  /** Every name this orchestrator answers to; a driver naming another one is foreign. */
  ownNames: string[];
  lostAfterMs?: number;
  /** Lost or departed drivers are dropped from the list after this long. */
  forgetAfterMs?: number;
  now?: () => number;
}

export interface RegistryEvents {
  changed: [driver: DriverInfo];
  lost: [driver: DriverInfo];
  removed: [nodeId: string];
}

export class DriverRegistry extends EventEmitter<RegistryEvents> {
  private readonly drivers = new Map<string, DriverInfo>();
  private readonly ownNames: Set<string>;
  private readonly lostAfterMs: number;
  private readonly forgetAfterMs: number;
  private readonly now: () => number;
  private readonly timer: NodeJS.Timeout;

  constructor(options: RegistryOptions) {
    super();
    this.ownNames = new Set(options.ownNames.map((n) => n.toLowerCase()));
    this.lostAfterMs = options.lostAfterMs ?? 3000;
    this.forgetAfterMs = options.forgetAfterMs ?? 10 * 60_000;
    this.now = options.now ?? Date.now;
    this.timer = setInterval(() => this.sweep(), Math.min(100, this.lostAfterMs / 10));
    this.timer.unref();
  }

  list(): DriverInfo[] {
    return [...this.drivers.values()].sort((a, b) => a.node_id.localeCompare(b.node_id));
  }

  get(nodeId: string): DriverInfo | undefined {
    return this.drivers.get(nodeId);
  }

  /** Drivers that can take part in a test: alive, idle, and serving this orchestrator. */
  available(): DriverInfo[] {
    return this.list().filter((d) => d.health === 'alive' && d.activity === 'idle' && !d.foreign);
  }

  alive(): DriverInfo[] {
    return this.list().filter((d) => d.health === 'alive');
  }

  private isForeign(orchestrator: string | undefined): boolean {
    return orchestrator !== undefined && !this.ownNames.has(orchestrator.toLowerCase());
  }

  /** `sentAt` is the broker's timestamp: a register read from the topic's history may be old. */
  onRegister(message: RegisterMessage, sentAt: number): void {
    const now = this.now();
    const seen = Math.min(sentAt, now);
    if (now - seen > this.forgetAfterMs) return;
    const existing = this.drivers.get(message.node_id);
    const driver: DriverInfo = {
      ...(existing ?? { activity: 'idle', health: 'alive', last_seen: seen }),
      node_id: message.node_id,
      node_IP: message.node_IP || existing?.node_IP || '',
      registered_at: seen,
      agent_version: message.agent_version,
      orchestrator: message.orchestrator,
      foreign: this.isForeign(message.orchestrator),
      last_seen: Math.max(existing?.last_seen ?? 0, seen),
    };
    driver.health = now - driver.last_seen > this.lostAfterMs ? 'lost' : 'alive';
    this.drivers.set(driver.node_id, driver);
    this.emit('changed', driver);
  }

  /** A heartbeat from a driver never seen registering still makes it known (e.g. we started after it). */
  onHeartbeat(message: HeartbeatMessage): void {
    const now = this.now();
    const existing = this.drivers.get(message.node_id);
    const driver: DriverInfo = existing ?? { node_id: message.node_id, node_IP: '', health: 'alive', activity: 'idle', last_seen: now, foreign: false };
    const before = JSON.stringify(driver);
    driver.last_seen = now;
    if (message.node_IP) driver.node_IP = message.node_IP;
    if (message.orchestrator !== undefined) {
      driver.orchestrator = message.orchestrator;
      driver.foreign = this.isForeign(message.orchestrator);
    }
    driver.health = message.leaving ? 'left' : 'alive';
    if (message.state) driver.activity = message.state;
    driver.current_test = message.state === 'running' ? message.test_id : undefined;
    driver.cpu_percent = message.cpu_percent;
    driver.event_loop_lag_ms = message.event_loop_lag_ms;
    this.drivers.set(driver.node_id, driver);
    const { last_seen: _a, ...was } = JSON.parse(before) as DriverInfo;
    const { last_seen: _b, ...is } = driver;
    // Every heartbeat refreshes last_seen; listeners hear only of real changes.
    if (!existing || JSON.stringify(was) !== JSON.stringify(is)) this.emit('changed', driver);
  }

  /** Marks a participant as running as soon as the test is triggered, before its next heartbeat says so. */
  markRunning(nodeId: string, testId: string): void {
    const driver = this.drivers.get(nodeId);
    if (!driver) return;
    driver.activity = 'running';
    driver.current_test = testId;
    this.emit('changed', driver);
  }

  private sweep(): void {
    const now = this.now();
    for (const driver of this.drivers.values()) {
      const silentFor = now - driver.last_seen;
      if (driver.health === 'alive' && silentFor > this.lostAfterMs) {
        driver.health = 'lost';
        driver.activity = 'idle';
        driver.current_test = undefined;
        this.emit('lost', driver);
        this.emit('changed', driver);
      } else if (driver.health !== 'alive' && silentFor > this.forgetAfterMs) {
        this.drivers.delete(driver.node_id);
        this.emit('removed', driver.node_id);
      }
    }
  }

  dispose(): void {
    clearInterval(this.timer);
    this.removeAllListeners();
  }
}
