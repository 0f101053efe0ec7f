/**
 * Creates a room from a page that is not in one (the home page, a bookmark's permalink): opens a
 * socket for the request and closes it. With `from`, the room starts at a bookmark's state: where
 * the protocol's create request has `from` (durable rooms) the server does it; otherwise the new
 * room is joined once and set to the bookmark's z, psi and class with ordinary ops.
 */
import type { Result } from '../protocol/events';
import { RoomCreateRequestSchema, type LatentOp, type RoomCreateResponse } from '../protocol/rooms';
import { createClientSocket } from './client-socket';
import { joinRoom, leaveRoom, REQUEST_TIMEOUT_MS, sendOp } from './room-client';

export interface StartState {
  bookmarkId: string;
  z: number[];
  psi: number;
  classLabel: number | null;
}

export async function createRoomOnServer(modelId: string, name: string | undefined, from?: StartState): Promise<Result<RoomCreateResponse>> {
  const socket = createClientSocket(undefined, { autoConnect: true });
  try {
    const native = from ? RoomCreateRequestSchema.safeParse({ modelId, ...(name ? { name } : {}), from: { bookmark: from.bookmarkId } }) : undefined;
    const req = native?.success ? native.data : { modelId, ...(name ? { name } : {}) };
    const res: Result<RoomCreateResponse> = await socket.timeout(REQUEST_TIMEOUT_MS * 2).emitWithAck('room:create', req);
    if (!res.ok || !from || native?.success) return res;
    // Older protocol: set the new room to the bookmark's state as its first ops.
    const joined = await joinRoom(socket, { roomId: res.data.roomId, token: res.data.editorToken, name: 'setup' });
    if (!joined.ok) return joined;
    const ops: LatentOp[] = [
      { kind: 'set', z: from.z },
      ...(from.psi !== 1 ? [{ kind: 'psi' as const, psi: from.psi }] : []),
      ...(from.classLabel !== null && joined.data.numClasses !== null ? [{ kind: 'class' as const, classLabel: from.classLabel }] : []),
    ];
    for (const op of ops) {
      const r = await sendOp(socket, op);
      if (!r.ok) return r;
    }
    await leaveRoom(socket);
    return res;
  } catch {
    return { ok: false, error: 'internal', message: 'the server did not answer in time' };
  } finally {
    socket.disconnect();
  }
}
