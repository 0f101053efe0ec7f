/**
 * The contract of the direction methods (./index.ts): a generator they may differentiate through,
 * the attributes a classifier scores, progress, and what a method returns. Pure TF.js: nothing
 * here reads files, sockets or the database (server/directions wires those).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ImageShape } from '../common/family';

/** What a direction method needs of a generative model. */
export interface DirectionGenerator {
  readonly id: string;
  readonly latentDim: number;
  /** Classes of a conditional model (each latent is decoded with one); null otherwise. */
  readonly numClasses: number | null;
  readonly imageShape: ImageShape;
  /** Pixels in [0, 1], differentiable with respect to z (inference mode). Tidy: one new tensor. */
  decode(z: tf.Tensor2D, classes?: tf.Tensor1D): tf.Tensor4D;
  /** Posterior means of images, for models with an encoder (VAE, VAE-GAN). Tidy. */
  encodeMean?(x: tf.Tensor4D): tf.Tensor2D;
  /** The generator's first layer, where it has a dense one (GANSpace, SeFa). */
  readonly firstLayer?: FirstLayer;
}

/** A generator's first (dense) layer: y = [z, c] · K (+ b), then its normalisation and activation. */
export interface FirstLayer {
  /** Name of the layer, for the record. */
  readonly name: string;
  /** The rows of K that multiply z: latentDim × units, row-major (a one-hot class's rows left out). */
  readonly kernel: Float32Array;
  readonly units: number;
  /**
   * The block's output after its normalisation and nonlinearity, [B, units]: the activations
   * GANSpace takes its principal components of. Tidy.
   */
  activations(z: tf.Tensor2D, classes?: tf.Tensor1D): tf.Tensor2D;
}

/**
 * One attribute a classifier reads from an image: a class (its probability; the label is the
 * arg max) or a factor head (its predicted value in [0, 1]; a cyclic one is read as cos 2πr, so
 * its value is in [-1, 1]).
 */
export interface Attribute {
  name: string;
  kind: 'class' | 'factor';
  /** Class index, or the factor head's position. */
  index: number;
  cyclic: boolean;
  /** Images of this class have no such factor (circles have no rotation). */
  skipClass?: number;
  /** The value above which an image has the attribute (factors); classes use the arg max. */
  threshold: number;
}

/** What the classifier said about a batch of images, as plain arrays. */
export interface ScoredImages {
  count: number;
  /** [count × numClasses] class probabilities. */
  probs: Float32Array;
  /** Factor head → value per image (cyclic heads: the fraction of a period in [0, 1)). */
  factors: Record<string, Float32Array>;
}

/** A classifier seen as a scorer of attributes. */
export interface AttributeScorer {
  readonly id: string;
  readonly imageShape: ImageShape;
  readonly numClasses: number;
  readonly attributes: readonly Attribute[];
  /** The attribute called `name`; throws listing the known ones. */
  attribute(name: string): Attribute;
  /**
   * A differentiable score of `attribute` per image, [B]: the log-probability of a class, the
   * raw regression of a factor, cos 2πr of a cyclic one. Higher means more of the attribute.
   */
  scoreTensor(images: tf.Tensor4D, attribute: Attribute): tf.Tensor1D;
  /** Every head's output for a batch of images (no tensors kept). */
  score(images: tf.Tensor4D): ScoredImages;
}

/** Progress of a long computation: units of work done out of a total. May throw to cancel. */
export type ProgressFn = (done: number, total: number) => void | Promise<void>;

/** A direction a method found (before it is scored and stored). */
export interface FoundDirection {
  /** Appended to the job's name when a method finds several (`pc1`, `sefa2`). */
  suffix?: string;
  vector: Float32Array;
  /** Method-specific figures: held-out accuracy, explained variance, eigenvalue, ... */
  meta: Record<string, number | string | boolean>;
}
