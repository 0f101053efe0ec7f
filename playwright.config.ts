/**
 * End-to-end tests: the real server (`npm start`: builds the web app if needed) on a port it
 * picks itself, with a fresh embedded database, driven by Debian's Chromium. Never a browser
 * that Playwright downloads.
 */
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from '@playwright/test';

export const CHROMIUM_PATH = '/usr/bin/chromium';
/** Headless Debian Chromium on a machine with no GPU and a closed network (also bench/scene.ts). */
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

if (!existsSync(CHROMIUM_PATH)) {
  throw new Error(
    `The e2e tests need Debian's Chromium at ${CHROMIUM_PATH}, which is missing.\n` +
      'Install it with:  sudo apt-get update && sudo apt-get install -y chromium\n' +
      '(Do not run `playwright install`: this project never downloads a browser of its own.)',
  );
}

// The config is loaded again in every worker; the runner's first load picks the data dir and
// the workers inherit it through the environment.
process.env.LATENTROOM_E2E_DATA_DIR ??= mkdtempSync(join(tmpdir(), 'latentroom-e2e-'));
// The server's MODEL_DIR: a temporary copy of the shipped models, so a training job started by a
// test writes its model there and never into the repository's models/pretrained.
process.env.LATENTROOM_E2E_MODEL_DIR ??= (() => {
  const dir = mkdtempSync(join(tmpdir(), 'latentroom-e2e-models-'));
  cpSync(fileURLToPath(new URL('./models/pretrained', import.meta.url)), dir, { recursive: true });
  return dir;
})();

export default defineConfig({
  testDir: 'tests/e2e',
  testMatch: '**/*.spec.ts',
  outputDir: 'test-results/playwright',
  globalTeardown: './tests/e2e/global-teardown.ts',
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 30_000 },
  reporter: [['list'], ['json', { outputFile: 'test-results/playwright.json' }]],
  use: {
    browserName: 'chromium',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath: CHROMIUM_PATH,
      args: CHROMIUM_ARGS,
    },
  },
  webServer: {
    command: 'npm start',
    // The server listens on a free port (PORT=0) and prints it; the named group lands in
    // process.env.LATENTROOM_E2E_PORT for the tests (tests/e2e/fixtures.ts).
    wait: { stdout: /Latentroom ready at http:\/\/127\.0\.0\.1:(?<latentroom_e2e_port>\d+)/ },
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: process.env.LATENTROOM_E2E_DATA_DIR,
      MODEL_DIR: process.env.LATENTROOM_E2E_MODEL_DIR,
      DATABASE_URL: '',
    },
    reuseExistingServer: false,
    // A fresh clone builds the web app first.
    timeout: 600_000,
    stdout: 'pipe',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 10_000 },
  },
});
