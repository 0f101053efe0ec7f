/**
 * A database made before bookmarks had their provenance (migrations 0000 and 0001 only, with a
 * room, its log and a bookmark in it) opens with today's code on PGlite and PostgreSQL: the later
 * migrations apply, the old rows keep their data and get the new columns' defaults, and the room
 * loads and takes ops.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MIGRATIONS_DIR, openDatabase } from '../../server/db/open-database';
import { createRoomStore } from '../../server/rooms/room-store';
import { describeOnEachDatabase } from './support/databases';
import { makeTempDir } from './support/temp-dir';

/** The migrations as they were before this issue: 0000 and 0001. */
function oldMigrations(dir: string): string {
  const out = join(dir, 'old-migrations');
  mkdirSync(join(out, 'meta'), { recursive: true });
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: { tag: string }[] };
  journal.entries = journal.entries.slice(0, 2);
  writeFileSync(join(out, 'meta', '_journal.json'), JSON.stringify(journal));
  for (const { tag } of journal.entries) copyFileSync(join(MIGRATIONS_DIR, `${tag}.sql`), join(out, `${tag}.sql`));
  return out;
}

const OLD_ROWS = [
  `insert into models (id, name, family, latent_dim, dataset, path) values ('m', 'm', 'dcgan', 2, 'mnist', 'm')`,
  `insert into rooms (id, name, model_id) values ('room-old-1', 'old', 'm')`,
  `insert into room_ops (room_id, version, member_id, op) values ('room-old-1', 0, 'server', '{"kind":"create","state":{"z":[0.5,0.25],"psi":1,"classLabel":null}}')`,
  `insert into bookmarks (model_id, room_id, name, z, created_by) values ('m', 'room-old-1', 'old mark', '{0.5,0.25}', 'm_abc')`,
];

describeOnEachDatabase('migrations', (fixture) => {
  const tmp = makeTempDir('migrations');
  let db: { target: string; dispose(): Promise<void> };
  beforeAll(async () => {
    db = await fixture.create();
  });
  afterAll(async () => {
    await db?.dispose();
    tmp.remove();
  });

  it('a database of the earlier migrations upgrades: old rows keep their data and take the new defaults; the room loads', async () => {
    const folder = oldMigrations(tmp.dir);
    if (fixture.kind === 'pglite') {
      const client = await PGlite.create(db.target);
      await migratePglite(drizzlePglite({ client }), { migrationsFolder: folder });
      for (const q of OLD_ROWS) await client.query(q);
      await client.close();
    } else {
      const pool = new pg.Pool({ connectionString: db.target });
      await migratePg(drizzlePg({ client: pool }), { migrationsFolder: folder });
      for (const q of OLD_ROWS) await pool.query(q);
      await pool.end();
    }

    const database = await openDatabase(db.target);
    try {
      const store = createRoomStore(database);
      const loaded = await store.loadRoom('room-old-1');
      expect(loaded?.bookmarks).toEqual([
        {
          id: expect.any(String),
          name: 'old mark',
          tags: [],
          z: [0.5, 0.25],
          classLabel: null,
          psi: 1,
          modelId: 'm',
          weightsHash: null,
          roomId: 'room-old-1',
          version: 0,
          createdBy: 'm_abc',
          createdAt: expect.any(String),
        },
      ]);
      expect(loaded?.log).toEqual([{ version: 0, entry: { kind: 'create', state: { z: [0.5, 0.25], psi: 1, classLabel: null } } }]);
      await store.appendOps('room-old-1', [{ version: 1, memberId: 'x', memberName: 'X', entry: { kind: 'redo', state: { z: [1, 1], psi: 1, classLabel: null } } }]);
      expect((await store.history('room-old-1', { limit: 5 })).map((e) => [e.version, e.kind, e.byName])).toEqual([
        [1, 'redo', 'X'],
        [0, 'create', null],
      ]);
    } finally {
      await database.close();
    }
  });
});
