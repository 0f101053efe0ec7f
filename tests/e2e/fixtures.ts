import { test as base } from '@playwright/test';

/**
 * `baseURL` of the server Playwright started: it chose a free port and printed it, and
 * playwright.config.ts captured the port into this variable.
 */
export const test = base.extend({
  // Playwright reads a fixture's dependencies from its first parameter: it must be a pattern.
  // eslint-disable-next-line no-empty-pattern
  baseURL: async ({}, use) => {
    const port = process.env.LATENTROOM_E2E_PORT;
    if (!port) throw new Error('LATENTROOM_E2E_PORT is not set: was the server started by playwright.config.ts?');
    await use(`http://127.0.0.1:${port}`);
  },
});

export { expect } from '@playwright/test';
