// Runs the broker's helper tools (Maven, Kafka's storage tool, keytool) as child processes awaited
// without blocking, so that an editor stays responsive and an AbortSignal can cancel a long start.
import { spawn } from 'node:child_process';

export class BrokerStartCancelled extends Error {
  constructor() {
    super('starting the Kafka broker was cancelled');
  }
}

/** Runs a command to its end without blocking; the output is kept for the error message. */
export function runTool(command: string, args: string[], signal: AbortSignal | undefined): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    if (signal?.aborted) return fail(new BrokerStartCancelled());
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const onAbort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (error) => {
      signal?.removeEventListener('abort', onAbort);
      fail(error);
    });
    child.once('close', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) fail(new BrokerStartCancelled());
      else done({ code, output });
    });
  });
}
