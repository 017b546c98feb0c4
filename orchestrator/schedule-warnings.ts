// Whether each driver did what its model promises, in words a person can act on. A TSUNAMI
// driver promises its schedule: requests that waited for a connection, or went out late with
// connections to spare (the driver itself was the bottleneck), mean the target saw less load than
// planned. An AVALANCHE cap is only a ceiling: falling short of it is reported, not hidden. A
// warm-up asked for and not reported means the figures include a cold start.
import type { TestConfigMessage } from '../protocol/wire-protocol';
import type { DriverStats } from './result-model';
import { scheduleIntervalMs } from './stages/test-plan';

/**
 * A TSUNAMI driver is "late" when its send lag p99 exceeds both this and two intervals. Timer
 * jitter and garbage collection make a few milliseconds of lag normal; this much changes the load.
 */
const LATE_P99_MS = 20;
/** An AVALANCHE driver "falls short" of its cap below this share of it. */
const SHORT_OF_CAP = 0.95;
/**
 * Below this multiple of the cap, what its requests in flight allow at the latency seen
 * (Little's law: in flight ÷ latency) is what held the driver back; above it, the driver itself.
 */
const CONCURRENCY_BOUND = 1.25;

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number) => (n < 10 ? n.toFixed(1) : int(n));

export function scheduleWarnings(config: TestConfigMessage, drivers: DriverStats[]): string[] {
  const warnings: string[] = [];
  const open = config.test_type === 'TSUNAMI' && (config.test_message_delay > 0 || Boolean(config.stages?.length));
  const intervalMs = scheduleIntervalMs(config);
  for (const d of drivers) {
    const lag = d.send_lag_ms;
    if (open && d.waited_for_connection) {
      const of = d.requests_sent !== null ? ` of ${int(d.requests_sent)}` : '';
      warnings.push(
        `${d.node_id}: schedule not held: ${int(d.waited_for_connection)}${of} requests waited for a free connection (all ${d.connection_limit ?? 'its'} connections busy)` +
          (lag ? `; send lag p50 ${ms(lag.p50)} ms, p99 ${ms(lag.p99)} ms, max ${ms(lag.max)} ms` : '') +
          '. The target answered more slowly than the schedule needs: raise max_connections, or lower the rate.',
      );
    } else if (open && lag && lag.p99 > Math.max(LATE_P99_MS, 2 * intervalMs)) {
      warnings.push(
        `${d.node_id}: schedule not held: requests went out late with connections to spare (send lag p99 ${ms(lag.p99)} ms, max ${ms(lag.max)} ms). ` +
          'The driver itself was the bottleneck (CPU or event loop): use more drivers, or lower the rate.',
      );
    }
    if (config.warm_up_count_per_driver && d.requests_sent) {
      // Measured requests went out: the warm-up is over, or the driver never knew of one.
      const w = d.warm_up;
      if (!w?.done) {
        warnings.push(`${d.node_id}: reported no warm-up: its figures include its first requests, sent cold (an agent that does not know warm_up_count_per_driver?).`);
      } else if (w.errors > 0) {
        warnings.push(`${d.node_id}: ${int(w.errors)} of its ${int(w.requests_sent)} warm-up requests failed (they are not in the figures).`);
      }
    }
    // A scenario's cap counts iterations, each of its steps' requests: compared in requests.
    const cap = config.target_throughput ? config.target_throughput * (config.scenario?.steps.length ?? 1) : undefined;
    if (!open && cap && d.average_rate !== null && d.elapsed_s && d.elapsed_s >= 1) {
      const achieved = d.average_rate;
      if (achieved < cap * SHORT_OF_CAP) {
        const of = config.scenario ? `${int(cap)} req/s (its cap of ${config.target_throughput} iterations/s)` : `${config.target_throughput} req/s cap`;
        warnings.push(`${d.node_id}: reached ${achieved.toFixed(1)} req/s of its ${of}: ${whyShortOfCap(config, d, cap)}.`);
      }
    }
  }
  return warnings;
}

/** A closed model's shortfall has two causes, told apart by what its requests in flight allow at the latency seen. */
function whyShortOfCap(config: TestConfigMessage, d: DriverStats, cap: number): string {
  const inFlight = config.concurrency;
  const latencyMs = d.uncorrected?.mean ?? d.latency?.mean;
  if (inFlight === undefined || !latencyMs) {
    return `${inFlight ?? 'the default number of'} requests in flight may be too few at this latency (raise concurrency), or the driver itself fell behind (CPU or event loop: use more drivers)`;
  }
  const allowed = (inFlight * 1000) / latencyMs;
  const at = `${inFlight} requests in flight at a mean latency of ${ms(latencyMs)} ms`;
  if (allowed < cap * CONCURRENCY_BOUND) return `${at} allow about ${int(allowed)} req/s; raise concurrency to reach the cap`;
  return `${at} would allow about ${int(allowed)} req/s, so the driver itself fell behind (CPU or event loop, as on a machine it shares with the target): use more drivers, or lower the cap`;
}
