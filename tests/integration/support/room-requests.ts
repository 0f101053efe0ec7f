/**
 * Typed requests of the durable-rooms protocol (SPEC J7, O14, O15, B2, B3) for the integration
 * tests, next to lib/realtime/room-client.ts's (the browser's realtime layer has its own).
 */
import type { Result } from '../../../lib/protocol/events';
import type { Bookmark, BookmarkSaveRequest, RoomCreateResponse, RoomHistoryRequest, RoomHistoryResponse } from '../../../lib/protocol/rooms';
import type { ClientSocket } from '../../../lib/realtime/client-socket';
import { REQUEST_TIMEOUT_MS } from '../../../lib/realtime/room-client';

export function saveBookmarkWith(socket: ClientSocket, req: BookmarkSaveRequest): Promise<Result<Bookmark>> {
  return socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck('bookmark:save', req);
}

export function roomHistory(socket: ClientSocket, req: RoomHistoryRequest = {}): Promise<Result<RoomHistoryResponse>> {
  return socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck('room:history', req);
}

export function branchRoom(socket: ClientSocket, version: number, name?: string): Promise<Result<RoomCreateResponse>> {
  return socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck('room:branch', name === undefined ? { version } : { version, name });
}

export function createRoomFrom(socket: ClientSocket, modelId: string, bookmark: string): Promise<Result<RoomCreateResponse>> {
  return socket.timeout(REQUEST_TIMEOUT_MS).emitWithAck('room:create', { modelId, from: { bookmark } });
}

/** The data of an ok Result, or a thrown error naming the refusal. */
export function ok<T>(res: Result<T>): T {
  if (!res.ok) throw new Error(`refused: ${res.error} ${res.message ?? ''}`);
  return res.data;
}

/** GET `url`; the status, headers and body (JSON parsed when it is JSON, bytes otherwise). */
export async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; json: unknown; bytes: Uint8Array }> {
  const res = await fetch(url, { headers });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const json: unknown = /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(Buffer.from(bytes).toString('utf8')) : undefined;
  return { status: res.status, headers: res.headers, json, bytes };
}

/** POST `body` as JSON (or as the given raw string and content type). */
export async function postJson(url: string, body: unknown, opts: { raw?: string; contentType?: string } = {}): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': opts.contentType ?? 'application/json' },
    body: opts.raw ?? JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as unknown) : undefined };
}
