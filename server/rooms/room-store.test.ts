/**
 * The op log's group commit across rooms (SPEC R2): appends made while an INSERT runs share the
 * next one, and a merged INSERT that fails is retried per room, so only the bad room's write fails.
 */
import { asc, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { makeTempDir } from '../../tests/integration/support/temp-dir';
import { openDatabase, type Database } from '../db/open-database';
import * as schema from '../db/schema';
import { createRoomStore, type RoomStore, type StoredOp } from './room-store';

const tmp = makeTempDir('room-store');
let database: Database;
let store: RoomStore;

beforeAll(async () => {
  database = await openDatabase(`${tmp.dir}/db`);
  store = createRoomStore(database);
  await store.ensureModel({ id: 'm', family: 'dcgan', latentDim: 2, trained: false, imageShape: [1, 1, 1] });
  for (const id of ['a', 'b', 'c']) {
    await store.createRoom({ id, name: id, modelId: 'm', initial: { z: Float32Array.of(0, 0), psi: 1, classLabel: null, weights: {} }, tokens: [{ hash: `h-${id}`, role: 'editor' }] });
  }
});

afterAll(async () => {
  await database?.close();
  tmp.remove();
});

const entry = (v: number): StoredOp => ({ kind: 'set', op: { kind: 'set', z: [v, v] }, state: { z: [v, v], psi: 1, classLabel: null } });
const ops = (versions: number[]) => versions.map((version) => ({ version, memberId: 'x', entry: entry(version) }));

describe('room store op log', () => {
  it('merges the appends of several rooms made during a write into one INSERT, and keeps a bad room from failing the others', async () => {
    const insert = vi.spyOn(database.db, 'insert');
    const writes = [store.appendOps('a', ops([1])), store.appendOps('b', ops([1, 2])), store.appendOps('c', ops([1]))];
    await Promise.all(writes);
    // The first went at once; the two made while it ran went together.
    expect(insert).toHaveBeenCalledTimes(2);

    insert.mockClear();
    // b's version 2 exists already: the merged INSERT fails, then each room is retried alone.
    const results = await Promise.allSettled([store.appendOps('a', ops([2])), store.appendOps('b', ops([2, 3])), store.appendOps('c', ops([2]))]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const rows = await database.db
      .select({ roomId: schema.roomOps.roomId, version: schema.roomOps.version })
      .from(schema.roomOps)
      .where(sql`${schema.roomOps.version} > 0`)
      .orderBy(asc(schema.roomOps.roomId), asc(schema.roomOps.version));
    expect(rows.map((r) => `${r.roomId}${r.version}`)).toEqual(['a1', 'a2', 'b1', 'b2', 'c1', 'c2']);
    insert.mockRestore();
  });
});
