// Agents at full speed keep every core busy with their load threads; their heartbeats, and the
// orchestrator reading them, must still get the CPU in time, or busy drivers are called lost
// while nothing is wrong. Real agents (default --workers: one per core), nginx on loopback, the
// shared broker and the orchestrator core in this process, as the extension runs it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { NGINX } from '../../target-server/nginx-target';
import { kafkaBootstrap, uniquePrefix } from '../support/kafka-fixture';
import { startAgents, startNginxProcess, startOrchestrator, type AgentProcess } from '../support/processes';

const DRIVERS = 8;
/** Enough for some seconds of full load on every driver, little enough to keep the test short. */
const REQUESTS_PER_DRIVER = 30_000;

/** Nice values of a process's threads, by thread id (Linux). */
function threadNiceValues(pid: number): Map<number, number> {
  const values = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      // Fields after the command name, which is in parentheses and may hold spaces: nice is field 19.
      values.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return values;
}

describe('busy agents keep their heartbeats', function () {
  before(function () {
    if (!NGINX) this.skip();
  });

  it('no driver is called lost while 8 agents send at full speed with a worker per core', async function () {
    this.timeout(240_000);
    const kafka = await kafkaBootstrap();
    const prefix = uniquePrefix('busy');
    const target = await startNginxProcess();
    const agents: AgentProcess[] = await startAgents(DRIVERS, 'busy', { kafka, prefix, orchestrator: 'test-orchestrator' });
    const orchestrator = await startOrchestrator(kafka, prefix);
    const lost: string[] = [];
    orchestrator.registry.on('lost', (driver, reason) => lost.push(`${driver.node_id}: ${reason}`));

    if (process.platform === 'linux') {
      // The mechanism: the load's threads run at a lower priority than the thread that heartbeats.
      for (const agent of agents) {
        const nice = threadNiceValues(agent.pid);
        const main = nice.get(agent.pid)!;
        const lowered = [...nice.values()].filter((n) => n > main).length;
        // One core means one thread: the agent sends from its main thread, and lowers nothing.
        const workers = availableParallelism() > 1 ? availableParallelism() : 0;
        assert.equal(lowered, workers, `${agent.id}: one lowered thread per load worker (nice values ${[...nice.values()].join(' ')})`);
      }
    }

    // How long each driver went unheard, as the registry saw it (reported, not asserted: timings are noisy here).
    const heardAt = new Map<string, number>();
    let longestSilence = 0;
    const watch = setInterval(() => {
      for (const d of orchestrator.registry.list()) {
        const before = heardAt.get(d.node_id);
        if (before !== undefined && d.last_seen !== before) longestSilence = Math.max(longestSilence, d.last_seen - before);
        heardAt.set(d.node_id, d.last_seen);
      }
    }, 100);
    try {
      const run = await orchestrator.startTest({ test_type: 'AVALANCHE', message_count_per_driver: REQUESTS_PER_DRIVER, concurrency: 32, drivers: DRIVERS, target: `${target.url}/ping` }, { waitForDriversMs: 60_000 });
      const result = await orchestrator.waitForEnd(run.testId);
      assert.equal(result.status, 'complete');
      for (const d of result.per_driver) assert.equal(d.requests_sent, REQUESTS_PER_DRIVER, `${d.node_id} sent its requests`);
    } finally {
      clearInterval(watch);
    }
    process.stderr.write(`      (longest gap between heartbeats read by the orchestrator: ${longestSilence} ms)\n`);
    assert.deepEqual(lost, [], 'no driver was judged lost');
    assert.deepEqual(
      orchestrator.logLines.filter((line) => line.includes('is lost')),
      [],
      'the orchestrator logged no lost driver',
    );
  });
});
