/**
 * Headless Chromium for the page tests (Debian's /usr/bin/chromium driven by playwright-core, the
 * flags that work on this machine): fails, never skips, when Chromium is missing. A context built
 * here lets through only the given origins (and data:/blob:) and records everything else it blocked,
 * every console error and every uncaught page error.
 */
import { constants } from 'node:fs';
import { access, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { REPO } from './cli.js';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** Where page tests keep their screenshots: test-output/<name>/ under the repo (gitignored), or $TRANSFERKIT_TEST_OUTPUT/<name>. */
export async function testOutputDir(name: string): Promise<string> {
  const dir = join(process.env['TRANSFERKIT_TEST_OUTPUT'] ?? join(REPO, 'test-output'), name);
  await mkdir(dir, { recursive: true });
  return dir;
}

export async function launchChromium(): Promise<Browser> {
  try {
    await access(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`Chromium is missing (${CHROMIUM}); the page tests need it: run \`bash scripts/install.sh --with-browser\``);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60_000 });
}

export interface Watched {
  readonly context: BrowserContext;
  /** Requests to anything but the allowed origins, data: and blob: (all aborted). */
  readonly blocked: string[];
  /** Every request the pages made (file:, data: included), for "no network" checks. */
  readonly requested: string[];
  readonly consoleErrors: string[];
  readonly pageErrors: string[];
  newPage(): Promise<Page>;
}

/** A context that aborts requests outside `origins` (e.g. `['file://']` or a test server's origin). */
export async function watchedContext(browser: Browser, origins: readonly string[], viewport = { width: 1280, height: 900 }): Promise<Watched> {
  const context = await browser.newContext({ viewport, serviceWorkers: 'block' });
  context.setDefaultTimeout(30_000);
  context.setDefaultNavigationTimeout(60_000);
  const blocked: string[] = [];
  const requested: string[] = [];
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (url.startsWith('data:') || url.startsWith('blob:') || origins.some((o) => url.startsWith(o))) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  return {
    context, blocked, requested, consoleErrors, pageErrors,
    newPage: async () => {
      const page = await context.newPage();
      page.on('console', (m) => {
        if (m.type() === 'error') consoleErrors.push(m.text());
      });
      page.on('pageerror', (e) => pageErrors.push(e.message));
      page.on('request', (r) => requested.push(r.url()));
      return page;
    },
  };
}
