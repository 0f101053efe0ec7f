/**
 * Typed room requests over a ClientSocket (SPEC J, O, B). The browser's realtime layer and the
 * integration tests both go through these.
 */
import { PROTOCOL_VERSION, type Result } from '../protocol/events';
import type { Bookmark, LatentOp, LatentOpResponse, RoomCreateResponse, RoomRevokeResponse, RoomSnapshot } from '../protocol/rooms';
import type { ClientSocket } from './client-socket';

/** How long a room request may take before the client gives up on it. */
export const REQUEST_TIMEOUT_MS = 5_000;

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
