/**
 * The directions API, served by the custom server (the directions service lives in this
 * process; its tensor work in the directions worker):
 *
 *   POST /api/models/:id/directions            { method, params, name?, scoring? } → 202 { ok, job }
 *   GET  /api/models/:id/directions            → { ok, directions: [{ id, name, method, scores, createdAt }] }
 *   GET  /api/models/:id/directions/attributes → { ok, attributes }: what the model's classifier scores
 *                                                (the `attribute` of classifier methods and steers; [] without one)
 *   GET  /api/models/:id/directions/export     → { format: 'latentroom-directions', formatVersion: 1,
 *                                                  modelId, weightsHash, directions: [...] }
 *   POST /api/models/:id/directions/import     an export → 201 { ok, directions }
 *   GET  /api/direction-jobs/:id               → { ok, job }: status, progress, result, error
 *   GET  /api/direction-jobs/:id/events        → Server-Sent Events: `job` (as it is), `progress`
 *                                                { done, total }, then `done` { job } or `failed`
 *
 * Bad input (malformed JSON, an unknown method or attribute, wrong or non-finite parameters, a
 * model without the classifier a method needs, a vector of the wrong length) is a 400 with the
 * reason and creates nothing; an unknown model, job, bookmark or direction is a 404; a full
 * queue a 429. docs/directions.md has the methods and their parameters.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_DIRECTIONS_IMPORT_BYTES } from '../../lib/protocol/directions';
import { DirectionInputError, type DirectionJobEvent, type DirectionsService } from '../directions/service';
import { HttpError, methodNotAllowed, readJsonBody, sendJson } from './respond';

export const DIRECTION_JOBS_API = '/api/direction-jobs';
const MODEL_DIRECTIONS = /^\/api\/models\/([^/]+)\/directions(?:\/([^/]+))?\/?$/;
/** A discovery request is a few hundred bytes (centroid ids included). */
export const MAX_DISCOVER_BODY_BYTES = 16 * 1024;

/** Handles `path` if it belongs to the directions API; false otherwise. */
export async function handleDirectionsApi(req: IncomingMessage, res: ServerResponse, path: string, service: DirectionsService): Promise<boolean> {
  const model = MODEL_DIRECTIONS.exec(path);
  const isJobs = path === DIRECTION_JOBS_API || path.startsWith(`${DIRECTION_JOBS_API}/`);
  if (!model && !isJobs) return false;
  try {
    if (model) {
      const modelId = decodeURIComponent(model[1]!);
      const action = model[2];
      if (action === undefined) {
        if (req.method === 'POST') {
          const job = await service.submit(modelId, await readJsonBody(req, MAX_DISCOVER_BODY_BYTES));
          sendJson(res, 202, { ok: true, job });
        } else if (req.method === 'GET') {
          sendJson(res, 200, { ok: true, directions: await service.list(modelId) });
        } else methodNotAllowed(res, 'GET, POST');
      } else if (action === 'attributes') {
        if (req.method !== 'GET') return (methodNotAllowed(res, 'GET'), true);
        sendJson(res, 200, { ok: true, attributes: await service.attributes(modelId) });
      } else if (action === 'export') {
        if (req.method !== 'GET') return (methodNotAllowed(res, 'GET'), true);
        sendJson(res, 200, await service.exportModel(modelId));
      } else if (action === 'import') {
        if (req.method !== 'POST') return (methodNotAllowed(res, 'POST'), true);
        const directions = await service.importModel(modelId, await readJsonBody(req, MAX_DIRECTIONS_IMPORT_BYTES));
        sendJson(res, 201, { ok: true, directions });
      } else throw new HttpError(404, 'not found');
      return true;
    }
    const [id, action, ...rest] = path.slice(DIRECTION_JOBS_API.length).split('/').filter(Boolean);
    if (id === undefined || rest.length > 0) throw new HttpError(404, 'not found');
    if (action === undefined) {
      if (req.method !== 'GET') return (methodNotAllowed(res, 'GET'), true);
      sendJson(res, 200, { ok: true, job: service.get(id) });
    } else if (action === 'events') {
      if (req.method !== 'GET') return (methodNotAllowed(res, 'GET'), true);
      const job = service.get(id);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      const write = (e: unknown) => res.write(`data: ${JSON.stringify(e)}\n\n`);
      write({ type: 'job', job });
      if (job.status === 'succeeded' || job.status === 'failed') {
        res.end();
        return true;
      }
      let ended = false;
      let off = () => {};
      off = service.subscribe(id, (e: DirectionJobEvent) => {
        if (ended) return;
        write(e);
        if (e.type === 'done' || e.type === 'failed') {
          ended = true;
          queueMicrotask(() => off()); // a replayed end arrives before `off` is assigned
          res.end();
        }
      });
      req.on('close', () => off());
    } else throw new HttpError(404, 'not found');
  } catch (err) {
    if (err instanceof HttpError) sendJson(res, err.status, { ok: false, error: err.message });
    else if (err instanceof DirectionInputError) sendJson(res, err.status, { ok: false, error: err.message });
    else throw err;
  }
  return true;
}
