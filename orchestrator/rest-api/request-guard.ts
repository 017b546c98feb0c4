// What keeps the REST API from being driven by anyone but its user. A web page can make a
// browser send requests to 127.0.0.1 (and, by rebinding its own name to 127.0.0.1, read the
// answers), so:
// - the Host header must name this machine (localhost, its name, or one of its addresses) on
//   the API's port: a rebound name is refused;
// - a request that changes state and carries an Origin must come from the API's own origin: a
//   cross-site form or fetch is refused (curl and scripts send no Origin);
// - bound beyond loopback, every request needs `Authorization: Bearer TOKEN`.
import type { NextFunction, Request, Response } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';

export interface GuardOptions {
  /** required when the API listens beyond loopback */
  token?: string;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\./.test(h);
}

/** Names and addresses this machine answers to, lower case, IPv6 without brackets. */
function ownNames(): Set<string> {
  const names = new Set(['localhost', hostname().toLowerCase()]);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.add(a.address.toLowerCase());
  return names;
}

/** Splits "host:port" (or "[v6]:port"); undefined when it does not parse. */
function hostAndPort(value: string): { host: string; port: number | undefined } | undefined {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value.trim());
  if (!match) return undefined;
  return { host: match[1].replace(/^\[|\]$/g, '').toLowerCase(), port: match[2] === undefined ? undefined : Number(match[2]) };
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function requestGuard(options: GuardOptions) {
  const names = ownNames();
  const isOurs = (value: string | undefined, port: number): boolean => {
    const parsed = value ? hostAndPort(value) : undefined;
    return !!parsed && names.has(parsed.host) && (parsed.port ?? 80) === port;
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    const port = req.socket.localPort!;
    if (!isOurs(req.headers.host, port)) {
      res.status(403).json({ error: `Host ${JSON.stringify(req.headers.host ?? '')} is not this API's address; use http://127.0.0.1:${port} or this machine's name or address` });
      return;
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !SAFE_METHODS.has(req.method)) {
      let originHost: string | undefined;
      try {
        const url = new URL(origin);
        originHost = url.protocol === 'http:' ? url.host : undefined;
      } catch {
        originHost = undefined;
      }
      if (!isOurs(originHost, port)) {
        res.status(403).json({ error: `requests from the web page at ${origin} may not change anything here` });
        return;
      }
    }
    if (options.token !== undefined) {
      const match = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      if (!match || !sameToken(match[1], options.token)) {
        res.status(401).set('www-authenticate', 'Bearer').json({ error: 'this API listens beyond loopback: send Authorization: Bearer TOKEN (the token lt-orchestrator serve printed, stored in the store folder as api-token)' });
        return;
      }
    }
    next();
  };
}
