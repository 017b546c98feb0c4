// The HTML report opened as a person opens it: a file in a real browser (headless Chromium), with
// the network cut off, so anything the page would fetch shows as a request and a missing chart.
// Rendered twice: by the modules tsc compiles (read uPlot from node_modules) and by a bundle made
// with the plugin scripts/build.mjs uses, run where no node_modules can be found, as the packed
// lt-orchestrator runs on a CI machine.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { int, msText } from '../../orchestrator/figure-text';
import { htmlReport, type HtmlReportInput } from '../../orchestrator/reports/html-report';
import { junitReport } from '../../orchestrator/reports/junit-report';
import type { TestResult } from '../../orchestrator/result-model';
import { ROOT } from '../support/processes';
import { reportComparison, reportResult, reportSeries } from '../support/report-fixture';
import { tempDir } from '../support/temp-dir';
import { launchBrowser } from '../vscode/workbench';

const HOSTILE_NAME = `checkout <img src=x onerror="document.title='owned'"> & "beta" </script>`;
const HOSTILE_DRIVER = `runner<b>4</b>`;

/** The report's input as the store gives it back: through JSON, with names that must stay text. */
function input(): HtmlReportInput {
  const result = reportResult();
  result.name = HOSTILE_NAME;
  result.per_driver[2] = { ...result.per_driver[2], node_id: HOSTILE_DRIVER };
  return JSON.parse(JSON.stringify({ result, series: reportSeries(), comparison: reportComparison() })) as HtmlReportInput;
}

/** htmlReport bundled by esbuild with the build's inlineUplot plugin, then run from a folder without node_modules. */
function renderWithBundle(data: HtmlReportInput): { html: string; bundle: string } {
  const dir = tempDir('report-bundle');
  const bundle = join(dir, 'render-report.cjs');
  const build = `
import { build } from 'esbuild';
import { inlineUplot } from './scripts/inline-uplot.mjs';
await build({
  stdin: { contents: "import { htmlReport } from './orchestrator/reports/html-report'; import { readFileSync } from 'node:fs'; process.stdout.write(htmlReport(JSON.parse(readFileSync(0, 'utf8'))));", resolveDir: '.', loader: 'ts' },
  bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'error',
  outfile: ${JSON.stringify(bundle)}, plugins: [inlineUplot],
});`;
  execFileSync(process.execPath, ['--input-type=module', '-e', build], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  const html = execFileSync(process.execPath, [bundle], { cwd: dir, input: JSON.stringify(data), env: { PATH: process.env.PATH }, maxBuffer: 16 << 20 }).toString();
  return { html, bundle: readFileSync(bundle, 'utf8') };
}

interface PageVisit {
  requests: string[];
  problems: string[];
  text: (testid: string) => Promise<string>;
  evaluate: <T>(fn: () => T) => Promise<T>;
  close: () => Promise<void>;
}

/** Opens an HTML file with every request but the file itself refused, and records what the page asked for and what went wrong. */
async function visit(browser: Browser, html: string): Promise<PageVisit> {
  const file = join(tempDir('report-html'), 'report.html');
  writeFileSync(file, html);
  const url = pathToFileURL(file).href;
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const requests: string[] = [];
  await context.route('**/*', (route) => {
    requests.push(route.request().url());
    return route.request().url() === url ? route.continue() : route.abort();
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  await page.goto(url);
  await page.locator('#latency-chart canvas').waitFor({ timeout: 10_000 });
  return {
    requests,
    problems,
    text: async (testid) => (await page.getByTestId(testid).first().textContent()) ?? '',
    evaluate: (fn) => page.evaluate(fn),
    close: () => context.close(),
  };
}

describe('the HTML report in a browser, offline', function () {
  let browser: Browser;
  const data = input();
  const result: TestResult = data.result;
  const renders: { how: string; html: string }[] = [];

  before(async function () {
    renders.push({ how: 'from the compiled modules', html: htmlReport(data) });
    const bundled = renderWithBundle(data);
    assert.doesNotMatch(bundled.bundle, /uplot\/dist\/uPlot/, 'the bundle reads nothing from the uplot package');
    renders.push({ how: 'from a bundle like dist/lt-orchestrator.js, without node_modules', html: bundled.html });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
  });

  for (const how of ['from the compiled modules', 'from a bundle like dist/lt-orchestrator.js, without node_modules']) {
    describe(`rendered ${how}`, () => {
      let page: PageVisit;
      before(async () => {
        page = await visit(browser, renders.find((r) => r.how === how)!.html);
      });
      after(() => page?.close());

      it('shows the verdict, p99 and rate of the result, as the CLI writes them', async () => {
        assert.equal(await page.text('verdict'), 'FAILED');
        assert.equal(await page.text('verdict-reason'), result.verdict.reason);
        assert.equal(await page.text('latency-p99'), msText(result.aggregate.latency!.p99));
        assert.equal(await page.text('latency-p99'), '61.9');
        assert.equal(await page.text('rate'), int(result.throughput));
        assert.equal(await page.text('rate'), '225');
      });

      it('draws both charts with uPlot, the rate beside its plan, with no page error and nothing logged', async () => {
        const charts = await page.evaluate(() =>
          Array.from(document.querySelectorAll('.uplot')).map((chart) => {
            const canvas = chart.querySelector('canvas')!;
            const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
            let drawn = 0;
            for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) drawn++;
            return { legend: chart.querySelector('.u-legend')?.textContent ?? '', drawn };
          }),
        );
        assert.equal(charts.length, 2, 'a rate chart and a latency chart');
        assert.match(charts[0].legend, /responses\/s.*planned req\/s/);
        assert.match(charts[1].legend, /p50 ms.*p99 ms/);
        for (const c of charts) assert.ok(c.drawn > 1000, `a chart drew ${c.drawn} pixels`);
        assert.deepEqual(page.problems, []);
      });

      it('makes no request but for the file itself', () => {
        assert.equal(page.requests.length, 1, page.requests.join('\n'));
        assert.match(page.requests[0], /^file:.*report\.html$/);
      });

      it('shows names from the result as text: no element, no script comes of them', async () => {
        assert.equal(await page.text('test-name'), HOSTILE_NAME);
        const seen = await page.evaluate(() => ({ title: document.title, images: document.images.length, bold: document.querySelectorAll('td b').length }));
        assert.deepEqual(seen, { title: `FAILED: ${HOSTILE_NAME}`, images: 0, bold: 0 });
        const drivers = await page.evaluate(() => Array.from(document.querySelectorAll('[data-testid="drivers"] tbody tr td:first-child')).map((td) => td.textContent));
        assert.deepEqual(drivers, ['ci-runner-1', 'ci-runner-2', HOSTILE_DRIVER, 'all drivers']);
      });

      it('has the tables of the result and the comparison, each change coloured by its judgement', async () => {
        const rows = await page.evaluate(() => {
          const keys = (testid: string) => Array.from(document.querySelectorAll(`[data-testid="${testid}"] tbody tr`)).map((tr) => (tr as HTMLElement).dataset.key ?? tr.textContent);
          const judged = Array.from(document.querySelectorAll('[data-testid="delta-test"] tbody tr')).map((tr) => [tr.querySelector('td')!.textContent, tr.className, getComputedStyle(tr).backgroundColor]);
          return { stages: keys('stages'), requests: keys('requests'), thresholds: keys('thresholds'), judged };
        });
        assert.deepEqual(rows.stages, ['stage 1', 'stage 2', 'set 1']);
        assert.deepEqual(rows.requests, ['GET /cart', 'POST /cart/items']);
        assert.deepEqual(rows.thresholds, ['error_rate', 'p99_latency_ms', 'stage 2.p99_latency_ms', 'server.cpu.max']);
        assert.deepEqual(
          rows.judged.map(([label, judgement]) => [label, judgement]),
          [
            ['p50 latency', 'noise'],
            ['p99 latency', 'worse'],
            ['max latency', 'unknown'],
            ['throughput', 'better'],
            ['error rate', 'noise'],
          ],
        );
        const colour = (judgement: string) => rows.judged.find(([, j]) => j === judgement)![2];
        assert.notEqual(colour('better'), colour('worse'));
        assert.notEqual(colour('worse'), colour('noise'));
        assert.notEqual(colour('better'), colour('noise'));
      });
    });
  }

  it('the JUnit XML of the same result is well-formed to a strict XML parser (Chromium’s)', async () => {
    const xml = junitReport(result, reportComparison());
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const outcome = await page.evaluate((text) => {
        const doc = new DOMParser().parseFromString(text, 'application/xml');
        const error = doc.querySelector('parsererror');
        return error ? `not well-formed: ${error.textContent}` : doc.querySelector('testsuite')!.getAttribute('name');
      }, xml);
      assert.equal(outcome, HOSTILE_NAME);
    } finally {
      await context.close();
    }
  });
});
