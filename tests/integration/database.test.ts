/**
 * The committed migrations apply to a fresh database of each kind, and the schema round-trips
 * the rows the room layer will write. The same suite runs on embedded PGlite and on PostgreSQL.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { env } from '../../lib/env';
import { openDatabase, type Database } from '../../server/db/open-database';
import * as schema from '../../server/db/schema';
import { createScratchDatabase, probePostgres } from './support/postgres';
import { makeTempDir } from './support/temp-dir';

const TABLES = [
  'bookmarks',
  'capability_tokens',
  'directions',
  'models',
  'room_members',
  'room_ops',
  'rooms',
  'training_jobs',
];

/** Target of a fresh database, and how to dispose of it. */
interface Fixture {
  target: string;
  dispose(): Promise<void>;
}

function schemaSuite(kind: Database['kind'], makeFixture: () => Promise<Fixture>) {
  let fixture: Fixture;
  let database: Database;

  beforeAll(async () => {
    fixture = await makeFixture();
    database = await openDatabase(fixture.target);
  });

  afterAll(async () => {
    await database?.close();
    await fixture?.dispose();
  });

  it(`opens as ${kind} and creates every table of the first-cut schema`, async () => {
    expect(database.kind).toBe(kind);
    const rows = await database.rows<{ table_name: string }>(
      sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
    );
    expect(rows.map((r) => r.table_name)).toEqual(TABLES);
    expect(await database.ping()).toBe(true);
  });

  it('round-trips a model, room, member, hashed token, op and bookmark', async () => {
    const { db } = database;
    await db.insert(schema.models).values({
      id: 'dcgan-mnist',
      name: 'DCGAN on MNIST',
      family: 'dcgan',
      latentDim: 3,
      dataset: 'mnist',
      path: 'dcgan-mnist',
      card: { steps: 10 },
    });
    await db.insert(schema.rooms).values({ id: 'r1', name: 'Lab', modelId: 'dcgan-mnist' });
    await db.insert(schema.roomMembers).values({ roomId: 'r1', memberId: 'm1', displayName: 'Ada', role: 'owner' });
    await db.insert(schema.capabilityTokens).values({ roomId: 'r1', tokenHash: 'ab'.repeat(32), role: 'editor' });
    await db.insert(schema.roomOps).values({ roomId: 'r1', version: 1, memberId: 'm1', op: { kind: 'set' } });
    const z = [0.1, -2.5, 1e-3];
    await db.insert(schema.bookmarks).values({ modelId: 'dcgan-mnist', roomId: 'r1', name: 'a seven', z });

    const [bookmark] = await db.select().from(schema.bookmarks).where(eq(schema.bookmarks.roomId, 'r1'));
    // float4 column: the float32 value of each entry survives (PostgreSQL prints the shortest
    // decimal that names it, so 0.1 comes back as 0.1, not as float32(0.1) widened).
    expect(bookmark?.z.every((v) => typeof v === 'number')).toBe(true);
    expect(Float32Array.from(bookmark?.z ?? [])).toEqual(Float32Array.from(z));
    const [op] = await db.select().from(schema.roomOps);
    expect(op).toMatchObject({ roomId: 'r1', version: 1, op: { kind: 'set' } });
    const [token] = await db.select().from(schema.capabilityTokens);
    expect(token?.tokenHash).toHaveLength(64);

    // Op versions are unique per room, token hashes unique overall.
    await expect(
      db.insert(schema.roomOps).values({ roomId: 'r1', version: 1, memberId: 'm1', op: {} }),
    ).rejects.toThrow();
    await expect(
      db.insert(schema.capabilityTokens).values({ roomId: 'r1', tokenHash: 'ab'.repeat(32), role: 'viewer' }),
    ).rejects.toThrow();
  });

  it('opens again without re-applying migrations and keeps the rows', async () => {
    await database.close();
    database = await openDatabase(fixture.target);
    const rows = await database.db.select().from(schema.models);
    expect(rows.map((r) => r.id)).toEqual(['dcgan-mnist']);
    const [applied] = await database.rows<{ n: number }>(
      sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
    );
    expect(applied?.n).toBeGreaterThan(0);
  });
}

describe('database: embedded PGlite', () => {
  schemaSuite('pglite', async () => {
    const tmp = makeTempDir('db');
    return { target: join(tmp.dir, 'db'), dispose: async () => tmp.remove() };
  });
});

const probe = await probePostgres();
const { REQUIRE_SERVICES, TEST_DATABASE_URL } = env();
if (!probe.ok && !REQUIRE_SERVICES) {
  console.warn(
    `[database.test] PostgreSQL half SKIPPED: ${TEST_DATABASE_URL} is unreachable (${probe.reason}). ` +
      'Set REQUIRE_SERVICES=1 to make this a failure.',
  );
}

describe.skipIf(!probe.ok && !REQUIRE_SERVICES)('database: PostgreSQL', () => {
  if (!probe.ok) {
    it('PostgreSQL is reachable (REQUIRE_SERVICES=1)', () => {
      throw new Error(`REQUIRE_SERVICES=1 but ${TEST_DATABASE_URL} is unreachable: ${probe.reason}`);
    });
    return;
  }
  schemaSuite('postgres', async () => {
    const scratch = await createScratchDatabase();
    return { target: scratch.url, dispose: () => scratch.drop() };
  });
});
