import { rmSync } from 'node:fs';

/** Removes the e2e server's temporary data and model dirs (created in playwright.config.ts). */
export default function globalTeardown(): void {
  for (const dir of [process.env.LATENTROOM_E2E_DATA_DIR, process.env.LATENTROOM_E2E_MODEL_DIR]) {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
