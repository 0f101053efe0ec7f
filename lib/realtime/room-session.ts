/**
 * A client's view of one room, kept in step with the server: the latest latent state (newest
 * version wins, SPEC O1/F2), members and bookmarks, from the join snapshot, `latent:state`
 * broadcasts, and `room:snapshot` after a recovered reconnect (R1). When a reconnect is not
 * recovered (the window passed, or the server restarted), the session joins again with its
 * token and takes the new snapshot. The browser store and the tests drive rooms through this.
 */
import type { Result } from '../protocol/events';
import type { Bookmark, DirectionInfo, LatentStateFields, Member, Role, RoomSnapshot } from '../protocol/rooms';
import type { ClientSocket } from './client-socket';
import { joinRoom } from './room-client';

export interface RoomView extends LatentStateFields {
  roomId: string;
  memberId: string;
  role: Role;
  members: Member[];
  bookmarks: Bookmark[];
  /** The model's stored directions (their weights are in `weights`). */
  directions: DirectionInfo[];
}

export interface RoomSession {
  /** The current view; undefined until the first join succeeds. */
  readonly view: RoomView | undefined;
  /** Joins (or rejoins) the room; resolves with the server's answer. */
  join(): Promise<Result<RoomSnapshot>>;
  /** Called after every change of the view. */
  onChange(listener: (view: RoomView) => void): () => void;
  /** Removes the session's listeners from the socket. */
  dispose(): void;
}

export function createRoomSession(socket: ClientSocket, credentials: { roomId: string; token: string; name: string }): RoomSession {
  let view: RoomView | undefined;
  const listeners = new Set<(v: RoomView) => void>();
  const changed = () => {
    if (view) for (const l of listeners) l(view);
  };

  function takeSnapshot(s: RoomSnapshot): void {
    // A snapshot is authoritative for membership; for the latent state, never go back in version.
    const latent = view && view.version > s.version ? view : s;
    view = {
      roomId: s.roomId,
      memberId: s.memberId,
      role: s.role,
      members: s.members,
      bookmarks: s.bookmarks,
      version: latent.version,
      z: latent.z,
      psi: latent.psi,
      classLabel: latent.classLabel,
      weights: latent.weights,
      directions: s.directions,
    };
    changed();
  }

  const handlers = {
    'latent:state': (s: LatentStateFields) => {
      if (!view || s.version <= view.version) return;
      view = { ...view, version: s.version, z: s.z, psi: s.psi, classLabel: s.classLabel, weights: s.weights };
      changed();
    },
    'room:snapshot': takeSnapshot,
    'room:member-joined': (m: Member) => {
      if (!view) return;
      view = { ...view, members: [...view.members.filter((x) => x.memberId !== m.memberId), m] };
      changed();
    },
    'room:member-left': ({ memberId }: { memberId: string }) => {
      if (!view) return;
      view = { ...view, members: view.members.filter((x) => x.memberId !== memberId) };
      changed();
    },
    'bookmark:saved': (b: Bookmark) => {
      if (!view || view.bookmarks.some((x) => x.id === b.id)) return;
      view = { ...view, bookmarks: [...view.bookmarks, b] };
      changed();
    },
  };

  let joined = false;
  async function join(): Promise<Result<RoomSnapshot>> {
    const res = await joinRoom(socket, credentials);
    if (res.ok) {
      joined = true;
      takeSnapshot(res.data);
    }
    return res;
  }
  // A reconnect that was not recovered lost the membership with the old socket: join again.
  const onConnect = () => {
    if (joined && !socket.recovered) void join();
  };

  socket.on('latent:state', handlers['latent:state']);
  socket.on('room:snapshot', handlers['room:snapshot']);
  socket.on('room:member-joined', handlers['room:member-joined']);
  socket.on('room:member-left', handlers['room:member-left']);
  socket.on('bookmark:saved', handlers['bookmark:saved']);
  socket.on('connect', onConnect);

  return {
    get view() {
      return view;
    },
    join,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    dispose() {
      socket.off('latent:state', handlers['latent:state']);
      socket.off('room:snapshot', handlers['room:snapshot']);
      socket.off('room:member-joined', handlers['room:member-joined']);
      socket.off('room:member-left', handlers['room:member-left']);
      socket.off('bookmark:saved', handlers['bookmark:saved']);
      socket.off('connect', onConnect);
    },
  };
}
