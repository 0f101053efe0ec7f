/**
 * The room store, fenced for cluster mode: a node writes a room's rows only while it holds the
 * room's lease. Two fences, because a lease can end without its holder knowing yet (a pause longer
 * than the ttl, or a broken lease after this node's Redis subscription dropped):
 *
 * 1. before each write, the lease is checked in Redis (one GET); a node that lost it stops;
 * 2. the op log's primary key is (room, version): if a stale owner and a new one still race, the
 *    second writer of a version fails with a unique violation, so no version ever has two ops.
 *
 * Either way the write throws (the room refuses those ops: nothing is acked, SPEC R2) and the
 * room is reported lost, so this node drops it and forwards its members' requests to the owner.
 *
 * Every method of RoomStore is listed in STORE_ACCESS (the compiler refuses a store method that
 * is not), so a write added to the store is fenced, or said not to need it, on purpose (SPEC C9).
 */
import type { RoomStore } from '../rooms/room-store';
import type { RoomLeases } from './leases';

/** PostgreSQL's unique_violation. */
const UNIQUE_VIOLATION = '23505';

export class FencedError extends Error {}

/**
 * How cluster mode treats each store method:
 * - `read`: reads; any node.
 * - `fenced`: writes to a room that its owner alone may make (they follow the owner's in-memory
 *   state): only while this node holds the room's lease.
 * - `any-node`: writes that no owner's state depends on, made by whichever node serves the
 *   request: a new room (create, a branch, from a bookmark, an import: nobody owns it yet), a
 *   model row (idempotent), a token rotation (tokens are read from the database at every join,
 *   and the revoking node tells the others which sockets to close).
 */
export const STORE_ACCESS = {
  ensureModel: 'any-node',
  createRoom: 'any-node',
  roomInfo: 'read',
  exportSnapshot: 'read',
  modelRow: 'read',
  findToken: 'read',
  isTokenLive: 'read',
  rotateToken: 'any-node',
  loadRoom: 'read',
  appendOps: 'fenced',
  saveSnapshot: 'fenced',
  insertBookmark: 'fenced',
  findBookmarkByRequest: 'read',
  getBookmark: 'read',
  roomBookmarks: 'read',
  stateAt: 'read',
  history: 'read',
  provenance: 'read',
  memberJoined: 'fenced',
  memberLeft: 'fenced',
} as const satisfies Record<keyof RoomStore, 'read' | 'fenced' | 'any-node'>;

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
      // A bookmark retried with its requestId is not a conflict: the store answers the first one.
      if (isUniqueViolation(err)) {
        lost(roomId);
        throw new FencedError(`room ${roomId}: another node wrote this version first`, { cause: err });
      }
      throw err;
    }
  }
  // One entry per `fenced` method of STORE_ACCESS: the room each write is for.
  const writes: { [K in keyof RoomStore as (typeof STORE_ACCESS)[K] extends 'fenced' ? K : never]: RoomStore[K] } = {
    appendOps: (roomId, entries) => fenced(roomId, () => store.appendOps(roomId, entries)),
    saveSnapshot: (roomId, version, state) => fenced(roomId, () => store.saveSnapshot(roomId, version, state)),
    insertBookmark: (b) => fenced(b.roomId, () => store.insertBookmark(b)),
    memberJoined: (roomId, m) => fenced(roomId, () => store.memberJoined(roomId, m)),
    memberLeft: (roomId, memberId) => fenced(roomId, () => store.memberLeft(roomId, memberId)),
  };
  return { ...store, ...writes };
}
