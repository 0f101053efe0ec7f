/**
 * The op log, fenced for cluster mode: a node writes a room's ops only while it holds the room's
 * lease. Two fences, because a lease can end without its holder knowing yet (a pause longer than
 * the ttl, or a broken lease after this node's Redis subscription dropped):
 *
 * 1. before each write, the lease is checked in Redis (one GET); a node that lost it stops;
 * 2. the op log's primary key is (room, version): if a stale owner and a new one still race, the
 *    second writer of a version fails with a unique violation, so no version ever has two ops.
 *
 * Either way the write throws (the room refuses those ops: nothing is acked, SPEC R2) and the
 * room is reported lost, so this node drops it and forwards its members' requests to the owner.
 */
import type { RoomStore } from '../rooms/room-store';
import type { RoomLeases } from './leases';

/** PostgreSQL's unique_violation. */
const UNIQUE_VIOLATION = '23505';

export class FencedError extends Error {}

function isUniqueViolation(err: unknown): boolean {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === UNIQUE_VIOLATION) return true;
  }
  return false;
}

export function fenceRoomStore(store: RoomStore, leases: Pick<RoomLeases, 'check'>, lost: (roomId: string) => void): RoomStore {
  async function fenced<T>(roomId: string, write: () => Promise<T>): Promise<T> {
    if (!(await leases.check(roomId))) {
      lost(roomId);
      throw new FencedError(`room ${roomId}: this node no longer holds its lease`);
    }
    try {
      return await write();
    } catch (err) {
      if (isUniqueViolation(err)) {
        lost(roomId);
        throw new FencedError(`room ${roomId}: another node wrote this version first`, { cause: err });
      }
      throw err;
    }
  }
  return {
    ...store,
    appendOps: (roomId, entries) => fenced(roomId, () => store.appendOps(roomId, entries)),
    insertBookmark: (b) => fenced(b.roomId, () => store.insertBookmark(b)),
  };
}
