import { rmSync } from 'node:fs';

/** Removes the e2e server's temporary data dir (created in playwright.config.ts). */
export default function globalTeardown(): void {
  const dir = process.env.LATENTROOM_E2E_DATA_DIR;
  if (dir) rmSync(dir, { recursive: true, force: true });
}
