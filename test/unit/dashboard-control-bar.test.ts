// The dashboard page's live-control bar, alone in headless Chromium: the bundled page script
// (dist/webview/dashboard.js) with a stand-in for VS Code's webview API that keeps what the page
// posts. The host's messages are posted to the page as VS Code posts them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { TestSnapshot } from '../../orchestrator/result-model';
import type { HostToPage, PageToHost } from '../../extension/webview/dashboard-protocol';
import { DIST } from '../support/processes';
import { launchBrowser } from '../vscode/workbench';

function snapshot(over: Partial<TestSnapshot> = {}): TestSnapshot {
  return {
    test_id: 'bar-1',
    name: 'the bar',
    test_type: 'TSUNAMI',
    status: 'running',
    created_at: 0,
    elapsed_s: 3,
    config: {} as TestSnapshot['config'],
    participants: ['d1', 'd2'],
    planned_requests: 1000,
    aggregate: { requests_sent: 120, responses: 120, errors: 0, error_rate: 0, rate: 40, latency: null } as unknown as TestSnapshot['aggregate'],
    per_driver: [],
    warnings: [],
    throughput: 40,
    run_s: 3,
    computed_at: 0,
    ...over,
  };
}

describe('the dashboard’s live-control bar', () => {
  let browser: Browser;
  let page: Page;
  const script = readFileSync(join(DIST, 'webview', 'dashboard.js'), 'utf8');

  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    page = await browser.newPage();
    await page.setContent('<div id="app"></div>');
    await page.evaluate(() => {
      const w = window as unknown as { posted: unknown[]; acquireVsCodeApi: () => unknown };
      w.posted = [];
      w.acquireVsCodeApi = () => ({ postMessage: (m: unknown) => w.posted.push(m), setState: () => {}, getState: () => undefined });
    });
    await page.addScriptTag({ content: script });
    await host({ type: 'state', connection: { status: 'connected', brokers: ['127.0.0.1:9092'], since: 0 }, drivers: [], test: snapshot(), series: [], capacity: null, stored: false });
  });
  afterEach(async () => {
    await page.close();
  });

  /** A message from the extension host, as VS Code delivers it. */
  const host = (message: HostToPage) => page.evaluate((m) => window.postMessage(m, '*'), message).then(() => page.waitForTimeout(50));
  const update = (over: Partial<TestSnapshot> = {}) => host({ type: 'update', test: snapshot(over), point: { t: 1, rate: 40 } as never });
  const controls = () => page.evaluate(() => (window as unknown as { posted: PageToHost[] }).posted.filter((m) => m.type === 'control'));
  const pause = () => page.getByRole('button', { name: 'Pause', exact: true });

  it('a click whose press and release straddle an update still pauses (the bar is not redrawn with the figures)', async () => {
    const box = (await pause().boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await update();
    await page.mouse.up();
    assert.deepEqual(await controls(), [{ type: 'control', testId: 'bar-1', action: 'pause' }]);
  });

  it('the pause button keeps the keyboard focus over updates, says Resume once the test is paused, and resumes', async () => {
    await pause().focus();
    await update();
    await update({ paused: true });
    const focused = await page.evaluate(() => document.activeElement?.textContent);
    assert.equal(focused, 'Resume');
    await page.keyboard.press('Enter');
    assert.deepEqual(await controls(), [{ type: 'control', testId: 'bar-1', action: 'resume' }]);
  });

  it('Enter in the field sets the total rate, typed across updates; an empty field sets nothing', async () => {
    const field = page.getByRole('spinbutton', { name: /^rate, req\/s over all drivers$/ });
    await field.click();
    await page.keyboard.type('25');
    await update();
    await page.keyboard.type('0');
    await page.keyboard.press('Enter');
    assert.deepEqual(await controls(), [{ type: 'control', testId: 'bar-1', action: 'set', value: 250 }]);
    await field.fill('');
    await page.getByRole('button', { name: 'Set rate' }).click();
    assert.equal((await controls()).length, 1, 'an empty field is not a rate of 0');
  });

  it('a closed-model test is set by its concurrency, and the bar goes when the test ends', async () => {
    await update({ test_id: 'bar-2', test_type: 'AVALANCHE' });
    await page.getByRole('spinbutton', { name: /^concurrency/ }).fill('12');
    await page.getByRole('button', { name: 'Set concurrency' }).click();
    assert.deepEqual(await controls(), [{ type: 'control', testId: 'bar-2', action: 'set', value: 12 }]);
    await update({ test_id: 'bar-2', test_type: 'AVALANCHE', status: 'complete' });
    assert.equal(await page.getByRole('form', { name: 'Live control' }).count(), 0);
  });
});
