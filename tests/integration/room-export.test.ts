/**
 * Room export and import over the real server on port 0, on PGlite and PostgreSQL (SPEC X1, X2):
 * the export needs a token of the room; an import reproduces the state, the log and the
 * bookmarks, so that the imported room's frame and every bookmark's image are byte-identical to
 * the original's; a bad export is refused with its reason and creates nothing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ROOM_IMPORT_MAX_BYTES, type RoomExport, type RoomImportResponse } from '../../lib/protocol/room-export';
import { sendOp } from '../../lib/realtime/room-client';
import * as schema from '../../server/db/schema';
import { Harness, vector } from './rooms-harness';
import { describeOnEachDatabase } from './support/databases';
import { get, ok, postJson, roomHistory, saveBookmarkWith } from './support/room-requests';

const CGAN = 'cgan-mnist';

describeOnEachDatabase('rooms: export and import', (fixture) => {
  const h = new Harness(fixture);
  beforeAll(() => h.start());
  afterAll(() => h.dispose());

  const exportUrl = (roomId: string) => `${h.server.url}/api/rooms/${roomId}/export`;
  const importUrl = () => `${h.server.url}/api/rooms/import`;

  /** A conditional room with some history and three bookmarks, one of them used by an op. */
  async function busyRoom() {
    const ids = await h.room(CGAN);
    const a = await h.member(ids.roomId, ids.editorToken, 'Ada');
    await sendOp(a.socket, { kind: 'random', seed: 40 });
    const b1 = ok(await saveBookmarkWith(a.socket, { name: 'one', tags: ['a'] }));
    await sendOp(a.socket, { kind: 'class', classLabel: 4 });
    await sendOp(a.socket, { kind: 'psi', psi: 0.6 });
    const b2 = ok(await saveBookmarkWith(a.socket, { name: 'two' }));
    await sendOp(a.socket, { kind: 'set', z: vector((i) => Math.cos(i)) });
    await sendOp(a.socket, { kind: 'slerp', from: { current: true }, to: { bookmark: b1.id }, t: 0.3 });
    await sendOp(a.socket, { kind: 'undo' });
    await sendOp(a.socket, { kind: 'redo' });
    await sendOp(a.socket, { kind: 'revert', version: 3 });
    const last = await a.waitFor('latent:state', (s) => s.version === 8);
    const b3 = ok(await saveBookmarkWith(a.socket, { name: 'three', tags: ['c', 'd'] }));
    const frame = await a.waitFor('frame', (f) => f.version === 8);
    return { ...ids, a, bookmarks: [b1, b2, b3], last, frame };
  }

  it('X1: GET /api/rooms/:id/export with an editor or viewer token answers the state, the whole log and the bookmarks; anything else is 401', async () => {
    const { roomId, editorToken, viewerToken, bookmarks, last } = await busyRoom();
    const res = await get(exportUrl(roomId), { authorization: `Bearer ${viewerToken}` });
    expect(res.status).toBe(200);
    const doc = res.json as RoomExport;
    const model = (await h.engine.models()).find((m) => m.id === CGAN)!;
    expect(doc).toMatchObject({
      format: 'latentroom-room',
      formatVersion: 1,
      room: { id: roomId, modelId: CGAN, version: 8, z: last.z, psi: last.psi, classLabel: last.classLabel, weights: {} },
      bookmarks,
      model: { id: CGAN, weightsHash: model.weightsHash },
    });
    expect(doc.log.map((e) => [e.version, e.kind])).toEqual([
      [0, 'create'],
      [1, 'random'],
      [2, 'class'],
      [3, 'psi'],
      [4, 'set'],
      [5, 'slerp'],
      [6, 'undo'],
      [7, 'redo'],
      [8, 'revert'],
    ]);
    expect(doc.log[5]).toMatchObject({ by: expect.stringMatching(/^m_/), byName: 'Ada', op: { kind: 'slerp', to: { bookmark: bookmarks[0]!.id } } });
    expect((await get(exportUrl(roomId), { authorization: `Bearer ${editorToken}` })).status).toBe(200);

    const refusals = [
      await get(exportUrl(roomId)),
      await get(exportUrl(roomId), { authorization: `Bearer ${editorToken.slice(1)}A` }),
      await get(exportUrl(roomId), { authorization: editorToken }),
      await get(exportUrl('AAAAAAAAAAAA'), { authorization: `Bearer ${editorToken}` }),
      await get(exportUrl('a%2Fb'), { authorization: `Bearer ${editorToken}` }),
    ];
    for (const r of refusals) expect({ status: r.status, body: r.json }).toEqual({ status: 401, body: { ok: false, error: 'unauthorized', message: 'no such room or token' } });
  });

  it('X2: an import reproduces the room: same versions, states, history and bookmarks; its frame and every bookmark image are byte-identical', async () => {
    const { roomId, viewerToken, bookmarks, frame } = await busyRoom();
    const doc = (await get(exportUrl(roomId), { authorization: `Bearer ${viewerToken}` })).json as RoomExport;
    const res = await postJson(importUrl(), doc);
    expect(res.status).toBe(201);
    const created = res.json as RoomImportResponse;
    expect(created).toMatchObject({ ok: true, roomId: expect.any(String), editorToken: expect.any(String), viewerToken: expect.any(String), weightsChanged: false });
    expect(created.roomId).not.toBe(roomId);

    const v = await h.member(created.roomId, created.viewerToken, 'Vi');
    expect(v.snapshot).toMatchObject({ version: 8, z: doc.room.z, psi: doc.room.psi, classLabel: doc.room.classLabel, weights: {} });
    const copyFrame = await v.waitFor('frame', (f) => f.version === 8);
    expect(Buffer.from(copyFrame.data as Uint8Array)).toEqual(Buffer.from(frame.data as Uint8Array));

    // Bookmarks: new ids in the new room, everything else as it was; same images.
    expect(v.snapshot.bookmarks).toHaveLength(3);
    for (const [i, b] of v.snapshot.bookmarks.entries()) {
      const original = bookmarks[i]!;
      expect(b).toEqual({ ...original, id: b.id, roomId: created.roomId });
      expect(b.id).not.toBe(original.id);
      const [mine, theirs] = await Promise.all([get(`${h.server.url}/api/bookmarks/${b.id}/image.png`), get(`${h.server.url}/api/bookmarks/${original.id}/image.png`)]);
      expect(mine.status).toBe(200);
      expect(Buffer.from(mine.bytes)).toEqual(Buffer.from(theirs.bytes));
    }

    // The same history, with the op's bookmark reference pointing at the imported copy.
    const again = (await get(exportUrl(created.roomId), { authorization: `Bearer ${created.viewerToken}` })).json as RoomExport;
    const strip = (d: RoomExport) => d.log.map(({ op: _op, origin: _origin, ...e }) => e);
    expect(strip(again)).toEqual(strip(doc));
    expect(again.log[5]?.op).toEqual({ ...doc.log[5]!.op, to: { bookmark: v.snapshot.bookmarks[0]!.id } });
    expect(again.log[0]?.origin).toEqual({ import: { roomId, modelId: CGAN, weightsHash: doc.model.weightsHash } });

    // The imported room goes on: undo walks back through the imported history (a revert is undone).
    const e = await h.member(created.roomId, created.editorToken, 'Ed');
    expect(await sendOp(e.socket, { kind: 'undo' })).toEqual({ ok: true, data: { version: 9 } });
    const undone = await v.waitFor('latent:state', (s) => s.version === 9);
    const s7 = doc.log[7]!.state;
    expect({ z: undone.z, psi: undone.psi, classLabel: undone.classLabel }).toEqual({ z: s7.z, psi: s7.psi, classLabel: s7.classLabel });
    expect(ok(await roomHistory(v.socket, { limit: 2 })).entries.map((x) => x.kind)).toEqual(['undo', 'revert']);
  });

  it('X2: a bad export is refused with its reason (400, 404, 413, 415) and creates nothing', async () => {
    const { roomId, viewerToken } = await busyRoom();
    const doc = (await get(exportUrl(roomId), { authorization: `Bearer ${viewerToken}` })).json as RoomExport;
    const rooms = await h.database.db.$count(schema.rooms);
    const bookmarks = await h.database.db.$count(schema.bookmarks);
    const clone = (): RoomExport => JSON.parse(JSON.stringify(doc)) as RoomExport;
    const cases: { name: string; body: () => unknown; status: number; message: RegExp }[] = [
      { name: 'other format', body: () => ({ ...clone(), format: 'something' }), status: 400, message: /format/ },
      { name: 'format version 2', body: () => ({ ...clone(), formatVersion: 2 }), status: 400, message: /formatVersion/ },
      { name: 'extra field', body: () => ({ ...clone(), extra: 1 }), status: 400, message: /extra/ },
      { name: 'short z', body: () => ((d) => (d.log[3]!.state.z.pop(), d))(clone()), status: 400, message: /log\[3\]: z has 63 values/ },
      { name: 'z beyond float32', body: () => ((d) => ((d.log[2]!.state.z[0] = 1e39), d))(clone()), status: 400, message: /not finite in float32/ },
      { name: 'NaN (null) in z', body: () => ((d) => ((d.room.z as unknown[])[0] = null, d))(clone()), status: 400, message: /room\.z\.0/ },
      { name: 'a gap in versions', body: () => ((d) => (d.log.splice(4, 1), d))(clone()), status: 400, message: /log has 8 rows|version 5, expected 4/ },
      { name: 'state not the last row\'s', body: () => ((d) => ((d.room.psi = 0.123), d))(clone()), status: 400, message: /not the state of the log's last row/ },
      { name: 'class out of range', body: () => ((d) => ((d.log[2]!.state.classLabel = 10), d))(clone()), status: 400, message: /class must be in 0…9/ },
      { name: 'op kind mismatch', body: () => ((d) => ((d.log[1]!.kind = 'psi'), d))(clone()), status: 400, message: /kind psi but op.kind random/ },
      { name: 'bookmark past the room', body: () => ((d) => ((d.bookmarks[0]!.version = 99), d))(clone()), status: 400, message: /past the room's 8/ },
      { name: 'unknown model', body: () => ((d) => ((d.room.modelId = d.model.id = 'no-such-model'), d))(clone()), status: 404, message: /no model no-such-model/ },
      { name: 'not json', body: () => ({ raw: '{"format": ' }), status: 400, message: /not valid JSON/ },
    ];
    for (const c of cases) {
      const body = c.body();
      const raw = (body as { raw?: string }).raw;
      const res = await postJson(importUrl(), body, raw ? { raw } : {});
      expect({ case: c.name, status: res.status }).toEqual({ case: c.name, status: c.status });
      expect({ case: c.name, body: res.json }).toEqual({ case: c.name, body: { ok: false, error: c.status === 404 ? 'not-found' : 'bad-request', message: expect.stringMatching(c.message) } });
    }
    expect((await postJson(importUrl(), doc, { contentType: 'text/plain' })).status).toBe(415);
    const huge = await postJson(importUrl(), null, { raw: `{"pad":"${'x'.repeat(ROOM_IMPORT_MAX_BYTES)}"}` });
    expect(huge).toEqual({ status: 413, json: { ok: false, error: 'payload-too-large', message: expect.stringMatching(/larger than/) } });
    expect((await fetch(importUrl())).status).toBe(405);
    expect(await h.database.db.$count(schema.rooms)).toBe(rooms);
    expect(await h.database.db.$count(schema.bookmarks)).toBe(bookmarks);
  });
});
