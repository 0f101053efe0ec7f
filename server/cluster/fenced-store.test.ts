/**
 * SPEC C3, C9: which room-store methods cluster mode fences, and that a fenced write made without
 * the room's lease never reaches the database. The store underneath is a recorder (no database):
 * what is checked is the wrapper's routing, for every method the real store has.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../db/open-database';
import { createRoomStore, type RoomStore } from '../rooms/room-store';
import { FencedError, fenceRoomStore, STORE_ACCESS } from './fenced-store';

type Method = keyof RoomStore;
const METHODS = Object.keys(STORE_ACCESS) as Method[];
const FENCED = METHODS.filter((m) => STORE_ACCESS[m] === 'fenced');

/** Arguments naming room `r1`, as each fenced method takes its room. */
function argsFor(method: Method): unknown[] {
  return method === 'insertBookmark' ? [{ roomId: 'r1', name: 'b' }] : ['r1', 'x', 'y'];
}

function recorder(fail?: unknown): { store: RoomStore; calls: Method[] } {
  const calls: Method[] = [];
  const store = Object.fromEntries(
    METHODS.map((m) => [
      m,
      (..._args: unknown[]) => {
        calls.push(m);
        return fail === undefined ? Promise.resolve(`${m} done`) : Promise.reject(fail);
      },
    ]),
  ) as unknown as RoomStore;
  return { store, calls };
}

describe('fenced room store (C3, C9)', () => {
  it('classifies every method of the real room store, and fences the room writes', () => {
    // The real store's methods (it is only built, never called).
    const real = createRoomStore({ db: {} } as unknown as Database);
    expect(Object.keys(real).sort()).toEqual([...METHODS].sort());
    expect([...FENCED].sort()).toEqual(['appendOps', 'insertBookmark', 'memberJoined', 'memberLeft', 'saveSnapshot']);
  });

  it('without the lease a fenced write throws FencedError, reports the room lost, and never reaches the store', async () => {
    const { store, calls } = recorder();
    const lost: string[] = [];
    const checked: string[] = [];
    const fenced = fenceRoomStore(store, { check: (roomId) => (checked.push(roomId), Promise.resolve(false)) }, (roomId) => lost.push(roomId));
    for (const m of FENCED) {
      await expect((fenced[m] as (...a: unknown[]) => Promise<unknown>)(...argsFor(m)), m).rejects.toBeInstanceOf(FencedError);
    }
    expect(calls).toEqual([]);
    expect(lost).toEqual(FENCED.map(() => 'r1'));
    expect(checked).toEqual(FENCED.map(() => 'r1'));
    // Reads and writes any node may make pass straight through, with no lease check.
    for (const m of METHODS.filter((x) => STORE_ACCESS[x] !== 'fenced')) {
      await expect((fenced[m] as (...a: unknown[]) => Promise<unknown>)('r1'), m).resolves.toBe(`${m} done`);
    }
    expect(checked).toHaveLength(FENCED.length);
  });

  it('with the lease a fenced write reaches the store once; a unique violation from it is a fence too', async () => {
    const { store, calls } = recorder();
    const fenced = fenceRoomStore(store, { check: () => Promise.resolve(true) }, () => {
      throw new Error('not lost');
    });
    for (const m of FENCED) await expect((fenced[m] as (...a: unknown[]) => Promise<unknown>)(...argsFor(m))).resolves.toBe(`${m} done`);
    expect(calls).toEqual(FENCED);

    // Another node wrote this version first: PostgreSQL's 23505, as the driver nests it.
    const conflict = recorder(new Error('insert failed', { cause: { code: '23505' } }));
    const lost: string[] = [];
    const raced = fenceRoomStore(conflict.store, { check: () => Promise.resolve(true) }, (roomId) => lost.push(roomId));
    await expect(raced.appendOps('r1', [])).rejects.toBeInstanceOf(FencedError);
    expect(lost).toEqual(['r1']);
    // Any other failure is the write's own, passed on as it is.
    const broken = fenceRoomStore(recorder(new Error('disk full')).store, { check: () => Promise.resolve(true) }, (roomId) => lost.push(roomId));
    await expect(broken.memberLeft('r1', 'm1')).rejects.toThrow('disk full');
    expect(lost).toEqual(['r1']);
  });
});
