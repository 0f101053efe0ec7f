/**
 * Pure reducers of the explorer's room state, kept apart from zustand so they are tested as
 * functions (tests/unit/explorer-store.test.ts). The server is authoritative: nothing here
 * guesses the result of an op; state changes only from what the server sends, and a version
 * never goes back (SPEC O1, F2, R1).
 */
import type { Bookmark, DirectionInfo, LatentStateFields, Member, RoomSnapshot } from '../protocol/rooms';

/** The room as this member sees it: the join snapshot, kept current by broadcasts. */
export type RoomState = RoomSnapshot;

const latentOf = (s: LatentStateFields): LatentStateFields => ({
  version: s.version,
  z: s.z,
  psi: s.psi,
  classLabel: s.classLabel,
  weights: s.weights,
});

/**
 * A snapshot (join answer, or `room:snapshot` after a recovered reconnect) is authoritative for
 * membership, bookmarks and directions; for the latent state the newer version wins, so a
 * snapshot that crossed a newer `latent:state` on the wire does not roll the room back.
 */
export function applySnapshot(room: RoomState | undefined, s: RoomSnapshot): RoomState {
  const latent = room && room.roomId === s.roomId && room.version > s.version ? latentOf(room) : latentOf(s);
  return { ...s, ...latent };
}

/** `latent:state`: taken only if newer than what the room shows. */
export function applyLatentState(room: RoomState | undefined, s: LatentStateFields): RoomState | undefined {
  if (!room || !Number.isInteger(s.version) || s.version <= room.version) return room;
  return { ...room, ...latentOf(s) };
}

export function applyMemberJoined(room: RoomState | undefined, m: Member): RoomState | undefined {
  if (!room) return room;
  return { ...room, members: [...room.members.filter((x) => x.memberId !== m.memberId), m] };
}

export function applyMemberLeft(room: RoomState | undefined, memberId: string): RoomState | undefined {
  if (!room || !room.members.some((m) => m.memberId === memberId)) return room;
  return { ...room, members: room.members.filter((m) => m.memberId !== memberId) };
}

/** `bookmark:saved` (and the saver's own ack): added once, by id. */
export function applyBookmarkSaved(room: RoomState | undefined, b: Bookmark): RoomState | undefined {
  if (!room || room.bookmarks.some((x) => x.id === b.id)) return room;
  return { ...room, bookmarks: [...room.bookmarks, b] };
}

/** A direction found while the room is open (`direction:added`): added once, by id. */
export function applyDirectionAdded(room: RoomState | undefined, d: DirectionInfo): RoomState | undefined {
  if (!room || room.directions.some((x) => x.id === d.id)) return room;
  return { ...room, directions: [...room.directions, d] };
}

/** A decoded image (an ImageBitmap in the browser); `close` frees it. */
export interface FrameImage {
  readonly width: number;
  readonly height: number;
  close?(): void;
}

/** A frame ready to paint: the decoded image and the state version it shows. */
export interface FrameView {
  version: number;
  image: FrameImage;
  width: number;
  height: number;
  /** performance.now() when it arrived (before decoding). */
  receivedAt: number;
}

/** Newest-wins (SPEC F2): a frame is painted only if its version is above every painted one. */
export function isNewerFrame(current: FrameView | undefined, version: number): boolean {
  return Number.isInteger(version) && version > (current?.version ?? -1);
}

/**
 * Op-to-frame latency: an op sent at `sentAt`, acked with `version` (null until acked), is
 * answered by the first frame whose version is at least that version.
 */
export interface PendingOp {
  id: number;
  sentAt: number;
  version: number | null;
}

export interface LatencyState {
  pending: PendingOp[];
  /** The newest measured latency, ms. */
  lastMs: number | null;
}

/** Keeps the measurement bounded if frames stop coming (e.g. an engine that cannot decode). */
export const MAX_PENDING_OPS = 64;

export function latencyOpSent(l: LatencyState, id: number, sentAt: number): LatencyState {
  return { ...l, pending: [...l.pending, { id, sentAt, version: null }].slice(-MAX_PENDING_OPS) };
}

/**
 * The ack: if a frame at or past its version was already received (frames can overtake acks),
 * the latency is known now.
 */
export function latencyOpAcked(l: LatencyState, id: number, version: number, frame: FrameView | undefined): LatencyState {
  const op = l.pending.find((p) => p.id === id);
  if (!op) return l;
  if (frame && frame.version >= version) {
    return { pending: l.pending.filter((p) => p.id !== id), lastMs: Math.max(0, frame.receivedAt - op.sentAt) };
  }
  return { ...l, pending: l.pending.map((p) => (p.id === id ? { ...p, version } : p)) };
}

export function latencyOpFailed(l: LatencyState, id: number): LatencyState {
  return { ...l, pending: l.pending.filter((p) => p.id !== id) };
}

/** A frame arrived: every acked op it covers is answered; the latest of them sets the figure. */
export function latencyFrame(l: LatencyState, version: number, at: number): LatencyState {
  const done = l.pending.filter((p) => p.version !== null && p.version <= version);
  if (done.length === 0) return l;
  const newest = done.reduce((a, b) => (b.sentAt > a.sentAt ? b : a));
  return { pending: l.pending.filter((p) => !done.includes(p)), lastMs: Math.max(0, at - newest.sentAt) };
}
