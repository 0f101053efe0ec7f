/**
 * The browser's realtime layer for one room: the only code that emits on the socket. It joins
 * with the link's token, feeds every broadcast into the explorer store's reducers
 * (lib/stores), decodes frames newest-wins (SPEC F2: a frame is decoded only if it would be newer
 * than the painted one, and taken only if it still is once decoded), and serves the store's
 * intents (ops, bookmarks, pointers, link revocation) as a RealtimePort, and the history slice's
 * (reading the op log, branching) as a HistoryPort.
 *
 * Reconnects: socket.io retries by itself; a recovered session gets `room:snapshot` (R1), an
 * unrecovered one joins again with the token (J2). The store's connection slice shows which.
 */
import { z } from 'zod';
import type { Result } from '../protocol/events';
import {
  BookmarkSaveRequestSchema,
  POINTER_INTERVAL_MS,
  type FrameBroadcast,
  type Pointer,
  type RoomSnapshot,
} from '../protocol/rooms';
import type { ExplorerStore, RealtimePort } from '../stores/explorer-store';
import { createClientSocket, type ClientSocket } from './client-socket';
import { branchRoom, discoverDirections, joinRoom, leaveRoom, readHistory, REQUEST_TIMEOUT_MS, revokeLink, sendOp, steerToward } from './room-client';

const DirectionAddedSchema = z.object({
  direction: z.object({ id: z.string().min(1), name: z.string(), method: z.string(), scores: z.record(z.string(), z.unknown()).optional(), createdAt: z.string().optional() }).loose(),
});
const DirectionProgressSchema = z.object({ jobId: z.string(), method: z.string(), done: z.number(), total: z.number() });
const DirectionFailedSchema = z.object({ jobId: z.string(), message: z.string() });

/** A join refused with `rate-limited` is retried after this long. */
const JOIN_RETRY_MS = 1_000;

export interface RoomConnection {
  readonly socket: ClientSocket;
  readonly port: RealtimePort;
  /** Leaves the room and closes the socket. */
  dispose(): void;
}

export interface RoomConnectionOptions {
  roomId: string;
  token: string;
  name: string;
  store: ExplorerStore;
  /** Decodes a frame's PNG (createImageBitmap in the browser). */
  decode(frame: FrameBroadcast): Promise<{ width: number; height: number; close?(): void }>;
  /** Server URL; omitted in the browser (same origin). */
  url?: string;
}

function joinFailure(res: Extract<Result<RoomSnapshot>, { ok: false }>): string {
  switch (res.error) {
    case 'unauthorized':
      return 'This link does not open a room: it was revoked, or it is incomplete. Ask for a new link.';
    case 'protocol-mismatch':
      return 'The server was updated: reload the page.';
    default:
      return res.message ?? `could not join (${res.error})`;
  }
}

export function connectRoom(opts: RoomConnectionOptions): RoomConnection {
  const { store } = opts;
  const socket = createClientSocket(opts.url, { autoConnect: false });
  let joined = false;
  let disposed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;

  async function join(): Promise<void> {
    let res: Result<RoomSnapshot>;
    try {
      res = await joinRoom(socket, { roomId: opts.roomId, token: opts.token, name: opts.name });
    } catch {
      // No answer in time: socket.io will reconnect, and `connect` joins again.
      if (!disposed && socket.connected) retry = setTimeout(() => void join(), JOIN_RETRY_MS);
      return;
    }
    if (disposed) return;
    if (res.ok) {
      joined = true;
      store.getState().roomSnapshot(res.data);
      store.getState().setConnection('live');
    } else if (res.error === 'rate-limited') {
      retry = setTimeout(() => void join(), JOIN_RETRY_MS);
    } else {
      store.getState().setConnection('failed', joinFailure(res));
      socket.disconnect();
    }
  }

  socket.on('connect', () => {
    if (joined && socket.recovered) {
      // The server resumes the membership and sends room:snapshot (R1).
      store.getState().setConnection('live');
      return;
    }
    void join();
  });
  socket.on('disconnect', (reason) => {
    // Our own disconnect follows a failure already shown (or the page leaving).
    if (disposed || reason === 'io client disconnect') return;
    if (reason === 'io server disconnect') {
      store.getState().setConnection('failed', 'The server closed this connection: the link you joined with was revoked.');
    } else {
      store.getState().setConnection('reconnecting', 'Connection lost; reconnecting…');
    }
  });
  socket.on('connect_error', (err) => {
    if (disposed) return;
    const status = store.getState().connection.status;
    store.getState().setConnection(status === 'live' ? 'reconnecting' : status === 'failed' ? 'failed' : status, `Cannot reach the server (${err.message}); retrying…`);
  });
  socket.io.on('reconnect_attempt', (attempt) => {
    if (!disposed) store.getState().setConnection('reconnecting', 'Connection lost; reconnecting…', attempt);
  });

  socket.on('room:snapshot', (s) => {
    store.getState().roomSnapshot(s);
    store.getState().setConnection('live');
  });
  socket.on('latent:state', (s) => store.getState().latentState(s));
  socket.on('room:member-joined', (m) => store.getState().memberJoined(m));
  socket.on('room:member-left', ({ memberId }) => store.getState().memberLeft(memberId));
  socket.on('bookmark:saved', (b) => store.getState().bookmarkSaved(b));
  socket.on('presence:pointer', (p) => store.getState().pointerReceived(p, performance.now()));
  socket.on('frame', (frame) => {
    const receivedAt = performance.now();
    if (!store.getState().wantsFrame(frame.version)) return;
    void opts.decode(frame).then(
      (image) => {
        const { release } = store.getState().frameDecoded({ version: frame.version, image, width: image.width, height: image.height, receivedAt });
        release?.image.close?.();
      },
      () => {
        // An undecodable frame is skipped: the next one replaces it.
      },
    );
  });

  // Directions found while the room is open (issue 6's events). They are not in this protocol's
  // typed contract yet, so they are read by name and parsed here; a server without them sends none.
  socket.onAny((event: string, payload: unknown) => {
    const s = store.getState();
    if (event === 'direction:added') {
      const p = DirectionAddedSchema.safeParse(payload);
      if (p.success) s.directionAdded(p.data.direction);
    } else if (event === 'direction:progress') {
      const p = DirectionProgressSchema.safeParse(payload);
      if (p.success) s.discoveryProgress(p.data.jobId, p.data.method, p.data.done, p.data.total);
    } else if (event === 'direction:failed') {
      const p = DirectionFailedSchema.safeParse(payload);
      if (p.success) s.discoveryEnded(p.data.jobId, p.data.message);
    }
  });

  // Pointers: at most one per POINTER_INTERVAL_MS, the newest (the server relays at that rate too).
  let lastPointerAt = -Infinity;
  let queuedPointer: Pointer | undefined;
  let pointerTimer: ReturnType<typeof setTimeout> | undefined;
  function flushPointer(): void {
    pointerTimer = undefined;
    if (!queuedPointer || !joined || !socket.connected) return;
    socket.volatile.emit('presence:pointer', queuedPointer);
    queuedPointer = undefined;
    lastPointerAt = performance.now();
  }

  const port: RealtimePort = {
    sendOp: (op) => sendOp(socket, op),
    saveBookmark(name, tags) {
      // Tags travel only if this protocol's request schema has them (they come with durable
      // bookmarks); an older server would refuse the unknown field.
      const withTags = tags.length > 0 ? BookmarkSaveRequestSchema.safeParse({ name, tags }) : undefined;
      const req = withTags?.success ? withTags.data : { name };
      return socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck('bookmark:save', req);
    },
    sendPointer(pointer) {
      queuedPointer = pointer;
      const wait = lastPointerAt + POINTER_INTERVAL_MS - performance.now();
      if (wait <= 0 && !pointerTimer) flushPointer();
      else pointerTimer ??= setTimeout(flushPointer, Math.max(0, wait));
    },
    revoke: (role) => revokeLink(socket, role),
    discover: (req) => discoverDirections(socket, req),
    steerToward: (req) => steerToward(socket, req),
  };
  store.getState().bindRealtime(port);
  store.getState().bindHistory({ history: (req) => readHistory(socket, req), branch: (req) => branchRoom(socket, req) });
  store.getState().setConnection('connecting');
  socket.connect();

  return {
    socket,
    port,
    dispose() {
      disposed = true;
      clearTimeout(retry);
      clearTimeout(pointerTimer);
      store.getState().bindRealtime(undefined);
      store.getState().bindHistory(undefined);
      if (joined && socket.connected) void leaveRoom(socket).catch(() => undefined);
      socket.disconnect();
    },
  };
}

