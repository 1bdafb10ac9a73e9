import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

/**
 * Browser tests drive Debian's chromium through playwright-core (no browser download). Every page
 * is watched for console errors, uncaught exceptions and requests to any other origin.
 */

export const CHROMIUM = process.env.KEYWARD_CHROMIUM ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium); .ci/run does this`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
}

/** Screenshots go to docs/console when KEYWARD_UPDATE_SCREENSHOTS=1, else under dist/ (not committed). */
const SCREENSHOT_DIR = join(
  __dirname,
  '..',
  '..',
  process.env.KEYWARD_UPDATE_SCREENSHOTS === '1' ? join('docs', 'console') : join('dist', 'screenshots'),
);

export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage, animations: 'disabled', caret: 'hide' });
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors, uncaught exceptions and other-origin requests seen so far. */
  problems: string[];
  /** Fails the test if anything went wrong on the page; `allowed` matches expected console messages. */
  expectClean(allowed?: RegExp[]): void;
  close(): Promise<void>;
}

export async function openPage(
  browser: Browser,
  origin: string,
  viewport = { width: 1200, height: 800 },
): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport, reducedMotion: 'reduce' });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  const allowedOrigins = new Set([origin, origin.replace(/^http/, 'ws')]);
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.protocol === 'data:') return;
    if (!allowedOrigins.has(url.origin)) problems.push(`request to another origin: ${request.url()}`);
  });
  page.on('websocket', (socket) => {
    if (!allowedOrigins.has(new URL(socket.url()).origin))
      problems.push(`WebSocket to another origin: ${socket.url()}`);
  });
  return {
    page,
    context,
    problems,
    expectClean(allowed = []) {
      const unexpected = problems.filter((problem) => !allowed.some((pattern) => pattern.test(problem)));
      expect(unexpected).toEqual([]);
    },
    close: () => context.close(),
  };
}

/** Signs in afresh (any earlier session of the page is forgotten first). */
export async function signIn(page: Page, origin: string, token: string): Promise<void> {
  await page.goto(`${origin}/`);
  await page.evaluate(() => sessionStorage.clear());
  await page.reload();
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('textbox', { name: 'Message' }).waitFor();
}

/** The accessible name (or label text) of the focused element. */
export function focusedName(page: Page): Promise<string> {
  return page.evaluate(() => {
    const element = document.activeElement as HTMLElement | null;
    if (!element) return '';
    const labelledBy = element.getAttribute('aria-labelledby');
    const label =
      element.getAttribute('aria-label') ??
      (labelledBy ? document.getElementById(labelledBy)?.textContent : null) ??
      (element.id ? document.querySelector(`label[for="${element.id}"]`)?.textContent : null) ??
      element.closest('label')?.textContent ??
      element.textContent ??
      '';
    return label.trim();
  });
}

/** Presses Tab until the focused element has `name` as its accessible name (or label text); fails after `limit` presses. */
export async function tabTo(page: Page, name: string | RegExp, limit = 60): Promise<void> {
  for (let presses = 0; presses < limit; presses++) {
    await page.keyboard.press('Tab');
    const focused = await focusedName(page);
    if (typeof name === 'string' ? focused === name : name.test(focused)) return;
  }
  throw new Error(`Tab never reached ${String(name)}`);
}

/** Waits until the locator's text matches (the page updates asynchronously). */
export async function expectText(locator: Locator, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = (await locator.allTextContents().catch(() => [''])).join('\n');
    if (pattern.test(last)) return;
    if (Date.now() > deadline) throw new Error(`expected text matching ${pattern}, got: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
