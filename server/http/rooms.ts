/**
 * Room export and import (SPEC X1, X2), served by the custom server:
 *
 *   GET  /api/rooms/:id/export   header `authorization: Bearer <editor or viewer token>`
 *                                → 200 the room's export (lib/protocol/room-export.ts)
 *   POST /api/rooms/import       an export as JSON (at most ROOM_IMPORT_MAX_BYTES)
 *                                → 201 { ok: true, roomId, editorToken, viewerToken, weightsChanged }
 *
 * Errors are `{ ok: false, error, message? }`: 401 `unauthorized` (an unknown room and a token
 * that does not open it get the same answer, as at join, J4), 400 `bad-request` (with the
 * first problem found), 404 `not-found` (a model this server does not have), 413, 415, 405. A
 * refused import creates nothing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ROOM_IMPORT_MAX_BYTES, RoomExportSchema, type RoomImportResponse } from '../../lib/protocol/room-export';
import { RoomIdSchema, TokenSchema } from '../../lib/protocol/rooms';
import type { EngineClient } from '../inference/engine-protocol';
import { RequestError } from '../realtime/ack';
import type { RoomRegistry } from '../rooms/registry';
import { exportRoom, ImportInputError, planImport } from '../rooms/room-export';
import { HttpError, methodNotAllowed, readJsonBody, sendJson } from './respond';

export const ROOMS_API = '/api/rooms';
const EXPORT = /^\/api\/rooms\/([^/]+)\/export$/;
const IMPORT = `${ROOMS_API}/import`;

export interface RoomsApiDeps {
  rooms: RoomRegistry;
  engine: Pick<EngineClient, 'models'>;
}

const STATUS_ERRORS: Record<number, string> = { 400: 'bad-request', 413: 'payload-too-large', 415: 'unsupported-media-type' };

function unauthorized(res: ServerResponse): void {
  res.setHeader('www-authenticate', 'Bearer');
  sendJson(res, 401, { ok: false, error: 'unauthorized', message: 'no such room or token' });
}

/** The bearer token of the request, if it has one. */
function bearer(req: IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

/** Handles `path` if it belongs to the rooms API; false otherwise. */
export async function handleRoomsApi(req: IncomingMessage, res: ServerResponse, path: string, deps: RoomsApiDeps): Promise<boolean> {
  if (path !== ROOMS_API && !path.startsWith(`${ROOMS_API}/`)) return false;
  if (path === IMPORT) {
    if (req.method !== 'POST') return (methodNotAllowed(res, 'POST'), true);
    await importRoom(req, res, deps);
    return true;
  }
  const m = EXPORT.exec(path);
  if (!m) {
    sendJson(res, 404, { ok: false, error: 'not-found' });
    return true;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return (methodNotAllowed(res, 'GET, HEAD'), true);
  const roomId = RoomIdSchema.safeParse(decodeURIComponent(m[1]!));
  const token = TokenSchema.safeParse(bearer(req));
  if (!roomId.success || !token.success) return (unauthorized(res), true);
  const grant = await deps.rooms.authorize(roomId.data, token.data);
  const info = grant && (await deps.rooms.store.roomInfo(roomId.data));
  if (!info) return (unauthorized(res), true);
  const model = (await deps.engine.models()).find((x) => x.id === info.modelId);
  const doc = await exportRoom(deps.rooms.store, roomId.data, model?.weightsHash ?? null);
  if (!doc) return (unauthorized(res), true);
  res.setHeader('content-disposition', `attachment; filename="room-${roomId.data}.json"`);
  sendJson(res, 200, doc);
  return true;
}

async function importRoom(req: IncomingMessage, res: ServerResponse, deps: RoomsApiDeps): Promise<void> {
  let body: unknown;
  try {
    body = await readJsonBody(req, ROOM_IMPORT_MAX_BYTES);
  } catch (err) {
    if (!(err instanceof HttpError)) throw err;
    sendJson(res, err.status, { ok: false, error: STATUS_ERRORS[err.status] ?? 'bad-request', message: err.message });
    return;
  }
  const parsed = RoomExportSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
    sendJson(res, 400, { ok: false, error: 'bad-request', message: `${where}${issue?.message ?? 'not a room export'}` });
    return;
  }
  try {
    const model = await deps.rooms.model(parsed.data.room.modelId);
    const plan = planImport(parsed.data, model);
    const tokens = await deps.rooms.importRoom(plan);
    const answer: RoomImportResponse = { ok: true, ...tokens, weightsChanged: plan.weightsChanged };
    sendJson(res, 201, answer);
  } catch (err) {
    if (err instanceof ImportInputError) sendJson(res, 400, { ok: false, error: 'bad-request', message: err.message });
    else if (err instanceof RequestError && err.code === 'not-found') sendJson(res, 404, { ok: false, error: 'not-found', message: err.message });
    else throw err;
  }
}
