// The secret an orchestrator and its agents share to sign commands: from a file
// (`--secret-file`), or from LT_SECRET. Never from a command line, where `ps` would show it.
import { readFileSync } from 'node:fs';
import { UsageError } from './cli-options';

const MIN_LENGTH = 16;

export const SECRET_FILE_OPTION = {
  type: 'string',
  value: 'FILE',
  env: 'LT_SECRET_FILE',
  description: `File holding the secret shared by the orchestrator and its agents (or LT_SECRET; at least ${MIN_LENGTH} characters): commands are signed with it, and agents obey only commands that verify.`,
} as const;

export function readSharedSecret(file: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  let secret: string | undefined;
  if (file) {
    try {
      secret = readFileSync(file, 'utf8').trim();
    } catch (error) {
      throw new UsageError(`--secret-file: cannot read ${file}: ${(error as Error).message}`);
    }
  } else secret = env.LT_SECRET?.trim() || undefined;
  if (secret !== undefined && secret.length < MIN_LENGTH) throw new UsageError(`the shared secret is shorter than ${MIN_LENGTH} characters; make a long random one, e.g. openssl rand -base64 32`);
  return secret;
}
