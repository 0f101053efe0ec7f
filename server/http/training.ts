/**
 * The training API, served by the custom server (the job manager lives in this process):
 *
 *   POST /api/training-jobs                 body: a job spec (server/training/spec.ts) → 201 job
 *   GET  /api/training-jobs                 → { jobs: [...] }, newest first
 *   GET  /api/training-jobs/:id             → the job: status, spec, last progress, model id, error
 *   POST /api/training-jobs/:id/cancel      → the job after it stopped (a checkpoint is kept)
 *   GET  /api/training-jobs/:id/events      → Server-Sent Events, in step order: `started`,
 *                                             `progress`, `samples` (PNG as base64), `checkpoint`,
 *                                             then one of `done`, `failed`, `cancelled`
 *   GET  /api/training-jobs/:id/samples.png → the newest sample grid of this server's run
 *
 * Bad input (malformed JSON, unknown family, data set or config key, impossible values) is a 400
 * with the reason, and creates nothing; an unknown id is a 404.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TrainEvent } from '../training/runner';
import { JobInputError, UnknownJobError, type JobManager } from '../training/jobs';
import { HttpError, methodNotAllowed, readJsonBody, sendJson } from './respond';

export const TRAINING_API = '/api/training-jobs';
/** A job spec is a few hundred bytes. */
export const MAX_JOB_BODY_BYTES = 16 * 1024;

export interface TrainingEvents {
  /**
   * Calls `fn` with the job's events so far (this process's run of it; sample grids: only the
   * newest), then with each new one, in step order. Returns the unsubscribe function.
   */
  subscribe(jobId: string, fn: (e: TrainEvent) => void): () => void;
}

/** Events kept per job for late subscribers, and jobs kept. */
const HISTORY_EVENTS = 2_000;
const HISTORY_JOBS = 50;

/** Fan-out of job events to event-stream listeners, with replay for late subscribers. */
export function createTrainingEvents(): TrainingEvents & { publish(jobId: string, e: TrainEvent): void } {
  const listeners = new Map<string, Set<(e: TrainEvent) => void>>();
  const history = new Map<string, TrainEvent[]>();
  return {
    publish(jobId, e) {
      let h = history.get(jobId);
      if (!h) {
        if (history.size >= HISTORY_JOBS) history.delete(history.keys().next().value!);
        history.set(jobId, (h = []));
      }
      if (e.type === 'started') h.length = 0; // a new run (after a restart) starts a new story
      if (e.type === 'samples') {
        const i = h.findIndex((x) => x.type === 'samples');
        if (i >= 0) h.splice(i, 1);
      }
      h.push(e);
      if (h.length > HISTORY_EVENTS) h.splice(h.findIndex((x) => x.type === 'progress'), 1);
      for (const fn of listeners.get(jobId) ?? []) fn(e);
    },
    subscribe(jobId, fn) {
      for (const e of history.get(jobId) ?? []) fn(e);
      let set = listeners.get(jobId);
      if (!set) listeners.set(jobId, (set = new Set()));
      set.add(fn);
      return () => {
        set.delete(fn);
        if (set.size === 0) listeners.delete(jobId);
      };
    },
  };
}

function toWire(e: TrainEvent): unknown {
  return e.type === 'samples' ? { ...e, png: Buffer.from(e.png).toString('base64') } : e;
}

/** Handles `path` if it belongs to the training API; false otherwise. */
export async function handleTrainingApi(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  jobs: JobManager,
  events: TrainingEvents,
): Promise<boolean> {
  if (path !== TRAINING_API && !path.startsWith(`${TRAINING_API}/`)) return false;
  const parts = path.slice(TRAINING_API.length).split('/').filter(Boolean);
  try {
    if (parts.length === 0) {
      if (req.method === 'POST') {
        const job = await jobs.submit(await readJsonBody(req, MAX_JOB_BODY_BYTES));
        sendJson(res, 201, { ok: true, job });
      } else if (req.method === 'GET') {
        sendJson(res, 200, { ok: true, jobs: await jobs.list() });
      } else methodNotAllowed(res, 'GET, POST');
      return true;
    }
    const [id, action, ...rest] = parts as [string, string | undefined, ...string[]];
    if (rest.length > 0) throw new HttpError(404, 'not found');
    if (action === undefined) {
      if (req.method !== 'GET') return (methodNotAllowed(res, 'GET'), true);
      sendJson(res, 200, { ok: true, job: await jobs.get(id) });
    } else if (action === 'cancel') {
      if (req.method !== 'POST') return (methodNotAllowed(res, 'POST'), true);
      sendJson(res, 200, { ok: true, job: await jobs.cancel(id) });
    } else if (action === 'samples.png') {
      await jobs.get(id);
      const png = jobs.latestSamples(id);
      if (!png) throw new HttpError(404, 'no sample grid yet');
      res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store', 'content-length': png.length });
      res.end(png);
    } else if (action === 'events') {
      const job = await jobs.get(id);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      const write = (e: unknown) => res.write(`data: ${JSON.stringify(e)}\n\n`);
      // First the job as stored (so a late subscriber knows where it is), then live events.
      write({ type: 'job', job });
      if (job.status !== 'queued' && job.status !== 'running') {
        res.end();
        return true;
      }
      let ended = false;
      let off = () => {};
      off = events.subscribe(id, (e) => {
        if (ended) return;
        write(toWire(e));
        if (e.type === 'done' || e.type === 'failed' || e.type === 'cancelled') {
          ended = true;
          // After subscribe returns (a replayed end arrives before `off` is assigned).
          queueMicrotask(() => off());
          res.end();
        }
      });
      req.on('close', () => off());
    } else throw new HttpError(404, 'not found');
  } catch (err) {
    if (err instanceof HttpError) sendJson(res, err.status, { ok: false, error: err.message });
    else if (err instanceof JobInputError) sendJson(res, 400, { ok: false, error: err.message });
    else if (err instanceof UnknownJobError) sendJson(res, 404, { ok: false, error: err.message });
    else throw err;
  }
  return true;
}
