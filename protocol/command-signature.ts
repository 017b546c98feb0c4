// Signed commands. With a secret shared by an orchestrator and its agents, test_config, trigger
// and stop messages carry, beside the spec's fields, `auth`: an HMAC-SHA256 over the command's
// kind, its issue time, a nonce and its canonical content (every other field, keys sorted). An
// agent with the secret obeys only commands that verify, are fresh and are new to it; a spec-only
// driver ignores the extra field and reads the command as before.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type CommandKind = 'test_config' | 'trigger' | 'stop';

export interface CommandAuth {
  /** epoch milliseconds */
  issued_at: number;
  nonce: string;
  /** base64url HMAC-SHA256 */
  hmac: string;
}

/** How old (or how far ahead, for clocks that differ) a command may be. */
export const COMMAND_WINDOW_MS = 60_000;

/** JSON with every object's keys sorted, so that both ends hash the same text. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function mac(secret: string, kind: CommandKind, issuedAt: number, nonce: string, content: Record<string, unknown>): string {
  return createHmac('sha256', secret).update(`${kind}\n${issuedAt}\n${nonce}\n${canonical(content)}`).digest('base64url');
}

/** The encoded command (JSON text) with its `auth` field added. */
export function signCommand(kind: CommandKind, json: string, secret: string, now = Date.now()): string {
  const content = JSON.parse(json) as Record<string, unknown>;
  delete content.auth;
  const nonce = randomBytes(12).toString('base64url');
  const auth: CommandAuth = { issued_at: now, nonce, hmac: mac(secret, kind, now, nonce, content) };
  return JSON.stringify({ ...content, auth });
}

/** Checks commands for one agent: the signature, the age, and nonces already seen. */
export class CommandVerifier {
  private readonly seen = new Map<string, number>();

  constructor(private readonly secret: string) {}

  /** Undefined when the command may be obeyed; otherwise why not. */
  check(kind: CommandKind, raw: Buffer | string | null | undefined, now = Date.now()): string | undefined {
    let content: Record<string, unknown>;
    try {
      content = JSON.parse(typeof raw === 'string' ? raw : (raw?.toString('utf8') ?? '')) as Record<string, unknown>;
    } catch {
      return 'not JSON';
    }
    const auth = content.auth as Partial<CommandAuth> | undefined;
    if (!auth || typeof auth !== 'object') return 'unsigned';
    delete content.auth;
    const { issued_at: issuedAt, nonce, hmac } = auth;
    if (typeof issuedAt !== 'number' || typeof nonce !== 'string' || typeof hmac !== 'string') return 'a malformed signature';
    const expected = Buffer.from(mac(this.secret, kind, issuedAt, nonce, content));
    const given = Buffer.from(hmac);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'a bad signature (another secret, or the command was altered)';
    if (Math.abs(now - issuedAt) > COMMAND_WINDOW_MS) return `stale: issued ${Math.round((now - issuedAt) / 1000)} s ago (more than ${COMMAND_WINDOW_MS / 1000} s apart; check the clocks)`;
    for (const [n, expiry] of this.seen) if (expiry < now) this.seen.delete(n);
    if (this.seen.has(nonce)) return 'replayed: this command was obeyed already';
    this.seen.set(nonce, issuedAt + COMMAND_WINDOW_MS);
    return undefined;
  }
}
