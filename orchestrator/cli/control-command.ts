// `lt-orchestrator control ID pause|resume|set --rate N|--concurrency N`: a live change to a test
// that a running `lt-orchestrator serve` runs, asked over its REST API (POST /api/tests/ID/control).
// The orchestrator that runs the test checks and sends it; this only asks and says the answer.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseNumberOption, UsageError } from '../../common/cli-options';
import { CONTROL_ACTIONS, type ControlAction } from '../../protocol/wire-protocol';
import type { ControlRequest } from '../stages/live-control';

export interface ControlCommandOptions {
  /** the API's base URL, e.g. http://127.0.0.1:7070 */
  api: string;
  rate?: string;
  concurrency?: string;
  /** the bearer token, when the API needs one */
  token?: string;
}

/** The request the command line asks for (throws UsageError naming what is wrong). */
export function controlRequestOf(action: string | undefined, options: Pick<ControlCommandOptions, 'rate' | 'concurrency'>): ControlRequest {
  if (!action || !CONTROL_ACTIONS.includes(action as ControlAction)) throw new UsageError(`control needs an action: ${CONTROL_ACTIONS.join(', ')}${action ? `, not "${action}"` : ''}`);
  const rate = options.rate === undefined ? undefined : parseNumberOption('rate', options.rate, { min: 0 });
  const concurrency = options.concurrency === undefined ? undefined : parseNumberOption('concurrency', options.concurrency, { min: 0, integer: true });
  if (action !== 'set') {
    if (rate !== undefined || concurrency !== undefined) throw new UsageError(`${action} takes no --rate or --concurrency`);
    return { action: action as ControlAction };
  }
  if ((rate === undefined) === (concurrency === undefined)) throw new UsageError('set needs one of --rate N (TSUNAMI: requests per second over all drivers) or --concurrency N (AVALANCHE: requests in flight over all drivers)');
  return { action: 'set', ...(rate !== undefined ? { rate } : { concurrency }) };
}

/** The token a local client sends: LT_API_TOKEN, the given file, or the one `serve` keeps in the store folder. */
export function clientToken(env: NodeJS.ProcessEnv, file: string | undefined, storeDir: string): string | undefined {
  if (env.LT_API_TOKEN) return env.LT_API_TOKEN.trim();
  if (file) return readFileSync(file, 'utf8').trim();
  const stored = join(storeDir, 'api-token');
  return existsSync(stored) ? readFileSync(stored, 'utf8').trim() : undefined;
}

/** Asks the API for the change; resolves with the line to print, throws with the API's own error text. */
export async function sendControl(testId: string, request: ControlRequest, options: ControlCommandOptions): Promise<string> {
  const url = `${options.api.replace(/\/$/, '')}/api/tests/${encodeURIComponent(testId)}/control`;
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
      body: JSON.stringify(request),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new Error(`no answer from the REST API at ${options.api} (${cause}); is 'lt-orchestrator serve' running there? (--api URL, or LT_API_URL)`);
  }
  const body = (await response.json().catch(() => ({}))) as { control_id?: string; phase?: string; at?: number; error?: string };
  if (response.status !== 202) throw new Error(`HTTP ${response.status}: ${body.error ?? 'the API refused the change'}`);
  return `${testId}: ${request.action}${request.rate !== undefined ? ` rate ${request.rate}/s` : request.concurrency !== undefined ? ` concurrency ${request.concurrency}` : ''} sent at ${new Date(body.at ?? Date.now()).toISOString().slice(11, 19)} UTC as ${body.control_id} (phase "${body.phase}"); the test's result says when every driver applied it`;
}
