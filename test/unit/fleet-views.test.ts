// The drivers view and the dashboard with hundreds of drivers: grouped by host, and the table
// showing the drivers to look at first with the rest summed up.
import assert from 'node:assert/strict';
import { driversToShow, TOP_DRIVERS } from '../../extension/webview/driver-ranking';
import { GROUP_ABOVE, groupByHost, type HostGroup } from '../../extension/vscode/host-groups';
import type { DriverInfo, DriverStats } from '../../orchestrator/result-model';

const driver = (i: number, host: string): DriverInfo => ({ node_id: `d${i}`, node_IP: host, health: 'alive', activity: 'idle', last_seen: 0, foreign: false });

const stats = (i: number, over: Partial<DriverStats> = {}): DriverStats =>
  ({ node_id: `d${i}`, state: 'complete', requests_sent: 100, responses: 100, errors: 0, rate: 10, latency: { mean: 5, median: 4, min: 1, max: 20, p90: 8, p95: 9, p99: 10 + (i % 7), approximate: false, count: 100 }, ...over }) as DriverStats;

describe('views of a large fleet', () => {
  it('the drivers view lists up to GROUP_ABOVE drivers as they are, and groups more by host in natural order', () => {
    const few = Array.from({ length: GROUP_ABOVE }, (_, i) => driver(i, '10.0.0.1'));
    assert.equal(groupByHost(few), few);
    const many = Array.from({ length: 1024 }, (_, i) => driver(i, `10.0.0.${(i % 64) + 1}`));
    const groups = groupByHost(many) as HostGroup[];
    assert.equal(groups.length, 64);
    assert.deepEqual(groups.slice(0, 3).map((g) => g.host), ['10.0.0.1', '10.0.0.2', '10.0.0.3'], 'numeric order, not 10.0.0.1, 10.0.0.10');
    assert.ok(groups.every((g) => g.drivers.length === 16));
  });

  it('the dashboard shows the drivers in trouble first, then the slowest, and sums up the rest', () => {
    const rows = Array.from({ length: 1024 }, (_, i) => stats(i));
    rows[700] = stats(700, { state: 'lost' });
    rows[300] = stats(300, { errors: 3 });
    rows[5] = stats(5, { latency: { ...rows[5].latency!, p99: 900 } });
    const { shown, rest } = driversToShow(rows);
    assert.equal(shown.length, TOP_DRIVERS);
    assert.equal(rest.length, 1024 - TOP_DRIVERS);
    assert.deepEqual(shown.slice(0, 3).map((d) => d.node_id), ['d700', 'd300', 'd5']);
    assert.deepEqual(driversToShow(rows.slice(0, 10)), { shown: rows.slice(0, 10), rest: [] });
  });
});
