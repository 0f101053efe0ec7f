/**
 * The directions service, in the realtime process: it checks discovery requests (everything
 * that can be checked without a tensor: the model, the method's parameters, the classifier and
 * its attributes, the bookmarks and directions named), queues them as jobs, hands each to the
 * directions worker (./worker-client.ts, a child process), stores what a job finds in the
 * `directions` table (scores in `meta`), and tells its listeners: the room layer broadcasts
 * `direction:progress`, `direction:added` and `direction:failed` (lib/protocol/SPEC.md D1–D6).
 *
 * Jobs live in memory (the schema has no table for them; their results are durable rows): a
 * restart forgets queued and running jobs, and a client that asked sees no `direction:added`.
 * One job runs at a time: the machine's cores are for rendering frames first.
 */
import { randomUUID } from 'node:crypto';
import { and, asc, eq, inArray } from 'drizzle-orm';
import type { BackendName } from '../../lib/env';
import {
  CLASSIFIER_METHODS,
  DirectionDiscoverRequestSchema,
  DIRECTIONS_EXPORT_FORMAT,
  DIRECTIONS_EXPORT_VERSION,
  DirectionsExportSchema,
  ScoringSchema,
  type DirectionJobView,
  type DirectionRecord,
  type DirectionScores,
  type DirectionsExport,
  type DirectionSpec,
  type DirectionSteerResponse,
} from '../../lib/protocol/directions';
import type { DirectionInfo } from '../../lib/protocol/rooms';
import { findClassifierDir, readClassifierCard, type ClassifierCard } from '../../models/classifier/checkpoint';
import type { Database } from '../db/open-database';
import * as schema from '../db/schema';
import type { EngineClient, ModelSummary } from '../inference/engine-protocol';
import type { Logger } from '../logger';
import { createRoomStore } from '../rooms/room-store';
import { createDirectionsWorker, type DirectionsWorker } from './worker-client';
import type { FoundWithScores } from './worker-protocol';

/** Jobs queued or running at once, over all models; more are refused (429). */
export const MAX_PENDING_JOBS = 16;
/** Finished jobs kept for `GET /api/direction-jobs/:id`. */
const FINISHED_JOBS_KEPT = 200;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A request the service refuses: the HTTP status and the socket error code it maps to. */
export class DirectionInputError extends Error {
  constructor(
    readonly status: 400 | 404 | 429,
    message: string,
  ) {
    super(message);
  }
}

/** A stored direction with its vector (what rooms hold to apply ops along it). */
export interface StoredDirection extends DirectionInfo {
  vector: Float32Array;
  scores: DirectionScores;
  createdAt: string;
}

/** What the service tells the realtime layer. */
export interface DirectionsListener {
  progress?(job: DirectionJobView): void;
  /** A direction was stored for `modelId` (a job's, or an import's). */
  added?(modelId: string, direction: StoredDirection): void;
  failed?(job: DirectionJobView): void;
}

/** Events of one job, for its event stream (in order; `done` or `failed` last). */
export type DirectionJobEvent =
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; job: DirectionJobView }
  | { type: 'failed'; error: string; job: DirectionJobView };

export interface DirectionsService {
  /** Checks and queues a discovery job (throws DirectionInputError, creating nothing). */
  submit(modelId: string, raw: unknown, origin?: { roomId: string }): Promise<DirectionJobView>;
  get(jobId: string): DirectionJobView;
  /** Calls `fn` with the job's events so far, then each new one; returns the unsubscribe. */
  subscribe(jobId: string, fn: (e: DirectionJobEvent) => void): () => void;
  /** Adds a listener of every job and stored direction; returns its removal. */
  listen(listener: DirectionsListener): () => void;
  list(modelId: string): Promise<DirectionRecord[]>;
  exportModel(modelId: string): Promise<DirectionsExport>;
  importModel(modelId: string, raw: unknown): Promise<DirectionRecord[]>;
  /** The attributes the model's classifier scores (none without one). */
  attributes(modelId: string): Promise<string[]>;
  /** Steers one latent toward an attribute in the worker (no state changes here). */
  steer(modelId: string, z: Float32Array, classLabel: number | null, req: { attribute: string; steps: number; stepSize: number; sign: 1 | -1 }): Promise<Omit<DirectionSteerResponse, 'version'> & { z: Float32Array }>;
  /** Resolves once no job is queued or running (tests). */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export interface DirectionsServiceOptions {
  database: Database;
  engine: Pick<EngineClient, 'models'>;
  modelDir: string;
  backend: BackendName | undefined;
  logger: Logger;
}

interface Job {
  view: DirectionJobView;
  spec: DirectionSpec;
  inputs: { positive?: number[][]; negative?: number[][]; primary?: number[]; conditions?: number[][] };
  events: DirectionJobEvent[];
  subscribers: Set<(e: DirectionJobEvent) => void>;
}

function issues(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`).join('; ');
}

/** The attribute names of a classifier, as ../../models/directions/attributes.ts names them. */
export function classifierAttributes(card: Pick<ClassifierCard, 'classNames' | 'numClasses' | 'factors'>): string[] {
  const classes = card.classNames.length === card.numClasses ? card.classNames : Array.from({ length: card.numClasses }, (_, k) => String(k));
  return [...classes, ...card.factors.map((f) => f.name)];
}

function defaultName(spec: DirectionSpec, primaryName?: string, conditionNames?: string[]): string {
  switch (spec.method) {
    case 'classifier-gradient':
      return `${spec.params.attribute} (gradient)`;
    case 'linear-boundary':
      return `${spec.params.attribute} (boundary)`;
    case 'pca':
      return spec.params.source === 'encoded' ? 'PCA (encoded)' : 'PCA';
    case 'sefa':
      return 'SeFa';
    case 'centroid-difference':
      return 'centroid difference';
    case 'conditional':
      return `${primaryName ?? 'direction'} ⊥ ${(conditionNames ?? []).join(', ')}`.slice(0, 60);
  }
}

function record(row: { id: string; name: string; method: string; meta: Record<string, unknown>; createdAt: Date }): DirectionRecord {
  return { id: row.id, name: row.name, method: row.method, scores: (row.meta['scores'] as DirectionScores | undefined) ?? {}, createdAt: row.createdAt.toISOString() };
}

export function createDirectionsService(opts: DirectionsServiceOptions, injected?: { worker?: DirectionsWorker }): DirectionsService {
  const { db } = opts.database;
  const worker = injected?.worker ?? createDirectionsWorker({ backend: opts.backend, modelDir: opts.modelDir });
  const roomStore = createRoomStore(opts.database);
  const jobs = new Map<string, Job>();
  const queue: Job[] = [];
  let running: Job | undefined;
  const listeners = new Set<DirectionsListener>();
  let idleWaiters: (() => void)[] = [];
  let closed = false;

  const classifierCards = new Map<string, ClassifierCard | null>();
  function classifierOf(model: ModelSummary): ClassifierCard | undefined {
    const dataset = model.dataset;
    if (!dataset || dataset === 'unknown') return undefined;
    if (!classifierCards.has(dataset)) {
      const dir = findClassifierDir(dataset, [opts.modelDir]);
      let card: ClassifierCard | null = null;
      try {
        card = dir ? readClassifierCard(dir) : null;
      } catch (err) {
        opts.logger.warn(`classifier of ${dataset} could not be read`, err);
      }
      classifierCards.set(dataset, card);
    }
    const card = classifierCards.get(dataset) ?? undefined;
    // A classifier that reads other images than the model makes is no use for it.
    return card && model.imageShape && card.imageShape.join('×') === model.imageShape.join('×') ? card : undefined;
  }

  async function model(modelId: string): Promise<ModelSummary> {
    const m = (await opts.engine.models()).find((x) => x.id === modelId);
    if (!m) throw new DirectionInputError(404, `unknown model ${JSON.stringify(modelId)}`);
    return m;
  }

  function emit(fn: (l: DirectionsListener) => void): void {
    for (const l of listeners) {
      try {
        fn(l);
      } catch (err) {
        opts.logger.error('a directions listener failed', err);
      }
    }
  }

  function publish(job: Job, e: DirectionJobEvent): void {
    // Keep the last progress and the end: enough for a late subscriber.
    if (e.type === 'progress') {
      const i = job.events.findIndex((x) => x.type === 'progress');
      if (i >= 0) job.events.splice(i, 1);
    }
    job.events.push(e);
    for (const fn of job.subscribers) fn(e);
  }

  function settleIdle(): void {
    if (running || queue.length > 0) return;
    const w = idleWaiters;
    idleWaiters = [];
    for (const resolve of w) resolve();
  }

  function forget(): void {
    const finished = [...jobs.values()].filter((j) => j.view.status === 'succeeded' || j.view.status === 'failed');
    for (const j of finished.slice(0, Math.max(0, finished.length - FINISHED_JOBS_KEPT))) jobs.delete(j.view.id);
  }

  async function store(job: Job, model: ModelSummary, found: FoundWithScores[]): Promise<StoredDirection[]> {
    await roomStore.ensureModel(model);
    const base = job.view.name;
    // Rows of one job a millisecond apart: listed (by creation time) in the order found (pc1, pc2, ...).
    const at = Date.now();
    const values = found.map((f, i) => {
      const vector = Float32Array.from(f.vector);
      if (vector.length !== model.latentDim || !vector.every(Number.isFinite)) throw new Error('the worker returned a vector that is not finite or of the wrong length');
      return {
        modelId: model.id,
        name: (f.suffix ? `${base} ${f.suffix}` : base).slice(0, 60),
        method: job.view.method,
        vector: Array.from(vector),
        meta: { scores: f.scores, params: job.view.params, jobId: job.view.id } as Record<string, unknown>,
        createdAt: new Date(at + i),
      };
    });
    if (values.length === 0) return [];
    const rows = await db.insert(schema.directions).values(values).returning();
    return rows.map((r) => ({ ...record(r), vector: Float32Array.from(r.vector) }));
  }

  async function runOne(job: Job): Promise<void> {
    job.view.status = 'running';
    job.view.startedAt = new Date().toISOString();
    try {
      const m = await model(job.view.modelId);
      const found = await worker.run(
        { modelId: job.view.modelId, spec: job.spec, scoring: ScoringSchema.parse(job.view.params['scoring'] ?? {}), ...job.inputs },
        (done, total) => {
          job.view.progress = { done, total };
          publish(job, { type: 'progress', done, total });
          emit((l) => l.progress?.(job.view));
        },
      );
      const stored = await store(job, m, found);
      job.view.status = 'succeeded';
      job.view.finishedAt = new Date().toISOString();
      job.view.result = { directions: stored.map(({ vector: _v, ...r }) => r) };
      for (const d of stored) emit((l) => l.added?.(m.id, d));
      publish(job, { type: 'done', job: job.view });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      opts.logger.warn(`direction job ${job.view.id} (${job.view.method} on ${job.view.modelId}) failed: ${message}`);
      job.view.status = 'failed';
      job.view.error = message;
      job.view.finishedAt = new Date().toISOString();
      publish(job, { type: 'failed', error: message, job: job.view });
      emit((l) => l.failed?.(job.view));
    }
  }

  function pump(): void {
    if (running || closed) return settleIdle();
    const next = queue.shift();
    if (!next) return settleIdle();
    running = next;
    void runOne(next).finally(() => {
      running = undefined;
      forget();
      pump();
    });
  }

  /** Stored rows of the model by id, all of them or a 404 naming the first missing one. */
  async function rowsById<T extends { id: string }>(ids: readonly string[], what: string, fetch: (ids: string[]) => Promise<T[]>): Promise<Map<string, T>> {
    for (const id of ids) if (!UUID.test(id)) throw new DirectionInputError(404, `unknown ${what} ${JSON.stringify(id)}`);
    const rows = await fetch([...new Set(ids)]);
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of ids) if (!byId.has(id)) throw new DirectionInputError(404, `unknown ${what} ${JSON.stringify(id)} for this model`);
    return byId;
  }

  function checkVector(values: readonly number[], latentDim: number, what: string): number[] {
    const v = Float32Array.from(values);
    if (v.length !== latentDim || !v.every(Number.isFinite)) throw new DirectionInputError(400, `${what} is not a finite vector of ${latentDim} values`);
    return Array.from(v);
  }

  return {
    async submit(modelId, raw, origin) {
      if (closed) throw new Error('the directions service is closed');
      const parsed = DirectionDiscoverRequestSchema.safeParse(raw);
      if (!parsed.success) throw new DirectionInputError(400, issues(parsed.error));
      const spec = parsed.data;
      const m = await model(modelId);
      const scoring = ScoringSchema.parse(spec.scoring ?? {});
      const classifier = classifierOf(m);
      if (CLASSIFIER_METHODS.includes(spec.method)) {
        if (!classifier) throw new DirectionInputError(400, `model ${modelId} has no classifier for its images (data set ${m.dataset ?? 'unknown'}): ${spec.method} needs one`);
        const attribute = (spec.params as { attribute: string }).attribute;
        const names = classifierAttributes(classifier);
        if (!names.includes(attribute)) throw new DirectionInputError(400, `unknown attribute ${JSON.stringify(attribute)}; the classifier of ${m.dataset} has ${names.join(', ')}`);
      }
      if ((spec.method === 'sefa' || (spec.method === 'pca' && spec.params.source === 'activations')) && m.family === 'imported') {
        throw new DirectionInputError(400, `${spec.method} needs the generator's first dense layer, which an imported model does not expose`);
      }
      if ((spec.method === 'sefa' || spec.method === 'pca') && spec.params.components > m.latentDim) {
        throw new DirectionInputError(400, `params.components: at most ${m.latentDim} in a ${m.latentDim}-dimensional latent space`);
      }
      if (spec.method === 'pca' && spec.params.source === 'encoded') {
        if (m.family !== 'vae' && m.family !== 'vae-gan') throw new DirectionInputError(400, `pca over encoded images needs a model with an encoder (vae, vae-gan), not ${m.family}`);
        if (!m.dataset || !/^(mnist|shapes32|shapes64)$/.test(m.dataset)) throw new DirectionInputError(400, `pca over encoded images needs the model's data set, and ${m.dataset ?? 'none'} is not one the server can load`);
      }
      if (queue.length + (running ? 1 : 0) >= MAX_PENDING_JOBS) {
        throw new DirectionInputError(429, `${MAX_PENDING_JOBS} direction jobs are already waiting: try again later`);
      }

      const inputs: Job['inputs'] = {};
      let primaryName: string | undefined;
      let conditionNames: string[] | undefined;
      if (spec.method === 'centroid-difference') {
        const ids = [...spec.params.positive, ...spec.params.negative];
        const byId = await rowsById(ids, 'bookmark', (list) =>
          db.select({ id: schema.bookmarks.id, z: schema.bookmarks.z }).from(schema.bookmarks).where(and(eq(schema.bookmarks.modelId, modelId), inArray(schema.bookmarks.id, list))),
        );
        inputs.positive = spec.params.positive.map((id) => checkVector(byId.get(id)!.z, m.latentDim, `bookmark ${id}`));
        inputs.negative = spec.params.negative.map((id) => checkVector(byId.get(id)!.z, m.latentDim, `bookmark ${id}`));
      }
      if (spec.method === 'conditional') {
        if (spec.params.conditions.includes(spec.params.direction)) throw new DirectionInputError(400, 'params.conditions: a direction cannot be conditioned on itself');
        const byId = await rowsById([spec.params.direction, ...spec.params.conditions], 'direction', (list) =>
          db
            .select({ id: schema.directions.id, name: schema.directions.name, vector: schema.directions.vector })
            .from(schema.directions)
            .where(and(eq(schema.directions.modelId, modelId), inArray(schema.directions.id, list))),
        );
        const primary = byId.get(spec.params.direction)!;
        inputs.primary = checkVector(primary.vector, m.latentDim, `direction ${primary.id}`);
        inputs.conditions = spec.params.conditions.map((id) => checkVector(byId.get(id)!.vector, m.latentDim, `direction ${id}`));
        primaryName = primary.name;
        conditionNames = spec.params.conditions.map((id) => byId.get(id)!.name);
      }

      const now = new Date().toISOString();
      const job: Job = {
        view: {
          id: randomUUID(),
          modelId,
          method: spec.method,
          name: spec.name ?? defaultName(spec, primaryName, conditionNames),
          params: { ...spec.params, scoring },
          status: 'queued',
          progress: null,
          result: null,
          error: null,
          roomId: origin?.roomId ?? null,
          createdAt: now,
          startedAt: null,
          finishedAt: null,
        },
        spec,
        inputs,
        events: [],
        subscribers: new Set(),
      };
      jobs.set(job.view.id, job);
      queue.push(job);
      const view = { ...job.view };
      pump();
      return view;
    },

    get(jobId) {
      const job = jobs.get(jobId);
      if (!job) throw new DirectionInputError(404, `unknown direction job ${JSON.stringify(jobId)}`);
      return { ...job.view };
    },

    subscribe(jobId, fn) {
      const job = jobs.get(jobId);
      if (!job) throw new DirectionInputError(404, `unknown direction job ${JSON.stringify(jobId)}`);
      for (const e of job.events) fn(e);
      job.subscribers.add(fn);
      return () => job.subscribers.delete(fn);
    },

    listen(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async list(modelId) {
      await model(modelId);
      const rows = await db
        .select({ id: schema.directions.id, name: schema.directions.name, method: schema.directions.method, meta: schema.directions.meta, createdAt: schema.directions.createdAt })
        .from(schema.directions)
        .where(eq(schema.directions.modelId, modelId))
        .orderBy(asc(schema.directions.createdAt), asc(schema.directions.id));
      return rows.map(record);
    },

    async exportModel(modelId) {
      const m = await model(modelId);
      const rows = await db.select().from(schema.directions).where(eq(schema.directions.modelId, modelId)).orderBy(asc(schema.directions.createdAt), asc(schema.directions.id));
      return {
        format: DIRECTIONS_EXPORT_FORMAT,
        formatVersion: DIRECTIONS_EXPORT_VERSION,
        modelId,
        weightsHash: m.weightsHash ?? null,
        directions: rows.map((r) => ({
          name: r.name,
          method: r.method,
          // The stored float4 values, each written as the double that equals it: parsed and
          // rounded to float32 again they are the same bits.
          vector: Array.from(Float32Array.from(r.vector)),
          scores: (r.meta['scores'] as Record<string, unknown> | undefined) ?? {},
          createdAt: r.createdAt.toISOString(),
        })),
      };
    },

    async importModel(modelId, raw) {
      const m = await model(modelId);
      const parsed = DirectionsExportSchema.safeParse(raw);
      if (!parsed.success) throw new DirectionInputError(400, issues(parsed.error));
      const file = parsed.data;
      if (file.weightsHash && m.weightsHash) {
        if (file.weightsHash !== m.weightsHash) throw new DirectionInputError(400, `these directions were found for other weights (${file.modelId}, ${file.weightsHash.slice(0, 12)}…) than model ${modelId} has (${m.weightsHash.slice(0, 12)}…)`);
      } else if (file.modelId !== modelId) {
        throw new DirectionInputError(400, `these directions belong to model ${file.modelId}, not ${modelId}`);
      }
      const at = Date.now();
      const values = file.directions.map((d, i) => ({
        modelId,
        createdAt: new Date(at + i), // listed and exported again in the file's order
        name: d.name,
        method: d.method,
        vector: checkVector(d.vector, m.latentDim, `directions[${i}].vector`),
        meta: { scores: d.scores, importedFrom: { modelId: file.modelId, createdAt: d.createdAt ?? null } } as Record<string, unknown>,
      }));
      if (values.length === 0) return [];
      await roomStore.ensureModel(m);
      const rows = await db.transaction(async (tx) => tx.insert(schema.directions).values(values).returning());
      const stored = rows.map((r) => ({ ...record(r), vector: Float32Array.from(r.vector) }));
      for (const d of stored) emit((l) => l.added?.(modelId, d));
      return stored.map(({ vector: _v, ...r }) => r);
    },

    async attributes(modelId) {
      const classifier = classifierOf(await model(modelId));
      return classifier ? classifierAttributes(classifier) : [];
    },

    async steer(modelId, z, classLabel, req) {
      const m = await model(modelId);
      const classifier = classifierOf(m);
      if (!classifier) throw new DirectionInputError(400, `model ${modelId} has no classifier to steer by`);
      const names = classifierAttributes(classifier);
      if (!names.includes(req.attribute)) throw new DirectionInputError(400, `unknown attribute ${JSON.stringify(req.attribute)}; the classifier of ${m.dataset} has ${names.join(', ')}`);
      const r = await worker.steer({ modelId, z: Array.from(z), classLabel, ...req });
      const out = Float32Array.from(r.z);
      if (out.length !== m.latentDim || !out.every(Number.isFinite)) throw new Error('the steer gave a latent that is not finite or of the wrong length');
      return { z: out, steps: r.steps, value: r.value, reached: r.reached };
    },

    idle: () => (running || queue.length > 0 ? new Promise<void>((resolve) => idleWaiters.push(resolve)) : Promise.resolve()),

    async close() {
      closed = true;
      queue.length = 0;
      await worker.close();
      settleIdle();
    },
  };
}
