// The HTML report as text, without a browser (test/integration/html-report.test.ts opens it in one).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { htmlReport } from '../../orchestrator/reports/html-report';
import { reportComparison, reportResult, reportSeries } from '../support/report-fixture';

const inlineScripts = (html: string) => [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
const policy = (html: string) => /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)![1].replace(/&#39;/g, "'");

describe('HTML report (as text)', () => {
  const html = htmlReport({ result: reportResult(), series: reportSeries(), comparison: reportComparison() });

  it('carries uPlot’s script and stylesheet inline and links to nothing', () => {
    assert.ok(html.includes(readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8').slice(0, 2000)), 'uPlot’s script');
    assert.ok(html.includes(readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8')), 'uPlot’s stylesheet');
    assert.doesNotMatch(html, /<script[^>]+src=|<link\b|<img\b|<iframe\b|@import/);
  });

  it('lets no script run but its own two, by their hashes, and load nothing', () => {
    const scripts = inlineScripts(html);
    assert.equal(scripts.length, 2, 'uPlot and the charts');
    const hashes = scripts.map((s) => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`);
    assert.equal(policy(html), `default-src 'none'; style-src 'unsafe-inline'; script-src ${hashes.join(' ')}`);
  });

  it('without a time series says so, and runs no script at all', () => {
    const bare = htmlReport({ result: reportResult(), series: [] });
    assert.match(bare, /No time series was recorded/);
    assert.deepEqual(inlineScripts(bare), []);
    assert.match(policy(bare), /script-src 'none'$/);
  });

  it('has no comparison section without a comparison', () => {
    assert.doesNotMatch(htmlReport({ result: reportResult(), series: reportSeries() }), /data-testid="comparison"/);
  });

  it('keeps a name that would close the chart data’s script element as data', () => {
    const result = reportResult();
    result.stages![1].phase = '</script><script>alert(1)</script>';
    const page = htmlReport({ result, series: reportSeries() });
    const data = /<script type="application\/json" id="chart-data">([\s\S]*?)<\/script>/.exec(page)![1];
    assert.equal(JSON.parse(data).marks[0].label, '</script><script>alert(1)</script>');
    assert.equal(inlineScripts(page).length, 2);
  });
});
