// What most integration tests start with: topics of their own on the shared broker, an lt-target
// process, `drivers` real agents named `${name}-1` … and the orchestrator core in this process.
// Each part is stopped after the test, as every process of test/support is.
import type { Orchestrator } from '../../orchestrator/orchestrator';
import { kafkaBootstrap, uniquePrefix } from './kafka-fixture';
import { startAgents, startOrchestrator, startTargetProcess, type AgentProcess, type TargetProcess } from './processes';

export interface FleetOptions {
  /** lt-target's flags (`--latency 200`, `--error-rate 0.3`, …) */
  targetArgs?: string[];
  /** every agent's extra flags */
  agentArgs?: string[];
  orchestrator?: Parameters<typeof startOrchestrator>[2];
}

export interface Fleet {
  kafka: string;
  prefix: string;
  target: TargetProcess;
  agents: AgentProcess[];
  orchestrator: Orchestrator & { logLines: string[] };
}

export async function startFleet(name: string, drivers: number, options: FleetOptions = {}): Promise<Fleet> {
  const kafka = await kafkaBootstrap();
  const prefix = uniquePrefix(name);
  const target = await startTargetProcess(options.targetArgs);
  const agents = await startAgents(drivers, name, { kafka, prefix, orchestrator: 'test-orchestrator', extraArgs: options.agentArgs });
  const orchestrator = await startOrchestrator(kafka, prefix, options.orchestrator);
  return { kafka, prefix, target, agents, orchestrator };
}
