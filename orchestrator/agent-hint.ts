// How to start a driver, as every message that asks for one says it. The form works on a bare
// machine with Node: npx installs the command from the packed tarball (`npm pack` makes it).
import { PRODUCT_VERSION } from '../common/version';
import type { KafkaSecurity } from '../protocol/kafka-bus';
import { kafkaFlags } from '../protocol/kafka-options';

export function agentCommandHint(brokers: string[], orchestratorId: string, security?: KafkaSecurity): string {
  return `npx --yes --package ./loadtest-kafka-${PRODUCT_VERSION}.tgz lt-agent ${kafkaFlags(brokers, security)} --orchestrator ${orchestratorId}`;
}
