/**
 * The models an engine host has loaded, by id. Models load once, when the host starts; every
 * decode is tidy.
 *
 * For now the registry holds one built-in model, `dcgan-mnist-random`: the DCGAN generator that
 * mirrors torch_dcgan.py, randomly initialised with a fixed seed, so that decoding works end to
 * end before any trained checkpoint exists. It is listed as `trained: false`: it produces
 * structured noise, not digits. Loading trained checkpoints from MODEL_DIR comes next.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { DCGAN_CHANNELS, DCGAN_IMAGE_SIZE, DCGAN_MNIST, buildGenerator, decode } from '../../models/dcgan/model';
import type { ModelSummary } from './engine-protocol';

export const BUILTIN_RANDOM_DCGAN_ID = 'dcgan-mnist-random';
/** Seed of the built-in random DCGAN's weights: the same images for the same z everywhere. */
export const BUILTIN_RANDOM_DCGAN_SEED = 1;

export interface LoadedModel {
  readonly summary: ModelSummary & { trained: boolean; imageShape: [number, number, number] };
  /**
   * Pixels in [0, 1], [count, h, w, c], for z [count, latentDim] and, for conditional models, one
   * int32 class label per latent. Tidy: returns one new tensor.
   */
  decode(z: tf.Tensor2D, classes?: tf.Tensor1D): tf.Tensor4D;
  dispose(): void;
}

export interface ModelRegistry {
  get(id: string): LoadedModel | undefined;
  list(): ModelSummary[];
  dispose(): void;
}

function generatorModel(id: string, generator: tfl.LayersModel, latentDim: number, trained: boolean): LoadedModel {
  return {
    summary: { id, family: 'dcgan', latentDim, trained, imageShape: [DCGAN_IMAGE_SIZE, DCGAN_IMAGE_SIZE, DCGAN_CHANNELS] },
    decode: (z) => decode(generator, z),
    dispose: () => generator.dispose(),
  };
}

/**
 * Builds the registry of a host. `modelDir` is where trained checkpoints will be read from; it
 * is kept for that and not read yet.
 */
export function createModelRegistry(opts: { modelDir: string }): ModelRegistry {
  void opts.modelDir;
  const models = new Map<string, LoadedModel>();
  const config = { ...DCGAN_MNIST, seed: BUILTIN_RANDOM_DCGAN_SEED };
  models.set(BUILTIN_RANDOM_DCGAN_ID, generatorModel(BUILTIN_RANDOM_DCGAN_ID, buildGenerator(config), config.latentDim, false));
  // Build the inference graph and its kernels' state now, not on the first user's decode.
  const warm = models.get(BUILTIN_RANDOM_DCGAN_ID)!;
  tf.tidy(() => warm.decode(tf.zeros([1, config.latentDim])).dataSync());

  return {
    get: (id) => models.get(id),
    list: () => [...models.values()].map((m) => ({ ...m.summary, imageShape: [...m.summary.imageShape] as [number, number, number] })),
    dispose: () => {
      for (const m of models.values()) m.dispose();
      models.clear();
    },
  };
}
