/**
 * Model import in the service: one upload at a time (these machines have two cores, one for the
 * engine), each in its own limited process (./job-client.ts); then the files stored under
 * MODEL_DIR (./store.ts), a `models` row, and the engine told to load it, so that a room can be
 * created on it at once, and after a restart.
 *
 * A failure at any step leaves nothing behind: no folder (the store writes a temporary sibling
 * and renames it), no row, and a model the engine cannot load is removed again.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import type { BackendName } from '../../lib/env';
import type { Database } from '../db/open-database';
import * as schema from '../db/schema';
import type { EngineClient } from '../inference/engine-protocol';
import type { Logger } from '../logger';
import { MODEL_ID } from '../training/spec';
import { ImportError } from './errors';
import { runImportProcess, type ImportJobLimits } from './job-client';
import type { ImportJobInput } from './check';
import { MAX_QUEUED_IMPORTS } from './limits';
import { parseImportOptions } from './options';
import { importedCard, removeImportedModel, SAMPLES_FILE, writeImportedModel, type ImportedModelCard } from './store';

export interface ImportService {
  /** Imports one upload; resolves with the stored model card, or rejects with an ImportError. */
  import(req: ImportJobInput): Promise<ImportedModelCard>;
  /** The first sample grid of an imported model (PNG), if `id` is one. */
  samples(id: string): Promise<Buffer | undefined>;
}

export interface ImportServiceOptions {
  modelDir: string;
  database: Database;
  engine: Pick<EngineClient, 'models' | 'reloadModels'>;
  backend: BackendName | undefined;
  logger: Logger;
  /** Time and memory of the import process; tests lower them. */
  limits?: Partial<ImportJobLimits>;
  /**
   * Evaluation (server/training/evaluation.ts: `npm run eval` in a child process), for imports
   * that name a data set. Absent: their card says the evaluation is pending.
   */
  evaluations?: { enqueue(modelId: string): void };
}

/** `My GAN (v2)!` → `my-gan-v2`. */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/, '');
}

export function createImportService(opts: ImportServiceOptions): ImportService {
  const { db } = opts.database;
  let queue: Promise<unknown> = Promise.resolve();
  let waiting = 0;

  async function idIsTaken(id: string): Promise<boolean> {
    if (existsSync(path.join(opts.modelDir, id))) return true;
    const [row] = await db.select({ id: schema.models.id }).from(schema.models).where(eq(schema.models.id, id));
    if (row) return true;
    return (await opts.engine.models()).some((m) => m.id === id);
  }

  async function run(req: ImportJobInput): Promise<ImportedModelCard> {
    const options = parseImportOptions(req.fields);
    const id = options.id ?? `${slugify(options.name) || 'imported'}-${randomBytes(3).toString('hex')}`;
    if (await idIsTaken(id)) throw new ImportError(409, `a model with id ${id} exists already; choose another id`);

    const started = performance.now();
    const out = await runImportProcess(req, { backend: opts.backend, limits: opts.limits });
    if (out.tensorsLeaked !== 0) opts.logger.warn(`import of ${id}: the job left ${out.tensorsLeaked} tensors undisposed`);
    const evaluation: ImportedModelCard['evaluation'] = !options.dataset
      ? { status: 'not-requested' }
      : opts.evaluations
        ? { status: 'queued', dataset: options.dataset, note: 'npm run eval writes metrics.summary and metrics.evaluation into this card when it is done' }
        : { status: 'pending', dataset: options.dataset, note: `this server evaluates nothing by itself: npm run eval -- --model ${id}` };
    const card = importedCard(id, out, evaluation);
    await writeImportedModel(opts.modelDir, card, out);

    try {
      await db.insert(schema.models).values({
        id,
        name: card.name,
        family: 'imported',
        latentDim: card.latentDim,
        numClasses: card.numClasses,
        dataset: card.dataset,
        path: id,
        card: card as unknown as Record<string, unknown>,
      });
      if (opts.engine.reloadModels) {
        const { added, failures } = await opts.engine.reloadModels();
        if (!added.includes(id)) {
          const why = failures.filter((f) => path.basename(f.dir) === id).pop()?.error ?? 'it was not among the models the engine added';
          throw new ImportError(422, `the engine could not load the stored model: ${why}`);
        }
      } else {
        opts.logger.warn(`import of ${id}: this engine cannot reload models; it appears after a restart`);
      }
    } catch (err) {
      await db.delete(schema.models).where(eq(schema.models.id, id)).catch(() => undefined);
      await removeImportedModel(opts.modelDir, id);
      throw err;
    }
    if (options.dataset) opts.evaluations?.enqueue(id);
    opts.logger.info(`imported model ${id} (${card.generator.format}, ${card.generator.parameters} parameters) in ${Math.round(performance.now() - started)} ms`);
    return card;
  }

  return {
    import(req) {
      if (waiting > MAX_QUEUED_IMPORTS) return Promise.reject(new ImportError(503, `${waiting} imports are waiting already; try again in a minute`));
      waiting++;
      const turn = queue.then(() => run(req));
      queue = turn.catch(() => undefined).finally(() => waiting--);
      return turn;
    },
    async samples(id) {
      if (!MODEL_ID.safeParse(id).success) return undefined;
      return readFile(path.join(opts.modelDir, id, SAMPLES_FILE)).catch(() => undefined);
    },
  };
}
