/**
 * Training jobs in the service: their state in the database (training_jobs), one child process
 * per running job (training-client.ts), events relayed to whoever watches.
 *
 * - `submit` validates the spec (a bad family, data set, config or model id is refused before a
 *   row exists), stores the job as `queued`, and starts it when a slot is free. One job runs at
 *   a time by default: these machines have two cores and the inference engine needs one.
 * - A job's row holds its spec (config), status, last progress (step, losses, images/s, ETA)
 *   and, once done, the model it produced (models row, and the engine is asked to load it).
 * - Start-up resumes what a crash or restart interrupted: rows still `running` go back to the
 *   queue, and the runner continues from the job's checkpoint (DATA_DIR/jobs/<id>/checkpoint).
 * - `cancel` stops a running job after its current step (it writes a checkpoint first) or
 *   drops a queued one.
 */
import path from 'node:path';
import { asc, desc, eq, inArray } from 'drizzle-orm';
import type { BackendName } from '../../lib/env';
import type { ModelCard } from '../../models/common/checkpoint';
import type { Database } from '../db/open-database';
import * as schema from '../db/schema';
import type { Logger } from '../logger';
import { describeDatasetSpec, familyDefinition } from './catalog';
import type { TrainEvent } from './runner';
import { TrainJobSpecSchema, type TrainJobSpec } from './spec';
import { startTrainingProcess, type TrainingProcess } from './training-client';

export type JobStatus = (typeof schema.jobStatus.enumValues)[number];

export interface JobView {
  id: string;
  status: JobStatus;
  spec: TrainJobSpec;
  progress: Record<string, unknown> | null;
  modelId: string | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export class JobInputError extends Error {}
export class UnknownJobError extends Error {}

export interface JobManagerOptions {
  database: Database;
  dataDir: string;
  modelDir: string;
  backend: BackendName | undefined;
  logger: Logger;
  /** Jobs running at once. Default 1. */
  concurrency?: number;
  /** Every event of every job, in each job's step order. */
  onEvent?(jobId: string, event: TrainEvent): void;
  /** A job produced a model (its files are in modelDir/<id>). */
  onModel?(card: ModelCard): Promise<void> | void;
  /**
   * Runs one job. Default: a child process of this one (./training-client.ts). Cluster mode
   * passes a training worker queue instead (server/cluster/training-queue.ts).
   */
  startProcess?: typeof startTrainingProcess;
}

export interface JobManager {
  submit(raw: unknown): Promise<JobView>;
  cancel(id: string): Promise<JobView>;
  get(id: string): Promise<JobView>;
  list(limit?: number): Promise<JobView[]>;
  /** The newest sample grid of a running or finished job (PNG), if any. */
  latestSamples(id: string): Uint8Array | undefined;
  /** Re-queues jobs a crash left `running`, then starts queued jobs. */
  start(): Promise<void>;
  /** Asks running jobs to stop (they checkpoint, stay `running` in the database, resume at next start). */
  close(): Promise<void>;
  /** Tests: SIGKILL a running job's process. */
  killForTest(id: string): void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function view(row: typeof schema.trainingJobs.$inferSelect): JobView {
  return {
    id: row.id,
    status: row.status,
    spec: row.config as unknown as TrainJobSpec,
    progress: row.progress ?? null,
    modelId: row.modelId,
    error: row.error,
    createdAt: row.createdAt.toISOString(),
    startedAt: row.startedAt?.toISOString() ?? null,
    finishedAt: row.finishedAt?.toISOString() ?? null,
  };
}

/** Checks a spec as far as can be done without loading data: the errors a user gets at once. */
export function validateJobSpec(raw: unknown): TrainJobSpec {
  const parsed = TrainJobSpecSchema.safeParse(raw);
  if (!parsed.success) {
    throw new JobInputError(parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '));
  }
  const spec = parsed.data;
  let family;
  try {
    family = familyDefinition(spec.family);
  } catch (err) {
    throw new JobInputError((err as Error).message);
  }
  let shape;
  try {
    shape = describeDatasetSpec(spec.dataset);
  } catch (err) {
    throw new JobInputError((err as Error).message);
  }
  if (shape) {
    if (family.conditional && !shape.numClasses) throw new JobInputError(`family ${spec.family} is conditional but data set ${spec.dataset} has no class labels`);
    try {
      family.parseConfig({ ...spec.config, seed: spec.config['seed'] ?? spec.seed }, shape);
    } catch (err) {
      throw new JobInputError(`config: ${(err as Error).message}`);
    }
  }
  if (spec.initFrom && spec.family !== 'vae-gan') throw new JobInputError(`initFrom: only vae-gan jobs start from another model`);
  return spec;
}

export function createJobManager(opts: JobManagerOptions): JobManager {
  const { db } = opts.database;
  const concurrency = opts.concurrency ?? 1;
  const running = new Map<string, TrainingProcess>();
  const samples = new Map<string, Uint8Array>();
  const progressOf = new Map<string, Record<string, unknown>>();
  let closing = false;
  let pumping: Promise<void> = Promise.resolve();

  const jobDir = (id: string) => path.join(opts.dataDir, 'jobs', id);

  async function row(id: string) {
    if (!UUID.test(id)) throw new UnknownJobError(`unknown training job ${JSON.stringify(id)}`);
    const [r] = await db.select().from(schema.trainingJobs).where(eq(schema.trainingJobs.id, id));
    if (!r) throw new UnknownJobError(`unknown training job ${JSON.stringify(id)}`);
    return r;
  }

  async function finish(id: string, event: TrainEvent & { crashed?: boolean }): Promise<void> {
    if (event.type === 'done') {
      const card = event.card;
      await db
        .insert(schema.models)
        .values({
          id: card.id,
          name: card.name,
          family: card.family,
          latentDim: card.latentDim,
          numClasses: card.numClasses,
          dataset: card.dataset,
          path: card.id,
          card: card as unknown as Record<string, unknown>,
        })
        .onConflictDoUpdate({
          target: schema.models.id,
          set: { name: card.name, family: card.family, latentDim: card.latentDim, numClasses: card.numClasses, dataset: card.dataset, path: card.id, card: card as unknown as Record<string, unknown> },
        });
      await db
        .update(schema.trainingJobs)
        .set({ status: 'succeeded', modelId: card.id, finishedAt: new Date(), error: null })
        .where(eq(schema.trainingJobs.id, id));
      await opts.onModel?.(card);
    } else if (event.type === 'cancelled') {
      // While closing, a stop is not the user's cancel: the job stays `running` and resumes.
      if (!closing) {
        await db.update(schema.trainingJobs).set({ status: 'cancelled', finishedAt: new Date() }).where(eq(schema.trainingJobs.id, id));
      }
    } else if (event.type === 'failed') {
      if (event.crashed && closing) return;
      await db
        .update(schema.trainingJobs)
        .set({ status: 'failed', error: event.error, finishedAt: new Date() })
        .where(eq(schema.trainingJobs.id, id));
    }
  }

  function launch(r: typeof schema.trainingJobs.$inferSelect): void {
    const id = r.id;
    progressOf.set(id, r.progress ?? {});
    const proc = (opts.startProcess ?? startTrainingProcess)(
      { spec: r.config, jobDir: jobDir(id), modelDir: opts.modelDir, backend: opts.backend, fresh: false },
      (event) => {
        if (event.type === 'samples') samples.set(id, event.png);
        if (event.type === 'progress' || event.type === 'checkpoint' || event.type === 'started') {
          const progress = event.type === 'progress'
            ? { step: event.step, totalSteps: event.totalSteps, losses: event.losses, imagesPerSec: event.imagesPerSec, etaMs: event.etaMs, elapsedMs: event.elapsedMs }
            : event.type === 'checkpoint'
              ? { checkpointStep: event.step }
              : { step: event.step, totalSteps: event.totalSteps, backend: event.backend, resumed: event.resumed };
          // Merged so that the last checkpoint step and the last losses are both kept.
          const merged = { ...(progressOf.get(id) ?? {}), ...progress };
          progressOf.set(id, merged);
          void db
            .update(schema.trainingJobs)
            .set({ progress: merged })
            .where(eq(schema.trainingJobs.id, id))
            .catch((err: unknown) => opts.logger.warn(`training job ${id}: progress not saved`, err));
        }
        opts.onEvent?.(id, event);
      },
    );
    running.set(id, proc);
    void proc.finished
      .then((last) => {
        if (last.crashed && !closing) opts.onEvent?.(id, last);
        return finish(id, last);
      })
      .catch((err: unknown) => opts.logger.error(`training job ${id}: could not record its end`, err))
      .finally(() => {
        running.delete(id);
        pump();
      });
  }

  /** Starts queued jobs, oldest first, while slots are free. Serialised. */
  function pump(): void {
    pumping = pumping
      .then(async () => {
        if (closing) return;
        const free = concurrency - running.size;
        if (free <= 0) return;
        const queued = await db
          .select()
          .from(schema.trainingJobs)
          .where(eq(schema.trainingJobs.status, 'queued'))
          .orderBy(asc(schema.trainingJobs.createdAt))
          .limit(free);
        for (const r of queued) {
          const [updated] = await db
            .update(schema.trainingJobs)
            .set({ status: 'running', startedAt: r.startedAt ?? new Date() })
            .where(eq(schema.trainingJobs.id, r.id))
            .returning();
          launch(updated ?? r);
        }
      })
      .catch((err: unknown) => opts.logger.error('training jobs: could not start queued jobs', err));
  }

  return {
    async submit(raw) {
      const spec = validateJobSpec(raw);
      const [r] = await db.insert(schema.trainingJobs).values({ family: spec.family, config: spec as unknown as Record<string, unknown> }).returning();
      pump();
      await pumping;
      return view((await row(r!.id)));
    },
    async cancel(id) {
      const r = await row(id);
      const proc = running.get(id);
      if (proc) {
        proc.cancel();
        await proc.finished;
        await pumping;
      } else if (r.status === 'queued') {
        await db.update(schema.trainingJobs).set({ status: 'cancelled', finishedAt: new Date() }).where(eq(schema.trainingJobs.id, id));
      } else {
        throw new JobInputError(`training job ${id} is ${r.status}: nothing to cancel`);
      }
      return view(await row(id));
    },
    get: async (id) => view(await row(id)),
    async list(limit = 50) {
      const rows = await db.select().from(schema.trainingJobs).orderBy(desc(schema.trainingJobs.createdAt)).limit(Math.min(Math.max(limit, 1), 500));
      return rows.map(view);
    },
    latestSamples: (id) => samples.get(id),
    async start() {
      // A job left `running` by a crash has no process: queue it again, it resumes from its checkpoint.
      await db
        .update(schema.trainingJobs)
        .set({ status: 'queued' })
        .where(inArray(schema.trainingJobs.status, ['running']));
      pump();
      await pumping;
    },
    async close() {
      closing = true;
      await pumping;
      const procs = [...running.values()];
      for (const p of procs) p.cancel();
      await Promise.all(procs.map((p) => p.finished));
    },
    killForTest(id) {
      running.get(id)?.kill();
    },
  };
}
