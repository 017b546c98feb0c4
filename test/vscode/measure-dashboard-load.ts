// `npm run bench:dashboard [-- --vsix FILE --label NAME]`: what a running test costs the editor. Eight real
// agents, lt-target and a Kafka broker; the extension in code-server with its dashboard open in
// headless Chromium. Over a window with the drivers idle and one during a test, it counts the
// messages the extension posts to the dashboard page (and their bytes), and reads from /proc the
// CPU used by the extension host and by the browser. `--vsix` measures another build of the
// extension (an older one, for a before/after comparison); by default this tree is packaged.
// The figures go into benchmarks.json and BENCHMARKS.md under `--label` (default "this tree"),
// beside those of other labels.
import { readdirSync, readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { cpuSeconds } from '../../bench/bench-environment';
import { readReport, renderTable, writeReport, type Cell, type Section } from '../../bench/bench-report';
import { kafkaBootstrap, stopKafkaFixture, uniquePrefix } from '../support/kafka-fixture';
import { ROOT, startAgents, startTargetProcess, stopAllProcesses, tempDir, waitFor } from '../support/processes';
import { launchBrowser, loopbackContext, packageVsix, runPaletteCommand, startCodeServer, webviewFrame, webviewLocator, type CodeServer } from './workbench';

const DRIVERS = 8;
const ORCHESTRATOR_ID = 'dashboard-load';
const IDLE_WINDOW_MS = 10_000;
const RUNNING_WINDOW_MS = 15_000;
const say = (line: string) => process.stderr.write(`dashboard-load: ${line}\n`);

/** Every process whose ancestry reaches `root` (itself included). */
function processTree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      parent.set(pid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid; p && p > 1; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  return [...parent.keys()].filter(inTree);
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

function totalCpu(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      total += cpuSeconds(pid);
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

interface MeasuredWindow {
  what: string;
  seconds: number;
  messages: number;
  bytes: number;
  extensionHostCpu: number;
  browserCpu: number;
}

/** Counts what reaches the dashboard page, and the CPU of both sides, over `ms`. */
async function measure(what: string, frame: Frame, extensionHost: number, browserPids: () => number[], ms: number): Promise<MeasuredWindow> {
  await frame.evaluate(() => {
    const w = window as unknown as { ltCount: { messages: number; bytes: number } };
    if (!w.ltCount) {
      w.ltCount = { messages: 0, bytes: 0 };
      window.addEventListener('message', (event) => {
        w.ltCount.messages++;
        w.ltCount.bytes += JSON.stringify(event.data).length;
      });
    }
    w.ltCount.messages = 0;
    w.ltCount.bytes = 0;
  });
  const hostBefore = cpuSeconds(extensionHost);
  const browserBefore = totalCpu(browserPids());
  const started = Date.now();
  await new Promise((r) => setTimeout(r, ms));
  const counted = await frame.evaluate(() => (window as unknown as { ltCount: { messages: number; bytes: number } }).ltCount);
  const seconds = (Date.now() - started) / 1000;
  return {
    what,
    seconds,
    messages: counted.messages,
    bytes: counted.bytes,
    extensionHostCpu: cpuSeconds(extensionHost) - hostBefore,
    browserCpu: totalCpu(browserPids()) - browserBefore,
  };
}

const SECTION = 'dashboard';

interface DashboardData {
  runs: Record<string, { vsix: string; measured_at: string; windows: MeasuredWindow[] }>;
}

function dashboardSection(runs: DashboardData['runs']): Section {
  const rows: Cell[][] = [];
  for (const [label, run] of Object.entries(runs)) {
    for (const w of run.windows) {
      const perSecond = (n: number) => Math.round((n / w.seconds) * 10) / 10;
      const percent = (cpu: number) => `${((cpu / w.seconds) * 100).toFixed(1)} %`;
      rows.push([`${label}: ${w.what}`, perSecond(w.messages), perSecond(w.bytes / 1024), percent(w.extensionHostCpu), percent(w.browserCpu)]);
    }
  }
  return {
    name: SECTION,
    title: `The editor's cost: ${DRIVERS} agents, the extension in code-server, its dashboard open in Chromium`,
    columns: ['build: window', 'messages/s to the page', 'KiB/s to the page', 'extension host CPU', 'browser CPU'],
    rows,
    notes: [
      'Measured by `npm run bench:dashboard` (`-- --vsix FILE --label NAME` for another build). CPU is percent of one core over the window, read from /proc.',
      `Windows: ${IDLE_WINDOW_MS / 1000} s with the drivers idle, then ${RUNNING_WINDOW_MS / 1000} s of a test (${DRIVERS} × 250 requests/s).`,
      'The extension host also runs the orchestrator (Kafka consumer, report decoding, aggregation, the store): most of its CPU is that, not the dashboard.',
    ],
    data: { runs } satisfies DashboardData,
  };
}

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
}

async function main(): Promise<number> {
  const label = argument('--label') ?? 'this tree';
  const vsix = argument('--vsix') ?? packageVsix();
  const kafka = await kafkaBootstrap();
  const prefix = uniquePrefix('dashboard');
  const target = await startTargetProcess();
  await startAgents(DRIVERS, 'dash-driver', { kafka, prefix, orchestrator: ORCHESTRATOR_ID });
  const workspace = tempDir('dashboard-workspace');
  mkdirSync(join(workspace, '.vscode'));
  writeFileSync(
    join(workspace, '.vscode', 'settings.json'),
    JSON.stringify({ 'loadtest.kafka.brokers': kafka, 'loadtest.kafka.topicPrefix': prefix, 'loadtest.api.port': 0, 'loadtest.orchestrator.id': ORCHESTRATOR_ID }),
  );
  // 8 drivers × 250 requests/s for about 30 s: long enough to outlast the measuring window.
  writeFileSync(
    join(workspace, 'load.loadtest.json'),
    JSON.stringify({ name: 'dashboard load', test_type: 'AVALANCHE', message_count_per_driver: 7500, target_throughput: 250, concurrency: 4, drivers: DRIVERS, target: `${target.url}/ping` }),
  );
  let server: CodeServer | undefined;
  const windows: MeasuredWindow[] = [];
  try {
    say(`measuring ${vsix}`);
    server = await startCodeServer(vsix);
    const browser = await launchBrowser();
    try {
      const page: Page = await (await loopbackContext(browser)).newPage();
      await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`);
      await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
      await page.locator('.activitybar [aria-label^="Load Test"]').first().click({ timeout: 60_000 });
      for (let i = 1; i <= DRIVERS; i++) {
        await page.locator('.monaco-list-row', { hasText: `dash-driver-${i}` }).filter({ hasText: 'alive' }).first().waitFor({ timeout: 60_000 });
      }
      const extensionHost = await waitFor(() => processTree(server!.pid).find((pid) => cmdline(pid).includes('extensionHost')), 'the extension host process');
      const browserPids = () => processTree(process.pid).filter((pid) => /chrom/i.test(cmdline(pid)));
      say('dashboard open, drivers idle');
      await runPaletteCommand(page, 'Load Test: Open Dashboard');
      await webviewLocator(page).locator('body').waitFor({ timeout: 60_000 });
      windows.push(await measure('8 drivers idle, dashboard open', await webviewFrame(page), extensionHost, browserPids, IDLE_WINDOW_MS));
      say('test running');
      await runPaletteCommand(page, 'Load Test: Start Load Test');
      await webviewLocator(page).locator('[data-testid=test-status]', { hasText: 'running' }).waitFor({ timeout: 60_000 });
      windows.push(await measure('8 drivers running a test, dashboard open', await webviewFrame(page), extensionHost, browserPids, RUNNING_WINDOW_MS));
    } finally {
      await browser.close();
    }
  } finally {
    await server?.stop();
    await stopAllProcesses();
    await stopKafkaFixture();
  }
  const report = readReport(ROOT);
  const previous = report.sections.find((s) => s.name === SECTION)?.data as DashboardData | undefined;
  const runs = { ...previous?.runs, [label]: { vsix: basename(vsix), measured_at: new Date().toISOString(), windows } };
  const section = dashboardSection(runs);
  process.stdout.write(renderTable({ ...report, sections: [section] }));
  writeReport(ROOT, { ...report, sections: [...report.sections.filter((s) => s.name !== SECTION), section] });
  say(`wrote the "${label}" rows into benchmarks.json and BENCHMARKS.md`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`dashboard-load: ${error.stack ?? error.message}\n`);
    void stopAllProcesses().finally(() => stopKafkaFixture().finally(() => process.exit(2)));
  },
);
