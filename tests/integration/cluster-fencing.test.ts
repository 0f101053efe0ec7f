/**
 * Room leases and the write fence (SPEC C3, C9): real Redis and PostgreSQL, two lease holders in one
 * process standing for two nodes. Skipped with the reason when either service is unreachable,
 * failing instead when REQUIRE_SERVICES=1.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env } from '../../lib/env';
import { FencedError, fenceRoomStore } from '../../server/cluster/fenced-store';
import { createRoomLeases, type RoomLeases } from '../../server/cluster/leases';
import { openDatabase, type Database } from '../../server/db/open-database';
import { silentLogger } from '../../server/logger';
import { createRoomStore, type RoomStore, type StoredOp } from '../../server/rooms/room-store';
import { probeClusterServices } from './support/cluster';
import { createScratchDatabase } from './support/postgres';

const services = await probeClusterServices();
if (!services.ok) {
  if (env().REQUIRE_SERVICES) throw new Error(`cluster tests need Redis and PostgreSQL (REQUIRE_SERVICES=1): ${services.reason}`);
  console.warn(`cluster fencing tests skipped: ${services.reason}`);
}

const TTL_MS = 600;
const entry = (seed: number): StoredOp => ({ kind: 'random', op: { kind: 'random', seed }, state: { z: [seed, 0], psi: 1, classLabel: null } });

describe.skipIf(!services.ok)('C3: room leases fence op-log writes', () => {
  const prefix = `lr-test-${randomBytes(4).toString('hex')}`;
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let database: Database;
  let store: RoomStore;
  let redis: Redis;
  const lost: { node: string; roomId: string }[] = [];
  let a: RoomLeases;
  let b: RoomLeases;

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    database = await openDatabase(scratch.url);
    store = createRoomStore(database);
    redis = new Redis(env().TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    const leases = (node: string) => createRoomLeases({ redis, prefix, nodeId: node, ttlMs: TTL_MS, logger: silentLogger, onLost: (roomId) => lost.push({ node, roomId }) });
    a = leases('node-a');
    b = leases('node-b');
    await store.ensureModel({ id: 'm', family: 'vae', latentDim: 2 });
  });

  afterAll(async () => {
    await a?.close();
    await b?.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await database?.close();
    await scratch?.drop();
  });

  async function newRoom(): Promise<string> {
    const id = `room${randomBytes(5).toString('hex')}`;
    await store.createRoom({ id, name: 'r', modelId: 'm', initial: { z: Float32Array.of(0, 0), psi: 1, classLabel: null, weights: {} }, tokens: [{ hash: randomBytes(32).toString('hex'), role: 'editor' }] });
    return id;
  }

  async function versions(roomId: string): Promise<{ version: number; member_id: string }[]> {
    return database.rows<{ version: number; member_id: string }>(sql`select version, member_id from room_ops where room_id = ${roomId} order by version`);
  }

  it('one holder at a time; the holder writes, a node without the lease cannot', async () => {
    const roomId = await newRoom();
    expect(await a.acquire(roomId)).toBe(true);
    expect(await b.acquire(roomId)).toBe(false);
    expect(await b.owner(roomId)).toMatchObject({ nodeId: 'node-a' });

    const fencedA = fenceRoomStore(store, a, (id) => lost.push({ node: 'a-store', roomId: id }));
    const fencedB = fenceRoomStore(store, b, (id) => lost.push({ node: 'b-store', roomId: id }));
    await fencedA.appendOps(roomId, [{ version: 1, memberId: 'ma', entry: entry(1) }]);
    await expect(fencedB.appendOps(roomId, [{ version: 2, memberId: 'mb', entry: entry(2) }])).rejects.toBeInstanceOf(FencedError);
    expect(lost).toContainEqual({ node: 'b-store', roomId });
    expect(await versions(roomId)).toEqual([
      { version: 0, member_id: 'server' },
      { version: 1, member_id: 'ma' },
    ]);
  });

  it('a node whose lease was broken (it was thought dead) stops at its next write and hears of it at its next renewal', async () => {
    const roomId = await newRoom();
    expect(await a.acquire(roomId)).toBe(true);
    const fencedA = fenceRoomStore(store, a, (id) => lost.push({ node: 'a-store', roomId: id }));
    const fencedB = fenceRoomStore(store, b, () => undefined);
    // Node B found A gone and took the room over.
    expect(await b.breakLease(roomId, (await b.owner(roomId))!)).toBe(true);
    expect(await b.acquire(roomId)).toBe(true);
    await fencedB.appendOps(roomId, [{ version: 1, memberId: 'mb', entry: entry(1) }]);
    // A still believes it holds the room: its write is refused, nothing of it is stored.
    expect(a.holds(roomId)).toBe(true);
    await expect(fencedA.appendOps(roomId, [{ version: 2, memberId: 'ma', entry: entry(2) }])).rejects.toBeInstanceOf(FencedError);
    expect(lost).toContainEqual({ node: 'a-store', roomId });
    // Its renewal (every ttl/3) reports the loss.
    const start = Date.now();
    while (!lost.some((l) => l.node === 'node-a' && l.roomId === roomId)) {
      if (Date.now() - start > TTL_MS * 2) throw new Error('node-a never heard that it lost the lease');
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(a.holds(roomId)).toBe(false);
    expect((await versions(roomId)).map((r) => r.member_id)).toEqual(['server', 'mb']);
  });

  it('the op log refuses a second writer of one version even if the lease check passed (a race inside the check)', async () => {
    const roomId = await newRoom();
    const lostHere: string[] = [];
    // Both believe they hold the lease: only the version sequence can fence them now.
    const stale = fenceRoomStore(store, { check: () => Promise.resolve(true) }, (id) => lostHere.push(id));
    const owner = fenceRoomStore(store, { check: () => Promise.resolve(true) }, () => undefined);
    await owner.appendOps(roomId, [{ version: 1, memberId: 'new-owner', entry: entry(1) }]);
    await expect(stale.appendOps(roomId, [{ version: 1, memberId: 'stale', entry: entry(9) }])).rejects.toBeInstanceOf(FencedError);
    expect(lostHere).toEqual([roomId]);
    expect((await versions(roomId)).map((r) => r.member_id)).toEqual(['server', 'new-owner']);
  });

  it('C9: without the lease a node writes none of the room\'s other rows either (bookmarks, member rows, the state mirror); creating rooms and rotating tokens need none', async () => {
    const roomId = await newRoom();
    expect(await a.acquire(roomId)).toBe(true);
    const lostHere: string[] = [];
    const fencedA = fenceRoomStore(store, a, () => undefined);
    const fencedB = fenceRoomStore(store, b, (id) => lostHere.push(id));
    const bookmark = { roomId, modelId: 'm', name: 'b', tags: [], z: [1, 2], classLabel: null, psi: 1, weightsHash: null, version: 0, createdBy: 'x', requestId: 'fence-key-01' };
    const member = { memberId: 'mb', name: 'B', role: 'editor' as const };
    const rows = async () => ({
      bookmarks: (await database.rows<{ name: string }>(sql`select name from bookmarks where room_id = ${roomId}`)).map((r) => r.name),
      members: (await database.rows<{ member_id: string }>(sql`select member_id from room_members where room_id = ${roomId} order by member_id`)).map((r) => r.member_id),
      version: (await database.rows<{ version: number }>(sql`select version from rooms where id = ${roomId}`))[0]!.version,
    });
    const before = await rows();

    await expect(fencedB.insertBookmark(bookmark)).rejects.toBeInstanceOf(FencedError);
    await expect(fencedB.memberJoined(roomId, member)).rejects.toBeInstanceOf(FencedError);
    await expect(fencedB.memberLeft(roomId, 'mb')).rejects.toBeInstanceOf(FencedError);
    await expect(fencedB.saveSnapshot(roomId, 7, { z: [7, 7], psi: 1, classLabel: null })).rejects.toBeInstanceOf(FencedError);
    expect(lostHere).toEqual([roomId, roomId, roomId, roomId]);
    expect(await rows()).toEqual(before);

    // The holder writes them; its bookmark retried with the same requestId is the same one (B3).
    const saved = await fencedA.insertBookmark(bookmark);
    expect(saved.created).toBe(true);
    expect(await fencedA.insertBookmark(bookmark)).toEqual({ bookmark: saved.bookmark, created: false });
    await fencedA.memberJoined(roomId, { memberId: 'ma', name: 'A', role: 'editor' });
    expect(await rows()).toEqual({ ...before, bookmarks: ['b'], members: ['ma'] });

    // Any node creates rooms (nobody owns them yet) and rotates a room's tokens.
    const other = `room${randomBytes(5).toString('hex')}`;
    await fencedB.createRoom({ id: other, name: 'new', modelId: 'm', initial: { z: Float32Array.of(1, 1), psi: 1, classLabel: null, weights: {} }, tokens: [{ hash: randomBytes(32).toString('hex'), role: 'editor' }] });
    expect((await fencedB.roomInfo(other))?.name).toBe('new');
    expect((await fencedB.rotateToken(roomId, 'editor', randomBytes(32).toString('hex'))).revoked).toHaveLength(1);
    expect(lostHere).toHaveLength(4);
  });

  it('a released lease is free at once; an expired one after its ttl', async () => {
    const roomId = await newRoom();
    expect(await a.acquire(roomId)).toBe(true);
    await a.release(roomId);
    expect(await b.owner(roomId)).toBeUndefined();
    expect(await b.acquire(roomId)).toBe(true);
    // B stops renewing (as a killed node does): the lease expires after the ttl.
    b.forget(roomId);
    await new Promise((r) => setTimeout(r, TTL_MS + 100));
    expect(await a.owner(roomId)).toBeUndefined();
  });
});
