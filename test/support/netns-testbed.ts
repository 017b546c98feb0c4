// Hosts of their own on one machine: a network namespace per host, each with one interface on a
// bridge, on a subnet nothing else uses. Processes run "on" a host through `ip netns exec`; a
// host's link can be cut (a partition from everyone) or a route to one peer blackholed (a
// partition from that peer only, while the rest stays reachable). Needs root and iproute2.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { spawnCommand, type ProductProcess } from './processes';

/** The test bed's subnet; the bridge (the machine itself) is .1. */
export const SUBNET = '10.231.77';

export interface Host {
  name: string;
  namespace: string;
  ip: string;
  /** Runs a command on this host. */
  spawn(command: string, args: string[], options?: { env?: NodeJS.ProcessEnv; cwd?: string }): ProductProcess;
  /** Runs a short command on this host and returns its output. */
  run(command: string, args: string[]): string;
}

const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Whether this machine can make a test bed: root, and namespaces allowed. */
export function canMakeTestBed(): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    const probe = `lt-probe-${randomBytes(2).toString('hex')}`;
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
    return true;
  } catch {
    return false;
  }
}

export class TestBed {
  private readonly tag = randomBytes(2).toString('hex');
  private readonly bridge = `ltb${this.tag}`;
  private readonly hosts = new Map<string, Host>();
  private readonly links = new Map<string, string>();

  /** `hosts` maps each host's name to the last number of its address on the subnet. */
  constructor(hosts: Record<string, number>) {
    try {
      ip('link', 'add', this.bridge, 'type', 'bridge');
      ip('addr', 'add', `${SUBNET}.1/24`, 'dev', this.bridge);
      ip('link', 'set', this.bridge, 'up');
      let index = 0;
      for (const [name, last] of Object.entries(hosts)) this.addHost(name, last, index++);
    } catch (error) {
      this.destroy();
      throw error;
    }
  }

  private addHost(name: string, last: number, index: number): void {
    const namespace = `lt-${this.tag}-${name}`;
    const outside = `lt${this.tag}h${index}`;
    const inside = `lt${this.tag}i${index}`;
    const address = `${SUBNET}.${last}`;
    ip('netns', 'add', namespace);
    ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
    ip('link', 'set', inside, 'netns', namespace);
    ip('link', 'set', outside, 'master', this.bridge);
    ip('link', 'set', outside, 'up');
    ip('-n', namespace, 'link', 'set', inside, 'name', 'eth0');
    ip('-n', namespace, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
    ip('-n', namespace, 'link', 'set', 'eth0', 'up');
    ip('-n', namespace, 'link', 'set', 'lo', 'up');
    this.links.set(name, outside);
    this.hosts.set(name, {
      name,
      namespace,
      ip: address,
      spawn: (command, args, options) => spawnCommand('ip', ['netns', 'exec', namespace, command, ...args], { ...options, group: true }),
      run: (command, args) => execFileSync('ip', ['netns', 'exec', namespace, command, ...args], { encoding: 'utf8' }),
    });
  }

  host(name: string): Host {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no host ${name} in this test bed`);
    return host;
  }

  /** Cuts a host off from every other (its cable pulled), or plugs it back in. */
  setLink(name: string, up: boolean): void {
    ip('-n', this.host(name).namespace, 'link', 'set', 'eth0', up ? 'up' : 'down');
  }

  /** Drops everything `from` sends to `to` (and so every connection between them), or lets it through again. */
  setBlocked(from: string, to: string, blocked: boolean): void {
    ip('-n', this.host(from).namespace, 'route', blocked ? 'add' : 'del', 'blackhole', `${this.host(to).ip}/32`);
  }

  /** Removes every namespace and link it made. Safe to call twice. */
  destroy(): void {
    for (const host of this.hosts.values()) {
      try {
        ip('netns', 'del', host.namespace);
      } catch {
        // already gone
      }
    }
    this.hosts.clear();
    try {
      ip('link', 'del', this.bridge);
    } catch {
      // already gone
    }
  }
}
