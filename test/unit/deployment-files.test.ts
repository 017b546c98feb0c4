// The files people deploy with (Grafana provisioning, the compose set-up) agree with the code:
// job names, datasource, the app's and proxy's ports. Their queries run against a real Prometheus
// in test/integration/reference-system.test.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCRAPE_JOBS } from '../../monitoring/prometheus-server';
import { ROOT } from '../support/processes';

const read = (...path: string[]) => readFileSync(join(ROOT, ...path), 'utf8');

describe('deployment files', () => {
  it('the Grafana dashboard reads only the provisioned Prometheus datasource', () => {
    const uid = /uid:\s*(\S+)/.exec(read('monitoring', 'grafana', 'provisioning', 'datasources', 'prometheus.yaml'))![1];
    const dashboard = JSON.parse(read('monitoring', 'grafana', 'dashboards', 'loadtest.json')) as { uid: string; panels: { type: string; id: number; targets?: { datasource: { uid: string }; expr: string }[] }[] };
    const panels = dashboard.panels.filter((p) => p.type !== 'row');
    assert.ok(panels.length >= 10);
    assert.equal(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length, 'panel ids are unique');
    for (const p of panels) for (const t of p.targets!) assert.equal(t.datasource.uid, uid);
  });

  it('the compose Prometheus scrapes the jobs the launcher knows, and HAProxy fronts every app service', () => {
    const jobs = [...read('docker', 'prometheus.yml').matchAll(/job_name:\s*(\S+)/g)].map((m) => m[1]);
    for (const job of jobs) assert.ok((SCRAPE_JOBS as readonly string[]).includes(job), `${job} is a job of monitoring/prometheus-server.ts`);
    const compose = read('docker', 'compose.yaml');
    const apps = [...compose.matchAll(/^ {2}(app-\d+):/gm)].map((m) => m[1]);
    const servers = [...read('docker', 'haproxy.cfg').matchAll(/server (app-\d+) (app-\d+):8080/g)].map((m) => m[2]);
    assert.deepEqual(servers, apps);
    for (const service of ['kafka', 'agent-1', 'orchestrator', 'db-writer', 'db-reader', 'proxy', 'prometheus', 'grafana']) assert.match(compose, new RegExp(`^ {2}${service}:`, 'm'));
  });
});
