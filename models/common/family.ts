/**
 * The contract between model families (models/<family>/), data sets (models/datasets/) and the
 * rest of the service (training jobs, the engine's model registry, evaluation, rooms).
 *
 * - A **data set** is images in memory, NHWC float32 in [0, 1], with optional class labels and
 *   generating factors; it knows nothing of TF.js.
 * - A **family** (VAE, DCGAN, WGAN, ...) turns a validated config and the data set's shape into
 *   a `FamilyInstance`: its networks, its optimisers, and one `trainStep`.
 * - Every trained model, whatever its family, is explored through `GenerativeModel`: latent size,
 *   classes if conditional, decode(z[, class]), encode(x) where there is an encoder, metadata.
 *
 * Pixels crossing these interfaces are always in [0, 1]; a family that trains a tanh generator
 * maps 2x - 1 on the way in and (y + 1) / 2 on the way out itself.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

export const FAMILY_NAMES = ['vae', 'dcgan', 'wgan', 'wgan-gp', 'cgan', 'vae-gan'] as const;
export type FamilyName = (typeof FAMILY_NAMES)[number];

/** [height, width, channels]. */
export type ImageShape = [number, number, number];

/** A data set in memory (no TF.js). */
export interface Dataset {
  /** e.g. `mnist`, `shapes32`, `folder:<name>`. */
  name: string;
  imageShape: ImageShape;
  /** Number of images. */
  count: number;
  /** count × h × w × c values in [0, 1], NHWC, image after image. */
  images: Float32Array;
  /** Class index per image, for labelled data sets (MNIST digits, shapes' shape). */
  labels?: Int32Array;
  /** Number of classes when `labels` is set. */
  numClasses?: number;
  /** Human names of the classes, `numClasses` long. */
  classNames?: string[];
  /** Generating factors (shapes): factor name → one value per image. */
  factors?: Record<string, Float32Array>;
}

/** One training batch, owned by the caller (the step must not dispose it). */
export interface TrainBatch {
  /** [B, h, w, c] float32 in [0, 1]. */
  images: tf.Tensor4D;
  /** [B] int32 class indices; present when the data set is labelled. */
  labels?: tf.Tensor1D;
}

/** Loss values of one step, by name, e.g. `{ d: 1.2, g: 0.8 }` or `{ recon: 80, kl: 12 }`. */
export type StepLosses = Record<string, number>;

/** What every trained model offers the rest of the service. */
export interface GenerativeModel {
  /** The family that trained it, or `imported` for a TF.js model uploaded by a user (models/imported). */
  readonly family: FamilyName | 'imported';
  readonly latentDim: number;
  /** Number of classes for conditional models; null otherwise. */
  readonly numClasses: number | null;
  readonly imageShape: ImageShape;
  /**
   * Images for latents, inference mode, pixels in [0, 1], [B, h, w, c]. `classes` ([B] int32) is
   * required for conditional models and ignored otherwise. Tidy: returns one new tensor.
   */
  decode(z: tf.Tensor2D, classes?: tf.Tensor1D): tf.Tensor4D;
  /** Models with an encoder (VAE, VAE-GAN): posterior mean and log-variance, [B, latentDim] each. */
  encode?(x: tf.Tensor4D): { mean: tf.Tensor2D; logVar: tf.Tensor2D };
  dispose(): void;
}

/** A family's live training state. */
export interface FamilyInstance {
  /**
   * Every network by role (`generator`, `discriminator`, `critic`, `encoder`, `decoder`, ...):
   * what a checkpoint saves and restores.
   */
  readonly networks: Record<string, tfl.LayersModel>;
  /** Optimisers by network role, for checkpoints (their state is saved with getWeights()). */
  readonly optimizers: Record<string, tf.Optimizer>;
  /**
   * One training step on `batch`. `seed` seeds every random draw of the step (latents, noise),
   * so that a resumed job repeats the same steps. Leaves no tensors behind; returns the losses,
   * read synchronously.
   */
  trainStep(batch: TrainBatch, seed: number): StepLosses;
  /** The explorable model over the current weights (shares them; dispose() frees nothing). */
  generative(): GenerativeModel;
  /** Frees networks and optimisers. */
  dispose(): void;
}

/** A family module's entry point (models/<family>/index.ts exports one). */
export interface FamilyDefinition<Config = Record<string, unknown>> {
  readonly name: FamilyName;
  readonly conditional: boolean;
  readonly hasEncoder: boolean;
  /** Names of the losses trainStep returns, in display order. */
  readonly lossNames: readonly string[];
  /**
   * Validates a user's config (unknown keys, wrong types, impossible shapes → a clear Error
   * naming the field) and fills defaults for this data set. Throws for a data set the family
   * cannot train on (e.g. a conditional family without labels).
   */
  parseConfig(raw: unknown, dataset: Pick<Dataset, 'name' | 'imageShape' | 'numClasses'>): Config;
  /** Builds fresh networks (weights from config's seed) and optimisers. */
  create(config: Config, dataset: Pick<Dataset, 'name' | 'imageShape' | 'numClasses'>): FamilyInstance;
}
