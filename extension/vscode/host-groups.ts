// The drivers view's grouping: beyond GROUP_ABOVE drivers, one group per host (its node_IP),
// hosts in natural order. Pure, so that it is tested without VS Code.
import type { DriverInfo } from '../../orchestrator/result-model';

/** With more drivers than this, the view groups them by host. */
export const GROUP_ABOVE = 20;

export interface HostGroup {
  host: string;
  drivers: DriverInfo[];
}

export function groupByHost(drivers: DriverInfo[], above = GROUP_ABOVE): (DriverInfo | HostGroup)[] {
  if (drivers.length <= above) return drivers;
  const byHost = new Map<string, DriverInfo[]>();
  for (const d of drivers) {
    const host = d.node_IP || 'unknown host';
    let members = byHost.get(host);
    if (!members) byHost.set(host, (members = []));
    members.push(d);
  }
  return [...byHost.entries()].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([host, members]) => ({ host, drivers: members }));
}
