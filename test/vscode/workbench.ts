// The pieces every run of the extension in a real workbench needs: the packaged .vsix, a
// code-server with it installed, and a headless Chromium that reaches nothing but this machine.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Frame, type Page } from 'playwright-core';
import { freePort } from '../../common/free-port';
import { ROOT, tempDir, waitFor } from '../support/processes';

export function packageVsix(): string {
  const out = join(tempDir('vsix'), 'loadtest-kafka.vsix');
  execFileSync(process.execPath, [join(ROOT, 'node_modules', '@vscode', 'vsce', 'vsce'), 'package', '--no-dependencies', '--no-rewrite-relative-links', '--allow-missing-repository', '--out', out], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return out;
}

export interface CodeServer {
  url: string;
  /** its process, the leader of the group its extension hosts run in */
  pid: number;
  stop(): Promise<void>;
}

export function userSettingsWith(colorTheme: string): object {
  return { 'workbench.startupEditor': 'none', 'security.workspace.trust.enabled': false, 'extensions.autoUpdate': false, 'telemetry.telemetryLevel': 'off', 'workbench.colorTheme': colorTheme };
}

export async function startCodeServer(vsix: string): Promise<CodeServer> {
  const bin = execFileSync('bash', [join(ROOT, 'test', 'vscode', 'install-code-server.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  const home = tempDir('code-server');
  const port = await freePort();
  const config = join(home, 'config.yaml');
  writeFileSync(config, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const userData = join(home, 'user-data');
  mkdirSync(join(userData, 'User'), { recursive: true });
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify(userSettingsWith('Default Dark Modern')));
  const common = ['--config', config, '--user-data-dir', userData, '--extensions-dir', join(home, 'extensions')];
  const env = { ...process.env, EXTENSIONS_GALLERY: '{}' };
  execFileSync(bin, [...common, '--install-extension', vsix], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const child: ChildProcess = spawn(bin, [...common, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust'], {
    env,
    detached: true, // its own process group, so that stopping it ends its extension hosts too
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`code-server exited: ${stderr}`);
    try {
      return (await fetch(`${url}/healthz`)).ok;
    } catch {
      return false;
    }
  }, 'code-server to answer', 60_000);
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      if (child.exitCode !== null) return;
      process.kill(-child.pid!, 'SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}


export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.LT_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A browser context in which every request not to loopback is refused: nothing leaves this machine. */
export async function loopbackContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  await context.route(/^(?!https?:\/\/127\.0\.0\.1[:/]|data:|blob:|vscode-)/, (route) => route.abort());
  return context;
}

/** A webview's page sits two iframes deep in the workbench. */
export function webviewLocator(page: Page) {
  return page.frameLocator('iframe.webview.ready').frameLocator('iframe#active-frame');
}

/** The webview's page as a Frame, to evaluate code in it. */
export async function webviewFrame(page: Page): Promise<Frame> {
  const outer = await (await page.locator('iframe.webview.ready').elementHandle())!.contentFrame();
  const inner = await (await outer!.locator('iframe#active-frame').elementHandle())!.contentFrame();
  return inner!;
}

/**
 * Runs a palette command by its title, as a person would (F1, the title, Enter). The title is put
 * into the palette's input once it shows: keys typed while a busy workbench is still opening it
 * went elsewhere and left the palette with a part of the title.
 */
export async function runPaletteCommand(page: Page, title: string): Promise<void> {
  const input = page.locator('.quick-input-widget input.input');
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title.split(': ').pop()! }).first();
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible' });
    await input.fill(`>${title}`);
    try {
      await row.waitFor({ timeout: 15_000 });
      break;
    } catch (error) {
      if (attempt === 3) throw error;
      await page.keyboard.press('Escape');
    }
  }
  await page.keyboard.press('Enter');
}

/**
 * Opens a file of the workspace by name with Quick Open (Ctrl+P), as a person would, and waits for
 * its tab. Quick Open lists the files it knew when it was last closed: a file written since then is
 * "No matching results" until it is closed and opened again, so it is, as a person would.
 */
export async function openWorkspaceFile(page: Page, name: string): Promise<void> {
  const input = page.locator('.quick-input-widget input.input');
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Control+P');
    await input.waitFor({ state: 'visible' });
    await input.fill(name);
    try {
      await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().waitFor({ timeout: 10_000 });
      break;
    } catch (error) {
      if (attempt === 4) throw error;
      await page.keyboard.press('Escape');
    }
  }
  await page.keyboard.press('Enter');
  await page.locator('.tab.active', { hasText: name }).waitFor({ timeout: 30_000 });
}
