import { hostname, networkInterfaces } from 'node:os';

/** The address other machines most likely reach this one at: the first external IPv4, else loopback. */
export function primaryAddress(): string {
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) {
      if (entry.family === 'IPv4' && !entry.internal) return entry.address;
    }
  }
  return '127.0.0.1';
}

/** Every name this machine answers to: its host name, loopback names and interface addresses. */
export function ownAddresses(): string[] {
  const names = new Set<string>([hostname(), 'localhost', '127.0.0.1', '::1']);
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) names.add(entry.address);
  }
  return [...names];
}
