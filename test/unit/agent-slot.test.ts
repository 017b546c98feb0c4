import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { claimAgentSlot } from '../../agents/agent-slot';
import { tempDir } from '../support/temp-dir';

/** The PID of a process that has already exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

describe('a driver’s default node_id', () => {
  it('is the lowest slot no running agent holds, and a restarted agent takes its slot back', () => {
    const dir = tempDir('slots');
    const first = claimAgentSlot('host', dir, process.pid);
    const second = claimAgentSlot('host', dir, process.ppid);
    assert.equal(first.nodeId, 'host-1');
    assert.equal(second.nodeId, 'host-2');
    first.release();
    assert.equal(claimAgentSlot('host', dir, process.pid).nodeId, 'host-1', 'a released slot is free again');
  });

  it('a slot left by an agent that died (killed, no release) is free', () => {
    const dir = tempDir('slots');
    const killed = claimAgentSlot('host', dir, deadPid());
    assert.equal(killed.nodeId, 'host-1');
    assert.equal(claimAgentSlot('host', dir, process.pid).nodeId, 'host-1');
  });
});
