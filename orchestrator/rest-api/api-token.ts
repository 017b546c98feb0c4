// The REST API's bearer token when it listens beyond loopback: given (LT_API_TOKEN, or a file),
// or made once and kept in the store folder (readable by its owner only), so scripts and
// Prometheus keep working across restarts.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ApiToken {
  token: string;
  /** where it came from, to tell the user */
  source: 'given' | 'stored' | 'new';
  file?: string;
}

export function resolveApiToken(given: { token?: string; file?: string }, storeDir: string): ApiToken {
  if (given.token) return { token: given.token.trim(), source: 'given' };
  if (given.file) {
    const token = readFileSync(given.file, 'utf8').trim();
    if (token.length < 16) throw new Error(`the token in ${given.file} is shorter than 16 characters`);
    return { token, source: 'given', file: given.file };
  }
  const file = join(storeDir, 'api-token');
  if (existsSync(file)) return { token: readFileSync(file, 'utf8').trim(), source: 'stored', file };
  mkdirSync(storeDir, { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  chmodSync(file, 0o600);
  return { token, source: 'new', file };
}
