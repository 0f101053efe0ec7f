/**
 * Runs one training job to its end, in whatever thread calls it (the training worker, or the
 * `npm run train` CLI process, which has no realtime loop to stall). No sockets, no database:
 * everything the job has to say goes out through `emit`, in step order.
 *
 *   started → (progress | samples | checkpoint)* → done | failed | cancelled
 *
 * - Batches are a pure function of (seed, step): the data set is reshuffled every epoch by a
 *   generator seeded from (seed, epoch), and each step's latents/noise come from (seed, step).
 *   A job resumed from its checkpoint at step s therefore trains exactly the steps a job that
 *   never stopped would have trained (same batches, same draws, same Adam moments).
 * - The job directory holds one training checkpoint (float32 weights of every network and the
 *   optimisers' slots), rewritten atomically every `checkpointEvery` steps and at the end. A NaN,
 *   infinite or exploding loss stops the job before anything is written: the last good
 *   checkpoint stays. At the end the explorable networks are written to the model directory
 *   (float16) with the model card.
 * - Cancellation is checked between steps; a cancelled job writes a checkpoint of where it got
 *   to, so it can be resumed.
 */
import { statfs } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32, seededNormal } from '../../lib/latent/random';
import { loadCheckpointInto, readCard, saveCheckpoint, type ModelCard } from '../../models/common/checkpoint';
import { EMA_ROLE } from '../../models/common/ema';
import type { Dataset, FamilyInstance, FamilyName, GenerativeModel, StepLosses, TrainBatch } from '../../models/common/family';
import { shuffleInPlace } from '../../models/common/random';
import { gatherBatch } from '../../models/datasets/dataset-tensors';
import { encodePng } from '../rooms/encode-frame';
import { datasetIsLabelled, familyDefinition, loadTrainingData } from './catalog';
import { TrainJobSpecSchema, type TrainJobSpec } from './spec';

export type TrainEvent =
  | { type: 'started'; step: number; totalSteps: number; resumed: boolean; backend: string }
  | { type: 'progress'; step: number; totalSteps: number; losses: StepLosses; imagesPerSec: number; etaMs: number; elapsedMs: number }
  | { type: 'samples'; step: number; png: Uint8Array; rows: number; cols: number }
  | { type: 'checkpoint'; step: number }
  | { type: 'done'; step: number; modelId: string; card: ModelCard }
  | { type: 'failed'; step: number; error: string; lastGoodStep: number | null }
  | { type: 'cancelled'; step: number };

export interface RunContext {
  /** Where this job's training checkpoint lives (resumed from if present). */
  jobDir: string;
  /** Where the finished model is written, as `<modelDir>/<modelId>`. */
  modelDir: string;
  emit(event: TrainEvent): void;
  /** Polled between steps. */
  shouldCancel?(): boolean;
  /** Start over even if the job directory holds a checkpoint. */
  fresh?: boolean;
}

/** A loss this large is a diverged run, not a bad step (BCE/KL/recon per image are far below). */
export const EXPLODING_LOSS = 1e6;
/** Free bytes the model and job directories must have before a checkpoint is written. */
export const MIN_FREE_BYTES = 64 * 1024 * 1024;
/** Images in the sample grid (8 × 8). */
export const GRID_SIDE = 8;

export class TrainingError extends Error {}

/** Seed of step `step`'s random draws inside the family (latents, ε, interpolation weights). */
export function stepSeed(seed: number, step: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(step + 1, 0xc2b2ae35)) >>> 0;
}

/**
 * The batch of step `step` (0-based): a pure function of (data set, batch size, seed, step).
 * Every epoch is a fresh permutation; the last partial batch of an epoch is dropped.
 */
export function createBatchSource(data: Dataset, batchSize: number, seed: number) {
  const perEpoch = Math.floor(data.count / batchSize);
  if (perEpoch < 1) throw new TrainingError(`data set ${data.name} has ${data.count} images, fewer than one batch of ${batchSize}`);
  let epoch = -1;
  const perm = new Uint32Array(data.count);
  return {
    stepsPerEpoch: perEpoch,
    /** Tensors owned by the caller. */
    batch(step: number): TrainBatch {
      const e = Math.floor(step / perEpoch);
      if (e !== epoch) {
        epoch = e;
        for (let i = 0; i < data.count; i++) perm[i] = i;
        shuffleInPlace(perm, mulberry32((seed ^ Math.imul(e + 1, 0x2545f491)) >>> 0));
      }
      const start = (step % perEpoch) * batchSize;
      return gatherBatch(data, perm.subarray(start, start + batchSize));
    },
  };
}

/** An 8×8 grid PNG of the model's images for fixed latents (and classes 0, 1, 2, ... if conditional). */
export function sampleGrid(instance: FamilyInstance, seed: number): { png: Uint8Array; rows: number; cols: number } {
  const { png, rows, cols } = sampleGridOf(instance.generative(), seed);
  return { png, rows, cols };
}

/** sampleGrid of any explorable model (imported ones too), with the decoded images ([64, h, w, c] in [0, 1]). */
export function sampleGridOf(g: GenerativeModel, seed: number): { png: Uint8Array; rows: number; cols: number; images: Float32Array } {
  const n = GRID_SIDE * GRID_SIDE;
  const [h, w, c] = g.imageShape;
  const pixels = tf.tidy(() => {
    const z = tf.tensor2d(seededNormal(seed, n * g.latentDim), [n, g.latentDim]);
    const classes = g.numClasses ? tf.tensor1d(Int32Array.from({ length: n }, (_, i) => Math.floor(i / GRID_SIDE) % g.numClasses!), 'int32') : undefined;
    return g.decode(z, classes).dataSync() as Float32Array;
  });
  const W = GRID_SIDE * w;
  const H = GRID_SIDE * h;
  const grid = new Float32Array(W * H * c);
  for (let i = 0; i < n; i++) {
    const gy = Math.floor(i / GRID_SIDE) * h;
    const gx = (i % GRID_SIDE) * w;
    for (let y = 0; y < h; y++) {
      const src = (i * h + y) * w * c;
      grid.set(pixels.subarray(src, src + w * c), ((gy + y) * W + gx) * c);
    }
  }
  return { png: new Uint8Array(encodePng(grid, W, H, c as 1 | 3)), rows: GRID_SIDE, cols: GRID_SIDE, images: pixels };
}

/**
 * Roles written to the model directory: what decode/encode need, not the critics; of a generator
 * with a moving average (models/common/ema.ts), the average only, which is what decode uses.
 */
export function explorableRoles(instance: FamilyInstance): string[] {
  const averaged = EMA_ROLE in instance.networks;
  return Object.keys(instance.networks).filter((r) => r !== 'discriminator' && r !== 'critic' && !(averaged && r === 'generator'));
}

async function ensureSpace(dir: string): Promise<void> {
  // The nearest directory that exists: the volume the checkpoint will land on.
  let probe = path.dirname(path.resolve(dir));
  let stats: Awaited<ReturnType<typeof statfs>> | undefined;
  for (;;) {
    stats = await statfs(probe).catch(() => undefined);
    if (stats || path.dirname(probe) === probe) break;
    probe = path.dirname(probe);
  }
  if (!stats) return;
  const free = stats.bavail * stats.bsize;
  if (free < MIN_FREE_BYTES) {
    throw new TrainingError(`disk full: ${Math.round(free / 1048576)} MiB free under ${probe}, need ${MIN_FREE_BYTES / 1048576} MiB for a checkpoint`);
  }
}

function describeWriteError(err: unknown, what: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new TrainingError(`disk full while writing ${what}`);
  return err instanceof Error ? err : new Error(String(err));
}

/** Runs `rawSpec` to the end. Never throws for job failures: they are emitted as `failed`. */
export async function runTrainingJob(rawSpec: unknown, ctx: RunContext): Promise<TrainEvent> {
  const emit = (e: TrainEvent) => {
    ctx.emit(e);
    return e;
  };
  let step = 0;
  let lastGoodStep: number | null = null;
  let instance: FamilyInstance | undefined;
  try {
    const parsed = TrainJobSpecSchema.safeParse(rawSpec);
    if (!parsed.success) {
      throw new TrainingError(`invalid training job: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    }
    const spec: TrainJobSpec = parsed.data;
    const family = familyDefinition(spec.family);
    const data = await loadTrainingData(spec.dataset);
    if (family.conditional && !datasetIsLabelled(data.train)) {
      throw new TrainingError(`family ${spec.family} is conditional but data set ${spec.dataset} has no class labels`);
    }
    const config = family.parseConfig({ ...spec.config, seed: spec.config['seed'] ?? spec.seed }, data.train);
    instance = family.create(config, data.train);

    const ckptDir = path.join(ctx.jobDir, 'checkpoint');
    let resumed = false;
    let priorWallMs = 0;
    let resumedLosses: StepLosses = {};
    if (!ctx.fresh) {
      const card = await readCard(ckptDir).catch(() => null);
      if (card) {
        if (card.family !== spec.family || card.dataset !== spec.dataset || card.batchSize !== spec.batchSize || card.seed !== spec.seed) {
          throw new TrainingError(`${ckptDir} holds a checkpoint of another job (${card.family} on ${card.dataset}, batch ${card.batchSize}, seed ${card.seed}); remove it or train fresh`);
        }
        await loadCheckpointInto(ckptDir, instance, { optimizers: true });
        step = card.steps;
        lastGoodStep = card.steps;
        priorWallMs = card.wallMs;
        resumedLosses = card.losses ?? {};
        resumed = true;
      }
    }
    if (spec.initFrom && !resumed) {
      const { initFromModel } = await import('./init-from');
      await initFromModel(instance, path.join(ctx.modelDir, spec.initFrom), spec.family);
    }

    const source = createBatchSource(data.train, spec.batchSize, spec.seed);
    const gridSeed = stepSeed(spec.seed, -2);
    const started = Date.now();
    const backend = tf.getBackend();
    emit({ type: 'started', step, totalSteps: spec.steps, resumed, backend });
    // The last step's losses: a job resumed at its last step takes no step and keeps the checkpoint's.
    let losses: StepLosses = resumedLosses;
    const card = (): Omit<ModelCard, 'format' | 'networks' | 'weightsDtype' | 'weightsHash'> => ({
      id: spec.modelId,
      name: spec.name ?? spec.modelId,
      family: spec.family as FamilyName,
      dataset: spec.dataset,
      imageShape: data.train.imageShape,
      latentDim: instance!.generative().latentDim,
      numClasses: family.conditional ? (data.train.numClasses ?? null) : null,
      ...(family.conditional && data.train.classNames ? { classNames: data.train.classNames } : {}),
      config: config as Record<string, unknown>,
      seed: spec.seed,
      batchSize: spec.batchSize,
      steps: step,
      wallMs: priorWallMs + (Date.now() - started),
      backend,
      command: spec.command ?? '',
      losses,
      metrics: {},
      createdAt: new Date().toISOString(),
    });
    const checkpoint = async () => {
      await ensureSpace(ckptDir);
      await saveCheckpoint(ckptDir, instance!, card(), { optimizers: true }).catch((err: unknown) => {
        throw describeWriteError(err, `the checkpoint at step ${step}`);
      });
      lastGoodStep = step;
      emit({ type: 'checkpoint', step });
    };

    let windowStart = performance.now();
    let windowSteps = 0;
    let rate = 0; // steps/s over the last progress window
    const runStart = step;
    while (step < spec.steps) {
      // One turn of the event loop per step: a cancel message (IPC) gets through.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (ctx.shouldCancel?.()) {
        if (step > (lastGoodStep ?? -1)) await checkpoint();
        return emit({ type: 'cancelled', step });
      }
      const batch = source.batch(step);
      try {
        losses = instance.trainStep(batch, stepSeed(spec.seed, step));
      } finally {
        batch.images.dispose();
        batch.labels?.dispose();
      }
      const bad = Object.entries(losses).find(([, v]) => !Number.isFinite(v) || Math.abs(v) > EXPLODING_LOSS);
      if (bad) {
        throw new TrainingError(
          `loss ${bad[0]} is ${bad[1]} at step ${step + 1}: training diverged; ` +
            (lastGoodStep === null ? 'no checkpoint was written' : `the last good checkpoint (step ${lastGoodStep}) is kept`),
        );
      }
      step++;
      windowSteps++;
      if (step % spec.progressEvery === 0 || step === spec.steps) {
        const now = performance.now();
        rate = windowSteps / ((now - windowStart) / 1000);
        windowStart = now;
        windowSteps = 0;
        emit({
          type: 'progress',
          step,
          totalSteps: spec.steps,
          losses,
          imagesPerSec: rate * spec.batchSize,
          etaMs: ((spec.steps - step) / rate) * 1000,
          elapsedMs: priorWallMs + (Date.now() - started),
        });
      }
      if (step % spec.sampleEvery === 0 || step === spec.steps || step === runStart + 1) {
        emit({ type: 'samples', step, ...sampleGrid(instance, gridSeed) });
      }
      if (step % spec.checkpointEvery === 0 && step < spec.steps) await checkpoint();
    }
    // A job resumed at its last step takes no step; its final grid is drawn all the same (same
    // weights, same latents: the grid the run that took the step drew).
    if (step === runStart) emit({ type: 'samples', step, ...sampleGrid(instance, gridSeed) });

    await checkpoint();
    const outDir = path.join(ctx.modelDir, spec.modelId);
    await ensureSpace(outDir);
    const final = await saveCheckpoint(outDir, instance, card(), { roles: explorableRoles(instance), dtype: 'float16' }).catch((err: unknown) => {
      throw describeWriteError(err, `the model ${spec.modelId}`);
    });
    return emit({ type: 'done', step, modelId: spec.modelId, card: final });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return emit({ type: 'failed', step, error: message, lastGoodStep });
  } finally {
    instance?.dispose();
  }
}
