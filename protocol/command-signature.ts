// Signed commands. With a secret shared by an orchestrator and its agents, test_config, trigger
// and stop messages carry, beside the spec's fields, `auth`: an HMAC-SHA256 over the command's
// kind, its issue time, a nonce and its canonical content (every other field, keys sorted). An
// agent with the secret obeys only commands that verify, are fresh and are new to it; a spec-only
// driver ignores the extra field and reads the command as before.
//
// The other way, an agent with the secret signs what it sends (register, heartbeat and metrics)
// the same way, and the orchestrator drops what does not verify (DriverMessageVerifier), so that
// nobody without the secret can end a driver's part with a forged final report, keep a dead driver
// alive, or make one look restarted.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type CommandKind = 'test_config' | 'trigger' | 'stop' | 'control';
export type DriverMessageKind = 'register' | 'heartbeat' | 'metrics';
type SignedKind = CommandKind | DriverMessageKind;

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

function mac(secret: string, kind: SignedKind, issuedAt: number, nonce: string, content: Record<string, unknown>): string {
  return createHmac('sha256', secret).update(`${kind}\n${issuedAt}\n${nonce}\n${canonical(content)}`).digest('base64url');
}

function sign(kind: SignedKind, json: string, secret: string, now: number): string {
  const content = JSON.parse(json) as Record<string, unknown>;
  delete content.auth;
  const nonce = randomBytes(12).toString('base64url');
  const auth: CommandAuth = { issued_at: now, nonce, hmac: mac(secret, kind, now, nonce, content) };
  return JSON.stringify({ ...content, auth });
}

/** The encoded command (JSON text) with its `auth` field added. */
export function signCommand(kind: CommandKind, json: string, secret: string, now = Date.now()): string {
  return sign(kind, json, secret, now);
}

/** An agent's encoded register, heartbeat or metrics message (JSON text) with its `auth` field added. */
export function signDriverMessage(kind: DriverMessageKind, json: string, secret: string, now = Date.now()): string {
  return sign(kind, json, secret, now);
}

type Signed = { content: Record<string, unknown>; auth: CommandAuth } | { problem: 'unsigned' | 'malformed'; why: string };

/** The message's content and its signature, if it has one that can be checked. */
function readSigned(raw: Buffer | string | null | undefined): Signed {
  let content: Record<string, unknown>;
  try {
    content = JSON.parse(typeof raw === 'string' ? raw : (raw?.toString('utf8') ?? '')) as Record<string, unknown>;
  } catch {
    return { problem: 'malformed', why: 'not JSON' };
  }
  if (content === null || typeof content !== 'object' || Array.isArray(content)) return { problem: 'malformed', why: 'not a JSON object' };
  const auth = content.auth as Partial<CommandAuth> | undefined;
  if (auth === undefined || auth === null) return { problem: 'unsigned', why: 'unsigned' };
  delete content.auth;
  const { issued_at: issuedAt, nonce, hmac } = auth;
  if (typeof auth !== 'object' || typeof issuedAt !== 'number' || typeof nonce !== 'string' || typeof hmac !== 'string') return { problem: 'malformed', why: 'a malformed signature' };
  return { content, auth: { issued_at: issuedAt, nonce, hmac } };
}

function macMatches(secret: string, kind: SignedKind, signed: { content: Record<string, unknown>; auth: CommandAuth }): boolean {
  const expected = Buffer.from(mac(secret, kind, signed.auth.issued_at, signed.auth.nonce, signed.content));
  const given = Buffer.from(signed.auth.hmac);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Checks commands for one agent: the signature, the age, and nonces already seen. */
export class CommandVerifier {
  private readonly seen = new Map<string, number>();

  constructor(private readonly secret: string) {}

  /** Undefined when the command may be obeyed; otherwise why not. */
  check(kind: CommandKind, raw: Buffer | string | null | undefined, now = Date.now()): string | undefined {
    const signed = readSigned(raw);
    if ('problem' in signed) return signed.why;
    const { issued_at: issuedAt, nonce } = signed.auth;
    if (!macMatches(this.secret, kind, signed)) return 'a bad signature (another secret, or the command was altered)';
    if (Math.abs(now - issuedAt) > COMMAND_WINDOW_MS) return `stale: issued ${Math.round((now - issuedAt) / 1000)} s ago (more than ${COMMAND_WINDOW_MS / 1000} s apart; check the clocks)`;
    for (const [n, expiry] of this.seen) if (expiry < now) this.seen.delete(n);
    if (this.seen.has(nonce)) return 'replayed: this command was obeyed already';
    this.seen.set(nonce, issuedAt + COMMAND_WINDOW_MS);
    return undefined;
  }
}

/** Why a driver's message was dropped. */
export type DropKind = 'unsigned' | 'forged' | 'stale' | 'replayed';

export interface DriverMessageVerdict {
  drop: DropKind;
  why: string;
}

export interface DriverMessageVerifierOptions {
  /**
   * Drop unsigned messages from every driver, also from those that never signed (other
   * implementations, agents without the secret), which then cannot take part.
   */
  requireSigned?: boolean;
}

/**
 * Checks what drivers send, for an orchestrator with the secret. A signed message must verify; a
 * heartbeat must also be fresh and new, and a registration new and as old as its broker timestamp
 * says (a replayed one would make its driver look restarted). A report is bound to its node_id,
 * test and report_id by the signature, and a repeated report_id counts once anyway; reports are
 * not judged by age, because an orchestrator resuming a test reads them again from its start.
 * An unsigned message is dropped when its driver has signed before (it is forged, or the agent
 * lost its secret), or always with `requireSigned`; otherwise it is taken as before.
 */
export class DriverMessageVerifier {
  /** node_ids that sent a message that verified */
  private readonly signers = new Set<string>();
  private readonly seen = new Map<string, number>();
  private lastPruneAt = 0;

  constructor(
    private readonly secret: string,
    private readonly options: DriverMessageVerifierOptions = {},
  ) {}

  /** Whether this driver signs: an unsigned message in its name is not from it. */
  signs(nodeId: string): boolean {
    return this.signers.has(nodeId);
  }

  /**
   * Undefined when the message may be taken; else why it is dropped. `sentAt` is the broker's
   * timestamp (registrations are read from the topic's history).
   */
  check(kind: DriverMessageKind, nodeId: string, raw: Buffer | string | null | undefined, now = Date.now(), sentAt = now): DriverMessageVerdict | undefined {
    const signed = readSigned(raw);
    if ('problem' in signed) {
      if (signed.problem === 'malformed') return { drop: 'forged', why: `${signed.why}` };
      if (this.options.requireSigned) return { drop: 'unsigned', why: 'unsigned, and this orchestrator requires signatures' };
      if (this.signers.has(nodeId)) return { drop: 'unsigned', why: `unsigned, from ${nodeId}, which signs its messages` };
      return undefined;
    }
    if (!macMatches(this.secret, kind, signed)) return { drop: 'forged', why: 'a bad signature (another secret, or the message was altered)' };
    const { issued_at: issuedAt, nonce } = signed.auth;
    if (kind !== 'metrics') {
      const reference = kind === 'heartbeat' ? now : sentAt;
      if (Math.abs(reference - issuedAt) > COMMAND_WINDOW_MS) {
        return { drop: 'stale', why: `signed ${Math.round((reference - issuedAt) / 1000)} s before it was ${kind === 'heartbeat' ? 'read' : 'published'} (more than ${COMMAND_WINDOW_MS / 1000} s; a replay, or clocks apart)` };
      }
      this.prune(now);
      if (this.seen.has(nonce)) return { drop: 'replayed', why: `this ${kind} was read already` };
      this.seen.set(nonce, now + COMMAND_WINDOW_MS);
    }
    this.signers.add(nodeId);
    return undefined;
  }

  private prune(now: number): void {
    if (now - this.lastPruneAt < 1000) return;
    this.lastPruneAt = now;
    for (const [n, expiry] of this.seen) if (expiry < now) this.seen.delete(n);
  }
}
