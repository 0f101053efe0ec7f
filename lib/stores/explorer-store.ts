/**
 * The explorer's store: a zustand vanilla store composed from slices (zustand's "slices
 * pattern"), created once per page by components/providers/explorer-provider.tsx. React Server
 * Components never touch it.
 *
 *   connection  socket and join status, the error to show
 *   room        the authoritative room (snapshot + broadcasts; ./room-reducers.ts)
 *   frame       the newest frame, newest-wins, and the op-to-frame latency
 *   presence    other members' pointers and probes
 *   points      the model's point cloud, the projection (PCA or UMAP) and the colouring
 *   intents     what components call: steer, save a bookmark, point. They go to the realtime
 *               layer (lib/realtime/room-connection.ts), the only code that emits on the socket,
 *               and change nothing here until the server answers (no optimistic state).
 *   history     the loaded op log, the scrubber's preview, revert and branch (./history-slice.ts)
 */
import { createStore, type StateCreator, type StoreApi } from 'zustand/vanilla';
import type { DirectionDiscoverRequest, DirectionDiscoverResponse, DirectionSteerRequest, DirectionSteerResponse } from '../protocol/directions';
import type { Result } from '../protocol/events';
import type { Bookmark, DirectionInfo, LatentOp, LatentStateFields, Member, Pointer, PointerBroadcast, Role, RoomSnapshot } from '../protocol/rooms';
import type { PointCloud } from '../points/format';
import { historySlice, type HistorySlice } from './history-slice';
import { describeRefusal, NO_ANSWER, NOT_CONNECTED } from './results';
import {
  applyBookmarkSaved,
  applyDirectionAdded,
  applyLatentState,
  applyMemberJoined,
  applyMemberLeft,
  applySnapshot,
  isNewerFrame,
  latencyFrame,
  latencyOpAcked,
  latencyOpFailed,
  latencyOpSent,
  type FrameView,
  type LatencyState,
  type RoomState,
} from './room-reducers';

/** What the store asks of the realtime layer (lib/realtime/room-connection.ts implements it). */
export interface RealtimePort {
  sendOp(op: LatentOp): Promise<Result<{ version: number }>>;
  saveBookmark(name: string, tags: string[]): Promise<Result<Bookmark>>;
  sendPointer(pointer: Pointer): void;
  revoke(role: Role): Promise<Result<{ token: string }>>;
  /** `direction:discover` (SPEC D1). Optional: a port without it answers `not-joined`. */
  discover?(req: DirectionDiscoverRequest): Promise<Result<DirectionDiscoverResponse>>;
  /** `direction:steer` (SPEC D7). */
  steerToward?(req: DirectionSteerRequest): Promise<Result<DirectionSteerResponse>>;
}

export type ConnectionStatus =
  /** First connection and join under way. */
  | 'connecting'
  /** Joined, live. */
  | 'live'
  /** The connection dropped; socket.io is reconnecting (and the session rejoins). */
  | 'reconnecting'
  /** Not coming back by itself: a revoked or unknown link, a protocol mismatch. */
  | 'failed';

export interface ConnectionSlice {
  connection: { status: ConnectionStatus; attempt: number; message: string | null };
  setConnection(status: ConnectionStatus, message?: string | null, attempt?: number): void;
}

export interface RoomSlice {
  room: RoomState | undefined;
  roomSnapshot(s: RoomSnapshot): void;
  latentState(s: LatentStateFields): void;
  memberJoined(m: Member): void;
  memberLeft(memberId: string): void;
  bookmarkSaved(b: Bookmark): void;
  directionAdded(d: DirectionInfo): void;
  /** Direction discovery jobs running for this room's model (issue 6's `direction:progress`), by job id. */
  discoveries: Record<string, { method: string; done: number; total: number; error: string | null }>;
  discoveryProgress(jobId: string, method: string, done: number, total: number): void;
  discoveryEnded(jobId: string, error: string | null): void;
}

export interface FrameSlice {
  frame: FrameView | undefined;
  /** Frames taken (each newer than the last), for the test hook. */
  framesTaken: number;
  latency: LatencyState;
  /** Would a frame of this version be painted? (checked before decoding it) */
  wantsFrame(version: number): boolean;
  /**
   * Takes a decoded frame if it is still the newest; returns the frame it replaced (the caller
   * frees its image) or, when refused, the offered one.
   */
  frameDecoded(frame: FrameView): { taken: boolean; release: FrameView | undefined };
}

export interface PresenceSlice {
  /** Other members' latest pointers, by member id. */
  pointers: Record<string, PointerBroadcast & { at: number }>;
  pointerReceived(p: PointerBroadcast, at: number): void;
}

export type Projection = 'pca' | 'umap';

export interface PointsSlice {
  points: { status: 'idle' | 'loading' | 'ready' | 'error'; cloud: PointCloud | undefined; error: string | null };
  projection: Projection;
  umap: { status: 'idle' | 'running' | 'ready' | 'error'; progress: number; positions: Float32Array | undefined; error: string | null };
  /** `class`, or the name of one of the cloud's scores, or `norm`. */
  colorBy: string;
  /** Index of the point under the pointer. */
  hovered: number | null;
  /** What the scene draws besides the cloud: the interpolation path being set up, direction vectors. */
  overlays: { path: { from: number[]; to: number[]; mode: 'lerp' | 'slerp' } | null; directionVectors: Record<string, number[]> };
  setPathPreview(path: PointsSlice['overlays']['path']): void;
  setDirectionVectors(vectors: Record<string, number[]>): void;
  pointsLoading(): void;
  pointsLoaded(cloud: PointCloud): void;
  pointsFailed(error: string): void;
  setProjection(p: Projection): void;
  umapProgress(progress: number): void;
  umapDone(positions: Float32Array): void;
  umapFailed(error: string): void;
  setColorBy(c: string): void;
  setHovered(i: number | null): void;
}

export interface IntentsSlice {
  /** The last refused request, for the error line (cleared by the next success). */
  lastError: string | null;
  /** Sends an op; the room changes when the server's `latent:state` comes back. */
  steer(op: LatentOp): Promise<Result<{ version: number }>>;
  saveBookmark(name: string, tags: string[]): Promise<Result<Bookmark>>;
  point(pointer: Pointer): void;
  revoke(role: Role): Promise<Result<{ token: string }>>;
  /**
   * Starts a direction discovery; once acked, the job is listed in `discoveries` (0 of 0 until
   * its first `direction:progress`), so a failure that comes before any progress still shows.
   */
  discover(req: DirectionDiscoverRequest): Promise<Result<DirectionDiscoverResponse>>;
  /** Steers toward an attribute; the room changes with the `latent:state` of the `steer` op. */
  steerToward(req: DirectionSteerRequest): Promise<Result<DirectionSteerResponse>>;
  /** Connects the store to a realtime layer (once it exists). */
  bindRealtime(port: RealtimePort | undefined): void;
  clearError(): void;
}

export type ExplorerState = ConnectionSlice & RoomSlice & FrameSlice & PresenceSlice & PointsSlice & IntentsSlice & HistorySlice;
export type ExplorerStore = StoreApi<ExplorerState>;

type Slice<T> = StateCreator<ExplorerState, [], [], T>;

const connectionSlice: Slice<ConnectionSlice> = (set) => ({
  connection: { status: 'connecting', attempt: 0, message: null },
  setConnection: (status, message = null, attempt = 0) => set({ connection: { status, message, attempt } }),
});

const roomSlice: Slice<RoomSlice> = (set) => ({
  room: undefined,
  roomSnapshot: (s) => set((st) => ({ room: applySnapshot(st.room, s) })),
  latentState: (s) => set((st) => ({ room: applyLatentState(st.room, s) })),
  memberJoined: (m) => set((st) => ({ room: applyMemberJoined(st.room, m) })),
  memberLeft: (id) =>
    set((st) => {
      const { [id]: _gone, ...pointers } = st.pointers;
      return { room: applyMemberLeft(st.room, id), pointers };
    }),
  bookmarkSaved: (b) => set((st) => ({ room: applyBookmarkSaved(st.room, b) })),
  directionAdded: (d) => set((st) => ({ room: applyDirectionAdded(st.room, d) })),
  discoveries: {},
  discoveryProgress: (jobId, method, done, total) => set((st) => ({ discoveries: { ...st.discoveries, [jobId]: { method, done, total, error: null } } })),
  discoveryEnded: (jobId, error) =>
    set((st) => {
      const { [jobId]: job, ...rest } = st.discoveries;
      return { discoveries: error && job ? { ...rest, [jobId]: { ...job, error } } : rest };
    }),
});

const frameSlice: Slice<FrameSlice> = (set, get) => ({
    frame: undefined,
    framesTaken: 0,
    latency: { pending: [], lastMs: null },
    wantsFrame: (version) => isNewerFrame(get().frame, version),
    frameDecoded: (frame) => {
      const st = get();
      if (!isNewerFrame(st.frame, frame.version)) return { taken: false, release: frame };
      set({ frame, framesTaken: st.framesTaken + 1, latency: latencyFrame(st.latency, frame.version, frame.receivedAt) });
      return { taken: true, release: st.frame };
    },
  });

const presenceSlice: Slice<PresenceSlice> = (set) => ({
  pointers: {},
  pointerReceived: (p, at) =>
    set((st) => (st.room?.members.some((m) => m.memberId === p.memberId) ? { pointers: { ...st.pointers, [p.memberId]: { ...p, at } } } : {})),
});

const pointsSlice: Slice<PointsSlice> = (set) => ({
  points: { status: 'idle', cloud: undefined, error: null },
  projection: 'pca',
  umap: { status: 'idle', progress: 0, positions: undefined, error: null },
  colorBy: 'class',
  hovered: null,
  overlays: { path: null, directionVectors: {} },
  setPathPreview: (path) => set((st) => ({ overlays: { ...st.overlays, path } })),
  setDirectionVectors: (directionVectors) => set((st) => ({ overlays: { ...st.overlays, directionVectors } })),
  pointsLoading: () => set({ points: { status: 'loading', cloud: undefined, error: null } }),
  pointsLoaded: (cloud) =>
    set({
      points: { status: 'ready', cloud, error: null },
      umap: { status: 'idle', progress: 0, positions: undefined, error: null },
      colorBy: cloud.labels ? 'class' : (cloud.header.scores[0]?.name ?? 'norm'),
    }),
  pointsFailed: (error) => set({ points: { status: 'error', cloud: undefined, error } }),
  setProjection: (projection) => set({ projection }),
  umapProgress: (progress) => set((st) => ({ umap: { ...st.umap, status: 'running', progress } })),
  umapDone: (positions) => set({ umap: { status: 'ready', progress: 1, positions, error: null } }),
  umapFailed: (error) => set((st) => ({ umap: { ...st.umap, status: 'error', error }, projection: 'pca' })),
  setColorBy: (colorBy) => set({ colorBy }),
  setHovered: (hovered) => set((st) => (st.hovered === hovered ? {} : { hovered })),
});

function intentsSlice(): Slice<IntentsSlice> {
  let port: RealtimePort | undefined;
  let nextOpId = 1;
  return (set, get) => ({
    lastError: null,
    bindRealtime: (p) => {
      port = p;
    },
    clearError: () => set({ lastError: null }),
    async steer(op) {
      if (!port) return NOT_CONNECTED;
      const id = nextOpId++;
      set((st) => ({ latency: latencyOpSent(st.latency, id, performance.now()) }));
      let res: Result<{ version: number }>;
      try {
        res = await port.sendOp(op);
      } catch {
        res = NO_ANSWER;
      }
      if (res.ok) {
        const { version } = res.data;
        set((st) => ({ latency: latencyOpAcked(st.latency, id, version, st.frame), lastError: null }));
      } else {
        set((st) => ({ latency: latencyOpFailed(st.latency, id), lastError: describeRefusal(res) }));
      }
      return res;
    },
    async saveBookmark(name, tags) {
      if (!port) return NOT_CONNECTED;
      let res: Result<Bookmark>;
      try {
        res = await port.saveBookmark(name, tags);
      } catch {
        res = NO_ANSWER;
      }
      if (res.ok) {
        get().bookmarkSaved(res.data);
        set({ lastError: null });
      } else set({ lastError: describeRefusal(res) });
      return res;
    },
    point(pointer) {
      port?.sendPointer(pointer);
    },
    async revoke(role) {
      if (!port) return NOT_CONNECTED;
      const res = await port.revoke(role).catch(() => ({ ok: false as const, error: 'internal' as const, message: 'no answer from the server' }));
      set({ lastError: res.ok ? null : describeRefusal(res) });
      return res;
    },
    async discover(req) {
      if (!port?.discover) return NOT_CONNECTED;
      const res = await port.discover(req).catch(() => NO_ANSWER);
      if (res.ok) {
        const { jobId } = res.data;
        set((st) => (st.discoveries[jobId] ? {} : { discoveries: { ...st.discoveries, [jobId]: { method: req.method, done: 0, total: 0, error: null } } }));
      }
      return res;
    },
    async steerToward(req) {
      if (!port?.steerToward) return NOT_CONNECTED;
      return port.steerToward(req).catch(() => NO_ANSWER);
    },
  });
}

/** A new store; one per page (the provider creates it once). */
export function createExplorerStore(): ExplorerStore {
  return createStore<ExplorerState>()((...a) => ({
    ...connectionSlice(...a),
    ...roomSlice(...a),
    ...frameSlice(...a),
    ...presenceSlice(...a),
    ...pointsSlice(...a),
    ...intentsSlice()(...a),
    ...historySlice()(...a),
  }));
}
