/**
 * Bookmarks with provenance over the real server on port 0, real socket.io-clients and HTTP, on
 * PGlite and PostgreSQL (SPEC B2–B5): what a bookmark records, idempotent saves (retries,
 * concurrent, after a reconnect and after a restart), the permalink and its ops, and an image
 * byte-identical to the frame the room streamed.
 */
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BOOKMARK_TAGS } from '../../lib/protocol/rooms';
import { sendOp } from '../../lib/realtime/room-client';
import * as schema from '../../server/db/schema';
import { WEIGHTS_CHANGED_HEADER, type BookmarkPermalink } from '../../server/http/bookmarks';
import { Harness, MODEL } from './rooms-harness';
import { describeOnEachDatabase } from './support/databases';
import { branchRoom, get, ok, saveBookmarkWith } from './support/room-requests';

const CGAN = 'cgan-mnist';

describeOnEachDatabase('bookmarks', (fixture) => {
  const h = new Harness(fixture);
  beforeAll(() => h.start());
  afterAll(() => h.dispose());

  async function room(model = MODEL) {
    const ids = await h.room(model);
    const a = await h.member(ids.roomId, ids.editorToken, 'Ada');
    const v = await h.member(ids.roomId, ids.viewerToken, 'Vi');
    return { ...ids, a, v };
  }

  const rowsWithKey = async (roomId: string, requestId: string) =>
    h.database.db.$count(schema.bookmarks, and(eq(schema.bookmarks.roomId, roomId), eq(schema.bookmarks.requestId, requestId)));

  describe('B2: what a bookmark records', () => {
    it('B2: a bookmark carries z, class, psi, model, weights hash, room, version, tags, its maker\'s name and time; everyone gets it', async () => {
      const { roomId, a, v } = await room(CGAN);
      await sendOp(a.socket, { kind: 'random', seed: 5 });
      await sendOp(a.socket, { kind: 'class', classLabel: 3 });
      await sendOp(a.socket, { kind: 'psi', psi: 0.7 });
      const s3 = await v.waitFor('latent:state', (s) => s.version === 3);
      const before = Date.now();
      const res = ok(await saveBookmarkWith(a.socket, { name: ' a three ', tags: [' digits ', 'thin', 'digits'] }));
      const model = (await h.engine.models()).find((m) => m.id === CGAN)!;
      expect(model.weightsHash).toMatch(/^[0-9a-f]{64}$/);
      expect(res).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
        name: 'a three',
        tags: ['digits', 'thin'],
        z: s3.z,
        classLabel: 3,
        psi: Math.fround(0.7),
        modelId: CGAN,
        weightsHash: model.weightsHash,
        roomId,
        version: 3,
        createdBy: 'Ada',
        createdAt: expect.any(String),
      });
      expect(new Date(res.createdAt).toISOString()).toBe(res.createdAt);
      expect(new Date(res.createdAt).getTime()).toBeGreaterThanOrEqual(before - 1_000);
      expect(await v.waitFor('bookmark:saved')).toEqual(res);
      // A model without a weights file (the built-in random DCGAN) records null.
      const plain = await room();
      expect(ok(await saveBookmarkWith(plain.a.socket, { name: 'x' })).weightsHash).toBeNull();
    });

    it('B2: too many, empty or too long tags, and a bad request id, are bad-request and save nothing', async () => {
      const { roomId, a, v } = await room();
      const bad = [
        { name: 'x', tags: Array.from({ length: MAX_BOOKMARK_TAGS + 1 }, (_, i) => `t${i}`) },
        { name: 'x', tags: ['  '] },
        { name: 'x', tags: ['x'.repeat(25)] },
        { name: 'x', tags: 'digits' },
        { name: 'x', requestId: 'short' },
        { name: 'x', requestId: 'has spaces in it' },
        { name: 'x', requestId: 'x'.repeat(65) },
      ];
      for (const req of bad) expect(await saveBookmarkWith(a.socket, req as never)).toMatchObject({ ok: false, error: 'bad-request' });
      expect(await h.database.db.$count(schema.bookmarks, eq(schema.bookmarks.roomId, roomId))).toBe(0);
      expect(ok(await saveBookmarkWith(a.socket, { name: 'x', tags: Array.from({ length: 8 }, (_, i) => `${i}`.padEnd(24, '-')) })).tags).toHaveLength(8);
      await v.waitFor('bookmark:saved');
      expect(v.seen('bookmark:saved')).toHaveLength(1);
    });
  });

  describe('B3: idempotent saves', () => {
    it('B3: a retried save with the same requestId returns the same bookmark, once, with one broadcast; concurrent retries too', async () => {
      const { roomId, a, v } = await room();
      const key = crypto.randomUUID();
      const first = ok(await saveBookmarkWith(a.socket, { name: 'once', requestId: key }));
      await sendOp(a.socket, { kind: 'random', seed: 2 }); // the state moves on; the retry still answers the first save
      const again = ok(await saveBookmarkWith(a.socket, { name: 'once', requestId: key }));
      expect(again).toEqual(first);
      const burst = await Promise.all(Array.from({ length: 5 }, () => saveBookmarkWith(a.socket, { name: 'burst', requestId: 'burst-key-1' })));
      const ids = new Set(burst.map((r) => ok(r).id));
      expect(ids.size).toBe(1);
      expect(await rowsWithKey(roomId, key)).toBe(1);
      expect(await rowsWithKey(roomId, 'burst-key-1')).toBe(1);
      await v.waitFor('bookmark:saved', (b) => b.name === 'burst');
      expect(v.seen('bookmark:saved').map((b) => b.name)).toEqual(['once', 'burst']);
      // The same key in another room is another bookmark.
      const other = await room();
      expect(ok(await saveBookmarkWith(other.a.socket, { name: 'once', requestId: key })).id).not.toBe(first.id);
    });

    it('B3, R2: the retry after a reconnect and after a server restart still returns the first bookmark and creates nothing', async () => {
      const { roomId, editorToken, viewerToken, a } = await room();
      const key = 'retry-after-restart';
      const first = ok(await saveBookmarkWith(a.socket, { name: 'kept', requestId: key }));
      // A new connection (the ack was lost, the client reconnected and joined again).
      const a2 = await h.member(roomId, editorToken, 'Ada');
      expect(ok(await saveBookmarkWith(a2.socket, { name: 'kept', requestId: key }))).toEqual(first);
      await h.stopServer();
      await h.start();
      const v = await h.member(roomId, viewerToken, 'Vi');
      const a3 = await h.member(roomId, editorToken, 'Ada');
      expect(ok(await saveBookmarkWith(a3.socket, { name: 'kept', requestId: key }))).toEqual(first);
      expect(await rowsWithKey(roomId, key)).toBe(1);
      expect(v.snapshot.bookmarks).toEqual([first]);
      // Nobody was told of a new bookmark: the next save is the first broadcast the viewer sees.
      const next = ok(await saveBookmarkWith(a3.socket, { name: 'new' }));
      expect(await v.waitFor('bookmark:saved')).toEqual(next);
      expect(v.seen('bookmark:saved')).toEqual([next]);
    });
  });

  describe('B4, B5: permalinks', () => {
    it('B4: GET /api/bookmarks/:id answers the bookmark, the model, the backend and the ops that led to it; unknown and malformed ids are 404', async () => {
      const { a, v } = await room(CGAN);
      await sendOp(a.socket, { kind: 'random', seed: 8 });
      await sendOp(a.socket, { kind: 'psi', psi: 0.5 });
      await sendOp(a.socket, { kind: 'undo' });
      await v.waitFor('latent:state', (s) => s.version === 3);
      const mark = ok(await saveBookmarkWith(a.socket, { name: 'p', tags: ['t'] }));
      await sendOp(a.socket, { kind: 'random', seed: 9 }); // after the bookmark: not in its provenance
      const res = await get(`${h.server.url}/api/bookmarks/${mark.id}`);
      expect(res.status).toBe(200);
      expect(res.headers.get(WEIGHTS_CHANGED_HEADER)).toBe('false');
      const body = res.json as BookmarkPermalink;
      const model = (await h.engine.models()).find((m) => m.id === CGAN)!;
      expect(body).toMatchObject({
        ok: true,
        bookmark: mark,
        provenance: {
          model: { id: CGAN, family: model.family, weightsHash: model.weightsHash, loaded: true },
          backend: h.engine.info.backend,
          weightsChanged: false,
          opsTruncated: false,
        },
      });
      expect(body.provenance.model.steps).toBe(model.steps);
      expect(body.provenance.ops.map((o) => [o.version, o.kind, o.by, o.byName])).toEqual([
        [0, 'create', 'server', null],
        [1, 'random', a.snapshot.memberId, 'Ada'],
        [2, 'psi', a.snapshot.memberId, 'Ada'],
        [3, 'undo', a.snapshot.memberId, 'Ada'],
      ]);
      for (const o of body.provenance.ops) expect(new Date(o.at).toISOString()).toBe(o.at);

      for (const id of ['00000000-0000-4000-8000-000000000000', 'nope', "1' or '1'='1", `${mark.id}x`]) {
        const missing = await get(`${h.server.url}/api/bookmarks/${encodeURIComponent(id)}`);
        expect({ id, status: missing.status, body: missing.json }).toEqual({ id, status: 404, body: { ok: false, error: 'not-found' } });
      }
      expect((await get(`${h.server.url}/api/bookmarks/00000000-0000-4000-8000-000000000000/image.png`)).status).toBe(404);
      expect((await fetch(`${h.server.url}/api/bookmarks/${mark.id}`, { method: 'DELETE' })).status).toBe(405);
    });

    it('B4: a bookmark copied into a branch lists the source room\'s ops up to its version', async () => {
      const { roomId, a } = await room();
      await sendOp(a.socket, { kind: 'random', seed: 1 });
      await sendOp(a.socket, { kind: 'random', seed: 2 });
      await a.waitFor('latent:state', (s) => s.version === 2);
      const mark = ok(await saveBookmarkWith(a.socket, { name: 'two' }));
      const branch = ok(await branchRoom(a.socket, 1));
      const c = await h.member(branch.roomId, branch.editorToken, 'Cy');
      const copy = c.snapshot.bookmarks[0]!;
      const body = (await get(`${h.server.url}/api/bookmarks/${copy.id}`)).json as BookmarkPermalink;
      expect(body.provenance.copiedFrom).toBe(mark.id);
      expect(body.provenance.ops.map((o) => [o.roomId, o.version, o.kind])).toEqual([
        [roomId, 0, 'create'],
        [roomId, 1, 'random'],
        [roomId, 2, 'random'],
      ]);
    });

    it('B5: the image of a bookmark is byte-identical to the frame the room streamed for its state; changed weights are flagged, still rendered', async () => {
      const { a, v } = await room(CGAN);
      await sendOp(a.socket, { kind: 'random', seed: 77 });
      await sendOp(a.socket, { kind: 'class', classLabel: 2 });
      await sendOp(a.socket, { kind: 'psi', psi: 0.8 });
      const frame = await v.waitFor('frame', (f) => f.version === 3);
      const mark = ok(await saveBookmarkWith(a.socket, { name: 'framed' }));
      expect(mark.version).toBe(3);
      const image = await get(`${h.server.url}/api/bookmarks/${mark.id}/image.png`);
      expect(image.status).toBe(200);
      expect(image.headers.get('content-type')).toBe('image/png');
      expect(image.headers.get(WEIGHTS_CHANGED_HEADER)).toBe('false');
      expect(Buffer.from(image.bytes)).toEqual(Buffer.from(frame.data as Uint8Array));

      // Saved with other weights than the model has now: said so in the header and the JSON.
      await h.database.db.update(schema.bookmarks).set({ weightsHash: sql`repeat('0', 64)` }).where(eq(schema.bookmarks.id, mark.id));
      const flagged = await get(`${h.server.url}/api/bookmarks/${mark.id}/image.png`);
      expect(flagged.status).toBe(200);
      expect(flagged.headers.get(WEIGHTS_CHANGED_HEADER)).toBe('true');
      expect(Buffer.from(flagged.bytes)).toEqual(Buffer.from(image.bytes));
      const json = await get(`${h.server.url}/api/bookmarks/${mark.id}`);
      expect(json.headers.get(WEIGHTS_CHANGED_HEADER)).toBe('true');
      expect((json.json as BookmarkPermalink).provenance.weightsChanged).toBe(true);
    });
  });
});
