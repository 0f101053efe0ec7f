/**
 * Typed room requests over a ClientSocket (SPEC J, O, B). The browser's realtime layer and the
 * integration tests both go through these.
 */
import { PROTOCOL_VERSION, type Result } from '../protocol/events';
import type { DirectionDiscoverRequest, DirectionDiscoverResponse, DirectionSteerRequest, DirectionSteerResponse } from '../protocol/directions';
import type {
  Bookmark,
  LatentOp,
  LatentOpResponse,
  RoomBranchRequest,
  RoomCreateResponse,
  RoomHistoryRequest,
  RoomHistoryResponse,
  RoomRevokeResponse,
  RoomSnapshot,
} from '../protocol/rooms';
import type { ClientSocket } from './client-socket';

/** How long a room request may take before the client gives up on it. */
export const REQUEST_TIMEOUT_MS = 5_000;
/**
 * A steer runs in the directions worker (started at its first request) before it is acked:
 * up to MAX_STEER_STEPS gradient steps through the generator and the classifier.
 */
export const STEER_TIMEOUT_MS = 60_000;

export function createRoom(socket: ClientSocket, modelId: string, name?: string): Promise<Result<RoomCreateResponse>> {
  return socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck('room:create', name === undefined ? { modelId } : { modelId, name });
}

export function joinRoom(
  socket: ClientSocket,
  req: { roomId: string; token: string; name: string; protocolVersion?: number },
): Promise<Result<RoomSnapshot>> {
  return socket
    .timeout(REQUEST_TIMEOUT_MS)
    .emitWithAck('room:join', { protocolVersion: PROTOCOL_VERSION, ...req });
}

export function leaveRoom(socket: ClientSocket): Promise<Result<Record<string, never>>> {
  return socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck('room:leave', {});
}

export function revokeLink(socket: ClientSocket, role: 'editor' | 'viewer'): Promise<Result<RoomRevokeResponse>> {
  return socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck('room:revoke', { role });
}

export function sendOp(socket: ClientSocket, op: LatentOp): Promise<Result<LatentOpResponse>> {
  return socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck('latent:op', op);
}

export function saveBookmark(socket: ClientSocket, name: string): Promise<Result<Bookmark>> {
  return socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck('bookmark:save', { name });
}

/** Starts a discovery job on the room's model (SPEC D1); acked with its id once it is queued. */
export function discoverDirections(socket: ClientSocket, req: DirectionDiscoverRequest): Promise<Result<DirectionDiscoverResponse>> {
  return socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck('direction:discover', req);
}

/** Steers the room's latent toward a classifier attribute (SPEC D7); acked once the `steer` op is applied. */
export function steerToward(socket: ClientSocket, req: DirectionSteerRequest): Promise<Result<DirectionSteerResponse>> {
  return socket.timeout(STEER_TIMEOUT_MS).emitWithAck('direction:steer', req);
}

/** The room's op log, newest first (O14). */
export function readHistory(socket: ClientSocket, req: RoomHistoryRequest): Promise<Result<RoomHistoryResponse>> {
  return socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck('room:history', req);
}

/** A new room starting at a past version of the joined one (O15); it writes a whole room, so it waits as long as room:create does. */
export function branchRoom(socket: ClientSocket, req: RoomBranchRequest): Promise<Result<RoomCreateResponse>> {
  return socket.timeout(REQUEST_TIMEOUT_MS * 2).emitWithAck('room:branch', req);
}
