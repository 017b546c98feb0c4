// Which drivers the dashboard's table shows when there are hundreds: the ones to look at first
// (a part that ended otherwise than complete, errors, then the slowest by p99), the rest summed up
// in one row. Pure, so that it is tested without a browser.
import type { DriverStats } from '../../orchestrator/result-model';

/** With more drivers than this, the table shows the ones to look at and sums up the rest. */
export const TOP_DRIVERS = 25;

const HEALTHY = new Set(['running', 'complete', 'waiting']);

export function driversToShow(rows: DriverStats[], limit = TOP_DRIVERS): { shown: DriverStats[]; rest: DriverStats[] } {
  if (rows.length <= limit) return { shown: rows, rest: [] };
  const concern = (d: DriverStats) => (HEALTHY.has(d.state) ? 0 : 2) + ((d.errors ?? 0) > 0 ? 1 : 0);
  const ranked = [...rows].sort((a, b) => concern(b) - concern(a) || (b.latency?.p99 ?? 0) - (a.latency?.p99 ?? 0));
  return { shown: ranked.slice(0, limit), rest: ranked.slice(limit) };
}
