/**
 * Bookmark permalinks, the minimal read side the explorer's `/b/:id` page needs (the durable
 * branch writes the full API in this file, with the same shapes):
 *
 *   GET /api/bookmarks/:id            → { ok, bookmark, provenance }
 *   GET /api/bookmarks/:id/image.png  → the PNG of the bookmark's state, decoded like a room frame
 *
 * The bookmark id is a uuid: unguessable, so the permalink is the capability to read that one
 * bookmark. The bookmarks table of this schema stores z, name, room and author; psi, class and
 * the version are read from the room's op log: the newest op written before the bookmark whose
 * state has the bookmark's z (a bookmark saves the room's durable z).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { and, desc, eq, lte } from 'drizzle-orm';
import type { Database } from '../db/open-database';
import * as schema from '../db/schema';
import type { EngineClient } from '../inference/engine-protocol';
import { engineRenderer } from '../rooms/render-frame';
import type { StoredOp } from '../rooms/room-store';
import { methodNotAllowed, sendJson } from './respond';

export const BOOKMARKS_API = '/api/bookmarks';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Ops of the chain returned with a permalink (the newest ones up to the bookmark's version). */
const PROVENANCE_OPS = 50;

export interface BookmarksApiDeps {
  database: Database;
  engine: Pick<EngineClient, 'models' | 'decodePng' | 'info'>;
}

async function load(deps: BookmarksApiDeps, id: string) {
  const { db } = deps.database;
  const [row] = await db.select().from(schema.bookmarks).where(eq(schema.bookmarks.id, id));
  if (!row) return undefined;
  // real[] comes back as float4 text: widen each value to the float32 it is (SPEC O9's values).
  const b = { ...row, z: row.z.map((v) => Math.fround(v)) };
  let version: number | null = null;
  let psi = b.truncation ?? 1;
  let classLabel = b.classLabel;
  let ops: { version: number; kind: string; by: string; at: string }[] = [];
  if (b.roomId) {
    const rows = await db
      .select()
      .from(schema.roomOps)
      .where(and(eq(schema.roomOps.roomId, b.roomId), lte(schema.roomOps.createdAt, b.createdAt)))
      .orderBy(desc(schema.roomOps.version))
      .limit(500);
    const same = (a: number[], c: number[]) => a.length === c.length && a.every((v, i) => Math.fround(v) === Math.fround(c[i]!));
    const at = rows.find((r) => same((r.op as unknown as StoredOp).state.z, b.z)) ?? rows[0];
    if (at) {
      const state = (at.op as unknown as StoredOp).state;
      version = at.version;
      psi = b.truncation ?? state.psi;
      classLabel = b.classLabel ?? state.classLabel;
      ops = rows
        .filter((r) => r.version <= at.version)
        .slice(0, PROVENANCE_OPS)
        .reverse()
        .map((r) => ({ version: r.version, kind: (r.op as unknown as StoredOp).kind, by: r.memberId, at: r.createdAt.toISOString() }));
    }
  }
  const model = (await deps.engine.models()).find((m) => m.id === b.modelId);
  return {
    bookmark: {
      id: b.id,
      name: b.name,
      tags: [] as string[],
      z: b.z,
      classLabel: classLabel ?? null,
      psi,
      modelId: b.modelId,
      weightsHash: model?.weightsHash ?? '',
      roomId: b.roomId,
      version,
      createdBy: b.createdBy ?? '',
      createdAt: b.createdAt.toISOString(),
    },
    provenance: {
      model: { id: b.modelId, name: model?.name, family: model?.family ?? 'unknown', weightsHash: model?.weightsHash ?? '', steps: model?.steps },
      backend: deps.engine.info.backend,
      ops,
    },
    loaded: model !== undefined,
  };
}

/** Handles `pathname` if it belongs to this API; false otherwise. */
export async function handleBookmarksApi(req: IncomingMessage, res: ServerResponse, pathname: string, deps: BookmarksApiDeps): Promise<boolean> {
  if (!pathname.startsWith(`${BOOKMARKS_API}/`)) return false;
  const [id, action, ...rest] = pathname.slice(BOOKMARKS_API.length + 1).split('/');
  if (rest.length > 0 || (action !== undefined && action !== 'image.png')) return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') return (methodNotAllowed(res, 'GET, HEAD'), true);
  const found = id && UUID.test(id) ? await load(deps, id) : undefined;
  if (!found) return (sendJson(res, 404, { ok: false, error: 'no such bookmark' }), true);
  const { loaded, ...body } = found;
  if (action === undefined) {
    sendJson(res, 200, { ok: true, ...body });
    return true;
  }
  if (!loaded) return (sendJson(res, 404, { ok: false, error: `model ${body.bookmark.modelId} is not loaded` }), true);
  const { bookmark } = body;
  const frame = await engineRenderer(deps.engine)(bookmark.modelId, Float32Array.from(bookmark.z), bookmark.psi, bookmark.classLabel);
  const png = Buffer.from(frame.data as Uint8Array);
  res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'public, max-age=3600', 'content-length': png.length });
  res.end(req.method === 'HEAD' ? undefined : png);
  return true;
}
