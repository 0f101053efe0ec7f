/**
 * The embedded database's thread (server/db/pglite-proxy.ts): statements, transactions that
 * commit or roll back, PostgreSQL error fields, statements outside a transaction waiting for it,
 * and a closed database refusing calls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgliteProxy, type PgliteProxy } from '../../server/db/pglite-proxy';

const dir = mkdtempSync(join(tmpdir(), 'pglite-proxy-'));
let db: PgliteProxy;

beforeAll(async () => {
  db = await openPgliteProxy(join(dir, 'db'));
  await db.query('create table t (id int primary key, note text)');
}, 60_000);

afterAll(async () => {
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

const ids = async () => (await db.query('select id from t order by id', [], { rowMode: 'array' })).rows;

describe('PGlite on its own thread', () => {
  it('runs statements with parameters, in object and array row modes', async () => {
    await db.query('insert into t values ($1, $2)', [1, 'one']);
    expect((await db.query('select id, note from t where id = $1', [1])).rows).toEqual([{ id: 1, note: 'one' }]);
    expect(await ids()).toEqual([[1]]);
  });

  it('commits a transaction, and rolls one back when its callback throws', async () => {
    await db.transaction(async (tx) => {
      await tx.query('insert into t values (2, null)');
      await tx.query('insert into t values (3, null)');
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.query('insert into t values (4, null)');
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await ids()).toEqual([[1], [2], [3]]);
  });

  it('keeps PostgreSQL error fields; a failed statement in a transaction rolls it all back', async () => {
    const err = await db.query('insert into t values (1, null)').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '23505', constraint: 't_pkey' });
    await expect(
      db.transaction(async (tx) => {
        await tx.query('insert into t values (5, null)');
        await tx.query('insert into t values (1, null)');
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await ids()).toEqual([[1], [2], [3]]);
  });

  it('a statement outside an open transaction waits for it to end', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const tx = db.transaction(async (t) => {
      await t.query('insert into t values (6, null)');
      await held;
    });
    await new Promise((r) => setTimeout(r, 50));
    let outsideDone = false;
    const outside = db.query('select count(*)::int as n from t').then((r) => {
      outsideDone = true;
      return r.rows;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(outsideDone).toBe(false);
    release();
    await tx;
    expect(await outside).toEqual([{ n: 4 }]); // it saw the committed row
  });

  it('a closed database refuses calls', async () => {
    const other = await openPgliteProxy(join(dir, 'other'));
    await other.close();
    expect(other.closed).toBe(true);
    await expect(other.query('select 1')).rejects.toThrow(/closed/);
  }, 60_000);
});
