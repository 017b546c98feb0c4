// A driver's default node_id: this machine's name and the lowest slot number no running agent on
// it holds (HOST-1, HOST-2, ...). An agent restarted without --id takes its old slot back, so it
// replaces its own entry in the orchestrator's drivers instead of leaving a lost one behind.
// A slot is a file holding its agent's PID, made atomically; one whose PID is gone is free.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AgentSlot {
  nodeId: string;
  /** Frees the slot; call on the way out (a slot left behind is free once its PID is gone anyway). */
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

export function claimAgentSlot(host = hostname(), dir = join(tmpdir(), 'lt-agent-slots'), pid = process.pid): AgentSlot {
  mkdirSync(dir, { recursive: true });
  for (let slot = 1; ; slot++) {
    const nodeId = `${host}-${slot}`;
    const file = join(dir, `${nodeId}.pid`);
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(pid));
      closeSync(fd);
      return {
        nodeId,
        release: () => {
          try {
            if (readFileSync(file, 'utf8') === String(pid)) unlinkSync(file);
          } catch {
            // already gone
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (!Number.isInteger(holder) || holder <= 0 || !alive(holder)) {
        // Left by an agent that is gone: free it, and try this slot again.
        try {
          unlinkSync(file);
        } catch {
          // another agent freed it first
        }
        slot--;
      }
    }
  }
}
