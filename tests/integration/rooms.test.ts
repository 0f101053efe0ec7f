/**
 * Rooms over the real server on port 0 with real socket.io-clients: each test names the SPEC
 * rule it proves (lib/protocol/SPEC.md) and checks the sender's ack and the other members'
 * broadcasts.
 */
import { createHash } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { io as ioClient } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededNormal } from '../../lib/latent/random';
import { lerp, slerp, truncate } from '../../lib/latent/vector';
import { PROTOCOL_VERSION } from '../../lib/protocol/events';
import { createRoom, joinRoom, leaveRoom, revokeLink, saveBookmark, sendOp } from '../../lib/realtime/room-client';
import type { ClientSocket } from '../../lib/realtime/client-socket';
import { startServer } from '../../server/app';
import * as schema from '../../server/db/schema';
import { toBytes } from '../../server/rooms/encode-frame';
import { readPng } from './support/png';
import { f32, Harness, LATENT_DIM, MODEL, vector } from './rooms-harness';
import { describeOnEachDatabase } from './support/databases';

describeOnEachDatabase('rooms', (fixture) => {
  const h = new Harness(fixture);

  beforeAll(() => h.start());
  afterAll(() => h.dispose());

  describe('J: create and join', () => {
    it('J1: room:create answers a room id and two 256-bit tokens, stored only as SHA-256', async () => {
      const c = await h.client();
      const res = await createRoom(c.socket, MODEL, 'Lab');
      expect(res.ok).toBe(true);
      if (!res.ok) return;
      const { roomId, editorToken, viewerToken } = res.data;
      expect(roomId).toMatch(/^[A-Za-z0-9_-]{12}$/);
      for (const t of [editorToken, viewerToken]) expect(Buffer.from(t, 'base64url')).toHaveLength(32);
      expect(editorToken).not.toBe(viewerToken);
      const rows = await h.database.rows<{ token_hash: string; role: string }>(
        sql`select token_hash, role from capability_tokens where room_id = ${roomId} order by role`,
      );
      const sha = (t: string) => createHash('sha256').update(t).digest('hex');
      expect(rows).toEqual([
        { token_hash: sha(editorToken), role: 'editor' },
        { token_hash: sha(viewerToken), role: 'viewer' },
      ]);
      const dump = JSON.stringify(await h.database.rows(sql`select * from capability_tokens`));
      expect(dump).not.toContain(editorToken);
      expect(dump).not.toContain(viewerToken);
      // Used, misused and revoked: the server's debug log never shows a token.
      const a = await h.member(roomId, editorToken, 'Ada');
      const x = await h.client();
      await joinRoom(x.socket, { roomId, token: viewerToken.slice(1), name: 'X' });
      await joinRoom(x.socket, { roomId: 'AAAAAAAAAAAA', token: editorToken, name: 'X' });
      const rotated = await revokeLink(a.socket, 'viewer');
      await leaveRoom(a.socket);
      expect(h.logText.length).toBeGreaterThan(0);
      const log = h.logText.join('\n');
      for (const t of [editorToken, viewerToken, rotated.ok ? rotated.data.token : 'none']) expect(log).not.toContain(t);
    });

    it('J1: an unknown model is not-found and creates nothing', async () => {
      const c = await h.client();
      const before = await h.database.db.$count(schema.rooms);
      expect(await createRoom(c.socket, 'no-such-model')).toMatchObject({ ok: false, error: 'not-found' });
      expect(await h.database.db.$count(schema.rooms)).toBe(before);
    });

    it('J2: join answers the full snapshot; the others get room:member-joined', async () => {
      const { roomId, editorToken, viewerToken } = await h.room();
      const a = await h.member(roomId, editorToken, 'Ada');
      expect(a.snapshot).toMatchObject({
        roomId,
        modelId: MODEL,
        latentDim: LATENT_DIM,
        imageShape: [28, 28, 1],
        version: 0,
        psi: 1,
        classLabel: null,
        numClasses: null,
        weights: {},
        directions: [],
        bookmarks: [],
        role: 'editor',
      });
      expect(a.snapshot.z).toHaveLength(LATENT_DIM);
      expect(a.snapshot.z).toEqual(f32(a.snapshot.z));
      expect(a.snapshot.members).toEqual([{ memberId: a.snapshot.memberId, name: 'Ada', color: expect.any(String), role: 'editor' }]);

      const b = await h.member(roomId, viewerToken, 'Bo');
      expect(b.snapshot.role).toBe('viewer');
      expect(b.snapshot.z).toEqual(a.snapshot.z);
      expect(b.snapshot.members.map((m) => m.name)).toEqual(['Ada', 'Bo']);
      const joined = await a.waitFor('room:member-joined');
      expect(joined).toEqual(b.snapshot.members[1]);
      expect(b.seen('room:member-joined')).toEqual([]);
    });

    it('J3: a join with another protocol version is protocol-mismatch and joins nothing', async () => {
      const { roomId, editorToken } = await h.room();
      const c = await h.client();
      const res = await joinRoom(c.socket, { roomId, token: editorToken, name: 'Old', protocolVersion: PROTOCOL_VERSION + 1 });
      expect(res).toMatchObject({ ok: false, error: 'protocol-mismatch' });
      expect(await sendOp(c.socket, { kind: 'random', seed: 1 })).toMatchObject({ ok: false, error: 'not-joined' });
    });

    it('J4: an unknown room and a wrong token get the same unauthorized answer', async () => {
      const { roomId, editorToken } = await h.room();
      const c = await h.client();
      const wrongToken = await joinRoom(c.socket, { roomId, token: editorToken.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')), name: 'X' });
      const wrongRoom = await joinRoom(c.socket, { roomId: 'AAAAAAAAAAAA', token: editorToken, name: 'X' });
      expect(wrongToken).toEqual({ ok: false, error: 'unauthorized', message: 'no such room or token' });
      expect(wrongRoom).toEqual(wrongToken);
      expect(h.server.rooms.loadedIds()).not.toContain('AAAAAAAAAAAA');
    });

    it('J5: one room per socket; room:leave acks, the others get room:member-left; the last one out evicts the room', async () => {
      const { roomId, editorToken } = await h.room();
      const a = await h.member(roomId, editorToken, 'Ada');
      const b = await h.member(roomId, editorToken, 'Bo');
      expect(await joinRoom(a.socket, { roomId, token: editorToken, name: 'Again' })).toMatchObject({ ok: false, error: 'bad-request' });
      expect(await leaveRoom(b.socket)).toEqual({ ok: true, data: {} });
      expect(await a.waitFor('room:member-left')).toEqual({ memberId: b.snapshot.memberId });
      expect(await sendOp(b.socket, { kind: 'random', seed: 1 })).toMatchObject({ ok: false, error: 'not-joined' });
      expect(await leaveRoom(b.socket)).toMatchObject({ ok: false, error: 'not-joined' });
      expect(h.server.rooms.loadedIds()).toContain(roomId);
      expect(await leaveRoom(a.socket)).toMatchObject({ ok: true });
      expect(h.server.rooms.loadedIds()).not.toContain(roomId);
    });
  });

  describe('J6: revoking a link', () => {
    it('J6: an editor revokes the viewer link: its sockets are cut at once, the old token is dead, the new one works', async () => {
      const { roomId, editorToken, viewerToken } = await h.room();
      const a = await h.member(roomId, editorToken, 'Ada');
      const b = await h.member(roomId, viewerToken, 'Bo');
      const c = await h.member(roomId, viewerToken, 'Cy');
      expect(await revokeLink(b.socket, 'editor')).toMatchObject({ ok: false, error: 'forbidden' });
      const cut = [b, c].map((x) => new Promise<string>((resolve) => x.socket.once('disconnect', resolve)));
      const t0 = Date.now();
      const res = await revokeLink(a.socket, 'viewer');
      expect(res).toMatchObject({ ok: true, data: { token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) } });
      if (!res.ok) return;
      expect(await Promise.all(cut)).toEqual(['io server disconnect', 'io server disconnect']);
      expect(Date.now() - t0).toBeLessThan(5_000);
      for (const x of [b, c]) await a.waitFor('room:member-left', (m) => m.memberId === x.snapshot.memberId);
      const d = await h.client();
      expect(await joinRoom(d.socket, { roomId, token: viewerToken, name: 'Bo' })).toMatchObject({ ok: false, error: 'unauthorized' });
      expect(await joinRoom(d.socket, { roomId, token: res.data.token, name: 'Bo' })).toMatchObject({ ok: true, data: { role: 'viewer' } });
      // The editor link is untouched.
      expect(await sendOp(a.socket, { kind: 'random', seed: 3 })).toEqual({ ok: true, data: { version: 1 } });
    });

    it('J6: revoking your own (editor) link keeps you in and cuts the other editors', async () => {
      const { roomId, editorToken } = await h.room();
      const a = await h.member(roomId, editorToken, 'Ada');
      const b = await h.member(roomId, editorToken, 'Bo');
      const cut = new Promise<string>((resolve) => b.socket.once('disconnect', resolve));
      const res = await revokeLink(a.socket, 'editor');
      expect(res.ok).toBe(true);
      expect(await cut).toBe('io server disconnect');
      expect(await sendOp(a.socket, { kind: 'random', seed: 3 })).toEqual({ ok: true, data: { version: 1 } });
      const c = await h.client();
      expect(await joinRoom(c.socket, { roomId, token: editorToken, name: 'X' })).toMatchObject({ ok: false, error: 'unauthorized' });
    });
  });

  describe('O: ops', () => {
    it('O1, O2, O9: set is acked with version + 1 and every member, sender included, gets latent:state', async () => {
      const { roomId, editorToken, viewerToken } = await h.room();
      const a = await h.member(roomId, editorToken, 'Ada');
      const b = await h.member(roomId, viewerToken, 'Bo');
      const z = vector((i) => Math.sin(i) * 1.1);
      expect(await sendOp(a.socket, { kind: 'set', z })).toEqual({ ok: true, data: { version: 1 } });
      for (const c of [a, b]) {
        expect(await c.waitFor('latent:state')).toEqual({ version: 1, z, psi: 1, classLabel: null, weights: {}, by: a.snapshot.memberId, kind: 'set' });
      }
    });

    it('O1: concurrent ops from two editors get distinct consecutive versions; every client sees every version in order', async () => {
      const { roomId, editorToken } = await h.room();
      const a = await h.member(roomId, editorToken, 'Ada');
      const b = await h.member(roomId, editorToken, 'Bo');
      const N = 15;
      const acks = await Promise.all(
        Array.from({ length: N }, (_, i) => sendOp(i % 2 ? a.socket : b.socket, { kind: 'random', seed: i })),
      );
      const versions = acks.map((r) => (r.ok ? r.data.version : -1)).sort((x, y) => x - y);
      expect(versions).toEqual(Array.from({ length: N }, (_, i) => i + 1));
      for (const c of [a, b]) {
        await c.waitFor('latent:state', (s) => s.version === N);
        expect(c.seen('latent:state').map((s) => s.version)).toEqual(versions);
      }
      // The z of each version is the op's own seed: ops were applied whole, in arrival order.
      const last = a.seen('latent:state').at(-1)!;
      const seedOfLast = acks.findIndex((r) => r.ok && r.data.version === N);
      expect(last.z).toEqual(f32(seededNormal(seedOfLast, LATENT_DIM)));
    });
  });

  describe('O, B: op semantics and bookmarks', () => {
    /** A room with an editor A, a viewer B, and the model's id in the directions table. */
    async function room() {
      const ids = await h.room();
      const a = await h.member(ids.roomId, ids.editorToken, 'Ada');
      const b = await h.member(ids.roomId, ids.viewerToken, 'Bo');
      let version = 0;
      /** Sends an op from A; returns the state B received for it (after checking A's ack). */
      const op = async (o: Parameters<typeof sendOp>[1]) => {
        const res = await sendOp(a.socket, o);
        expect(res).toEqual({ ok: true, data: { version: version + 1 } });
        version += 1;
        const v = version;
        return b.waitFor('latent:state', (s) => s.version === v);
      };
      return { ...ids, a, b, op };
    }

    it('B1: bookmark:save names the current z; everyone gets bookmark:saved; viewers cannot save', async () => {
      const { a, b, op } = await room();
      const z = vector((i) => i / 10);
      await op({ kind: 'set', z });
      const res = await saveBookmark(a.socket, 'ramp');
      expect(res).toMatchObject({ ok: true, data: { name: 'ramp', z, createdBy: 'Ada', version: 1, psi: 1, classLabel: null, tags: [] } });
      if (!res.ok) return;
      expect(await b.waitFor('bookmark:saved')).toEqual(res.data);
      expect(await saveBookmark(b.socket, 'mine')).toMatchObject({ ok: false, error: 'forbidden' });
    });

    it('O3: nudge moves z by amount along the unit direction (inline vector or stored direction id)', async () => {
      const { roomId, editorToken, viewerToken, a, b, op } = await room();
      const z0 = vector(() => 0.5);
      await op({ kind: 'set', z: z0 });
      const dir = vector((i) => (i === 3 ? 2 : 0));
      const s1 = await op({ kind: 'nudge', direction: { vector: dir }, amount: 0.25 });
      expect(s1.z).toEqual(z0.map((v, i) => (i === 3 ? Math.fround(0.75) : v)));
      expect(s1.kind).toBe('nudge');
      // A stored direction of the model, loaded with the room: insert one, evict the room, rejoin.
      const [row] = await h.database.db
        .insert(schema.directions)
        .values({ modelId: MODEL, name: 'axis 5', method: 'test', vector: vector((i) => (i === 5 ? -3 : 0)) })
        .returning({ id: schema.directions.id });
      for (const c of [a, b]) expect(await leaveRoom(c.socket)).toMatchObject({ ok: true });
      expect(h.server.rooms.loadedIds()).not.toContain(roomId);
      const a2 = await h.member(roomId, editorToken, 'Ada');
      const b2 = await h.member(roomId, viewerToken, 'Bo');
      expect(a2.snapshot).toMatchObject({ version: 2, z: s1.z });
      expect(await sendOp(a2.socket, { kind: 'nudge', direction: { direction: row!.id }, amount: -2 })).toEqual({ ok: true, data: { version: 3 } });
      const s3 = await b2.waitFor('latent:state', (s) => s.version === 3);
      expect(s3.z).toEqual(s1.z.map((v, i) => (i === 5 ? Math.fround(v + 2) : v)));
    });

    it('O4: lerp and slerp between two bookmarks at t', async () => {
      const { a, op } = await room();
      const p = vector((i) => (i % 2 ? 1 : -1));
      const q = vector((i) => (i < 32 ? 2 : 0));
      await op({ kind: 'set', z: p });
      const bp = await saveBookmark(a.socket, 'p');
      await op({ kind: 'set', z: q });
      const bq = await saveBookmark(a.socket, 'q');
      if (!bp.ok || !bq.ok) throw new Error('bookmark failed');
      const l = await op({ kind: 'lerp', from: { bookmark: bp.data.id }, to: { bookmark: bq.data.id }, t: 0.25 });
      expect(l.z).toEqual(Array.from(lerp(p, q, 0.25)));
      const s = await op({ kind: 'slerp', from: { bookmark: bp.data.id }, to: { current: true }, t: 0.5 });
      expect(s.z).toEqual(Array.from(slerp(p, l.z, 0.5)));
    });

    it('O5: sum computes a - b + c over bookmarks, inline vectors and the current z', async () => {
      const { a, op } = await room();
      const va = vector((i) => i / 64);
      const vb = vector((i) => (i % 3) - 1);
      await op({ kind: 'set', z: va });
      const ba = await saveBookmark(a.socket, 'a');
      if (!ba.ok) throw new Error('bookmark failed');
      const vc = vector(() => 0.125);
      const s = await op({
        kind: 'sum',
        terms: [
          { ref: { bookmark: ba.data.id }, weight: 1 },
          { ref: { vector: vb }, weight: -1 },
          { ref: { current: true }, weight: 1 },
          { ref: { vector: vc }, weight: 2 },
        ],
      });
      expect(s.z).toEqual(f32(va.map((x, i) => x - vb[i]! + x + 2 * vc[i]!)));
    });

    it('O6, O7: random draws the seeded normal z; psi changes only psi', async () => {
      const { op } = await room();
      const r = await op({ kind: 'random', seed: 12345 });
      expect(r.z).toEqual(f32(seededNormal(12345, LATENT_DIM)));
      const p = await op({ kind: 'psi', psi: 0.7 });
      expect(p).toMatchObject({ psi: Math.fround(0.7), z: r.z, kind: 'psi' });
    });

    it('O8: undo restores the state before the last op not undone, as a new version; empty history is bad-request', async () => {
      const { a, b, op } = await room();
      const s0 = a.snapshot;
      const s1 = await op({ kind: 'random', seed: 1 });
      await op({ kind: 'psi', psi: 0.5 });
      const u1 = await op({ kind: 'undo' });
      expect(u1).toMatchObject({ version: 3, z: s1.z, psi: 1, kind: 'undo' });
      const u2 = await op({ kind: 'undo' });
      expect(u2).toMatchObject({ version: 4, z: s0.z, psi: 1 });
      expect(await sendOp(a.socket, { kind: 'undo' })).toMatchObject({ ok: false, error: 'bad-request', message: 'nothing to undo' });
      expect(b.seen('latent:state').map((s) => s.version)).toEqual([1, 2, 3, 4]);
    });
  });

  describe('E: refusals change nothing, and the other members notice nothing', () => {
    it('E1, E3, E4, E5, E6: each bad request gets its error; version, z, bookmarks and the others are untouched', async () => {
      const { roomId, editorToken, viewerToken } = await h.room();
      const a = await h.member(roomId, editorToken, 'Ada');
      const v = await h.member(roomId, viewerToken, 'Vi');
      const outsider = await h.client();
      const raw = a.socket as unknown as import('socket.io-client').Socket;
      const good = vector(() => 1);
      const short = good.slice(1);
      const huge = vector(() => 3e38);
      const cases: { name: string; send(): Promise<unknown>; error: string }[] = [
        { name: 'viewer op', send: () => sendOp(v.socket, { kind: 'random', seed: 1 }), error: 'forbidden' },
        { name: 'op before join', send: () => sendOp(outsider.socket, { kind: 'random', seed: 1 }), error: 'not-joined' },
        { name: 'unknown kind', send: () => raw.timeout(5_000).emitWithAck('latent:op', { kind: 'teleport' }), error: 'bad-request' },
        { name: 'not an object', send: () => raw.timeout(5_000).emitWithAck('latent:op', 'set'), error: 'bad-request' },
        { name: 'extra field', send: () => raw.timeout(5_000).emitWithAck('latent:op', { kind: 'undo', all: true }), error: 'bad-request' },
        { name: 'string in z', send: () => raw.timeout(5_000).emitWithAck('latent:op', { kind: 'set', z: [...short, '1'] }), error: 'bad-request' },
        { name: 'NaN in z (JSON null)', send: () => sendOp(a.socket, { kind: 'set', z: [...short, NaN] }), error: 'bad-request' },
        { name: 'Infinity in z', send: () => sendOp(a.socket, { kind: 'set', z: [...short, Infinity] }), error: 'bad-request' },
        { name: 'z too short', send: () => sendOp(a.socket, { kind: 'set', z: short }), error: 'bad-request' },
        { name: 'z too long', send: () => sendOp(a.socket, { kind: 'set', z: [...good, 1] }), error: 'bad-request' },
        { name: 'beyond float32', send: () => sendOp(a.socket, { kind: 'set', z: vector(() => 1e39) }), error: 'bad-request' },
        { name: 'overflowing sum', send: () => sendOp(a.socket, { kind: 'sum', terms: [{ ref: { vector: huge }, weight: 100 }] }), error: 'bad-request' },
        { name: 'zero direction', send: () => sendOp(a.socket, { kind: 'nudge', direction: { vector: vector(() => 0) }, amount: 1 }), error: 'bad-request' },
        { name: 'short direction', send: () => sendOp(a.socket, { kind: 'nudge', direction: { vector: short }, amount: 1 }), error: 'bad-request' },
        { name: 't out of range', send: () => sendOp(a.socket, { kind: 'lerp', from: { current: true }, to: { vector: good }, t: 1.5 }), error: 'bad-request' },
        { name: 'psi out of range', send: () => sendOp(a.socket, { kind: 'psi', psi: -0.1 }), error: 'bad-request' },
        { name: 'seed not uint32', send: () => sendOp(a.socket, { kind: 'random', seed: 2 ** 32 }), error: 'bad-request' },
        { name: 'unknown bookmark', send: () => sendOp(a.socket, { kind: 'lerp', from: { bookmark: 'nope' }, to: { current: true }, t: 0.5 }), error: 'not-found' },
        { name: 'unknown direction', send: () => sendOp(a.socket, { kind: 'nudge', direction: { direction: '00000000-0000-0000-0000-000000000000' }, amount: 1 }), error: 'not-found' },
        { name: 'unknown term', send: () => sendOp(a.socket, { kind: 'sum', terms: [{ ref: { current: true }, weight: 1 }, { ref: { bookmark: 'x' }, weight: 1 }] }), error: 'not-found' },
        { name: 'nothing to undo', send: () => sendOp(a.socket, { kind: 'undo' }), error: 'bad-request' },
        { name: 'viewer bookmark', send: () => saveBookmark(v.socket, 'x'), error: 'forbidden' },
        { name: 'empty bookmark name', send: () => saveBookmark(a.socket, '  '), error: 'bad-request' },
      ];
      for (const c of cases) {
        expect({ case: c.name, res: await c.send() }).toEqual({ case: c.name, res: expect.objectContaining({ ok: false, error: c.error }) });
      }
      // No state change: the room is at version 0 with its initial z, and a fresh joiner sees that.
      expect(h.server.rooms.get(roomId)?.version).toBe(0);
      const late = await h.member(roomId, viewerToken, 'Late');
      expect(late.snapshot).toMatchObject({ version: 0, z: a.snapshot.z, psi: 1, bookmarks: [] });
      // The others noticed nothing: the next good op is the first latent:state anyone receives.
      expect(await sendOp(a.socket, { kind: 'random', seed: 9 })).toEqual({ ok: true, data: { version: 1 } });
      for (const c of [a, v]) {
        await c.waitFor('latent:state', (s) => s.version === 1);
        expect(c.seen('latent:state').map((s) => s.version)).toEqual([1]);
        expect(c.seen('bookmark:saved')).toEqual([]);
      }
      // Still usable after all that.
      expect(await sendOp(a.socket, { kind: 'psi', psi: 1 })).toEqual({ ok: true, data: { version: 2 } });
    });
  });


  describe('F: frames', () => {
    it('F1: after ops, every member gets PNG frames tagged with increasing versions, ending with the newest', async () => {
      const { roomId, editorToken, viewerToken } = await h.room();
      const a = await h.member(roomId, editorToken, 'Ada');
      const b = await h.member(roomId, viewerToken, 'Bo');
      const N = 12;
      await Promise.all(Array.from({ length: N }, (_, i) => sendOp(a.socket, { kind: 'random', seed: 100 + i })));
      const psiAck = await sendOp(a.socket, { kind: 'psi', psi: 0.5 });
      expect(psiAck).toEqual({ ok: true, data: { version: N + 1 } });
      for (const c of [a, b]) {
        const last = await c.waitFor('frame', (f) => f.version === N + 1);
        const versions = c.seen('frame').map((f) => f.version);
        expect(versions).toEqual([...new Set(versions)].sort((x, y) => x - y));
        expect(versions.length).toBeLessThanOrEqual(N + 2); // coalesced: never more than one per version
        expect(last).toMatchObject({ width: 28, height: 28, channels: 1, format: 'png' });
        // The frame is the engine's decode of the truncated z of that version, as 8-bit grey.
        const png = readPng(last.data as Uint8Array);
        expect(png).toMatchObject({ width: 28, height: 28, colorType: 0 });
        const state = c.seen('latent:state').find((s) => s.version === N + 1)!;
        const { pixels } = await h.engine.decode(MODEL, truncate(state.z, undefined, state.psi), 1);
        expect(png.pixels).toEqual(toBytes(pixels));
      }
    });
  });

  describe('F3: batched decodes across rooms', () => {
    it('F3: rooms changing at once each get the frame of their own state', async () => {
      const ROOMS = 6;
      const members = await Promise.all(
        Array.from({ length: ROOMS }, async () => {
          const { roomId, editorToken } = await h.room();
          return h.member(roomId, editorToken, 'Ada');
        }),
      );
      await Promise.all(members.map((m, i) => sendOp(m.socket, { kind: 'random', seed: 1000 + i })));
      for (const [i, m] of members.entries()) {
        const frame = await m.waitFor('frame', (f) => f.version === 1);
        const { pixels } = await h.engine.decode(MODEL, seededNormal(1000 + i, LATENT_DIM), 1);
        expect(readPng(frame.data as Uint8Array).pixels).toEqual(toBytes(pixels));
      }
    });
  });

  describe('F: frames of conditional models', () => {
    it('F1: a room of the shipped conditional GAN starts on class 0 and streams the frame of (z, class 0)', async () => {
      const { roomId, editorToken } = await h.room('cgan-mnist');
      const m = await h.member(roomId, editorToken, 'Ada');
      expect(m.snapshot.classLabel).toBe(0);
      await sendOp(m.socket, { kind: 'random', seed: 77 });
      const frame = await m.waitFor('frame', (f) => f.version === 1);
      const { pixels } = await h.engine.decode('cgan-mnist', seededNormal(77, 64), 1, Int32Array.of(0));
      expect(readPng(frame.data as Uint8Array).pixels).toEqual(toBytes(pixels));
    });
  });

  describe('O10: class', () => {
    it('O10: class sets the class of a conditional model; frames follow it; a class out of range or on an unconditional model is refused', async () => {
      const { roomId, editorToken, viewerToken } = await h.room('cgan-mnist');
      const a = await h.member(roomId, editorToken, 'Ada');
      const v = await h.member(roomId, viewerToken, 'Vi');
      expect(a.snapshot).toMatchObject({ numClasses: 10, classLabel: 0 });
      expect(await sendOp(a.socket, { kind: 'random', seed: 5 })).toEqual({ ok: true, data: { version: 1 } });
      expect(await sendOp(a.socket, { kind: 'class', classLabel: 7 })).toEqual({ ok: true, data: { version: 2 } });
      const s2 = await v.waitFor('latent:state', (s) => s.version === 2);
      expect(s2).toMatchObject({ classLabel: 7, kind: 'class', z: f32(seededNormal(5, 64)) });
      const frame = await v.waitFor('frame', (f) => f.version === 2);
      const { pixels } = await h.engine.decode('cgan-mnist', seededNormal(5, 64), 1, Int32Array.of(7));
      expect(readPng(frame.data as Uint8Array).pixels).toEqual(toBytes(pixels));
      for (const classLabel of [10, -1, 2.5]) {
        expect(await sendOp(a.socket, { kind: 'class', classLabel })).toMatchObject({ ok: false, error: 'bad-request' });
      }
      expect(await sendOp(v.socket, { kind: 'class', classLabel: 1 })).toMatchObject({ ok: false, error: 'forbidden' });
      expect(await sendOp(a.socket, { kind: 'undo' })).toEqual({ ok: true, data: { version: 3 } });
      expect(await v.waitFor('latent:state', (s) => s.version === 3)).toMatchObject({ classLabel: 0 });
      expect(v.seen('latent:state').map((s) => s.version)).toEqual([1, 2, 3]);

      const plain = await h.room();
      const b = await h.member(plain.roomId, plain.editorToken, 'Bo');
      expect(await sendOp(b.socket, { kind: 'class', classLabel: 0 })).toMatchObject({ ok: false, error: 'bad-request' });
      expect(h.server.rooms.get(plain.roomId)?.version).toBe(0);
    });
  });

  describe('O11: direction weights', () => {
    it('O11: weight moves a stored direction\'s slider; every member sees the weights; they survive a reload; set starts them afresh', async () => {
      const [row] = await h.database.db
        .insert(schema.directions)
        .values({ modelId: MODEL, name: 'thickness', method: 'test', vector: vector((i) => (i === 1 ? 3 : i === 2 ? 4 : 0)) })
        .returning({ id: schema.directions.id });
      const id = row!.id;
      const { roomId, editorToken, viewerToken } = await h.room();
      const a = await h.member(roomId, editorToken, 'Ada');
      const v = await h.member(roomId, viewerToken, 'Vi');
      expect(a.snapshot.directions).toContainEqual({ id, name: 'thickness', method: 'test', createdAt: expect.any(String) as string });
      const z0 = vector(() => 0);
      await sendOp(a.socket, { kind: 'set', z: z0 });
      expect(await sendOp(a.socket, { kind: 'weight', direction: id, weight: 2 })).toEqual({ ok: true, data: { version: 2 } });
      const s2 = await v.waitFor('latent:state', (s) => s.version === 2);
      expect(s2).toMatchObject({ kind: 'weight', weights: { [id]: 2 } });
      expect(s2.z).toEqual(f32(z0.map((_, i) => (i === 1 ? 1.2 : i === 2 ? 1.6 : 0))));
      // Dragging the same slider to 0.5: z moves by -1.5 along it, not by 0.5 more.
      await sendOp(a.socket, { kind: 'weight', direction: id, weight: 0.5 });
      const s3 = await v.waitFor('latent:state', (s) => s.version === 3);
      expect(s3.weights).toEqual({ [id]: 0.5 });
      expect(s3.z).toEqual(f32(z0.map((_, i) => (i === 1 ? 0.3 : i === 2 ? 0.4 : 0))));
      // A reload (evict, rejoin) keeps them: they are in the op log.
      for (const c of [a, v]) expect(await leaveRoom(c.socket)).toMatchObject({ ok: true });
      const a2 = await h.member(roomId, editorToken, 'Ada');
      expect(a2.snapshot).toMatchObject({ version: 3, weights: { [id]: 0.5 }, z: s3.z });
      expect(await sendOp(a2.socket, { kind: 'weight', direction: 'no-such-direction', weight: 1 })).toMatchObject({ ok: false, error: 'not-found' });
      expect(await sendOp(a2.socket, { kind: 'weight', direction: id, weight: 101 })).toMatchObject({ ok: false, error: 'bad-request' });
      await sendOp(a2.socket, { kind: 'random', seed: 3 });
      expect(await a2.waitFor('latent:state', (s) => s.version === 4)).toMatchObject({ weights: {} });
      await sendOp(a2.socket, { kind: 'undo' });
      expect(await a2.waitFor('latent:state', (s) => s.version === 5)).toMatchObject({ weights: { [id]: 0.5 }, z: s3.z });
    });
  });

  describe('P: presence', () => {
    it('P1: members get distinct colours; a dropped member is announced with room:member-left', async () => {
      const { roomId, editorToken } = await h.room();
      const a = await h.member(roomId, editorToken, 'Ada');
      const b = await h.member(roomId, editorToken, 'Bo');
      const c = await h.member(roomId, editorToken, 'Cy');
      const colors = c.snapshot.members.map((m) => m.color);
      expect(new Set(colors).size).toBe(3);
      for (const color of colors) expect(color).toMatch(/^#[0-9a-f]{6}$/);
      expect((await a.waitFor('room:member-joined', (m) => m.name === 'Cy')).color).toBe(colors[2]);
      c.socket.disconnect();
      for (const x of [a, b]) expect(await x.waitFor('room:member-left')).toEqual({ memberId: c.snapshot.memberId });
      const d = await h.member(roomId, editorToken, 'Di');
      expect(d.snapshot.members.map((m) => m.name)).toEqual(['Ada', 'Bo', 'Di']);
      expect(d.snapshot.members[2]!.color).toBe(colors[2]); // the freed colour is reused
    });

    it('P2: pointers reach the others (not the sender), throttled to one per interval with the last one kept; bad ones are dropped', async () => {
      const { roomId, editorToken, viewerToken } = await h.room();
      const a = await h.member(roomId, editorToken, 'Ada');
      const b = await h.member(roomId, viewerToken, 'Bo');
      const probe = vector((i) => i / 100);
      const BURST = 20;
      for (let i = 0; i < BURST; i++) a.socket.emit('presence:pointer', { x: i, y: -i, probe });
      // Dropped silently: wrong probe length, bad coordinates.
      a.socket.emit('presence:pointer', { x: 99, y: 0, probe: probe.slice(1) });
      (a.socket as unknown as import('socket.io-client').Socket).emit('presence:pointer', { x: 'left', y: 0 });
      const last = await b.waitFor('presence:pointer', (p) => p.x === BURST - 1);
      expect(last).toEqual({ x: BURST - 1, y: -(BURST - 1), probe, memberId: a.snapshot.memberId });
      // The first goes at once, the rest of the burst collapses into trailing sends (one per
      // interval: exactly [0, 19] when the burst lands within 33 ms, as it does on an idle machine).
      const seen = b.seen('presence:pointer').map((p) => p.x);
      expect(seen[0]).toBe(0);
      expect(seen.at(-1)).toBe(BURST - 1);
      expect(seen).toEqual([...seen].sort((x, y) => x - y));
      expect(seen.length).toBeLessThanOrEqual(BURST / 4);
      // Viewers point too.
      b.socket.emit('presence:pointer', { x: 1, y: 2 });
      expect(await a.waitFor('presence:pointer')).toEqual({ x: 1, y: 2, memberId: b.snapshot.memberId });
      expect(b.seen('presence:pointer').every((p) => p.memberId === a.snapshot.memberId)).toBe(true);
    });
  });

  describe('H3, E7: handshake origin and rate limits', () => {
    it('H3: a browser Origin other than the server itself is refused at the handshake; same origin and no Origin connect', async () => {
      const connect = (origin?: string) =>
        new Promise<'connected' | 'refused'>((resolve) => {
          const socket = ioClient(h.server.url, {
            transports: ['websocket'],
            reconnection: false,
            ...(origin ? { extraHeaders: { origin } } : {}),
          });
          socket.once('connect', () => {
            socket.disconnect();
            resolve('connected');
          });
          socket.once('connect_error', () => {
            socket.disconnect();
            resolve('refused');
          });
        });
      expect(await connect()).toBe('connected');
      expect(await connect(h.server.url)).toBe('connected');
      expect(await connect('http://evil.example')).toBe('refused');
      expect(await connect(h.server.url.replace(/:\d+$/, ':1'))).toBe('refused');
      expect(await connect('null')).toBe('refused');
    });

    it('H3, E7, E8: the allowed origins, the request budget and the payload cap are the server\'s configuration', async () => {
      const server = await startServer({
        port: 0,
        engine: h.engine,
        database: h.database,
        limits: { allowedOrigins: ['https://lab.example.org'], requestBurst: 3, requestsPerSecond: 0.01, maxPayloadBytes: 4096 },
      });
      const sockets: ReturnType<typeof ioClient>[] = [];
      try {
        const connect = (origin?: string) =>
          new Promise<ReturnType<typeof ioClient> | 'refused'>((resolve) => {
            const socket = ioClient(server.url, { transports: ['websocket'], reconnection: false, ...(origin ? { extraHeaders: { origin } } : {}) });
            sockets.push(socket);
            socket.once('connect', () => resolve(socket));
            socket.once('connect_error', () => resolve('refused'));
          });
        expect(await connect('https://lab.example.org')).not.toBe('refused');
        expect(await connect(server.url)).not.toBe('refused'); // its own origin stays allowed
        expect(await connect('https://other.example.org')).toBe('refused');
        expect(await connect('http://lab.example.org')).toBe('refused'); // another scheme is another origin

        const a = (await connect()) as ClientSocket;
        const created = await createRoom(a, MODEL);
        if (!created.ok) throw new Error(created.error);
        expect((await joinRoom(a, { roomId: created.data.roomId, token: created.data.editorToken, name: 'Ada' })).ok).toBe(true);
        // Burst 3: the join took one, two ops pass, the rest are refused.
        const acks = await Promise.all(Array.from({ length: 5 }, (_, i) => sendOp(a, { kind: 'random', seed: i })));
        expect(acks.map((r) => (r.ok ? 'ok' : r.error))).toEqual(['ok', 'ok', 'rate-limited', 'rate-limited', 'rate-limited']);

        const b = (await connect()) as ClientSocket;
        const dropped = new Promise<string>((resolve) => b.once('disconnect', resolve));
        b.emit('bookmark:save', { name: 'x'.repeat(5 * 1024) }, () => undefined);
        expect(await dropped).toBe('transport close');
      } finally {
        for (const s of sockets) s.disconnect();
        await server.close();
      }
    });

    it('E7: a socket over its request budget gets rate-limited; refused ops change nothing and are not broadcast', async () => {
      const { roomId, editorToken, viewerToken } = await h.room();
      const a = await h.member(roomId, editorToken, 'Ada');
      const b = await h.member(roomId, viewerToken, 'Bo');
      const SENT = 200; // burst capacity is 120 (minus the join)
      const acks = await Promise.all(Array.from({ length: SENT }, (_, i) => sendOp(a.socket, { kind: 'random', seed: i })));
      const ok = acks.filter((r) => r.ok).map((r) => (r.ok ? r.data.version : -1));
      const limited = acks.filter((r) => !r.ok);
      expect(limited.length).toBeGreaterThan(0);
      expect(limited.every((r) => !r.ok && r.error === 'rate-limited')).toBe(true);
      expect([...ok].sort((x, y) => x - y)).toEqual(Array.from({ length: ok.length }, (_, i) => i + 1));
      await b.waitFor('latent:state', (s) => s.version === ok.length);
      expect(b.seen('latent:state')).toHaveLength(ok.length);
      expect(h.server.rooms.get(roomId)?.version).toBe(ok.length);
      // The other members keep their own budgets.
      expect(await saveBookmark(b.socket, 'x')).toMatchObject({ ok: false, error: 'forbidden' });
    });

    it('E8: a message over 64 KiB closes that connection and changes nothing; the others stay', async () => {
      const { roomId, editorToken, viewerToken } = await h.room();
      const a = await h.member(roomId, editorToken, 'Ada');
      const b = await h.member(roomId, viewerToken, 'Bo');
      const dropped = new Promise<string>((resolve) => a.socket.once('disconnect', resolve));
      a.socket.emit('bookmark:save', { name: 'x'.repeat(70 * 1024) }, () => undefined);
      expect(await dropped).toBe('transport close');
      a.socket.disconnect(); // no reconnect: this test is about the server side
      expect(await b.waitFor('room:member-left')).toEqual({ memberId: a.snapshot.memberId });
      expect(h.server.rooms.get(roomId)?.version).toBe(0);
      expect(b.seen('bookmark:saved')).toEqual([]);
    });
  });
});
