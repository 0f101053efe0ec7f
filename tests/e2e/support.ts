/** Helpers shared by the e2e specs: screenshots and reads of the app's test hook. */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';
import type { LatentroomHook } from '../../components/room/test-hook';

export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-results/screenshots/', import.meta.url));

export async function screenshot(page: Page, file: string, fullPage = true): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOT_DIR}${file}`, fullPage });
}

/** A field of window.__latentroom (components/room/test-hook.ts). */
export function hook<K extends keyof LatentroomHook>(page: Page, key: K): Promise<LatentroomHook[K] | undefined> {
  return page.evaluate((k) => (window as unknown as { __latentroom?: LatentroomHook }).__latentroom?.[k], key) as Promise<LatentroomHook[K] | undefined>;
}

/** Names this browser context's member (read by the room page at join). */
export async function nameContext(page: Page, name: string): Promise<void> {
  await page.addInitScript((n) => window.localStorage.setItem('latentroom:name', n), name);
}

/** One person: a browser context of their own, named, with the page's uncaught errors collected. */
export async function person(browser: Browser, baseURL: string, name: string, viewport: { width: number; height: number }): Promise<{ context: BrowserContext; page: Page; errors: Error[] }> {
  const context = await browser.newContext({ baseURL, viewport });
  const page = await context.newPage();
  const errors: Error[] = [];
  page.on('pageerror', (err) => errors.push(err));
  await nameContext(page, name);
  return { context, page, errors };
}

/** Creates a room of `model` from the start page (the page must be on it) and waits until it is live. */
export async function createRoomFromHome(page: Page, model: string): Promise<void> {
  await page.getByTestId(`create-room-${model}`).click();
  await page.waitForURL(/\/rooms\/[A-Za-z0-9_-]+#t=/);
  await expect(page.getByTestId('connection')).toHaveText('live');
}
