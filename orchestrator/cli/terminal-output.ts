// The run in a terminal, as an output of it: a progress line each second (unless quiet), and at
// the end the comparison with the baseline (when judged against one) and the summary table.
import type { BusHealth } from '../../protocol/message-bus';
import type { RunOutput } from '../outputs/run-output';
import { formatComparison } from './comparison-format';
import { progressLine, summaryTable } from './test-report-format';

export function terminalOutput(options: { quiet?: boolean; kafka: () => BusHealth; write: (text: string) => void }): RunOutput {
  return {
    name: 'terminal',
    second: options.quiet ? undefined : (snapshot) => options.write(progressLine(snapshot, options.kafka()) + '\n'),
    end: (result) => {
      if (result.comparison) options.write(formatComparison(result.comparison) + '\n');
      options.write(summaryTable(result));
    },
  };
}
