/**
 * The typed Socket.IO contract shared by the server (`new Server<ClientToServerEvents,
 * ServerToClientEvents, InterServerEvents, SocketData>`) and the browser (`Socket<
 * ServerToClientEvents, ClientToServerEvents>`). Rules are in ./SPEC.md; tests name the rule they
 * prove.
 *
 * Shape: `domain:verb` names, requests acked with a {@link Result}, every payload parsed with
 * zod at the server's boundary. The room payloads and their schemas are in ./rooms.ts.
 */
import { z } from 'zod';
import type {
  DirectionDiscoverRequest,
  DirectionDiscoverResponse,
  DirectionFailedBroadcast,
  DirectionProgressBroadcast,
  DirectionSteerRequest,
  DirectionSteerResponse,
} from './directions';
import type {
  Bookmark,
  BookmarkSaveRequest,
  DirectionInfo,
  FrameBroadcast,
  LatentOp,
  LatentOpResponse,
  LatentStateBroadcast,
  Member,
  Pointer,
  PointerBroadcast,
  Role,
  RoomBranchRequest,
  RoomCreateRequest,
  RoomCreateResponse,
  RoomHistoryRequest,
  RoomHistoryResponse,
  RoomJoinRequest,
  RoomRevokeRequest,
  RoomRevokeResponse,
  RoomSnapshot,
} from './rooms';

/** Bumped on any incompatible change to the events below. Checked at hello (H2) and join (J3). */
export const PROTOCOL_VERSION = 3;

/** Closed set of errors a client can receive; internal errors are never echoed (rule E1). */
export const ERROR_CODES = [
  /** The payload failed its schema, or a vector has the wrong length or is not finite (E1, E4). */
  'bad-request',
  /** The client's protocol version is not the server's (H2, J3). */
  'protocol-mismatch',
  /** Unknown room, or a token that does not open it (J4): one answer for both. */
  'unauthorized',
  /** The member's role does not allow this (E3). */
  'forbidden',
  /** An id (model, bookmark, direction) that does not exist (E5). */
  'not-found',
  /** A room request from a socket that has not joined a room (E3). */
  'not-joined',
  /** Too many requests from this socket; retry later (E7). */
  'rate-limited',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The answer to every acked request.
 * @example { ok: true, data: { protocolVersion: 3, ... } }
 * @example { ok: false, error: 'protocol-mismatch', message: 'server speaks protocol 1' }
 */
export type Result<T> = { ok: true; data: T } | { ok: false; error: ErrorCode; message?: string };

/** Payload of `server:hello`. */
export const HelloRequestSchema = z.object({
  protocolVersion: z.number().int().nonnegative(),
});
export type HelloRequest = z.infer<typeof HelloRequestSchema>;

/** What the server says back to a hello. */
export interface HelloResponse {
  protocolVersion: number;
  /** Application version (package.json). */
  serverVersion: string;
  /** Ladder name of the TF.js backend the engine worker runs on, e.g. `'wasm'`. */
  engineBackend: string;
  /** Server clock in ms since the epoch, for latency display. */
  serverTime: number;
}

export interface ClientToServerEvents {
  /**
   * Handshake and ping: the client states its protocol version, the server acks with its own.
   * @example socket.emit('server:hello', { protocolVersion: PROTOCOL_VERSION }, (res) => ...)
   */
  'server:hello': (req: HelloRequest, ack: (res: Result<HelloResponse>) => void) => void;
  /**
   * Creates a room exploring one model; answers its editor and viewer tokens (J1).
   * @example socket.emit('room:create', { modelId: 'dcgan-mnist-random' }, (res) => ...)
   */
  'room:create': (req: RoomCreateRequest, ack: (res: Result<RoomCreateResponse>) => void) => void;
  /** Joins a room with a capability token; answers the full snapshot (J2). */
  'room:join': (req: RoomJoinRequest, ack: (res: Result<RoomSnapshot>) => void) => void;
  /** Leaves the joined room (J5). */
  'room:leave': (req: Record<string, never>, ack: (res: Result<Record<string, never>>) => void) => void;
  /**
   * The room's op log with the state after each op, newest first, for scrubbing (O14). Any member.
   * @example socket.emit('room:history', { limit: 100 }, (res) => ...)
   */
  'room:history': (req: RoomHistoryRequest, ack: (res: Result<RoomHistoryResponse>) => void) => void;
  /**
   * A new room starting at this room's state at a past version, with this room's bookmarks (O15).
   * Editors only; answers the new room's tokens.
   */
  'room:branch': (req: RoomBranchRequest, ack: (res: Result<RoomCreateResponse>) => void) => void;
  /** Revokes the room's editor or viewer link and answers its replacement (J6). Editors only. */
  'room:revoke': (req: RoomRevokeRequest, ack: (res: Result<RoomRevokeResponse>) => void) => void;
  /** Applies one op to the room's latent state; answers the version it produced (O1). */
  'latent:op': (op: LatentOp, ack: (res: Result<LatentOpResponse>) => void) => void;
  /** Saves the room's current state under a name, with tags and an idempotency key (B1–B3). */
  'bookmark:save': (req: BookmarkSaveRequest, ack: (res: Result<Bookmark>) => void) => void;
  /** Fire-and-forget pointer and probe latent (P2). */
  'presence:pointer': (pointer: Pointer) => void;
  /**
   * Starts a discovery job on the room's model (editors; D1). Acked at once with its id; the
   * room hears `direction:progress`, then `direction:added` per direction or `direction:failed`.
   * @example socket.emit('direction:discover', { method: 'linear-boundary', params: { attribute: 'scale' } }, (res) => ...)
   */
  'direction:discover': (req: DirectionDiscoverRequest, ack: (res: Result<DirectionDiscoverResponse>) => void) => void;
  /**
   * Steers the room's latent toward a classifier attribute (editors; D7): applied as a `steer`
   * op, acked with its version like `latent:op`.
   * @example socket.emit('direction:steer', { attribute: '7' }, (res) => ...)
   */
  'direction:steer': (req: DirectionSteerRequest, ack: (res: Result<DirectionSteerResponse>) => void) => void;
}

export interface ServerToClientEvents {
  /** A member joined the room (P1). Not sent to the member who joined. */
  'room:member-joined': (member: Member) => void;
  /** A member left or dropped (P1). */
  'room:member-left': (left: { memberId: string }) => void;
  /** The full snapshot after a recovered reconnect (R1). */
  'room:snapshot': (snapshot: RoomSnapshot) => void;
  /** The state after each applied op, to every member (O1). */
  'latent:state': (state: LatentStateBroadcast) => void;
  /** A bookmark was saved (B1). */
  'bookmark:saved': (bookmark: Bookmark) => void;
  /** The decoded image of a version, volatile (F1). */
  frame: (frame: FrameBroadcast) => void;
  /** Another member's pointer, volatile and throttled (P2). */
  'presence:pointer': (pointer: PointerBroadcast) => void;
  /** Progress of a discovery job this room asked for (D2). */
  'direction:progress': (progress: DirectionProgressBroadcast) => void;
  /** A direction was stored for the room's model: every live room of it can use it at once (D3). */
  'direction:added': (added: { direction: DirectionInfo }) => void;
  /** A discovery job this room asked for failed (D5). */
  'direction:failed': (failed: DirectionFailedBroadcast) => void;
}

/**
 * Between the realtime nodes of a cluster (server/cluster), through the Socket.IO adapter's
 * serverSideEmit; never sent to or accepted from a client.
 */
export interface InterServerEvents {
  /** The owner's frame of a room, for each node to deliver to its own members newest-wins (F1). */
  'cluster:frame': (roomId: string, frame: FrameBroadcast) => void;
  /** A member's pointer, for each node to relay to its own members (P2). */
  'cluster:pointer': (roomId: string, pointer: PointerBroadcast) => void;
  /** This node now owns the room: nodes serving members of it elsewhere move them here. */
  'cluster:owner': (roomId: string, nodeId: string) => void;
  /** Tokens revoked in a room (J6): each node disconnects its sockets that joined with them. */
  'cluster:revoked': (roomId: string, tokenIds: string[]) => void;
  /** A direction one node's service stored (D3): each node adds it to the rooms of the model it owns (C8). */
  'cluster:direction': (modelId: string, direction: DirectionInfo & { vector: number[] }) => void;
}

/** Per-socket data kept by the server (restored with the socket by connection-state recovery). */
export interface SocketData {
  /** Set once the socket has completed a hello with a matching protocol version. */
  greeted: boolean;
  /** The room this socket has joined, if any. */
  membership?: { roomId: string; memberId: string; name: string; role: Role; tokenId: string };
}
