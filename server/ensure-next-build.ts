/**
 * Run by `npm start` before the server: builds the Next.js app when `.next/BUILD_ID` is missing
 * or older than any source the web bundle is built from, so `npm install && npm start` works on
 * a fresh clone and after a pull, and a start with an up-to-date build costs nothing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT_DIR = fileURLToPath(new URL('..', import.meta.url));
const BUILD_ID = join(ROOT_DIR, '.next', 'BUILD_ID');
/** What the web bundle is built from (folders are walked). */
const INPUTS = ['app', 'components', 'lib', 'public', 'next.config.ts', 'tsconfig.json', 'package-lock.json'];

function newestMtimeMs(path: string): number {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtimeMs(join(path, entry)));
  return newest;
}

function buildReason(): string | undefined {
  if (!existsSync(BUILD_ID)) return 'no build yet';
  const builtAt = statSync(BUILD_ID).mtimeMs;
  const changed = INPUTS.find((input) => newestMtimeMs(join(ROOT_DIR, input)) > builtAt);
  return changed ? `${changed} changed since the last build` : undefined;
}

const reason = buildReason();
if (reason) {
  console.log(`Building the web app (${reason})...`);
  const nextBin = createRequire(import.meta.url).resolve('next/dist/bin/next');
  const result = spawnSync(process.execPath, [nextBin, 'build'], { cwd: ROOT_DIR, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error('next build failed; see above.');
    process.exit(result.status ?? 1);
  }
}
