// `lt-agent --allow-target`: where this agent agrees to send load. A fleet of agents is a weapon
// aimed by whatever a test_config names; with an allowlist, a config aimed elsewhere is refused
// and the refusal says why (the orchestrator shows it as the reason the test did not run here).
//
// Patterns, each optionally with :PORT:
//   api.example.com       that host name exactly (any case)
//   *.example.com         any name below example.com (not example.com itself)
//   10.1.2.3, [::1]       that address
//   10.0.0.0/8, [fd00::/8]  any address in that block
// A name is matched as a name: an address block allows targets written as addresses, and a
// name is never resolved to see whether it falls inside one (it could resolve elsewhere later).
// Without a port a pattern allows every port. The driver never follows redirects, so no request
// leaves the list that way.
import { BlockList, isIP } from 'node:net';

/** A test refused because its target is outside the allowlist (not a config this agent cannot run). */
export class TargetRefused extends Error {}

interface Rule {
  text: string;
  port?: number;
  matches(host: string): boolean;
}

function parseRule(text: string): Rule {
  const trimmed = text.trim();
  // [v6 or v6/len]:port, or host[/len]:port
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  const plain = bracketed ? undefined : /^([^:]+)(?::(\d+))?$/.exec(trimmed);
  const hostPart = (bracketed?.[1] ?? plain?.[1])?.toLowerCase();
  const portText = bracketed?.[2] ?? plain?.[2];
  if (!hostPart) throw new Error(`"${text}" is not a host name, address or address block (with an optional :PORT)`);
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && !(port >= 1 && port <= 65535)) throw new Error(`"${text}": port ${portText} is out of range`);
  const cidr = /^(.+)\/(\d+)$/.exec(hostPart);
  if (cidr) {
    const family = isIP(cidr[1]);
    const bits = Number(cidr[2]);
    if (!family || bits > (family === 4 ? 32 : 128)) throw new Error(`"${text}" is not an address block like 10.0.0.0/8 or [fd00::/8]`);
    const block = new BlockList();
    block.addSubnet(cidr[1], bits, family === 4 ? 'ipv4' : 'ipv6');
    return { text, port, matches: (host) => isIP(host) !== 0 && block.check(host, isIP(host) === 4 ? 'ipv4' : 'ipv6') };
  }
  const family = isIP(hostPart);
  if (family) {
    const block = new BlockList();
    block.addAddress(hostPart, family === 4 ? 'ipv4' : 'ipv6');
    return { text, port, matches: (host) => isIP(host) !== 0 && block.check(host, isIP(host) === 4 ? 'ipv4' : 'ipv6') };
  }
  if (hostPart.startsWith('*.')) {
    const suffix = hostPart.slice(1); // ".example.com"
    return { text, port, matches: (host) => isIP(host) === 0 && host.endsWith(suffix) && host.length > suffix.length };
  }
  if (!/^[a-z0-9.-]+$/.test(hostPart)) throw new Error(`"${text}" is not a host name, address or address block`);
  return { text, port, matches: (host) => host === hostPart };
}

export class TargetAllowlist {
  private readonly rules: Rule[];

  /** Throws, naming the pattern, on one it cannot read. */
  constructor(patterns: string[]) {
    this.rules = patterns.filter((p) => p.trim() !== '').map(parseRule);
  }

  get isEmpty(): boolean {
    return this.rules.length === 0;
  }

  /** Undefined when `url` may be loaded; otherwise why not. */
  refusal(url: URL): string | undefined {
    if (this.rules.length === 0) return undefined;
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    if (this.rules.some((r) => r.matches(host) && (r.port === undefined || r.port === port))) return undefined;
    return `target ${url.host} is not in this agent's --allow-target list (${this.rules.map((r) => r.text).join(', ')})`;
  }

  describe(): string {
    return this.rules.map((r) => r.text).join(', ');
  }
}
