/**
 * History over the real server on port 0 with real socket.io-clients, on PGlite and PostgreSQL:
 * redo across members, revert, the history read for scrubbing, branches, rooms started from a
 * bookmark, and member rows (SPEC O12–O15, J7, J8). Each test checks the sender's ack and what
 * the other members receive.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { truncate } from '../../lib/latent/vector';
import { HISTORY_MAX_LIMIT, type LatentStateBroadcast } from '../../lib/protocol/rooms';
import { createRoom, leaveRoom, saveBookmark, sendOp } from '../../lib/realtime/room-client';
import * as schema from '../../server/db/schema';
import type { StoredOp } from '../../server/rooms/room-store';
import { Harness, MODEL, vector } from './rooms-harness';
import { describeOnEachDatabase } from './support/databases';
import { branchRoom, createRoomFrom, ok, roomHistory, saveBookmarkWith } from './support/room-requests';

/** The latent fields of a state, to compare states of different versions. */
const latent = (s: Pick<LatentStateBroadcast, 'z' | 'psi' | 'classLabel' | 'weights'>) => ({ z: s.z, psi: s.psi, classLabel: s.classLabel, weights: s.weights });

describeOnEachDatabase('rooms: history', (fixture) => {
  const h = new Harness(fixture);
  beforeAll(() => h.start());
  afterAll(() => h.dispose());

  /** A room with editors A and B and a viewer V. */
  async function room(model = MODEL) {
    const ids = await h.room(model);
    const a = await h.member(ids.roomId, ids.editorToken, 'Ada');
    const b = await h.member(ids.roomId, ids.editorToken, 'Bo');
    const v = await h.member(ids.roomId, ids.viewerToken, 'Vi');
    return { ...ids, a, b, v };
  }

  describe('O12: redo', () => {
    it('O12: one member redoes another\'s undo as a new version; every member gets it; a new op empties the redo stack', async () => {
      const { a, b, v } = await room();
      expect(await sendOp(a.socket, { kind: 'random', seed: 1 })).toEqual({ ok: true, data: { version: 1 } });
      expect(await sendOp(a.socket, { kind: 'psi', psi: 0.5 })).toEqual({ ok: true, data: { version: 2 } });
      const s2 = await v.waitFor('latent:state', (s) => s.version === 2);
      expect(await sendOp(b.socket, { kind: 'redo' })).toMatchObject({ ok: false, error: 'bad-request', message: 'nothing to redo' });
      expect(await sendOp(a.socket, { kind: 'undo' })).toEqual({ ok: true, data: { version: 3 } });
      // B redoes A's undo.
      expect(await sendOp(b.socket, { kind: 'redo' })).toEqual({ ok: true, data: { version: 4 } });
      for (const c of [a, b, v]) {
        const s4 = await c.waitFor('latent:state', (s) => s.version === 4);
        expect(s4).toMatchObject({ kind: 'redo', by: b.snapshot.memberId });
        expect(latent(s4)).toEqual(latent(s2));
      }
      // Undo twice, redo once, then a new op: nothing left to redo.
      await sendOp(a.socket, { kind: 'undo' });
      await sendOp(b.socket, { kind: 'undo' });
      expect(await sendOp(a.socket, { kind: 'redo' })).toEqual({ ok: true, data: { version: 7 } });
      expect(await sendOp(b.socket, { kind: 'class', classLabel: 0 })).toMatchObject({ ok: false, error: 'bad-request' });
      expect(await sendOp(b.socket, { kind: 'random', seed: 9 })).toEqual({ ok: true, data: { version: 8 } });
      expect(await sendOp(a.socket, { kind: 'redo' })).toMatchObject({ ok: false, error: 'bad-request', message: 'nothing to redo' });
      expect(await sendOp(v.socket, { kind: 'redo' })).toMatchObject({ ok: false, error: 'forbidden' });
      await v.waitFor('latent:state', (s) => s.version === 8);
      expect(v.seen('latent:state').map((s) => s.kind)).toEqual(['random', 'psi', 'undo', 'redo', 'undo', 'undo', 'redo', 'random']);
    });

    it('O12, R2: the redo stack comes back from the op log when the room reloads', async () => {
      const { roomId, editorToken, a, b, v } = await room();
      await sendOp(a.socket, { kind: 'random', seed: 3 });
      const s1 = await v.waitFor('latent:state', (s) => s.version === 1);
      await sendOp(a.socket, { kind: 'undo' });
      for (const c of [a, b, v]) expect(await leaveRoom(c.socket)).toMatchObject({ ok: true });
      expect(h.server.rooms.loadedIds()).not.toContain(roomId);
      const a2 = await h.member(roomId, editorToken, 'Ada');
      expect(await sendOp(a2.socket, { kind: 'redo' })).toEqual({ ok: true, data: { version: 3 } });
      expect(latent(await a2.waitFor('latent:state', (s) => s.version === 3))).toEqual(latent(s1));
    });
  });

  describe('O13: revert', () => {
    it('O13: revert sets the state of a past version as a new version, for every member; undo takes it back; bad versions change nothing', async () => {
      const { a, b, v } = await room();
      const initial = a.snapshot;
      await sendOp(a.socket, { kind: 'set', z: vector((i) => i / 9) });
      await sendOp(b.socket, { kind: 'psi', psi: 0.25 });
      await sendOp(a.socket, { kind: 'random', seed: 4 });
      const s2 = await v.waitFor('latent:state', (s) => s.version === 2);
      const s3 = await v.waitFor('latent:state', (s) => s.version === 3);
      expect(await sendOp(b.socket, { kind: 'revert', version: 2 })).toEqual({ ok: true, data: { version: 4 } });
      for (const c of [a, b, v]) {
        const s4 = await c.waitFor('latent:state', (s) => s.version === 4);
        expect(s4).toMatchObject({ kind: 'revert', by: b.snapshot.memberId });
        expect(latent(s4)).toEqual(latent(s2));
      }
      expect(await sendOp(a.socket, { kind: 'revert', version: 0 })).toEqual({ ok: true, data: { version: 5 } });
      expect(latent(await v.waitFor('latent:state', (s) => s.version === 5))).toEqual(latent(initial));
      expect(await sendOp(a.socket, { kind: 'undo' })).toEqual({ ok: true, data: { version: 6 } });
      expect(latent(await v.waitFor('latent:state', (s) => s.version === 6))).toEqual(latent(s2));
      // The frame of the new version is the image of the state it went back to.
      const frame = await v.waitFor('frame', (f) => f.version === 6);
      const expected = await h.engine.decodePng(MODEL, truncate(s2.z, undefined, s2.psi));
      expect(Buffer.from(frame.data as Uint8Array)).toEqual(Buffer.from(expected.data));

      expect(await sendOp(a.socket, { kind: 'revert', version: 7 })).toMatchObject({ ok: false, error: 'bad-request' });
      expect(await sendOp(a.socket, { kind: 'revert', version: -1 })).toMatchObject({ ok: false, error: 'bad-request' });
      expect(await sendOp(a.socket, { kind: 'revert', version: 1.5 })).toMatchObject({ ok: false, error: 'bad-request' });
      expect(await sendOp(v.socket, { kind: 'revert', version: 1 })).toMatchObject({ ok: false, error: 'forbidden' });
      expect(h.server.rooms.get(a.snapshot.roomId)?.version).toBe(6);
      expect(v.seen('latent:state').map((s) => s.version)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(latent(s3)).not.toEqual(latent(s2));
    });
  });

  describe('O14: history', () => {
    it('O14: room:history answers the log with each state, newest first, in pages; viewers may read it', async () => {
      const { a, b, v } = await room();
      const sent = [
        { kind: 'random', seed: 11 },
        { kind: 'psi', psi: 0.75 },
        { kind: 'undo' },
        { kind: 'set', z: vector(() => 0.5) },
        { kind: 'revert', version: 1 },
      ] as const;
      for (const [i, op] of sent.entries()) await sendOp(i % 2 ? b.socket : a.socket, op);
      const states = await Promise.all([1, 2, 3, 4, 5].map((n) => v.waitFor('latent:state', (s) => s.version === n)));

      const all = ok(await roomHistory(v.socket));
      expect(all.entries.map((e) => e.version)).toEqual([5, 4, 3, 2, 1, 0]);
      expect(all.entries.map((e) => e.kind)).toEqual(['revert', 'set', 'undo', 'psi', 'random', 'create']);
      for (const e of all.entries.slice(0, 5)) {
        const s = states[e.version - 1]!;
        expect(latent(e)).toEqual(latent(s));
        expect(e.by).toBe(s.by);
        expect(e.byName).toBe(s.by === a.snapshot.memberId ? 'Ada' : 'Bo');
        expect(new Date(e.at).toISOString()).toBe(e.at);
      }
      expect(all.entries[5]).toMatchObject({ version: 0, kind: 'create', by: 'server', byName: null, z: a.snapshot.z, psi: 1 });

      const page1 = ok(await roomHistory(a.socket, { limit: 2 }));
      expect(page1.entries.map((e) => e.version)).toEqual([5, 4]);
      const page2 = ok(await roomHistory(a.socket, { before: 4, limit: 3 }));
      expect(page2.entries.map((e) => e.version)).toEqual([3, 2, 1]);
      expect(ok(await roomHistory(a.socket, { before: 0 })).entries).toEqual([]);

      for (const bad of [{ limit: 0 }, { limit: HISTORY_MAX_LIMIT + 1 }, { before: -1 }, { limit: 2.5 }, { extra: 1 }]) {
        expect(await roomHistory(a.socket, bad as never)).toMatchObject({ ok: false, error: 'bad-request' });
      }
      const outsider = await h.client();
      expect(await roomHistory(outsider.socket)).toMatchObject({ ok: false, error: 'not-joined' });
    });
  });

  describe('O15: branch', () => {
    it('O15, E7: an editor branches at a past version: a new room of the same model at that state, with the bookmarks copied and its origin in the log', async () => {
      const { roomId, a, b, v } = await room();
      await sendOp(a.socket, { kind: 'random', seed: 21 });
      const mark = ok(await saveBookmarkWith(a.socket, { name: 'first', tags: ['x'] }));
      await sendOp(a.socket, { kind: 'psi', psi: 0.5 });
      await sendOp(b.socket, { kind: 'random', seed: 22 });
      const s2 = await v.waitFor('latent:state', (s) => s.version === 2);

      expect(await branchRoom(v.socket, 2)).toMatchObject({ ok: false, error: 'forbidden' });
      expect(await branchRoom(b.socket, 4)).toMatchObject({ ok: false, error: 'bad-request' });
      const branch = ok(await branchRoom(b.socket, 2, 'the halves'));
      expect(branch.roomId).not.toBe(roomId);
      // Nothing in the source room moved.
      expect(h.server.rooms.get(roomId)?.version).toBe(3);

      const c = await h.member(branch.roomId, branch.editorToken, 'Cy');
      const w = await h.member(branch.roomId, branch.viewerToken, 'Wu');
      expect(c.snapshot).toMatchObject({ version: 0, modelId: MODEL, ...latent(s2) });
      expect(c.snapshot.bookmarks).toHaveLength(1);
      const copy = c.snapshot.bookmarks[0]!;
      expect(copy.id).not.toBe(mark.id);
      expect(copy).toEqual({ ...mark, id: copy.id, roomId: branch.roomId });
      // The copy is usable in ops of the new room, and the new room goes its own way.
      expect(await sendOp(c.socket, { kind: 'lerp', from: { bookmark: copy.id }, to: { bookmark: copy.id }, t: 0 })).toEqual({ ok: true, data: { version: 1 } });
      expect((await w.waitFor('latent:state', (s) => s.version === 1)).z).toEqual(mark.z);
      const [first] = await h.database.db
        .select({ op: schema.roomOps.op })
        .from(schema.roomOps)
        .where(and(eq(schema.roomOps.roomId, branch.roomId), eq(schema.roomOps.version, 0)));
      expect((first?.op as unknown as StoredOp).origin).toEqual({ room: roomId, version: 2 });
      const [row] = await h.database.db.select({ name: schema.rooms.name, modelId: schema.rooms.modelId }).from(schema.rooms).where(eq(schema.rooms.id, branch.roomId));
      expect(row).toEqual({ name: 'the halves', modelId: MODEL });
      // E7: branches spend the room:create budget (5 per socket, B has used 2).
      const more = await Promise.all(Array.from({ length: 5 }, () => branchRoom(b.socket, 0)));
      expect(more.map((r) => (r.ok ? 'ok' : r.error))).toEqual(['ok', 'ok', 'ok', 'rate-limited', 'rate-limited']);
    });
  });

  describe('J7: a room from a bookmark', () => {
    it('J7: room:create with from: { bookmark } starts at the bookmark\'s z, psi and class; unknown, malformed or other-model bookmarks are refused', async () => {
      const { a, v } = await room('cgan-mnist');
      await sendOp(a.socket, { kind: 'random', seed: 31 });
      await sendOp(a.socket, { kind: 'class', classLabel: 6 });
      await sendOp(a.socket, { kind: 'psi', psi: 0.6 });
      await v.waitFor('latent:state', (s) => s.version === 3);
      const mark = ok(await saveBookmark(a.socket, 'a six'));
      const c = await h.client();
      const before = await h.database.db.$count(schema.rooms);
      expect(await createRoomFrom(c.socket, 'cgan-mnist', '00000000-0000-4000-8000-000000000000')).toMatchObject({ ok: false, error: 'not-found' });
      expect(await createRoomFrom(c.socket, 'cgan-mnist', 'not-a-uuid')).toMatchObject({ ok: false, error: 'bad-request' });
      expect(await createRoomFrom(c.socket, MODEL, mark.id)).toMatchObject({ ok: false, error: 'bad-request' });
      expect(await h.database.db.$count(schema.rooms)).toBe(before);

      const created = ok(await createRoomFrom(c.socket, 'cgan-mnist', mark.id));
      const m = await h.member(created.roomId, created.viewerToken, 'Mo');
      expect(m.snapshot).toMatchObject({ version: 0, z: mark.z, psi: mark.psi, classLabel: 6, weights: {}, bookmarks: [] });
      // Its first frame is the bookmark's image.
      const frame = await m.waitFor('frame', (f) => f.version === 0);
      const image = await fetch(`${h.server.url}/api/bookmarks/${mark.id}/image.png`);
      expect(Buffer.from(frame.data as Uint8Array)).toEqual(Buffer.from(await image.arrayBuffer()));
      // The plain form still works.
      expect(await createRoom(c.socket, MODEL)).toMatchObject({ ok: true });
    });
  });

  describe('J8: member rows', () => {
    it('J8: a join writes the member\'s row (name, role, first join); leaving updates its last-seen time', async () => {
      const { roomId, a, v } = await room();
      const rows = await h.database.db.select().from(schema.roomMembers).where(eq(schema.roomMembers.roomId, roomId));
      expect(rows.map((r) => [r.displayName, r.role]).sort()).toEqual([
        ['Ada', 'editor'],
        ['Bo', 'editor'],
        ['Vi', 'viewer'],
      ]);
      const mine = rows.find((r) => r.memberId === v.snapshot.memberId)!;
      expect(mine.lastSeenAt.getTime()).toBe(mine.joinedAt.getTime());
      await new Promise((r) => setTimeout(r, 20));
      expect(await leaveRoom(v.socket)).toMatchObject({ ok: true });
      await a.waitFor('room:member-left', (m) => m.memberId === v.snapshot.memberId);
      const [after] = await h.database.db
        .select()
        .from(schema.roomMembers)
        .where(and(eq(schema.roomMembers.roomId, roomId), eq(schema.roomMembers.memberId, v.snapshot.memberId)));
      expect(after!.joinedAt.getTime()).toBe(mine.joinedAt.getTime());
      expect(after!.lastSeenAt.getTime()).toBeGreaterThan(mine.joinedAt.getTime());
    });
  });
});
