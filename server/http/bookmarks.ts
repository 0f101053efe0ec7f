/**
 * Bookmark permalinks (SPEC B4, B5), served by the custom server:
 *
 *   GET /api/bookmarks/:id            → 200 { ok: true, bookmark, provenance }
 *   GET /api/bookmarks/:id/image.png  → the PNG of the bookmark's state
 *
 * The id is a uuid, random: knowing it is the capability to read that one bookmark (nothing
 * else of its room). An unknown or malformed id is 404 `{ ok: false, error: 'not-found' }`, the
 * same answer for both. The image goes through the room's own render path (engine.decodePng of
 * psi · z and the class, server/rooms/render-frame.ts), so with the same model weights and
 * backend it is byte-identical to the frame the room streamed for that state. When the model's
 * weights have changed since the bookmark was saved, both answers say so (header
 * `x-latentroom-weights-changed: true`, field `provenance.weightsChanged`) and still render.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BookmarkIdSchema, type Bookmark } from '../../lib/protocol/rooms';
import type { EngineClient, ModelSummary } from '../inference/engine-protocol';
import type { RoomRegistry } from '../rooms/registry';
import { engineRenderer } from '../rooms/render-frame';
import { publicBookmark, type ProvenanceOp, type RoomOrigin, type StoredBookmark } from '../rooms/room-store';
import { methodNotAllowed, sendJson } from './respond';

export const BOOKMARKS_API = '/api/bookmarks';
/** Ops a permalink lists: the newest ones, those closest to the bookmark. */
export const PROVENANCE_MAX_OPS = 1_000;
/** Header set on both answers: whether the model's weights changed since the bookmark was saved. */
export const WEIGHTS_CHANGED_HEADER = 'x-latentroom-weights-changed';
/** Copies of copies a permalink follows back to the original bookmark. */
const MAX_COPY_HOPS = 64;

const ROUTE = /^\/api\/bookmarks\/([^/]+)(\/image\.png)?$/;

export interface BookmarksApiDeps {
  rooms: RoomRegistry;
  engine: Pick<EngineClient, 'info' | 'models' | 'decodePng'>;
}

/** `GET /api/bookmarks/:id` answer. */
export interface BookmarkPermalink {
  ok: true;
  bookmark: Bookmark;
  provenance: {
    /** The model as this server has it now (`weightsHash`: its current weights). */
    model: { id: string; name?: string; family: string; weightsHash: string | null; steps?: number; loaded: boolean };
    /** TF.js backend this server decodes with (wasm, cpu, tensorflow...). */
    backend: string;
    /** True when the model's weights here are not the ones the bookmark was saved with. */
    weightsChanged: boolean;
    /** The ops that led to the bookmark's state, oldest first (across branches). */
    ops: ProvenanceOp[];
    /** True when older ops were left out (more than PROVENANCE_MAX_OPS). */
    opsTruncated: boolean;
    /** Where the first room of the chain came from, if not a random z. */
    origin?: RoomOrigin;
    /** The bookmark this one is a copy of (a branch copies its source's bookmarks). */
    copiedFrom?: string;
  };
}

function notFound(res: ServerResponse): void {
  sendJson(res, 404, { ok: false, error: 'not-found' });
}

/** The original bookmark a copy was made from (or the bookmark itself). */
async function original(rooms: RoomRegistry, b: StoredBookmark): Promise<StoredBookmark> {
  let at = b;
  for (let hops = 0; at.copiedFrom && hops < MAX_COPY_HOPS; hops++) {
    const source = await rooms.store.getBookmark(at.copiedFrom);
    if (!source) break;
    at = source;
  }
  return at;
}

function weightsChanged(b: Bookmark, model: ModelSummary | undefined): boolean {
  return (b.weightsHash ?? null) !== (model?.weightsHash ?? null);
}

/** Handles `path` if it belongs to the bookmarks API; false otherwise. */
export async function handleBookmarksApi(req: IncomingMessage, res: ServerResponse, path: string, deps: BookmarksApiDeps): Promise<boolean> {
  const m = ROUTE.exec(path);
  if (!m) return path === BOOKMARKS_API || path.startsWith(`${BOOKMARKS_API}/`) ? (notFound(res), true) : false;
  if (req.method !== 'GET' && req.method !== 'HEAD') return (methodNotAllowed(res, 'GET, HEAD'), true);
  const id = BookmarkIdSchema.safeParse(decodeURIComponent(m[1]!));
  const stored = id.success ? await deps.rooms.store.getBookmark(id.data) : undefined;
  if (!stored) return (notFound(res), true);
  const bookmark = publicBookmark(stored);
  const model = (await deps.engine.models()).find((x) => x.id === bookmark.modelId);
  const changed = weightsChanged(bookmark, model);
  res.setHeader(WEIGHTS_CHANGED_HEADER, String(changed));

  if (m[2]) {
    if (!model) {
      sendJson(res, 409, { ok: false, error: 'model-unavailable', message: `model ${bookmark.modelId} is not loaded on this server` });
      return true;
    }
    const frame = await engineRenderer(deps.engine)(bookmark.modelId, Float32Array.from(bookmark.z), bookmark.psi, bookmark.classLabel);
    const png = Buffer.from(frame.data as Uint8Array);
    res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store', 'content-length': png.length });
    res.end(req.method === 'HEAD' ? undefined : png);
    return true;
  }

  const origin = await original(deps.rooms, stored);
  const chain = origin.roomId
    ? await deps.rooms.store.provenance(origin.roomId, origin.version, PROVENANCE_MAX_OPS)
    : { ops: [], truncated: false };
  const row = model ? undefined : await deps.rooms.store.modelRow(bookmark.modelId);
  const body: BookmarkPermalink = {
    ok: true,
    bookmark,
    provenance: {
      model: model
        ? {
            id: model.id,
            ...(model.name ? { name: model.name } : {}),
            family: model.family,
            weightsHash: model.weightsHash ?? null,
            ...(model.steps !== undefined ? { steps: model.steps } : {}),
            loaded: true,
          }
        : { id: bookmark.modelId, ...(row ? { name: row.name } : {}), family: row?.family ?? 'unknown', weightsHash: null, loaded: false },
      backend: deps.engine.info.backend,
      weightsChanged: changed,
      ops: chain.ops,
      opsTruncated: chain.truncated,
      ...('origin' in chain && chain.origin ? { origin: chain.origin } : {}),
      ...(stored.copiedFrom ? { copiedFrom: stored.copiedFrom } : {}),
    },
  };
  sendJson(res, 200, body);
  return true;
}
