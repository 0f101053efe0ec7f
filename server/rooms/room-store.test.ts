/**
 * The room store on PGlite and PostgreSQL: the op log's group commit across rooms (SPEC R2:
 * appends made while an INSERT runs share the next one, and a merged INSERT that fails is retried
 * per room, so only the bad room's write fails), idempotent bookmark inserts (B3), past states,
 * history pages (O14), provenance across a branch (B4) and member rows (J8).
 */
import { asc, sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { describeOnEachDatabase } from '../../tests/integration/support/databases';
import { openDatabase, type Database } from '../db/open-database';
import * as schema from '../db/schema';
import { createRoomStore, type NewBookmark, type RoomStore, type StoredOp } from './room-store';

const entry = (v: number): StoredOp => ({ kind: 'set', op: { kind: 'set', z: [v, v] }, state: { z: [v, v], psi: 1, classLabel: null } });
const ops = (versions: number[]) => versions.map((version) => ({ version, memberId: 'x', memberName: 'Ex', entry: entry(version) }));
const mark = (roomId: string, extra: Partial<NewBookmark> = {}): NewBookmark => ({
  roomId,
  modelId: 'm',
  name: 'b',
  tags: ['t'],
  z: [0.1, 0.2],
  classLabel: null,
  psi: 0.7,
  weightsHash: null,
  version: 0,
  createdBy: 'Ada',
  ...extra,
});

describeOnEachDatabase('room store', (fixture) => {
  let db: { target: string; dispose(): Promise<void> };
  let database: Database;
  let store: RoomStore;

  beforeAll(async () => {
    db = await fixture.create();
    database = await openDatabase(db.target);
    store = createRoomStore(database);
    await store.ensureModel({ id: 'm', family: 'dcgan', latentDim: 2, trained: false, imageShape: [1, 1, 1] });
    for (const id of ['a', 'b', 'c']) {
      await store.createRoom({ id, name: id, modelId: 'm', initial: { z: Float32Array.of(0, 0), psi: 1, classLabel: null, weights: {} }, tokens: [{ hash: `h-${id}`, role: 'editor' }] });
    }
  });

  afterAll(async () => {
    await database?.close();
    await db?.dispose();
  });

  it('R2: merges the appends of several rooms made during a write into one INSERT, and keeps a bad room from failing the others', async () => {
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

  it('O13, O14: past states by version, and history pages newest first with who and when', async () => {
    expect(await store.stateAt('a', 2)).toEqual({ z: [2, 2], psi: 1, classLabel: null });
    expect(await store.stateAt('a', 9)).toBeUndefined();
    const page = await store.history('a', { limit: 2 });
    expect(page.map((e) => [e.version, e.kind, e.by, e.byName, e.z])).toEqual([
      [2, 'set', 'x', 'Ex', [2, 2]],
      [1, 'set', 'x', 'Ex', [1, 1]],
    ]);
    expect((await store.history('a', { before: 1, limit: 10 })).map((e) => [e.version, e.kind, e.by])).toEqual([[0, 'create', 'server']]);
  });

  it('B3: a bookmark insert with a key already used in the room answers the first bookmark and creates nothing; other rooms and keyless saves are independent', async () => {
    const first = await store.insertBookmark(mark('a', { requestId: 'key-00001', name: 'first' }));
    expect(first).toMatchObject({ created: true, bookmark: { name: 'first', psi: Math.fround(0.7), z: [Math.fround(0.1), Math.fround(0.2)], tags: ['t'], createdBy: 'Ada' } });
    const again = await store.insertBookmark(mark('a', { requestId: 'key-00001', name: 'second' }));
    expect(again).toEqual({ created: false, bookmark: first.bookmark });
    const concurrent = await Promise.all([1, 2, 3].map(() => store.insertBookmark(mark('b', { requestId: 'key-00002' }))));
    expect(new Set(concurrent.map((r) => r.bookmark.id)).size).toBe(1);
    expect(concurrent.filter((r) => r.created)).toHaveLength(1);
    expect((await store.insertBookmark(mark('b', { requestId: 'key-00001' }))).created).toBe(true);
    expect((await store.insertBookmark(mark('a'))).created).toBe(true);
    expect((await store.insertBookmark(mark('a'))).created).toBe(true);
    expect(await store.findBookmarkByRequest('a', 'key-00001')).toEqual(first.bookmark);
    expect(await store.roomBookmarks('a')).toHaveLength(3);
  });

  it('B4: provenance runs through a branch into its source room, newest ops kept when it is cut', async () => {
    await store.createRoom({
      id: 'branch',
      name: 'branch',
      modelId: 'm',
      initial: { z: Float32Array.of(1, 1), psi: 1, classLabel: null, weights: {} },
      origin: { room: 'a', version: 1 },
      tokens: [{ hash: 'h-branch', role: 'editor' }],
    });
    await store.appendOps('branch', ops([1, 2]));
    const full = await store.provenance('branch', 2, 100);
    expect(full.ops.map((o) => `${o.roomId}:${o.version}:${o.kind}`)).toEqual(['a:0:create', 'a:1:set', 'branch:0:create', 'branch:1:set', 'branch:2:set']);
    expect(full).toMatchObject({ truncated: false });
    const cut = await store.provenance('branch', 2, 4);
    expect(cut.ops.map((o) => `${o.roomId}:${o.version}`)).toEqual(['a:1', 'branch:0', 'branch:1', 'branch:2']);
    expect(cut.truncated).toBe(true);
    expect((await store.provenance('branch', 1, 2)).ops.map((o) => `${o.roomId}:${o.version}`)).toEqual(['branch:0', 'branch:1']);
  });

  it('J8: member rows keep the first join and update the last seen time', async () => {
    await store.memberJoined('a', { memberId: 'm1', name: 'Ada', role: 'editor' });
    const [first] = await database.db.select().from(schema.roomMembers).where(sql`${schema.roomMembers.memberId} = 'm1'`);
    await new Promise((r) => setTimeout(r, 10));
    await store.memberLeft('a', 'm1');
    await store.memberJoined('a', { memberId: 'm1', name: 'Ada L.', role: 'editor' });
    const [after] = await database.db.select().from(schema.roomMembers).where(sql`${schema.roomMembers.memberId} = 'm1'`);
    expect(after).toMatchObject({ displayName: 'Ada L.', role: 'editor', joinedAt: first!.joinedAt });
    expect(after!.lastSeenAt.getTime()).toBeGreaterThan(first!.joinedAt.getTime());
  });
});
