/**
 * The browser's realtime layer (lib/realtime/room-connection.ts) driving the explorer store
 * against the real server: it joins and takes the snapshot, frames arrive newest-wins and the
 * op-to-frame latency is measured, the store only changes when the server says so, a dropped
 * connection shows as `reconnecting` and comes back `live` in the same room (SPEC R1), and a
 * revoked link ends in `failed` with the reason (J6).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectRoom, type RoomConnection } from '../../lib/realtime/room-connection';
import { createExplorerStore, type ExplorerStore } from '../../lib/stores/explorer-store';
import { Harness } from './rooms-harness';

const h = new Harness();
beforeAll(() => h.start());
afterAll(() => h.dispose());

/** Resolves once the store satisfies `ok` (checked on every change), or fails after `ms`. */
function until(store: ExplorerStore, ok: (s: ReturnType<ExplorerStore['getState']>) => boolean, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (ok(store.getState())) return resolve();
    const timer = setTimeout(() => {
      off();
      reject(new Error(`store did not reach the expected state; connection ${JSON.stringify(store.getState().connection)}`));
    }, ms);
    const off = store.subscribe((s) => {
      if (!ok(s)) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

function connect(store: ExplorerStore, roomId: string, token: string, name: string): RoomConnection {
  return connectRoom({
    url: h.server.url,
    roomId,
    token,
    name,
    store,
    // Node has no image decoder; the PNG's header says its size.
    decode: async (frame) => ({ width: frame.width, height: frame.height }),
  });
}

describe('room connection (browser realtime layer)', () => {
  it('joins, steers through the store and measures op-to-frame latency; a second member sees the same state', async () => {
    const room = await h.room();
    const a = createExplorerStore();
    const b = createExplorerStore();
    const ca = connect(a, room.roomId, room.editorToken, 'Ada');
    const cb = connect(b, room.roomId, room.editorToken, 'Bo');
    try {
      await until(a, (s) => s.connection.status === 'live' && s.frame !== undefined);
      await until(b, (s) => s.connection.status === 'live' && s.room?.members.length === 2);
      await until(a, (s) => s.room?.members.length === 2);
      const v0 = a.getState().room!.version;
      const res = await a.getState().steer({ kind: 'random', seed: 11 });
      expect(res).toEqual({ ok: true, data: { version: v0 + 1 } });
      await until(b, (s) => s.room?.version === v0 + 1 && (s.frame?.version ?? -1) >= v0 + 1);
      await until(a, (s) => s.latency.lastMs !== null);
      expect(a.getState().latency.lastMs).toBeGreaterThanOrEqual(0);
      expect(b.getState().room!.z).toEqual(a.getState().room!.z);

      // A refused op changes nothing and says why.
      const bad = await a.getState().steer({ kind: 'set', z: [1, 2, 3] });
      expect(bad).toMatchObject({ ok: false, error: 'bad-request' });
      expect(a.getState().lastError).toBeTruthy();
      expect(a.getState().room!.version).toBe(v0 + 1);

      // Pointers with a probe reach the other member.
      a.getState().point({ x: 0.5, y: -0.25, z: 0, probe: new Array(64).fill(0.1) });
      await until(b, (s) => Object.keys(s.pointers).length === 1);
      expect(Object.values(b.getState().pointers)[0]).toMatchObject({ x: 0.5, y: -0.25 });

      // Bookmarks: the saver gets the ack, the other member the broadcast.
      const saved = await a.getState().saveBookmark('eleven', ['tag-ignored-without-tag-support']);
      expect(saved.ok).toBe(true);
      await until(b, (s) => s.room?.bookmarks.some((x) => x.name === 'eleven') === true);
    } finally {
      ca.dispose();
      cb.dispose();
    }
  });

  it('a dropped connection shows as reconnecting and comes back live in the same room', async () => {
    const room = await h.room();
    const store = createExplorerStore();
    const c = connect(store, room.roomId, room.editorToken, 'Ada');
    try {
      await until(store, (s) => s.connection.status === 'live');
      // Recovery resumes from the offset of the last broadcast the client saw: see one first.
      expect((await store.getState().steer({ kind: 'random', seed: 3 })).ok).toBe(true);
      await until(store, (s) => s.room!.version === 1);
      const memberId = store.getState().room!.memberId;
      const statuses: string[] = [];
      const off = store.subscribe((s, p) => s.connection.status !== p.connection.status && statuses.push(s.connection.status));
      // Drop the transport as a network failure would (not a server disconnect).
      c.socket.io.engine.close();
      await until(store, (s) => s.connection.status === 'live' && statuses.includes('reconnecting'), 15_000);
      off();
      expect(statuses[0]).toBe('reconnecting');
      expect(store.getState().room!.memberId).toBe(memberId); // recovered: the same member (R1)
      const res = await store.getState().steer({ kind: 'psi', psi: 0.5 });
      expect(res.ok).toBe(true);
    } finally {
      c.dispose();
    }
  });

  it('a revoked link ends in failed with the reason; an unknown token never joins', async () => {
    const room = await h.room();
    const owner = createExplorerStore();
    const viewer = createExplorerStore();
    const co = connect(owner, room.roomId, room.editorToken, 'Ada');
    const cv = connect(viewer, room.roomId, room.viewerToken, 'Cy');
    const stranger = createExplorerStore();
    const cs = connect(stranger, room.roomId, 'x'.repeat(43), 'Eve');
    try {
      await until(owner, (s) => s.connection.status === 'live');
      await until(viewer, (s) => s.connection.status === 'live');
      expect(viewer.getState().room!.role).toBe('viewer');
      const forbidden = await viewer.getState().steer({ kind: 'random', seed: 1 });
      expect(forbidden).toMatchObject({ ok: false, error: 'forbidden' });
      const revoked = await owner.getState().revoke('viewer');
      expect(revoked.ok).toBe(true);
      await until(viewer, (s) => s.connection.status === 'failed');
      expect(viewer.getState().connection.message).toMatch(/revoked/);
      await until(stranger, (s) => s.connection.status === 'failed');
      expect(stranger.getState().connection.message).toMatch(/does not open a room/);
      expect(stranger.getState().room).toBeUndefined();
    } finally {
      co.dispose();
      cv.dispose();
      cs.dispose();
    }
  });
});
