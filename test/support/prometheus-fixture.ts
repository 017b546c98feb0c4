// One real Prometheus for the test run (Debian's package), started at first use with its own
// configuration and data folder, scraping every second, stopped when the run ends.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../common/free-port';
import { startPrometheus, type RunningPrometheus } from '../../monitoring/prometheus-server';

let prometheus: Promise<RunningPrometheus> | undefined;

export async function prometheusFixture(): Promise<RunningPrometheus> {
  prometheus ??= (async () => startPrometheus({ port: await freePort(), stateDir: mkdtempSync(join(tmpdir(), 'lt-test-prometheus-')) }))();
  return prometheus;
}

/** An instant PromQL query's first value, or undefined while it has none. */
export async function queryValue(url: string, promql: string): Promise<number | undefined> {
  const response = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { status: string; data: { result: { value: [number, string] }[] } };
  const first = body.data?.result?.[0];
  return first ? Number(first.value[1]) : undefined;
}

export async function stopPrometheusFixture(): Promise<void> {
  const running = await prometheus?.catch(() => undefined);
  prometheus = undefined;
  await running?.stop();
}
