/**
 * Reconnects and restarts (SPEC R1, R2): the real server on port 0 with real socket.io-clients;
 * the restart closes the server and its embedded database and starts both again on the same
 * data directory.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinRoom, revokeLink, saveBookmark, sendOp } from '../../lib/realtime/room-client';
import * as schema from '../../server/db/schema';
import { Harness, vector } from './rooms-harness';
import { describeOnEachDatabase } from './support/databases';

describeOnEachDatabase('rooms: reconnect and restart', (fixture) => {
  const h = new Harness(fixture);

  beforeAll(() => h.start());
  afterAll(() => h.dispose());

  describe('R: reconnect and restart', () => {
    it('R1: a member whose connection drops is recovered with its membership and gets the current snapshot', async () => {
      const { roomId, editorToken } = await h.room();
      const a = await h.member(roomId, editorToken, 'Ada');
      const b = await h.member(roomId, editorToken, 'Bo');
      // Both have received a broadcast (recovery resumes from the last packet offset a client saw).
      expect(await sendOp(a.socket, { kind: 'random', seed: 1 })).toMatchObject({ ok: true });
      await b.waitFor('latent:state', (s) => s.version === 1);
      const idBefore = b.socket.id;

      // Drop B's transport (as a network blip does); A steers while B is away.
      b.socket.io.engine.close();
      await a.waitFor('room:member-left', (m) => m.memberId === b.snapshot.memberId);
      expect(await sendOp(a.socket, { kind: 'psi', psi: 0.25 })).toEqual({ ok: true, data: { version: 2 } });

      // An op B sends while away is buffered by the client and applied once B is back.
      const buffered = sendOp(b.socket, { kind: 'random', seed: 5 });

      const snapshot = await b.waitFor('room:snapshot');
      expect(b.socket.recovered).toBe(true);
      expect(b.socket.id).toBe(idBefore);
      expect(snapshot).toMatchObject({ roomId, version: 2, psi: 0.25, memberId: b.snapshot.memberId, role: 'editor' });
      expect(snapshot.members.map((m) => m.memberId).sort()).toEqual([a.snapshot.memberId, b.snapshot.memberId].sort());
      expect(await a.waitFor('room:member-joined', (m) => m.memberId === b.snapshot.memberId)).toMatchObject({ name: 'Bo' });
      expect(await buffered).toEqual({ ok: true, data: { version: 3 } });
      // B continues as the same member.
      expect(await sendOp(b.socket, { kind: 'random', seed: 2 })).toEqual({ ok: true, data: { version: 4 } });
      expect(await a.waitFor('latent:state', (s) => s.version === 4)).toMatchObject({ by: b.snapshot.memberId });
    });

    it('R1: ops a lone member buffered while away wait for its room to reload, then apply in order', async () => {
      const { roomId, editorToken } = await h.room();
      const b = await h.member(roomId, editorToken, 'Bo');
      expect(await sendOp(b.socket, { kind: 'random', seed: 1 })).toMatchObject({ ok: true });
      await b.waitFor('latent:state', (s) => s.version === 1);
      // Alone, B's drop evicts the room; its recovery has to load it again from the database.
      const dropped = new Promise<void>((resolve) => b.socket.once('disconnect', () => resolve()));
      b.socket.io.engine.close();
      await dropped;
      const buffered = [sendOp(b.socket, { kind: 'random', seed: 2 }), sendOp(b.socket, { kind: 'psi', psi: 0.5 })];
      expect(await Promise.all(buffered)).toEqual([
        { ok: true, data: { version: 2 } },
        { ok: true, data: { version: 3 } },
      ]);
      expect(b.socket.recovered).toBe(true);
    });

    it('J6, R1: a member whose link is revoked while it is away is refused at recovery', async () => {
      const { roomId, editorToken, viewerToken } = await h.room();
      const a = await h.member(roomId, editorToken, 'Ada');
      const b = await h.member(roomId, viewerToken, 'Bo');
      expect(await sendOp(a.socket, { kind: 'random', seed: 1 })).toMatchObject({ ok: true });
      await b.waitFor('latent:state', (s) => s.version === 1);
      b.socket.io.engine.close();
      await a.waitFor('room:member-left', (m) => m.memberId === b.snapshot.memberId);
      expect(await revokeLink(a.socket, 'viewer')).toMatchObject({ ok: true });
      const reason = await new Promise<string>((resolve) => b.socket.on('disconnect', (r) => r === 'io server disconnect' && resolve(r)));
      expect(reason).toBe('io server disconnect');
      expect(b.seen('room:snapshot')).toEqual([]);
      expect(h.server.rooms.get(roomId)?.members.has(b.snapshot.memberId)).toBe(false);
      // A saw B join once (before the drop), never again.
      expect(a.seen('room:member-joined').filter((m) => m.memberId === b.snapshot.memberId)).toHaveLength(1);
    });

    it('R2: every acked op survives a restart on the same data directory, bookmarks and undo history included', async () => {
      const { roomId, editorToken, viewerToken } = await h.room();
      const a = await h.member(roomId, editorToken, 'Ada');
      const z1 = vector((i) => i / 7);
      await sendOp(a.socket, { kind: 'set', z: z1 });
      const bookmark = await saveBookmark(a.socket, 'ramp');
      if (!bookmark.ok) throw new Error('bookmark failed');
      // Fire a burst and stop the server as soon as the last ack is in: nothing acked may be lost.
      const acks = await Promise.all(Array.from({ length: 10 }, (_, i) => sendOp(a.socket, { kind: 'random', seed: 50 + i })));
      const psi = await sendOp(a.socket, { kind: 'psi', psi: 0.5 });
      expect(psi).toEqual({ ok: true, data: { version: 12 } });
      expect(acks.every((r) => r.ok)).toBe(true);
      const before = await a.waitFor('latent:state', (s) => s.version === 12);

      await h.stopServer();
      await h.start();
      // The room went idle when the server stopped: its snapshot row caught up with the op log.
      const [row] = await h.database.db.select().from(schema.rooms).where(eq(schema.rooms.id, roomId));
      expect(row).toMatchObject({ version: 12, state: { z: before.z, psi: 0.5, classLabel: null } });

      const b = await h.member(roomId, viewerToken, 'Bo');
      expect(b.snapshot).toMatchObject({ version: 12, z: before.z, psi: 0.5, classLabel: null });
      expect(b.snapshot.bookmarks).toEqual([bookmark.data]);
      const a2 = await h.member(roomId, editorToken, 'Ada');
      // The undo history came back from the op log: undo walks back through psi and the burst.
      expect(await sendOp(a2.socket, { kind: 'undo' })).toEqual({ ok: true, data: { version: 13 } });
      const undone = await b.waitFor('latent:state', (s) => s.version === 13);
      expect(undone).toMatchObject({ psi: 1, z: before.z });
      // Bookmarks still resolve after the reload.
      expect(await sendOp(a2.socket, { kind: 'lerp', from: { bookmark: bookmark.data.id }, to: { bookmark: bookmark.data.id }, t: 0.5 })).toEqual({
        ok: true,
        data: { version: 14 },
      });
      expect((await b.waitFor('latent:state', (s) => s.version === 14)).z).toEqual(z1);
      // Tokens still work and still only for their room.
      const c = await h.client();
      expect(await joinRoom(c.socket, { roomId: 'AAAAAAAAAAAA', token: editorToken, name: 'X' })).toMatchObject({ ok: false, error: 'unauthorized' });
    });
  });
});
