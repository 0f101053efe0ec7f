/**
 * Convolutional building blocks of the GAN families (DCGAN, WGAN, WGAN-GP, cGAN), sized from the
 * data set's image shape, and the loss-level tricks they share.
 *
 * Sizes. An image side S is halved while it stays even and at least 4: the remaining side is the
 * base and the number of halvings the number of stages n (28 → 7, n = 2; 32 → 4, n = 3;
 * 64 → 4, n = 4). Square images, 1 or 3 channels, n ≥ 2, S ≤ 128 (imageShapeProblem says why
 * not otherwise).
 *
 *   G(z[, y]): Dense(base²·F·2^(n−1)) → [BN] → act → reshape base×base
 *              → (n−1) × [upsample ×2 to F·2^(n−1−i) filters → [BN] → act]
 *              → upsample ×2 to C channels (with bias) → tanh                       S×S×C in [−1, 1]
 *   D(x[, class planes]): n × [Conv(F·2^i, 4×4, stride 2, same) → [BN, not on the first] → act]
 *              → Flatten (the features of feature matching) → [minibatch discrimination]
 *              → Dense(1)                                                           a logit / score
 *
 * With the defaults on 28×28×1 (F = 64, BN in G only, LeakyReLU 0.3 in G and 0.2 in D, transposed
 * convolutions) these are layer for layer, name for name and seed for seed the torch mirror of
 * models/dcgan/model.ts (tests/unit/gan-families.test.ts checks the weights are identical);
 * initialisation is PyTorch's default there too (see that file's header).
 *
 * Options from the literature:
 *   - Batch norm (Ioffe & Szegedy 2015, arXiv:1502.03167), in G and/or D; DCGAN uses it in G and
 *     in D except D's first layer (Radford, Metz & Chintala 2015, arXiv:1511.06434). A bias
 *     before a batch norm is redundant, so those layers have none. Not in a WGAN-GP critic: the
 *     penalty is per sample, batch norm mixes the samples (Gulrajani et al. 2017, §4).
 *   - LeakyReLU slope (Maas et al. 2013; DCGAN: 0.2 in D, ReLU — slope 0 — in G); 0 is a ReLU.
 *   - Upsampling by transposed convolution (4×4, stride 2: DCGAN) or resize-convolution: nearest
 *     neighbour ×2 then a 3×3 stride-1 convolution, which cannot make the checkerboard artifacts
 *     of uneven kernel overlap (Odena, Dumoulin & Olah 2016, "Deconvolution and Checkerboard
 *     Artifacts", Distill). It costs about twice the multiply-adds (9 taps per output pixel
 *     against 4).
 *   - Minibatch discrimination (Salimans et al. 2016, "Improved Techniques for Training GANs",
 *     arXiv:1606.03498, §3.2): D sees statistics across the batch, which penalises a collapsed
 *     generator. With features f(xᵢ) ∈ R^A and a learned tensor T ∈ R^(A×K×E),
 *       M_i = f(xᵢ)·T ∈ R^(K×E),  c_k(i, j) = exp(−‖M_(i,k) − M_(j,k)‖₁),  o(xᵢ)_k = Σ_(j≠i) c_k(i, j)
 *     and D continues on [f(xᵢ), o(xᵢ)]. (The paper's sum includes j = i, a constant 1.)
 *     A custom layer, registered for serialisation: MinibatchDiscrimination.
 *   - One-sided label smoothing (Salimans et al. 2016, §3.4): D's target for real images is
 *     1 − α (e.g. 0.9) instead of 1; fake targets stay 0. See bceWithLogits.
 *   - Feature matching (Salimans et al. 2016, §3.1): G minimises ‖E f(x) − E f(G(z))‖² over an
 *     intermediate layer f of D (here: D's last convolutional features, before minibatch
 *     discrimination), averaged over the A features. See featureMatchingLoss.
 *
 * Builders are pure functions of their options: the same options (seed included) give the same
 * weights on every backend, because TF.js draws seeded initial values in JS.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { parseConfigWith, torchInit } from './init';
import { z } from 'zod';
import type { ImageShape } from './family';
import { randomNormal } from './random';

// ---------------------------------------------------------------------------------------------
// Sizes

/** Largest image side the builders accept (compute grows with the square of it). */
export const MAX_IMAGE_SIDE = 128;
const MIN_BASE = 4;
const MIN_STAGES = 2;

export interface ConvPlan {
  /** Side of the first (generator) / last (discriminator) feature map. */
  base: number;
  /** Number of ×2 stages between base and the image. */
  stages: number;
}

/** Why the builders cannot make networks for this shape, or null when they can. */
export function imageShapeProblem(shape: ImageShape): string | null {
  const [h, w, c] = shape;
  if (![h, w, c].every((v) => Number.isInteger(v) && v > 0)) return `image shape ${shape.join('×')} is not three positive integers`;
  if (h !== w) return `images are ${h}×${w}: the GAN builders need square images`;
  if (c !== 1 && c !== 3) return `images have ${c} channels: the GAN builders do 1 (grey) or 3 (RGB)`;
  if (h > MAX_IMAGE_SIDE) return `images are ${h}×${w}: the GAN builders go up to ${MAX_IMAGE_SIDE}×${MAX_IMAGE_SIDE}`;
  const { base, stages } = halve(h);
  if (stages < MIN_STAGES) {
    return `images are ${h}×${w}: the side must be a base of ${MIN_BASE} or more times 2^n with n ≥ ${MIN_STAGES} ` +
      `(e.g. 28 = 7·4, 32 = 4·8, 64 = 4·16); ${h} gives base ${base} after ${stages} halvings`;
  }
  return null;
}

function halve(side: number): ConvPlan {
  let base = side;
  let stages = 0;
  while (base % 2 === 0 && base / 2 >= MIN_BASE) {
    base /= 2;
    stages++;
  }
  return { base, stages };
}

/** The base size and number of stages for an image shape; throws when imageShapeProblem does. */
export function convPlan(shape: ImageShape): ConvPlan {
  const problem = imageShapeProblem(shape);
  if (problem) throw new Error(problem);
  return halve(shape[0]);
}

// ---------------------------------------------------------------------------------------------
// Initialisation (PyTorch's defaults, as in models/dcgan/model.ts)



const BN_MOMENTUM = 0.9; // PyTorch momentum 0.1
const BN_EPSILON = 1e-5;

function batchNorm(name: string): tfl.layers.Layer {
  return tfl.layers.batchNormalization({ name, axis: -1, momentum: BN_MOMENTUM, epsilon: BN_EPSILON });
}

// ---------------------------------------------------------------------------------------------
// Minibatch discrimination

type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;

export interface MinibatchDiscriminationArgs extends LayerArgs {
  /** K: number of kernels (output features added). */
  kernels: number;
  /** E: dimension of each kernel's projection. */
  kernelDim: number;
  /** Seed of T's initial values. */
  seed?: number;
}

/**
 * [B, A] → [B, A + K]: the input features followed by, for each of K kernels, how close each
 * sample is to the others of its batch (Salimans et al. 2016, §3.2; formula in the file header).
 * T starts N(0, 1/A) (truncated), so that M has the scale of the features and the L1 distances
 * over E dimensions start of order 1 (exp(−d) neither 0 nor 1).
 */
export class MinibatchDiscrimination extends tfl.layers.Layer {
  static readonly className = 'MinibatchDiscrimination';
  readonly kernels: number;
  readonly kernelDim: number;
  private readonly seed: number | undefined;
  private tensorT: tfl.LayerVariable | null = null;

  constructor(args: MinibatchDiscriminationArgs) {
    super(args);
    if (!(Number.isInteger(args.kernels) && args.kernels > 0)) throw new Error(`kernels must be a positive integer, got ${args.kernels}`);
    if (!(Number.isInteger(args.kernelDim) && args.kernelDim > 0)) throw new Error(`kernelDim must be a positive integer, got ${args.kernelDim}`);
    this.kernels = args.kernels;
    this.kernelDim = args.kernelDim;
    this.seed = args.seed;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const features = shape[shape.length - 1];
    if (shape.length !== 2 || features == null) throw new Error(`MinibatchDiscrimination takes [batch, features], got [${shape.join(', ')}]`);
    const init = tfl.initializers.varianceScaling({ scale: 1, mode: 'fanIn', distribution: 'truncatedNormal', seed: this.seed });
    this.tensorT = this.addWeight('T', [features, this.kernels * this.kernelDim], 'float32', init);
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const features = shape[1];
    return [shape[0] ?? null, features == null ? null : features + this.kernels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor2D;
      const batch = x.shape[0];
      const m = tf.reshape(tf.matMul(x, this.tensorT!.read()), [batch, 1, this.kernels, this.kernelDim]);
      const mT = tf.reshape(m, [1, batch, this.kernels, this.kernelDim]);
      const l1 = tf.sum(tf.abs(tf.sub(m, mT)), 3); // [B, B, K]
      // Σ over j of exp(−d), less the j = i term (exactly 1).
      const closeness = tf.sub(tf.sum(tf.exp(tf.neg(l1)), 1), 1); // [B, K]
      return tf.concat([x, closeness], 1);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), kernels: this.kernels, kernelDim: this.kernelDim, seed: this.seed ?? null };
  }
}
tf.serialization.registerClass(MinibatchDiscrimination);

// ---------------------------------------------------------------------------------------------
// Generator

export type Upsampling = 'transposed' | 'resize';

export interface GeneratorOptions {
  imageShape: ImageShape;
  latentDim: number;
  /** Units joined to z before the first layer (a one-hot class for a cGAN); default 0. */
  conditionDim?: number;
  /** Filters of the last hidden stage; each stage towards the base doubles them. */
  filters: number;
  batchNorm: boolean;
  /** LeakyReLU slope; 0 is a ReLU. */
  leak: number;
  upsampling: Upsampling;
  seed: number;
  name?: string;
}

/** G: [B, latentDim + conditionDim] → [B, S, S, C] in [−1, 1] (tanh). */
export function buildGenerator(opts: GeneratorOptions): tfl.Sequential {
  const { imageShape, latentDim, filters, batchNorm: bn, leak, upsampling, seed } = opts;
  const { base, stages } = convPlan(imageShape);
  const channels = imageShape[2];
  const inputDim = latentDim + (opts.conditionDim ?? 0);
  const s = (i: number) => seed * 100 + 10 * i;
  const widest = filters * 2 ** (stages - 1);
  const layers: tfl.layers.Layer[] = [
    tfl.layers.dense({ name: 'g_dense', inputShape: [inputDim], units: base * base * widest, useBias: !bn, ...torchInit(inputDim, s(1)) }),
  ];
  if (bn) layers.push(batchNorm('g_bn1'));
  layers.push(tfl.layers.leakyReLU({ name: 'g_leaky1', alpha: leak }));
  layers.push(tfl.layers.reshape({ name: 'g_reshape', targetShape: [base, base, widest] }));
  let inChannels = widest;
  for (let i = 1; i <= stages; i++) {
    const last = i === stages;
    const out = last ? channels : widest / 2 ** i;
    const useBias = last || !bn;
    if (upsampling === 'transposed') {
      // fan_in of a transposed convolution counts its output channels (PyTorch and TF.js alike).
      layers.push(tfl.layers.conv2dTranspose({
        name: `g_convt${i}`, filters: out, kernelSize: 4, strides: 2, padding: 'same', useBias, ...torchInit(out * 16, s(i + 1)),
      }));
    } else {
      layers.push(tfl.layers.upSampling2d({ name: `g_up${i}`, size: [2, 2], interpolation: 'nearest' }));
      layers.push(tfl.layers.conv2d({
        name: `g_conv${i}`, filters: out, kernelSize: 3, strides: 1, padding: 'same', useBias, ...torchInit(inChannels * 9, s(i + 1)),
      }));
    }
    if (!last) {
      if (bn) layers.push(batchNorm(`g_bn${i + 1}`));
      layers.push(tfl.layers.leakyReLU({ name: `g_leaky${i + 1}`, alpha: leak }));
    }
    inChannels = out;
  }
  layers.push(tfl.layers.activation({ name: 'g_tanh', activation: 'tanh' }));
  return tfl.sequential({ name: opts.name ?? 'generator', layers });
}

// ---------------------------------------------------------------------------------------------
// Discriminator / critic

export interface MinibatchOptions {
  kernels: number;
  kernelDim: number;
}

export interface DiscriminatorOptions {
  imageShape: ImageShape;
  /** Channels joined to the image (a cGAN's class planes); default 0. */
  conditionChannels?: number;
  /** Filters of the first stage; each further stage doubles them. */
  filters: number;
  /** Batch norm after every convolution but the first. */
  batchNorm: boolean;
  leak: number;
  minibatch: MinibatchOptions | null;
  /**
   * AC-GAN (Odena, Olah & Shlens 2017, arXiv:1610.09585): a second head of this many class
   * logits beside the real/fake logit; `model` then has two outputs, [logit, class logits].
   */
  auxClasses?: number;
  seed: number;
  name?: string;
}

export interface Discriminator {
  /**
   * [B, S, S, C + conditionChannels] → [B, 1] logits (or critic scores); with `auxClasses`, two
   * outputs: [[B, 1] logits, [B, K] class logits].
   */
  model: tfl.LayersModel;
  /** The same layers, two outputs: [logits, features [B, A]] (for feature matching). */
  withFeatures: tfl.LayersModel;
}

export function buildDiscriminator(opts: DiscriminatorOptions): Discriminator {
  const { imageShape, filters, batchNorm: bn, leak, minibatch, seed } = opts;
  const { base, stages } = convPlan(imageShape);
  const inChannels = imageShape[2] + (opts.conditionChannels ?? 0);
  const name = opts.name ?? 'discriminator';
  const s = (i: number) => seed * 100 + 50 + 10 * i;
  const input = tfl.input({ name: 'd_input', shape: [imageShape[0], imageShape[1], inChannels] });
  let x = input;
  let channels = inChannels;
  for (let i = 1; i <= stages; i++) {
    const out = filters * 2 ** (i - 1);
    const norm = bn && i > 1;
    x = tfl.layers.conv2d({
      name: `d_conv${i}`, filters: out, kernelSize: 4, strides: 2, padding: 'same', useBias: !norm, ...torchInit(channels * 16, s(i)),
    }).apply(x) as tfl.SymbolicTensor;
    if (norm) x = batchNorm(`d_bn${i}`).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.leakyReLU({ name: `d_leaky${i}`, alpha: leak }).apply(x) as tfl.SymbolicTensor;
    channels = out;
  }
  const features = tfl.layers.flatten({ name: 'd_flatten' }).apply(x) as tfl.SymbolicTensor;
  let head = features;
  let headDim = base * base * channels;
  if (minibatch) {
    head = new MinibatchDiscrimination({ name: 'd_minibatch', ...minibatch, seed: s(stages + 1) + 5 }).apply(features) as tfl.SymbolicTensor;
    headDim += minibatch.kernels;
  }
  const logit = tfl.layers.dense({ name: 'd_logit', units: 1, ...torchInit(headDim, s(stages + 1)) }).apply(head) as tfl.SymbolicTensor;
  const classLogits = opts.auxClasses
    ? (tfl.layers.dense({ name: 'd_aux', units: opts.auxClasses, ...torchInit(headDim, s(stages + 2)) }).apply(head) as tfl.SymbolicTensor)
    : null;
  return {
    model: tfl.model({ name, inputs: input, outputs: classLogits ? [logit, classLogits] : logit }),
    withFeatures: tfl.model({ name: `${name}_features`, inputs: input, outputs: [logit, features] }),
  };
}

/**
 * A discriminator's (critic's) outputs split by meaning: its real/fake logits or scores [B, 1],
 * and, where it has the class head (`auxClasses`), the class logits [B, K]; null without the head.
 */
export function splitDiscriminatorOutput(out: tf.Tensor | tf.Tensor[]): { logit: tf.Tensor; classes: tf.Tensor | null } {
  return Array.isArray(out) ? { logit: out[0]!, classes: out[1]! } : { logit: out, classes: null };
}

// ---------------------------------------------------------------------------------------------
// Losses and step helpers

/**
 * Mean binary cross-entropy of logits against a constant target in [0, 1] (1 − α for one-sided
 * label smoothing), in the stable form max(x, 0) − x·t + log(1 + e^(−|x|)).
 */
export function bceWithLogits(logits: tf.Tensor, target: number): tf.Scalar {
  return tf.tidy(() => tf.losses.sigmoidCrossEntropy(tf.fill(logits.shape, target), logits) as tf.Scalar);
}

/** ‖mean_b real_b − mean_b fake_b‖² / A for features [B, A] (Salimans et al. 2016, §3.1). */
export function featureMatchingLoss(realFeatures: tf.Tensor2D, fakeFeatures: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(tf.mean(realFeatures, 0), tf.mean(fakeFeatures, 0))) as tf.Scalar);
}

/** [0, 1] pixels → [−1, 1] (the range of a tanh generator). */
export function toTanhRange(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.sub(tf.mul(x, 2), 1));
}

/** [−1, 1] → [0, 1]. */
export function fromTanhRange(x: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.mul(tf.add(x, 1), 0.5));
}

/** Latents [batch, dim] ~ N(0, I) from a uniform source (lib/latent/random.ts). */
export function latentBatch(rand: () => number, batch: number, dim: number): tf.Tensor2D {
  return tf.tensor2d(randomNormal(batch * dim, rand), [batch, dim]);
}

/** One-hot [B, K] float32 from class indices [B] (int32). */
export function oneHotClasses(classes: tf.Tensor1D, numClasses: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(tf.cast(classes, 'int32') as tf.Tensor1D, numClasses), 'float32') as tf.Tensor2D);
}

/** Images [B, h, w, c] with their one-hot classes [B, K] as K constant planes: [B, h, w, c + K]. */
export function withClassPlanes(images: tf.Tensor4D, oneHot: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const [b, h, w] = images.shape;
    const planes = tf.mul(tf.reshape(oneHot, [b, 1, 1, oneHot.shape[1]]), tf.ones([1, h, w, 1]));
    return tf.concat([images, planes], 3) as tf.Tensor4D;
  });
}

/** Trainable variables of a model, for optimizer.minimize's varList. */
export function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/**
 * Runs `fn` and puts the models' non-trainable weights (batch-norm running statistics) back as
 * they were: for a second training-mode forward pass over the same batch, so the statistics move
 * once per step (as in PyTorch, where the graph is kept and not re-run).
 */
export function keepingRunningStats<T>(models: tfl.LayersModel[], fn: () => T): T {
  const stats = models.flatMap((m) => m.nonTrainableWeights);
  if (stats.length === 0) return fn();
  const saved = stats.map((w) => tf.clone(w.read()));
  try {
    return fn();
  } finally {
    stats.forEach((w, i) => w.write(saved[i]!));
    tf.dispose(saved);
  }
}

/** Reads a scalar loss synchronously and disposes it. */
export function takeScalar(t: tf.Scalar): number {
  try {
    return t.dataSync()[0]!;
  } finally {
    t.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// Config fields shared by the GAN families (zod: unknown keys, wrong types and impossible values
// are errors that name the field).

const MINIBATCH_DEFAULT: MinibatchOptions = { kernels: 32, kernelDim: 5 };

/**
 * The fields every GAN family's config shares (sizes, seed, the generator's options). Each family
 * adds its own discriminator or critic fields and optimiser settings.
 */
export const ganCommonFields = {
  /** Size of z. */
  latentDim: z.number().int().min(1).max(4096).default(64),
  /** G's last hidden stage and D's first stage have this many filters; other stages double it. */
  filters: z.number().int().min(1).max(1024).default(64),
  /** Seed of the initial weights. */
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
  generatorBatchNorm: z.boolean().default(true),
  /** LeakyReLU slope in G (0: ReLU); the torch mirror's 0.3. */
  generatorLeak: z.number().min(0).lt(1).default(0.3),
  upsampling: z.enum(['transposed', 'resize']).default('transposed'),
};

/** A LeakyReLU slope field in [0, 1). */
export const leakField = (fallback: number) => z.number().min(0).lt(1).default(fallback);

/**
 * `minibatchDiscrimination`: false/null (off, the default), true (K = 32 kernels of E = 5
 * dimensions) or `{ kernels, kernelDim }`. Parsed to null or the object.
 */
export const minibatchField = z
  .union([
    z.boolean(),
    z.null(),
    z.strictObject({
      kernels: z.number().int().min(1).max(512).default(MINIBATCH_DEFAULT.kernels),
      kernelDim: z.number().int().min(1).max(64).default(MINIBATCH_DEFAULT.kernelDim),
    }),
  ])
  .default(null)
  .transform((v): MinibatchOptions | null => (v === true ? { ...MINIBATCH_DEFAULT } : v === false || v === null ? null : v));

/** What a family needs to know of its data set. */
export type DatasetInfo = { name: string; imageShape: ImageShape; numClasses?: number };

/**
 * Parses `raw` (undefined: all defaults) with `schema`; throws one Error naming every bad field,
 * e.g. `dcgan config: latentDim: Too small: expected number to be >=1`. Also checks that the
 * builders can make networks for the data set's images.
 */
export function parseGanConfig<S extends z.ZodType>(family: string, schema: S, raw: unknown, dataset: DatasetInfo): z.output<S> {
  return parseConfigWith(family, schema, raw, dataset, imageShapeProblem);
}
