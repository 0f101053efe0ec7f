/**
 * Test access to the PostgreSQL server named by TEST_DATABASE_URL: each suite gets a fresh
 * database (created from the admin connection, dropped afterwards), so runs never see each
 * other's rows or migrations.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { env } from '../../../lib/env';

const CONNECT_TIMEOUT_MS = 3_000;

export type PostgresProbe = { ok: true } | { ok: false; reason: string };

/** Whether the PostgreSQL server answers; the reason when it does not. */
export async function probePostgres(url = env().TEST_DATABASE_URL): Promise<PostgresProbe> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  try {
    await client.connect();
    await client.query('select 1');
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message || err.name : String(err) };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates an empty database with a unique name; returns its URL and a function to drop it. */
export async function createScratchDatabase(
  adminUrl = env().TEST_DATABASE_URL,
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `lr_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  await admin.connect();
  try {
    await admin.query(`create database "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
      await c.connect();
      try {
        await c.query(`drop database if exists "${name}" with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
