/**
 * The models API read by the pages (schemas in lib/protocol/models.ts):
 *
 *   GET /api/models                 → { ok, models: [summary + short card] }
 *   GET /api/models/:id             → { ok, model, card, hasSamples } (the whole card, evaluation included)
 *   GET /api/models/:id/points      → the 3D view's point cloud (lib/points/format.ts), binary;
 *                                     computed once per weights in a child process (server/points)
 *   GET /api/models/:id/image.png?z=<base64url float32>&psi=&class=
 *                                   → the image of one latent, decoded like a room's frame (hover
 *                                     thumbnails, interpolation strips); cacheable
 *
 * Other paths under /api/models/ (import, samples.png, directions) are not claimed here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { MODELS_API } from '../../lib/protocol/models';
import { PSI_MAX, PSI_MIN } from '../../lib/protocol/rooms';
import type { EngineClient, ModelSummary } from '../inference/engine-protocol';
import type { Logger } from '../logger';
import { UnknownModelError, type PointsService } from '../points/service';
import { engineRenderer } from '../rooms/render-frame';
import { methodNotAllowed, sendJson } from './respond';

/** Model ids are folder names (server/training/spec.ts MODEL_ID) or the built-in one. */
const MODEL_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;
/** Image decodes in flight at once; past it the answer is 503 (hovering is cheap to retry). */
export const MAX_IMAGE_DECODES = 16;
/** Largest card read (cards are a few tens of kB). */
const MAX_CARD_BYTES = 2 * 1024 * 1024;

export interface ModelsApiDeps {
  engine: Pick<EngineClient, 'models' | 'decodePng'>;
  /** Where cards and sample grids live; omitted: models are listed without them. */
  modelDir?: string;
  points?: PointsService;
  logger: Logger;
}

async function readCard(modelDir: string | undefined, id: string): Promise<Record<string, unknown> | null> {
  if (modelDir === undefined) return null;
  try {
    const buf = await readFile(path.join(modelDir, id, 'card.json'));
    if (buf.length > MAX_CARD_BYTES) return null;
    const card = JSON.parse(buf.toString('utf8')) as unknown;
    return card && typeof card === 'object' ? (card as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The card without its bulky parts (the evaluation report, per-weight metadata). */
function shortCard(card: Record<string, unknown> | null): Record<string, unknown> | null {
  if (!card) return null;
  const { metrics, ...rest } = card;
  const summary = metrics && typeof metrics === 'object' ? (metrics as Record<string, unknown>)['summary'] : undefined;
  return { ...rest, id: String(card['id'] ?? ''), ...(summary ? { metrics: { summary } } : {}) };
}

function decodeLatent(text: string, dim: number): Float32Array | string {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return 'z must be base64url';
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.length !== dim * 4) return `z has ${bytes.length / 4} values, the model needs ${dim}`;
  const z = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    const v = bytes.readFloatLE(i * 4);
    if (!Number.isFinite(v)) return `z[${i}] is not finite`;
    z[i] = v;
  }
  return z;
}

export type ModelsApi = (req: IncomingMessage, res: ServerResponse, pathname: string) => Promise<boolean>;

/** The API's handler: it handles `pathname` if this API serves it, and answers false otherwise. */
export function createModelsApi(deps: ModelsApiDeps): ModelsApi {
  /** Image decodes in flight (bounded by MAX_IMAGE_DECODES). */
  const decoding = { count: 0 };
  return (req, res, pathname) => handleModelsApi(req, res, pathname, deps, decoding);
}

async function handleModelsApi(req: IncomingMessage, res: ServerResponse, pathname: string, deps: ModelsApiDeps, decoding: { count: number }): Promise<boolean> {
  if (pathname !== MODELS_API && !pathname.startsWith(`${MODELS_API}/`)) return false;
  const parts = pathname.slice(MODELS_API.length).split('/').filter(Boolean);
  if (parts.length > 2) return false;
  const [id, action] = parts;
  if (id !== undefined && (!MODEL_ID.test(id) || id === 'import')) return false;
  if (action !== undefined && action !== 'points' && action !== 'image.png') return false;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    methodNotAllowed(res, 'GET, HEAD');
    return true;
  }

  const models = await deps.engine.models();
  const hasSamples = (m: ModelSummary) => deps.modelDir !== undefined && existsSync(path.join(deps.modelDir, m.id, 'samples.png'));
  if (id === undefined) {
    const list = await Promise.all(models.map(async (m) => ({ ...m, card: shortCard(await readCard(deps.modelDir, m.id)), hasSamples: hasSamples(m) })));
    sendJson(res, 200, { ok: true, models: list });
    return true;
  }
  const model = models.find((m) => m.id === id);
  if (!model) {
    sendJson(res, 404, { ok: false, error: `no model ${id}` });
    return true;
  }

  if (action === undefined) {
    sendJson(res, 200, { ok: true, model, card: await readCard(deps.modelDir, id), hasSamples: hasSamples(model) });
  } else if (action === 'points') {
    if (!deps.points) {
      sendJson(res, 404, { ok: false, error: 'point clouds are not served here' });
      return true;
    }
    try {
      const body = await deps.points.get(id);
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-cache', 'content-length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      if (err instanceof UnknownModelError) sendJson(res, 404, { ok: false, error: err.message });
      else {
        deps.logger.warn(`points of ${id} failed`, err);
        sendJson(res, 500, { ok: false, error: 'the point cloud could not be computed (see the server log)' });
      }
    }
  } else {
    await sendImage(req, res, model, deps, decoding);
  }
  return true;
}

async function sendImage(req: IncomingMessage, res: ServerResponse, model: ModelSummary, deps: ModelsApiDeps, decoding: { count: number }): Promise<void> {
  const q = new URL(req.url ?? '/', 'http://x').searchParams;
  const z = decodeLatent(q.get('z') ?? '', model.latentDim);
  if (typeof z === 'string') return sendJson(res, 400, { ok: false, error: z });
  const psi = q.has('psi') ? Number(q.get('psi')) : 1;
  if (!Number.isFinite(psi) || psi < PSI_MIN || psi > PSI_MAX) return sendJson(res, 400, { ok: false, error: `psi must be in [${PSI_MIN}, ${PSI_MAX}]` });
  let classLabel: number | null = null;
  if (model.numClasses) {
    classLabel = q.has('class') ? Number(q.get('class')) : 0;
    if (!Number.isInteger(classLabel) || classLabel < 0 || classLabel >= model.numClasses) {
      return sendJson(res, 400, { ok: false, error: `class must be an integer in [0, ${model.numClasses - 1}]` });
    }
  } else if (q.has('class')) return sendJson(res, 400, { ok: false, error: `model ${model.id} is not conditional` });
  if (decoding.count >= MAX_IMAGE_DECODES) {
    res.setHeader('retry-after', '1');
    return sendJson(res, 503, { ok: false, error: 'busy decoding; retry' });
  }
  decoding.count++;
  try {
    const frame = await engineRenderer(deps.engine)(model.id, z, psi, classLabel);
    const png = Buffer.from(frame.data as Uint8Array);
    // The same URL decodes to the same image until the model's weights change (a retrain).
    res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'public, max-age=600', 'content-length': png.length });
    res.end(req.method === 'HEAD' ? undefined : png);
  } finally {
    decoding.count--;
  }
}
