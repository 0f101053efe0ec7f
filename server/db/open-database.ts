/**
 * Opens the database and brings its schema up to date.
 *
 * - `postgres://` or `postgresql://` URL: a node-postgres pool on that server.
 * - anything else: a directory for the embedded PGlite database (created if missing).
 *
 * PGlite is PostgreSQL compiled to WASM, so both modes speak one SQL dialect and share one schema
 * module and one set of migrations: the repository code and its tests run unchanged on both.
 * Migrations are the committed SQL in ./migrations, applied by drizzle's migrator on every open
 * (already applied ones are skipped: drizzle records them in `drizzle.__drizzle_migrations`).
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { openPgliteProxy } from './pglite-proxy';
import * as schema from './schema';

export type Schema = typeof schema;
/** The drizzle database, whichever driver is underneath. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type DatabaseKind = 'pglite' | 'postgres';

export interface Database {
  db: Db;
  kind: DatabaseKind;
  /** Runs raw SQL and returns its rows (both drivers answer `{ rows }`; drizzle types it unknown). */
  rows<T extends Record<string, unknown>>(query: SQL): Promise<T[]>;
  /** A `select 1` round trip; false (never a throw) when the database does not answer. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

/** Connections kept by the node-postgres pool. One realtime process needs few. */
const PG_POOL_MAX = 10;

export function isPostgresUrl(target: string): boolean {
  return /^postgres(ql)?:\/\//i.test(target);
}

/**
 * @param target a `postgres://` URL, or the directory of the embedded database.
 */
export async function openDatabase(target: string): Promise<Database> {
  if (isPostgresUrl(target)) return openPostgres(target);
  return openPglite(target);
}

async function openPglite(dir: string): Promise<Database> {
  mkdirSync(dir, { recursive: true });
  // PGlite runs on its own thread (./pglite-worker.mjs); drizzle's PGlite driver talks to it
  // through a proxy with the client methods it calls (query, transaction).
  const client = await openPgliteProxy(dir);
  const db = drizzlePglite({ client: client as unknown as PGlite, schema });
  try {
    await migratePglite(db, { migrationsFolder: MIGRATIONS_DIR });
  } catch (err) {
    await client.close();
    throw err;
  }
  return {
    db,
    kind: 'pglite',
    rows: async <T,>(query: SQL) => (await db.execute(query)).rows as T[],
    ping: () => ping(db),
    close: async () => {
      if (!client.closed) await client.close();
    },
  };
}

async function openPostgres(url: string): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: PG_POOL_MAX });
  // An idle client's error (server restart) must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  const db = drizzlePg({ client: pool, schema });
  try {
    await migratePg(db, { migrationsFolder: MIGRATIONS_DIR });
  } catch (err) {
    await pool.end();
    throw err;
  }
  let closed = false;
  return {
    db,
    kind: 'postgres',
    rows: async <T,>(query: SQL) => (await db.execute(query)).rows as T[],
    ping: () => ping(db),
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

async function ping(db: Db): Promise<boolean> {
  try {
    await db.execute(sql`select 1`);
    return true;
  } catch {
    return false;
  }
}
