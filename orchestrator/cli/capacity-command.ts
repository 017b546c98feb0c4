// `lt-orchestrator capacity FILE`: the capacity search in a terminal. A line per step as it is
// judged, then the step table and the ending; `--json FILE` writes the result. Exit 0 when a
// capacity was found, 1 when the start rate already failed or the drivers were the limit (no
// capacity the server showed), 2 on an error. Ctrl-C stops the test and prints what was judged.
import { writeFileSync } from 'node:fs';
import type { LoadTestDefinition } from '../loadtest-definition';
import type { Orchestrator } from '../orchestrator';
import { capacityJson, formatCapacityProgress, formatCapacityResult } from '../capacity/capacity-format';
import { capacityExitCode } from '../capacity/capacity-search';
import { startCapacitySearch } from '../capacity/capacity-session';

export interface CapacityCommandOptions {
  waitMs: number;
  json?: string;
  quiet?: boolean;
  /** resolves on the first Ctrl-C or SIGTERM */
  untilSignal: () => Promise<string>;
}

export async function capacityCommand(orchestrator: Orchestrator, definition: LoadTestDefinition, options: CapacityCommandOptions): Promise<number> {
  const abort = new AbortController();
  void options.untilSignal().then((name) => {
    process.once('SIGINT', () => process.exit(130));
    process.once('SIGTERM', () => process.exit(130));
    process.stderr.write(`${name}: stopping the search and its test on every driver (again to exit at once)...\n`);
    abort.abort();
  });
  const wanted = definition.drivers ? `${definition.drivers} driver(s)` : 'the drivers (every alive, idle one takes part)';
  process.stderr.write(`Waiting up to ${options.waitMs / 1000} s for ${wanted} on Kafka ${orchestrator.brokers.join(',')}...\n`);
  const result = await startCapacitySearch(orchestrator, definition, {
    waitForDriversMs: options.waitMs,
    signal: abort.signal,
    onProgress: (p) => {
      if (p.kind === 'ended' || (options.quiet && p.kind !== 'started')) return;
      process.stderr.write(`${formatCapacityProgress(p)}\n`);
    },
  });
  process.stdout.write(formatCapacityResult(result));
  if (options.json) writeFileSync(options.json, capacityJson(result));
  return capacityExitCode(result);
}
