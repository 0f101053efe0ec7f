/**
 * Typed room requests over a ClientSocket (SPEC J, O, B). The browser's realtime layer and the
 * integration tests both go through these.
 */
import { PROTOCOL_VERSION, type Result } from '../protocol/events';
import type { DirectionDiscoverRequest, DirectionDiscoverResponse, DirectionSteerRequest, DirectionSteerResponse } from '../protocol/directions';
import type { Bookmark, LatentOp, LatentOpResponse, RoomCreateResponse, RoomRevokeResponse, RoomSnapshot } from '../protocol/rooms';
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
