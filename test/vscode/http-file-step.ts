// A workbench step of `npm run test:vscode`: a REST Client file with a sign-in request and a request
// that uses its token; the "Load test this request" CodeLens above the second runs both as a
// scenario, and the dashboard shows the two steps and the iterations, then the verdict. The stored
// result says whether every account read carried a token lt-target accepted.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { TestResult } from '../../orchestrator/result-model';
import { ROOT, waitFor } from '../support/processes';
import { openWorkspaceFile, webviewLocator } from './workbench';

const RESULTS = join(ROOT, 'test-results');

export async function httpFileFromCodeLens(page: Page, workspace: string, targetUrl: string): Promise<{ name: string; passed: boolean; detail: string }> {
  const name = 'UI: a .http sign-in and the request that uses its token, run from the CodeLens';
  const fileName = 'journey.http';
  const file = join(workspace, fileName);
  writeFileSync(
    file,
    [`@host = ${targetUrl}`, '', '# @name signin', 'POST {{host}}/signin', 'Content-Type: application/json', '', '{"user": "ann"}', '', '###', '', '# @name account', 'GET {{host}}/account', 'Authorization: Bearer {{signin.response.body.$.token}}', ''].join('\n'),
  );
  const seen: string[] = [];
  const began = Date.now();
  try {
    await openWorkspaceFile(page, fileName);
    const lenses = page.locator('.codelens-decoration a', { hasText: 'Load test this request' });
    await waitFor(async () => ((await lenses.count()) === 2 ? true : undefined), 'a "Load test this request" CodeLens above each of the two requests', 60_000);
    // The second request's: it refers to the first, so both are steps.
    await lenses.nth(1).click();
    const frame = webviewLocator(page);
    await frame.getByRole('heading', { level: 1, name: `account from ${fileName}` }).waitFor({ timeout: 60_000 });
    const testId = ((await frame.locator('[data-testid=test-id]').textContent()) ?? '').trim();
    const rows = frame.locator('[data-testid=request-rows] tr');
    await waitFor(async () => ((await rows.count()) === 2 ? true : undefined), 'two step rows on the dashboard', 60_000);
    const stepNames = (await rows.locator('td:first-child').allTextContents()).map((t) => t.trim());
    const iterations = frame.locator('[data-testid=iterations]');
    await iterations.waitFor({ timeout: 60_000 });
    seen.push(`test ${testId}, step rows ${stepNames.join(', ')} while it ran, “${(await iterations.textContent())?.trim()}”`);
    await page.screenshot({ path: join(RESULTS, 'vscode-http-file-running.png') });
    const verdict = frame.locator('[data-testid=verdict]');
    await verdict.waitFor({ timeout: 90_000 });
    const verdictText = (await verdict.textContent())?.trim();
    const finalIterations = (await iterations.textContent())?.trim() ?? '';
    await page.screenshot({ path: join(RESULTS, 'vscode-http-file-ended.png') });
    const resultFile = join(workspace, '.loadtest', 'tests', testId, 'result.json');
    await waitFor(() => existsSync(resultFile) || undefined, 'the stored result', 15_000);
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as TestResult;
    const [signin, account] = result.per_request ?? [];
    const unmet = [
      stepNames.join(',') !== 'signin,account' && `the step rows are ${stepNames.join(', ')}`,
      verdictText !== 'PASSED' && `the verdict ${verdictText}`,
      !(signin?.name === 'signin' && account?.name === 'account') && 'the stored result has not the two steps',
      (account?.errors ?? 1) !== 0 && `${account?.errors} account reads failed (${JSON.stringify(account?.errors_by_kind)})`,
      !(account && account.responses > 0 && account.responses === result.iterations?.completed) && 'not every completed iteration read its account',
      !/^iterations: [\d,]+ started, [\d,]+ completed, 0 failed/.test(finalIterations) && `the dashboard's iterations line “${finalIterations}”`,
    ].filter(Boolean);
    seen.push(`“${result.verdict.reason}”; ${account?.responses} account reads, each with the captured token; dashboard “${finalIterations}” after ${((Date.now() - began) / 1000).toFixed(0)} s`);
    if (unmet.length) seen.push(`NOT: ${unmet.join('; ')}`);
    return { name, passed: unmet.length === 0, detail: seen.join('; ') };
  } catch (error) {
    await page.screenshot({ path: join(RESULTS, 'vscode-http-file-failure.png') }).catch(() => {});
    return { name, passed: false, detail: `${(error as Error).message}${seen.length ? ` (after: ${seen.join('; ')})` : ''}` };
  } finally {
    rmSync(file, { force: true });
  }
}
