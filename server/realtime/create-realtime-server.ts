/**
 * The Socket.IO server, attached to the one HTTP server that also serves Next.js. Dependencies
 * are injected so integration tests can start the real thing on port 0; handlers are registered
 * per domain from ./handlers.
 */
import type { Server as HttpServer } from 'node:http';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import type {
  ClientToServerEvents,
  InterServerEvents,
  Result,
  ServerToClientEvents,
  SocketData,
} from '../../lib/protocol/events';
import type { Database } from '../db/open-database';
import type { DirectionsService } from '../directions/service';
import type { EngineClient } from '../inference/engine-protocol';
import type { Logger } from '../logger';
import type { DirectionInfo, FrameBroadcast, PointerBroadcast } from '../../lib/protocol/rooms';
import { createRoomRegistry, type RoomRegistry } from '../rooms/registry';
import { engineRenderer } from '../rooms/render-frame';
import type { RenderFrame, Room } from '../rooms/room';
import { createRoomStore, type RoomStore } from '../rooms/room-store';
import { createDirectionRealtime } from './handlers/direction.handlers';
import { registerLatentHandlers } from './handlers/latent.handlers';
import { registerPresenceHandlers } from './handlers/presence.handlers';
import { registerRoomHandlers, resumeMembership } from './handlers/room.handlers';
import { registerServerHandlers } from './handlers/server.handlers';
import { createFrameSender, createNewestSender, type FrameSender, type NewestSender } from './newest-sender';
import { createTokenBucket, RATE_LIMITS } from './rate-limit';

export type RealtimeServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type RealtimeSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface RealtimeDeps {
  /**
   * `info` for hello, `models` and `decode` for rooms; tensor work, and the batching of decodes
   * across rooms, stay in the engine worker.
   */
  engine: Pick<EngineClient, 'info' | 'models' | 'decodePng'>;
  database: Database;
  logger: Logger;
  /** Application version reported at hello. */
  version: string;
  /** Abuse limits; defaults in DEFAULT_REALTIME_LIMITS (the server wires lib/env.ts's values). */
  limits?: Partial<RealtimeLimits>;
  /** Direction discovery and steering (SPEC D); without it, `direction:*` requests are refused. */
  directions?: DirectionsService;
  /** Cluster mode (server/cluster/start-node.ts). Absent: one self-contained process. */
  cluster?: RealtimeCluster;
}

/**
 * What cluster mode changes in this server, all through these hooks: the Socket.IO adapter, the
 * store (fenced writes), the renderer (decode queue), and the registry the handlers see (rooms
 * owned by other nodes are forwarded). Frames and pointers stay newest-wins per socket: each
 * node delivers them to its own sockets, and the cluster relays them between nodes.
 */
export interface RealtimeCluster {
  /** The Socket.IO adapter shared by every node (Redis Streams: keeps connection-state recovery). */
  adapter: NonNullable<Partial<ServerOptions>['adapter']>;
  /** Renders frames elsewhere (inference workers); unset: this process's engine. */
  renderFrame?: RenderFrame;
  wrapStore(store: RoomStore): RoomStore;
  attach(io: RealtimeServer, local: RoomRegistry, deliver: LocalDelivery): ClusterAttachment;
}

/** Delivery to this node's own sockets in a room, newest-wins (frames to all, pointers to all). */
export interface LocalDelivery {
  frame(roomId: string, frame: FrameBroadcast): void;
  pointer(roomId: string, pointer: PointerBroadcast): void;
}

export interface ClusterAttachment {
  /** The registry the handlers use. */
  rooms: RoomRegistry;
  relayFrame(roomId: string, frame: FrameBroadcast): void;
  relayPointer(roomId: string, pointer: PointerBroadcast): void;
  /** Runs a room request on the room's owner: here, or forwarded to the node holding its lease. */
  ownerRequest: RealtimeContext['ownerRequest'];
  /** Sends a direction stored here to the other nodes, for the rooms they own (SPEC C8). */
  relayDirection(modelId: string, direction: DirectionWithVector): void;
  /** Calls `fn` with each direction another node stored. */
  onDirection(fn: (modelId: string, direction: DirectionWithVector) => void): void;
}

/** A stored direction with its vector: what a room needs to apply ops along it (SPEC D3). */
export type DirectionWithVector = DirectionInfo & { vector: Float32Array };

/**
 * The half of a room request that needs the room itself (its live state, its one-at-a-time
 * rules), run where the room lives. `payload` was parsed at the socket's boundary; an owner on
 * another node receives it as JSON and parses it again.
 */
export type OwnerRun<T> = (room: Room, memberId: string, payload: unknown) => Promise<T>;

/** Per-server abuse limits (SPEC H3, E7, E8). */
export interface RealtimeLimits {
  /** Acked requests per socket: sustained per second and burst. */
  requestsPerSecond: number;
  requestBurst: number;
  /** Largest inbound message, bytes (Socket.IO maxHttpBufferSize). */
  maxPayloadBytes: number;
  /** Browser origins allowed besides the server's own (exact `scheme://host[:port]`). */
  allowedOrigins: readonly string[];
}

export const DEFAULT_REALTIME_LIMITS: RealtimeLimits = {
  requestsPerSecond: RATE_LIMITS.request.refillPerSecond,
  requestBurst: RATE_LIMITS.request.capacity,
  // Latent vectors are small; frames go the other way.
  maxPayloadBytes: 64 * 1024,
  allowedOrigins: [],
};

/** What the domain handlers share. */
export interface RealtimeContext {
  io: RealtimeServer;
  rooms: RoomRegistry;
  deps: RealtimeDeps;
  /** Newest-wins delivery of a room's frames to one socket, once per version. */
  sendFrame: FrameSender<FrameBroadcast>;
  /** Newest-wins delivery of relayed pointers (key: the pointing member's id). */
  sendPointer: NewestSender<PointerBroadcast>;
  /** Cluster mode: sends a member's pointer to the other nodes' members too. */
  relayPointer?(roomId: string, pointer: PointerBroadcast): void;
  /** Cluster mode: sends a direction stored by this node's service to the other nodes (SPEC C8). */
  relayDirection?(modelId: string, direction: DirectionWithVector): void;
  /**
   * Registers a room request that must run on the node that owns the room (named, so an owner on
   * another node can run it) and returns how to call it: in one process it is `run` itself; in
   * cluster mode a member on another node has it forwarded to the owner (SPEC C7), whose answer
   * or error code is the result. `timeoutMs`: how long a forwarded call may take.
   */
  ownerRequest<T>(name: string, run: OwnerRun<T>, opts?: { timeoutMs?: number }): OwnerRun<T>;
}

/**
 * How long a dropped socket's session (id, rooms, membership) is kept for connection-state
 * recovery (SPEC R1). Past it, the client joins again with its token and gets a fresh snapshot.
 */
const RECOVERY_WINDOW_MS = 2 * 60_000;

/**
 * The handshake's Origin check (SPEC H3): a browser always sends Origin, and only pages served
 * by this server (same host and port) or by an origin the operator listed (ALLOWED_ORIGINS, e.g.
 * behind a proxy) may open a socket, so another site cannot ride a visitor's session. Clients
 * without Origin (Node, CLI, tests) are not browsers: allowed.
 */
export function isAllowedOrigin(origin: string | undefined, host: string | undefined, allowed: readonly string[] = []): boolean {
  if (origin === undefined) return true;
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    return (host !== undefined && url.host === host) || allowed.includes(url.origin);
  } catch {
    return false;
  }
}

/**
 * Per-socket token buckets in front of every handler (SPEC E7): an acked request over the limit
 * is answered `rate-limited` without being parsed; a pointer over the limit is dropped.
 */
function limitRate(socket: RealtimeSocket, limits: RealtimeLimits): void {
  const buckets = {
    request: createTokenBucket({ capacity: limits.requestBurst, refillPerSecond: limits.requestsPerSecond }),
    create: createTokenBucket(RATE_LIMITS.create),
    pointer: createTokenBucket(RATE_LIMITS.pointer),
  };
  socket.use(([event, ...args], next) => {
    // A branch creates a room too (SPEC O15).
    const bucket = event === 'presence:pointer' ? buckets.pointer : event === 'room:create' || event === 'room:branch' ? buckets.create : buckets.request;
    if (bucket.take()) {
      next();
      return;
    }
    const ack = args[args.length - 1];
    if (typeof ack === 'function') (ack as (res: Result<never>) => void)({ ok: false, error: 'rate-limited', message: 'slow down' });
  });
}

/** The Socket.IO room of a latent room's members. */
export function roomChannel(roomId: string): string {
  return `room:${roomId}`;
}

export function createRealtimeServer(httpServer: HttpServer, deps: RealtimeDeps): { io: RealtimeServer; rooms: RoomRegistry; stop(): void } {
  const limits: RealtimeLimits = { ...DEFAULT_REALTIME_LIMITS, ...deps.limits };
  const io: RealtimeServer = new Server(httpServer, {
    serveClient: false,
    maxHttpBufferSize: limits.maxPayloadBytes,
    connectionStateRecovery: { maxDisconnectionDuration: RECOVERY_WINDOW_MS, skipMiddlewares: true },
    allowRequest: (req, callback) => callback(null, isAllowedOrigin(req.headers.origin, req.headers.host, limits.allowedOrigins)),
    ...(deps.cluster ? { adapter: deps.cluster.adapter } : {}),
  });
  const sendFrame = createFrameSender<FrameBroadcast>((socket, frame) => socket.emit('frame', frame));
  const sendPointer = createNewestSender<PointerBroadcast>((socket, pointer) => socket.emit('presence:pointer', pointer));
  const localSockets = function* (roomId: string) {
    for (const id of io.sockets.adapter.rooms.get(roomChannel(roomId)) ?? []) {
      const socket = io.sockets.sockets.get(id);
      if (socket) yield socket;
    }
  };
  const deliver: LocalDelivery = {
    frame: (roomId, frame) => {
      for (const socket of localSockets(roomId)) sendFrame(socket, roomId, frame);
    },
    pointer: (roomId, pointer) => {
      for (const socket of localSockets(roomId)) sendPointer(socket, pointer.memberId, pointer);
    },
  };
  // Set once the cluster is attached to the registry below (frames are relayed after that).
  const attached: { cluster?: ClusterAttachment } = {};
  const store = createRoomStore(deps.database);
  const local = createRoomRegistry({
    store: deps.cluster ? deps.cluster.wrapStore(store) : store,
    engine: deps.engine,
    renderFrame: deps.cluster?.renderFrame ?? engineRenderer(deps.engine),
    logger: deps.logger,
    outbox: (roomId) => ({
      state: (state) => io.to(roomChannel(roomId)).emit('latent:state', state),
      bookmark: (bookmark) => io.to(roomChannel(roomId)).emit('bookmark:saved', bookmark),
      frame: (frame) => {
        deliver.frame(roomId, frame);
        attached.cluster?.relayFrame(roomId, frame);
      },
    }),
  });
  const cluster = deps.cluster?.attach(io, local, deliver);
  if (cluster) attached.cluster = cluster;
  const rooms = cluster?.rooms ?? local;
  const ctx: RealtimeContext = {
    io,
    rooms,
    deps,
    sendFrame,
    sendPointer,
    ownerRequest: cluster ? cluster.ownerRequest : (_name, run) => run,
    ...(cluster ? { relayPointer: cluster.relayPointer, relayDirection: cluster.relayDirection } : {}),
  };
  const directions = createDirectionRealtime(ctx, deps.directions);
  // Directions another node's service stored reach the rooms this node owns (SPEC C8).
  cluster?.onDirection((modelId, d) => directions.announce(modelId, d));
  io.on('connection', (socket) => {
    deps.logger.debug(`socket ${socket.id} connected${socket.recovered ? ' (recovered)' : ''}`);
    if (!socket.recovered) socket.data.greeted = false;
    registerServerHandlers(socket, deps);
    registerRoomHandlers(socket, ctx);
    registerLatentHandlers(socket, ctx);
    registerPresenceHandlers(socket, ctx);
    directions.register(socket);
    limitRate(socket, limits);
    if (socket.recovered) {
      // Packets the client buffered while away arrive right after the reconnect; they wait until
      // the member is back in its room, in order, instead of meeting `not-joined` (SPEC R1).
      const resumed = resumeMembership(socket, ctx);
      socket.use((_packet, next) => void resumed.then(() => next()));
    }
    socket.on('disconnect', (reason) => deps.logger.debug(`socket ${socket.id} disconnected: ${reason}`));
  });
  return { io, rooms, stop: () => directions.stop() };
}
