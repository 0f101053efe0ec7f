/**
 * The explorer store's reducers (lib/stores): the server is authoritative (nothing changes
 * before it answers), versions never go back (SPEC O1, R1), frames are newest-wins (F2), and the
 * op-to-frame latency is measured from this client's send to the first frame at or past its
 * acked version.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Result } from '../../lib/protocol/events';
import type { LatentOp } from '../../lib/protocol/rooms';
import { createExplorerStore, type RealtimePort } from '../../lib/stores/explorer-store';
import { applyLatentState, applySnapshot, latencyFrame, latencyOpAcked, latencyOpSent } from '../../lib/stores/room-reducers';
import { snapshot } from './store-fixtures';


const state = (version: number) => ({ version, z: [version, version], psi: 1, classLabel: null, weights: {} });

const BOOKMARK_FIELDS = {
  tags: [],
  classLabel: null,
  psi: 1,
  modelId: 'm',
  weightsHash: null,
  roomId: 'r',
  version: 0,
  createdAt: '2026-12-03T00:00:00.000Z',
} as const;

describe('room reducers', () => {
  it('latent state only moves forward, whatever order states and snapshots arrive in (O1, R1)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ kind: fc.constantFrom('state', 'snapshot'), version: fc.nat(30) }), { maxLength: 40 }),
        (events) => {
          let room = applySnapshot(undefined, snapshot(0));
          let max = 0;
          for (const e of events) {
            room = (e.kind === 'state' ? applyLatentState(room, state(e.version)) : applySnapshot(room, snapshot(e.version)))!;
            max = Math.max(max, e.version);
            expect(room.version).toBe(max);
            // z always belongs to the version shown (never a mix of two states).
            expect(room.z[0]).toBe(max);
          }
        },
      ),
    );
  });

  it('a snapshot is authoritative for members and bookmarks even when its latent state is older', () => {
    const room = applyLatentState(applySnapshot(undefined, snapshot(3)), state(5))!;
    const b = { ...BOOKMARK_FIELDS, tags: [], id: 'b1', name: 'seven', z: [1, 2], createdBy: 'm_a' };
    const next = applySnapshot(room, snapshot(4, { bookmarks: [b], members: [] }));
    expect(next.version).toBe(5);
    expect(next.bookmarks).toEqual([b]);
    expect(next.members).toEqual([]);
  });
});

describe('explorer store', () => {
  function withPort(answer: (op: LatentOp) => Promise<Result<{ version: number }>>) {
    const store = createExplorerStore();
    const sent: LatentOp[] = [];
    const port: RealtimePort = {
      sendOp: (op) => (sent.push(op), answer(op)),
      saveBookmark: async (name) => ({ ok: true, data: { ...BOOKMARK_FIELDS, tags: [], id: 'b1', name, z: [0, 0], createdBy: 'm_a' } }),
      sendPointer: () => {},
      revoke: async () => ({ ok: false, error: 'forbidden' }),
    };
    store.getState().bindRealtime(port);
    store.getState().roomSnapshot(snapshot(0));
    return { store, sent };
  }

  it('steer changes nothing until the server broadcasts the state (no optimistic update)', async () => {
    const { store, sent } = withPort(async () => ({ ok: true, data: { version: 1 } }));
    const res = await store.getState().steer({ kind: 'random', seed: 7 });
    expect(res).toEqual({ ok: true, data: { version: 1 } });
    expect(sent).toEqual([{ kind: 'random', seed: 7 }]);
    expect(store.getState().room!.version).toBe(0);
    store.getState().latentState(state(1));
    expect(store.getState().room!.version).toBe(1);
  });

  it('a refused op changes nothing and shows the reason', async () => {
    const { store } = withPort(async () => ({ ok: false, error: 'forbidden', message: 'viewers cannot change the room' }));
    const before = store.getState().room;
    const res = await store.getState().steer({ kind: 'psi', psi: 0.5 });
    expect(res.ok).toBe(false);
    expect(store.getState().room).toBe(before);
    expect(store.getState().lastError).toBe('viewers cannot change the room');
    expect(store.getState().latency.pending).toEqual([]);
  });

  it('without a realtime layer, intents are refused, not queued', async () => {
    const store = createExplorerStore();
    expect((await store.getState().steer({ kind: 'undo' })).ok).toBe(false);
  });

  it('frames are newest-wins: an older or equal version is refused and handed back (F2)', () => {
    const { store } = withPort(async () => ({ ok: true, data: { version: 1 } }));
    fc.assert(
      fc.property(fc.array(fc.nat(50), { maxLength: 40 }), (versions) => {
        const s = createExplorerStore();
        let max = -1;
        let freed = 0;
        for (const v of versions) {
          const image = { width: 1, height: 1, close: () => void freed++ };
          const frame = { version: v, image, width: 1, height: 1, receivedAt: 0 };
          expect(s.getState().wantsFrame(v)).toBe(v > max);
          const { taken, release } = s.getState().frameDecoded(frame);
          expect(taken).toBe(v > max);
          if (!taken) expect(release).toBe(frame);
          release?.image.close?.();
          max = Math.max(max, v);
          expect(s.getState().frame?.version ?? -1).toBe(max);
        }
        // Every image but the one on screen was freed.
        expect(freed).toBe(versions.length - (versions.length > 0 ? 1 : 0));
      }),
    );
    expect(store.getState().frame).toBeUndefined();
  });

  it('pointers are kept for members only and dropped when the member leaves', () => {
    const { store } = withPort(async () => ({ ok: true, data: { version: 1 } }));
    store.getState().pointerReceived({ memberId: 'm_stranger', x: 1, y: 2 }, 0);
    expect(store.getState().pointers).toEqual({});
    store.getState().pointerReceived({ memberId: 'm_a', x: 1, y: 2 }, 5);
    expect(store.getState().pointers['m_a']).toMatchObject({ x: 1, y: 2, at: 5 });
    store.getState().memberLeft('m_a');
    expect(store.getState().pointers).toEqual({});
    expect(store.getState().room!.members).toEqual([]);
  });
});

describe('op-to-frame latency', () => {
  it('is measured from the send to the first frame at or past the acked version', () => {
    let l = latencyOpSent({ pending: [], lastMs: null }, 1, 100);
    l = latencyOpAcked(l, 1, 5, { version: 4, image: { width: 1, height: 1 }, width: 1, height: 1, receivedAt: 110 });
    expect(l.lastMs).toBeNull();
    l = latencyFrame(l, 4, 120);
    expect(l.lastMs).toBeNull(); // frame 4 is older than the op's version
    l = latencyFrame(l, 6, 180);
    expect(l.lastMs).toBe(80);
    expect(l.pending).toEqual([]);
  });

  it('counts a frame that overtook the ack', () => {
    let l = latencyOpSent({ pending: [], lastMs: null }, 1, 100);
    l = latencyOpAcked(l, 1, 5, { version: 5, image: { width: 1, height: 1 }, width: 1, height: 1, receivedAt: 140 });
    expect(l.lastMs).toBe(40);
    expect(l.pending).toEqual([]);
  });
});

describe('directions found while the room is open', () => {
  it('are added once, by id, and discovery progress ends with the job', () => {
    const store = createExplorerStore();
    store.getState().roomSnapshot(snapshot(0));
    const d = { id: 'd1', name: 'thickness', method: 'pca' };
    store.getState().directionAdded(d);
    store.getState().directionAdded(d);
    expect(store.getState().room!.directions).toEqual([d]);
    store.getState().discoveryProgress('j1', 'pca', 3, 10);
    expect(store.getState().discoveries['j1']).toEqual({ method: 'pca', done: 3, total: 10, error: null });
    store.getState().discoveryEnded('j1', 'no classifier');
    expect(store.getState().discoveries['j1']?.error).toBe('no classifier');
    store.getState().discoveryEnded('j1', null);
    expect(store.getState().discoveries).toEqual({});
  });
});
