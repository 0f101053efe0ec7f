/**
 * Room with a fake store and outbox: ops are acked and broadcast only after their group commit,
 * in version order; a failed write refuses the batch and everything applied on top of it, and
 * the room carries on from the last durable state as if they never happened (SPEC O1, E6, R2).
 */
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../lib/latent/random';
import type { FrameBroadcast, LatentOp, LatentStateBroadcast } from '../../lib/protocol/rooms';
import { silentLogger } from '../logger';
import { RECENT_STATES, Room } from './room';
import { CHECKPOINT_EVERY, type LoadedRoom, type RoomStore, type StoredOp } from './room-store';

function setup() {
  const written: { version: number; entry: StoredOp }[][] = [];
  let failNext = false;
  let release: (() => void) | undefined;
  const store = {
    appendOps: async (_roomId: string, entries: { version: number; memberId: string; entry: StoredOp }[]) => {
      // Each write waits until the test releases it, so ops pile up behind it.
      await new Promise<void>((r) => (release = r));
      if (failNext) {
        failNext = false;
        throw new Error('disk full');
      }
      written.push(entries.map(({ version, entry }) => ({ version, entry })));
    },
    saveSnapshot: async () => undefined,
  } as unknown as RoomStore;
  const states: LatentStateBroadcast[] = [];
  const frames: FrameBroadcast[] = [];
  const loaded: LoadedRoom = {
    id: 'r',
    modelId: 'm',
    log: [{ version: 0, entry: { kind: 'create', state: { z: [0, 0, 0], psi: 1, classLabel: null } } }],
    bookmarks: [],
    directions: [],
  };
  const room = new Room(loaded, { latentDim: 3, imageShape: [1, 1, 1] }, {
    store,
    outbox: { state: (s) => states.push(s), frame: (f) => frames.push(f), bookmark: () => undefined },
    // The "image" is the z it was decoded from, so a test can tell which state a frame shows.
    renderFrame: async (_m, z) => ({ width: 1, height: 1, channels: 1, format: 'png', data: Uint8Array.from(z) }),
    logger: silentLogger,
  });
  const tick = () => new Promise((r) => setImmediate(r));
  return {
    room,
    states,
    frames,
    written,
    failNextWrite: () => (failNext = true),
    release: async () => {
      await tick();
      release?.();
      release = undefined;
      await tick();
    },
  };
}

describe('Room', () => {
  it('acks and broadcasts only after the write, in version order, batching ops that arrive meanwhile', async () => {
    const t = setup();
    const acks: number[] = [];
    const p1 = t.room.apply({ kind: 'set', z: [1, 2, 3] }, 'a').then((v) => acks.push(v));
    const p2 = t.room.apply({ kind: 'psi', psi: 0.5 }, 'b').then((v) => acks.push(v));
    const p3 = t.room.apply({ kind: 'undo' }, 'a').then((v) => acks.push(v));
    expect(t.states).toEqual([]);
    await t.release(); // first write: op 1 alone
    expect(t.states.map((s) => s.version)).toEqual([1]);
    await t.release(); // second write: ops 2 and 3 together
    await Promise.all([p1, p2, p3]);
    expect(acks).toEqual([1, 2, 3]);
    expect(t.written.map((batch) => batch.map((e) => e.version))).toEqual([[1], [2, 3]]);
    expect(t.states.map((s) => [s.version, s.kind, s.by])).toEqual([
      [1, 'set', 'a'],
      [2, 'psi', 'b'],
      [3, 'undo', 'a'],
    ]);
    expect(t.room.version).toBe(3);
    await t.room.settle();
    expect(t.frames.at(-1)?.version).toBe(3);
  });

  it('a failed write refuses its ops and those applied on top, and the room goes on from the durable state', async () => {
    const t = setup();
    const first = t.room.apply({ kind: 'set', z: [1, 1, 1] }, 'a');
    await t.release();
    expect(await first).toBe(1);

    t.failNextWrite();
    const doomed = t.room.apply({ kind: 'set', z: [2, 2, 2] }, 'a'); // in the failing write
    const results = Promise.allSettled([doomed]);
    await new Promise((r) => setImmediate(r));
    const onTop = t.room.apply({ kind: 'psi', psi: 0.25 }, 'b'); // applied while it is in flight
    const onTopResult = Promise.allSettled([onTop]);
    await t.release();
    expect((await results)[0]?.status).toBe('rejected');
    expect((await onTopResult)[0]?.status).toBe('rejected');
    expect(t.states.map((s) => s.version)).toEqual([1]); // nobody heard of versions 2 and 3

    // The next op builds on version 1's state, as version 2.
    const next = t.room.apply({ kind: 'nudge', direction: { current: true }, amount: 0 }, 'a');
    await t.release();
    expect(await next).toBe(2);
    expect(t.states.at(-1)).toMatchObject({ version: 2, z: [1, 1, 1], psi: 1 });
    expect(t.room.snapshot('x', 'viewer')).toMatchObject({ version: 2, z: [1, 1, 1], psi: 1 });
    // Frames only of durable states: version 2 shows [1, 1, 1], never the refused [2, 2, 2].
    await t.room.settle();
    expect(t.frames.map((f) => [f.version, Array.from(f.data as Uint8Array)])).toEqual([
      [0, [0, 0, 0]],
      [1, [1, 1, 1]],
      [2, [1, 1, 1]],
    ]);
  });
});

describe('Room reload from a checkpoint', () => {
  it('a room loaded from the last checkpoint on has the same state and undo history as one that lived through it all', async () => {
    const rows: { version: number; entry: StoredOp }[] = [
      { version: 0, entry: { kind: 'create', state: { z: [0, 0, 0], psi: 1, classLabel: null } } },
    ];
    const store = {
      appendOps: async (_id: string, entries: { version: number; entry: StoredOp }[]) => {
        for (const e of entries) rows.push({ version: e.version, entry: JSON.parse(JSON.stringify(e.entry)) as StoredOp });
      },
      saveSnapshot: async () => undefined,
    } as unknown as RoomStore;
    const deps = {
      store,
      outbox: { state: () => undefined, frame: () => undefined, bookmark: () => undefined },
      renderFrame: async () => ({ width: 1, height: 1, channels: 1, format: 'png' as const, data: new Uint8Array(1) }),
      logger: silentLogger,
    };
    const shape = { latentDim: 3, imageShape: [1, 1, 1] as [number, number, number] };
    const loaded = (log: typeof rows): LoadedRoom => ({ id: 'r', modelId: 'm', log, bookmarks: [], directions: [] });
    const live = new Room(loaded(rows.slice()), shape, deps);
    // apply throws synchronously on a refused op; an async wrapper turns that into a rejection.
    const tryApply = async (room: Room, op: LatentOp) => room.apply(op, 'a');
    const rand = mulberry32(5);
    const OPS = CHECKPOINT_EVERY * 2 + 40;
    for (let i = 0; i < OPS; i++) {
      const r = rand();
      const op: LatentOp =
        r < 0.45
          ? { kind: 'random', seed: i }
          : r < 0.6
            ? { kind: 'psi', psi: rand() }
            : r < 0.8
              ? { kind: 'undo' }
              : r < 0.95
                ? { kind: 'redo' }
                : { kind: 'revert', version: Math.max(0, live.version - 1 - Math.floor(rand() * 50)) };
      await tryApply(live, op).catch(() => undefined); // undo on an empty stack is refused
    }
    const version = live.version;
    const from = version - (version % CHECKPOINT_EVERY);
    expect(from).toBeGreaterThan(0);
    const tail = rows.filter((row) => row.version >= from);
    expect(tail[0]?.entry.undo).toBeDefined();
    const reloaded = new Room(loaded(tail), shape, deps);
    expect(reloaded.snapshot('x', 'viewer')).toEqual(live.snapshot('x', 'viewer'));
    // Redo all the way up, then undo all the way down on both: the same states, and the same
    // moment of "nothing to redo" and "nothing to undo".
    for (;;) {
      const a = await tryApply(live, { kind: 'redo' }).then(() => 'ok', (e: Error) => e.message);
      const b = await tryApply(reloaded, { kind: 'redo' }).then(() => 'ok', (e: Error) => e.message);
      expect(b).toBe(a);
      expect(reloaded.snapshot('x', 'viewer')).toEqual(live.snapshot('x', 'viewer'));
      if (a !== 'ok') break;
    }
    for (;;) {
      const a = await tryApply(live, { kind: 'undo' }).then(() => 'ok', (e: Error) => e.message);
      const b = await tryApply(reloaded, { kind: 'undo' }).then(() => 'ok', (e: Error) => e.message);
      expect(b).toBe(a);
      expect(reloaded.snapshot('x', 'viewer')).toEqual(live.snapshot('x', 'viewer'));
      if (a !== 'ok') break;
    }
    await Promise.all([live.settle(), reloaded.settle()]);
  });
});

describe('Room revert', () => {
  it('O1, O13: a revert that reads an old state from the op log keeps arrival order: ops sent meanwhile apply after it', async () => {
    const rows: { version: number; entry: StoredOp }[] = [
      { version: 0, entry: { kind: 'create', state: { z: [0, 0, 0], psi: 1, classLabel: null } } },
    ];
    let releaseRead: (() => void) | undefined;
    const store = {
      appendOps: async (_id: string, entries: { version: number; entry: StoredOp }[]) => {
        for (const e of entries) rows.push({ version: e.version, entry: JSON.parse(JSON.stringify(e.entry)) as StoredOp });
      },
      // The op log read waits until the test lets it go.
      stateAt: async (_id: string, version: number) => {
        await new Promise<void>((r) => (releaseRead = r));
        return rows.find((r) => r.version === version)?.entry.state;
      },
      saveSnapshot: async () => undefined,
    } as unknown as RoomStore;
    const states: LatentStateBroadcast[] = [];
    const room = new Room({ id: 'r', modelId: 'm', log: rows.slice(), bookmarks: [], directions: [] }, { latentDim: 3, imageShape: [1, 1, 1] }, {
      store,
      outbox: { state: (s) => states.push(s), frame: () => undefined, bookmark: () => undefined },
      renderFrame: async () => ({ width: 1, height: 1, channels: 1, format: 'png' as const, data: new Uint8Array(1) }),
      logger: silentLogger,
    });
    await room.apply({ kind: 'set', z: [1, 1, 1] }, 'a');
    // Push version 1 out of the recent states, so that reverting to it reads the op log.
    for (let i = 0; i < RECENT_STATES; i++) await room.apply({ kind: 'psi', psi: (i % 2) / 2 }, 'a');
    const top = room.version;
    const revert = room.apply({ kind: 'revert', version: 1 }, 'a');
    const after = room.apply({ kind: 'set', z: [7, 7, 7] }, 'b');
    await new Promise((r) => setImmediate(r));
    expect(room.version).toBe(top); // both wait for the read
    releaseRead?.();
    expect(await revert).toBe(top + 1);
    expect(await after).toBe(top + 2);
    expect(states.slice(-2).map((s) => [s.version, s.kind, s.z])).toEqual([
      [top + 1, 'revert', [1, 1, 1]],
      [top + 2, 'set', [7, 7, 7]],
    ]);
    expect(states.at(-2)?.psi).toBe(1);
    // A version the room never had is refused and changes nothing.
    await expect((async () => room.apply({ kind: 'revert', version: top + 5 }, 'a'))()).rejects.toThrow(/no version/);
    expect(room.version).toBe(top + 2);
    await room.settle();
  });
});
