/**
 * A room owned by another node, as the handlers of this node see it: the members whose sockets
 * are here, the model's shape, the newest frame relayed from the owner, and the requests that
 * read or change the room, which go to the owner (./cluster-rooms.ts forwards them and turns the
 * owner's answer into the ack).
 *
 * The handlers use a Room through a handful of members (joinedRoom, snapshot after a join,
 * latestFrame, apply, saveBookmark, readHistory, stateAt for a branch, id, modelId,
 * model.latentDim); this class has exactly those. A new Room method that handlers call on a
 * joined room must be added here and to the owner's methods in ./cluster-rooms.ts, or it
 * answers `internal` on a node that does not own the room. A request that needs more of the
 * room than one method (a steer) goes through RealtimeContext.ownerRequest instead.
 */
import type { Bookmark, BookmarkSaveRequest, FrameBroadcast, HistoryEntry, LatentOp, Member, Role, RoomSnapshot } from '../../lib/protocol/rooms';
import type { ModelShape, Room } from '../rooms/room';
import type { LatentSnapshot } from '../rooms/room-state';
import { fromStored, type StoredState } from '../rooms/room-store';

/**
 * Sends a request to the room's owner. `memberId`: the member asking (the owner checks it is in
 * the room); undefined for reads of the room's told-about state, which the asking node has
 * already checked its member may make.
 */
export type Forward = (roomId: string, method: string, memberId: string | undefined, args: unknown[]) => Promise<unknown>;

export class RemoteRoom {
  /** This node's members of the room (the owner has them all). */
  readonly members = new Map<string, Member>();
  /** The join answers' snapshots, taken once by the join handler. */
  private readonly snapshots = new Map<string, RoomSnapshot>();
  private frame: FrameBroadcast | undefined;

  constructor(
    readonly id: string,
    readonly modelId: string,
    readonly model: ModelShape,
    /** The owner's lease (node id and token); undefined until the room is routed again. */
    public owner: { nodeId: string; token: string } | undefined,
    private readonly forward: Forward,
  ) {}

  apply(op: LatentOp, memberId: string): Promise<number> {
    return this.forward(this.id, 'apply', memberId, [op]) as Promise<number>;
  }

  saveBookmark(req: BookmarkSaveRequest, memberId: string): Promise<Bookmark> {
    return this.forward(this.id, 'saveBookmark', memberId, [req]) as Promise<Bookmark>;
  }

  /** The owner's history (SPEC O14): only versions its members have been told about. */
  readHistory(opts: { before?: number | undefined; limit: number }): Promise<HistoryEntry[]> {
    return this.forward(this.id, 'readHistory', undefined, [opts]) as Promise<HistoryEntry[]>;
  }

  /** The owner's state at `version` (a branch's first state, SPEC O15), sent as JSON. */
  async stateAt(version: number): Promise<LatentSnapshot> {
    return fromStored((await this.forward(this.id, 'stateAt', undefined, [version])) as StoredState);
  }

  /** The owner's snapshot for a member who just joined through this node. */
  snapshot(memberId: string, role: Role): RoomSnapshot {
    const snapshot = this.snapshots.get(memberId);
    if (!snapshot) throw new Error(`room ${this.id}: no snapshot for member ${memberId}`);
    this.snapshots.delete(memberId);
    return { ...snapshot, role };
  }

  keepSnapshot(snapshot: RoomSnapshot): void {
    this.snapshots.set(snapshot.memberId, snapshot);
  }

  get latestFrame(): FrameBroadcast | undefined {
    return this.frame;
  }

  /** Keeps the newest frame relayed from the owner (for members who join here). */
  offerFrame(frame: FrameBroadcast): void {
    if (!this.frame || frame.version > this.frame.version) this.frame = frame;
  }

  /**
   * The handlers' view. A RemoteRoom has only the members of Room that handlers use on a joined
   * room (see the file comment), so this one cast is where the two meet.
   */
  asRoom(): Room {
    return this as unknown as Room;
  }
}
