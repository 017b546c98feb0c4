// The agent's own load, sent in heartbeats: a driver that is saturated reports numbers about
// itself rather than about the target, and the orchestrator should be able to tell.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface ProcessLoad {
  /** percent of one core since the previous sample */
  cpu_percent: number;
  /** milliseconds, 99th percentile of event-loop delay since the previous sample */
  event_loop_lag_ms: number;
}

export class ProcessStats {
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private lastCpu = process.cpuUsage();
  private lastAt = process.hrtime.bigint();

  constructor() {
    this.loopDelay.enable();
  }

  sample(): ProcessLoad {
    const now = process.hrtime.bigint();
    const cpu = process.cpuUsage(this.lastCpu);
    const wallUs = Number(now - this.lastAt) / 1000;
    this.lastCpu = process.cpuUsage();
    this.lastAt = now;
    // The histogram's floor is its resolution (10 ms), so subtract it to report delay beyond the timer's own.
    const lagMs = Math.max(0, this.loopDelay.percentile(99) / 1e6 - 10);
    this.loopDelay.reset();
    return {
      cpu_percent: wallUs > 0 ? Math.round(((cpu.user + cpu.system) / wallUs) * 1000) / 10 : 0,
      event_loop_lag_ms: Math.round(lagMs * 10) / 10,
    };
  }

  dispose(): void {
    this.loopDelay.disable();
  }
}
