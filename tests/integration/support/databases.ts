/**
 * Runs a suite once per database kind: embedded PGlite in a temporary directory, and a scratch
 * PostgreSQL database on TEST_DATABASE_URL (created for the suite, dropped after it). When
 * PostgreSQL does not answer, its half is skipped with the reason printed, or fails when
 * REQUIRE_SERVICES=1 (CI), as in database.test.ts.
 */
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { env } from '../../../lib/env';
import type { DatabaseKind } from '../../../server/db/open-database';
import { createScratchDatabase, probePostgres } from './postgres';
import { makeTempDir } from './temp-dir';

/** A fresh database of one kind: the target `openDatabase` takes, and how to remove it. */
export interface DatabaseFixture {
  kind: DatabaseKind;
  /** Creates the database; open it (and reopen it after a restart) with `target`. */
  create(): Promise<{ target: string; dispose(): Promise<void> }>;
}

export const PGLITE: DatabaseFixture = {
  kind: 'pglite',
  create: async () => {
    const tmp = makeTempDir('db');
    return { target: join(tmp.dir, 'db'), dispose: async () => tmp.remove() };
  },
};

export const POSTGRES: DatabaseFixture = {
  kind: 'postgres',
  create: async () => {
    const scratch = await createScratchDatabase();
    return { target: scratch.url, dispose: () => scratch.drop() };
  },
};

const probe = await probePostgres();

/**
 * `describe(title on <kind>, ...)` for PGlite and for PostgreSQL. `body` registers the suite's
 * hooks and tests for one fixture.
 */
export function describeOnEachDatabase(title: string, body: (fixture: DatabaseFixture) => void): void {
  describe(`${title} (pglite)`, () => body(PGLITE));
  const { REQUIRE_SERVICES, TEST_DATABASE_URL } = env();
  if (!probe.ok && !REQUIRE_SERVICES) {
    console.warn(
      `[${title}] PostgreSQL half SKIPPED: ${TEST_DATABASE_URL} is unreachable (${probe.reason}). Set REQUIRE_SERVICES=1 to make this a failure.`,
    );
  }
  describe.skipIf(!probe.ok && !REQUIRE_SERVICES)(`${title} (postgres)`, () => {
    if (!probe.ok) {
      it('PostgreSQL is reachable (REQUIRE_SERVICES=1)', () => {
        throw new Error(`REQUIRE_SERVICES=1 but ${TEST_DATABASE_URL} is unreachable: ${probe.reason}`);
      });
      return;
    }
    body(POSTGRES);
  });
}
