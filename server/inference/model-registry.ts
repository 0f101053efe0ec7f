/**
 * The models an engine host has loaded, by id. Models load once, when the host starts (and again
 * on `reload`, after a training job has written a new one); every decode is tidy.
 *
 *   - Trained models: every folder of MODEL_DIR holding a checkpoint (card.json, weights.json,
 *     weights.bin; models/common/checkpoint.ts). The family named in the card rebuilds the
 *     networks from the card's config; the weights are checked (SHA-256, every shape) before
 *     they are used. A folder that fails to load is skipped with its reason, never fatal: the
 *     host starts with what it can serve.
 *   - Imported models: folders whose card has family `imported` (a TF.js model uploaded through
 *     the import API), loaded by server/import/store.ts: checked again, then from memory.
 *   - The built-in `dcgan-mnist-random`: the DCGAN generator that mirrors torch_dcgan.py,
 *     randomly initialised with a fixed seed, listed as `trained: false` (structured noise, not
 *     digits). It keeps decoding working on a machine whose model folder is empty.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { readCardSync, type ModelCard } from '../../models/common/checkpoint';
import type { GenerativeModel } from '../../models/common/family';
import { DCGAN_CHANNELS, DCGAN_IMAGE_SIZE, DCGAN_MNIST, buildGenerator, decode } from '../../models/dcgan/model';
import { loadCheckpointInstance } from '../../models/families';
import { isImportedCard, loadImportedForEngine } from '../import/registry-hook';
import type { ModelSummary } from './engine-protocol';

export const BUILTIN_RANDOM_DCGAN_ID = 'dcgan-mnist-random';
/** Seed of the built-in random DCGAN's weights: the same images for the same z everywhere. */
export const BUILTIN_RANDOM_DCGAN_SEED = 1;

export type LoadedSummary = ModelSummary & { trained: boolean; imageShape: [number, number, number] };

export interface LoadedModel {
  readonly summary: LoadedSummary;
  /**
   * Pixels in [0, 1], [count, h, w, c], for z [count, latentDim] (and classes [count] int32 for
   * conditional models). Tidy: returns one new tensor.
   */
  decode(z: tf.Tensor2D, classes?: tf.Tensor1D): tf.Tensor4D;
  /** The model as the rest of the service sees it (encode where it has an encoder). */
  readonly model?: GenerativeModel;
  dispose(): void;
}

export interface ModelRegistry {
  get(id: string): LoadedModel | undefined;
  list(): ModelSummary[];
  /** Folders of the model directory that did not load, with the reason. */
  readonly failures: { dir: string; error: string }[];
  /** Loads models added to the model directory since the last (re)load; returns their ids. */
  reload(): Promise<string[]>;
  dispose(): void;
}

/**
 * The built-in random DCGAN, rebuilt from its seed: the generator network and the model as the rest
 * of the service sees it (the engine, the direction jobs and the point-cloud worker all use this).
 */
export function builtinRandomDcgan(): { generator: tfl.LayersModel; model: GenerativeModel } {
  const generator = buildGenerator({ ...DCGAN_MNIST, seed: BUILTIN_RANDOM_DCGAN_SEED });
  const model: GenerativeModel = {
    family: 'dcgan',
    latentDim: DCGAN_MNIST.latentDim,
    numClasses: null,
    imageShape: [DCGAN_IMAGE_SIZE, DCGAN_IMAGE_SIZE, DCGAN_CHANNELS],
    decode: (z) => decode(generator, z),
    dispose: () => generator.dispose(),
  };
  return { generator, model };
}

function randomDcgan(): LoadedModel {
  const { model } = builtinRandomDcgan();
  return {
    summary: {
      id: BUILTIN_RANDOM_DCGAN_ID,
      family: 'dcgan',
      latentDim: model.latentDim,
      trained: false,
      imageShape: [...model.imageShape],
      numClasses: null,
    },
    decode: (z) => model.decode(z),
    dispose: () => model.dispose(),
  };
}

/** What the engine lists for a model loaded from a folder with this card. */
export function summaryOf(
  card: Pick<ModelCard, 'id' | 'name' | 'dataset' | 'weightsHash' | 'classNames'> & { steps?: number },
  model: GenerativeModel,
  family: ModelSummary['family'],
): LoadedSummary {
  return {
    id: card.id,
    name: card.name,
    family,
    dataset: card.dataset,
    latentDim: model.latentDim,
    trained: true,
    imageShape: [...model.imageShape],
    numClasses: model.numClasses,
    ...(card.classNames ? { classNames: card.classNames } : {}),
    weightsHash: card.weightsHash,
    ...(card.steps !== undefined ? { steps: card.steps } : {}),
  };
}

/** Loads the checkpoint in `dir` (throws with the reason if it cannot). */
export function loadTrainedModel(dir: string, card: ModelCard = readCardSync(dir)): LoadedModel {
  const instance = loadCheckpointInstance(dir, card);
  const model = instance.generative();
  return {
    summary: summaryOf(card, model, card.family),
    decode: (z, classes) => {
      if (model.numClasses !== null) {
        if (!classes) throw new Error(`model ${card.id} is conditional: each latent needs a class in [0, ${model.numClasses})`);
      }
      return model.decode(z, classes);
    },
    model,
    dispose: () => instance.dispose(),
  };
}

/** Builds the inference graph and its kernels' state now, not on the first user's decode. */
function warm(m: LoadedModel): void {
  tf.tidy(() => {
    const classes = m.summary.numClasses ? tf.zeros([1], 'int32') as tf.Tensor1D : undefined;
    m.decode(tf.zeros([1, m.summary.latentDim]), classes).dataSync();
  });
}

/**
 * Loads the built-in model and every checkpoint of `modelDir`. Async because some loaders are
 * (TF.js's own LayersModel deserialisation, used for imported models, has no synchronous form).
 */
export async function createModelRegistry(opts: { modelDir: string; log?: (line: string) => void }): Promise<ModelRegistry> {
  const models = new Map<string, LoadedModel>();
  const failures: { dir: string; error: string }[] = [];
  const builtin = randomDcgan();
  models.set(builtin.summary.id, builtin);
  warm(builtin);

  async function scan(): Promise<string[]> {
    const added: string[] = [];
    if (!existsSync(opts.modelDir)) return added;
    for (const entry of readdirSync(opts.modelDir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (!entry.isDirectory() || entry.name.includes('.tmp-') || entry.name.includes('.old-')) continue;
      const dir = path.join(opts.modelDir, entry.name);
      if (!existsSync(path.join(dir, 'card.json'))) continue;
      try {
        const card = readCardSync(dir);
        const existing = models.get(card.id);
        if (existing && existing.summary.weightsHash === card.weightsHash) continue;
        const m = isImportedCard(card) ? await loadImportedForEngine(dir) : loadTrainedModel(dir, card);
        warm(m);
        existing?.dispose();
        models.set(m.summary.id, m);
        added.push(m.summary.id);
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        failures.push({ dir, error });
        opts.log?.(`model ${dir} skipped: ${error}`);
      }
    }
    return added;
  }
  await scan();

  return {
    get: (id) => models.get(id),
    list: () => [...models.values()].map((m) => ({ ...m.summary, imageShape: [...m.summary.imageShape] as [number, number, number] })),
    failures,
    reload: scan,
    dispose: () => {
      for (const m of models.values()) m.dispose();
      models.clear();
    },
  };
}
