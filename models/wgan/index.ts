/**
 * The Wasserstein GAN families: a critic C (no sigmoid) estimates the Wasserstein-1 distance
 * between the data and the generator, W ≈ max over 1-Lipschitz C of E C(x) − E C(G(z)):
 *
 *   critic step:  L_C = mean C(G(z)) − mean C(x) [+ λ · GP]       (minimised: W's estimate rises)
 *   G step:       L_G = −mean C(G(z))
 *
 * - `wgan` (Arjovsky, Chintala & Bottou 2017, "Wasserstein GAN", arXiv:1701.07875, Algorithm 1):
 *   the Lipschitz bound by clipping every critic weight to [−c, c] after each critic update,
 *   c = 0.01; RMSProp lr 5e-5 (PyTorch's RMSprop: decay 0.99, ε 1e-8 outside the root); n_critic = 5.
 * - `wgan-gp` (Gulrajani et al. 2017, "Improved Training of Wasserstein GANs",
 *   arXiv:1704.00028, Algorithm 1): the bound by a gradient penalty on random interpolates
 *   x̂ = ε·x + (1 − ε)·G(z), ε ~ U[0, 1] per sample:
 *     GP = mean_b (‖∇_x̂ C(x̂_b)‖₂ − 1)²,  λ = 10, n_critic = 5, Adam lr 1e-4, β1 0, β2 0.9.
 *   No batch norm in the critic: it makes C(x̂_b) depend on the other samples, so the penalty no
 *   longer constrains the per-sample gradient (the paper's §4; parseConfig refuses it).
 *   The penalty differentiates a gradient: tf.grad inside optimizer.minimize. Every kernel on
 *   that path has a gradient of its gradient, on wasm too: conv2d's input gradient is
 *   Conv2DBackpropInput, whose own gradient is conv2d and Conv2DBackpropFilter (the project's
 *   wasm kernels); LeakyRelu's gradient (kernels/leaky-relu-grad.ts) is dy·Step(x, α), with Step
 *   differentiable to zero; comparisons have zero gradients (kernels/comparison-gradients.ts);
 *   the fused conv/matMul run unfused under a tape (kernels/unfused-gradients.ts). The unit tests
 *   check the penalty and its critic gradients on wasm against the cpu backend, and against
 *   finite differences.
 *
 * `ema` d (models/common/ema.ts): the model decodes with an exponential moving average of G's
 * weights, updated after every G step.
 *
 * One trainStep is n_critic critic steps then one G step, on the caller's one batch: every
 * critic step sees the whole real batch with fresh z (and fresh ε), drawn from the step's seed.
 * (Splitting the batch into n_critic sub-batches would give the critic 12-image batches at the
 * usual 64; reusing it keeps the critic's estimate at full batch size, and the Lipschitz
 * constraint keeps five steps on one real batch from over-fitting it.) The losses returned are
 * the means over the critic steps (`critic`, `wasserstein` = mean C(x) − mean C(G(z)), and `gp`
 * for wgan-gp) and the G step's loss (`g`), each evaluated before its own update.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import type { Dataset, FamilyDefinition, FamilyInstance, GenerativeModel, StepLosses, TrainBatch } from '../common/family';
import {
  buildDiscriminator,
  buildGenerator,
  type DatasetInfo,
  fromTanhRange,
  ganCommonFields,
  latentBatch,
  oneHotClasses,
  leakField,
  parseGanConfig,
  splitDiscriminatorOutput,
  takeScalar,
  toTanhRange,
  trainableVariables,
} from '../common/blocks';
import { semiDiscriminatorLoss, semiGeneratorLoss, semiSupervisedClassCount, semiSupervisedFields, withSemiSupervisedClasses } from '../common/class-head';
import { createGeneratorEma, EMA_ROLE, emaField } from '../common/ema';
import { mulberry32 } from '../common/random';

const PYTORCH_EPSILON = 1e-8;
const RMSPROP_DECAY = 0.99; // PyTorch's RMSprop alpha
/**
 * TF.js's RMSProp adds ε inside the square root (g/√(v + ε)), PyTorch outside (g/(√v + ε)). A
 * clipped critic passes G gradients of order 1e-6, whose √v is then below √1e-8 = 1e-4: ε = 1e-8
 * inside the root would shrink G's steps a hundredfold. 1e-16 inside is PyTorch's 1e-8 outside.
 */
const RMSPROP_EPSILON = PYTORCH_EPSILON ** 2;
/** Keeps √ differentiable where a gradient is exactly zero. */
const NORM_EPSILON = 1e-12;

const nCriticField = z.number().int().min(1).max(100).default(5);

const wganSchema = z.strictObject({
  ...ganCommonFields,
  criticBatchNorm: z.boolean().default(false),
  criticLeak: leakField(0.2),
  nCritic: nCriticField,
  /** c: every critic weight is clipped to [−c, c] after each critic update. */
  clip: z.number().positive().max(1).default(0.01),
  lr: z.number().positive().max(1).default(5e-5),
  ...semiSupervisedFields,
  ema: emaField,
});

const wganGpSchema = z.strictObject({
  ...ganCommonFields,
  criticBatchNorm: z
    .boolean()
    .default(false)
    .refine((v) => !v, 'batch norm in a WGAN-GP critic mixes the samples of a batch, so the per-sample gradient penalty no longer holds (Gulrajani et al. 2017, §4): leave it false'),
  criticLeak: leakField(0.2),
  nCritic: nCriticField,
  /** λ, the weight of the gradient penalty. */
  gpWeight: z.number().min(0).max(1000).default(10),
  lr: z.number().positive().max(1).default(1e-4),
  beta1: z.number().min(0).lt(1).default(0),
  beta2: z.number().min(0).lt(1).default(0.9),
  ...semiSupervisedFields,
  ema: emaField,
});

/**
 * Config fields and defaults (`wganFamily.parseConfig({})`): latentDim 64, filters 64, seed 0,
 * generatorBatchNorm true, generatorLeak 0.3, upsampling 'transposed', criticBatchNorm false,
 * criticLeak 0.2, nCritic 5, clip 0.01, lr 5e-5, semiSupervised 0 (models/common/class-head.ts), ema null.
 */
export type WganFamilyConfig = z.output<typeof wganSchema>;
/**
 * Config fields and defaults (`wganGpFamily.parseConfig({})`): latentDim 64, filters 64, seed 0,
 * generatorBatchNorm true, generatorLeak 0.3, upsampling 'transposed', criticBatchNorm false
 * (true is refused), criticLeak 0.2, nCritic 5, gpWeight 10, lr 1e-4, beta1 0, beta2 0.9, semiSupervised 0, ema null.
 */
export type WganGpFamilyConfig = z.output<typeof wganGpSchema>;

/**
 * GP = mean_b (‖∇_x̂ C(x̂_b)‖₂ − 1)² at x̂ = ε·real + (1 − ε)·fake (λ not applied). `eps` is
 * [B, 1, 1, 1]. Differentiable with respect to the critic's weights (a gradient of a gradient).
 */
export function gradientPenalty(critic: tfl.LayersModel, real: tf.Tensor4D, fake: tf.Tensor4D, eps: tf.Tensor4D): tf.Scalar {
  return tf.tidy(() => {
    const interpolates = tf.add(tf.mul(eps, real), tf.mul(tf.sub(1, eps), fake));
    // The samples are independent (no batch norm), so the gradient of the sum is each sample's own.
    const gradOf = tf.grad((x: tf.Tensor) => tf.sum(splitDiscriminatorOutput(critic.apply(x, { training: true }) as tf.Tensor | tf.Tensor[]).logit));
    const g = gradOf(interpolates);
    const norms = tf.sqrt(tf.add(tf.sum(tf.square(g), [1, 2, 3]), NORM_EPSILON));
    return tf.mean(tf.square(tf.sub(norms, 1))) as tf.Scalar;
  });
}

type Variant =
  | { family: 'wgan'; config: WganFamilyConfig }
  | { family: 'wgan-gp'; config: WganGpFamilyConfig };

function createWgan(variant: Variant, dataset: DatasetInfo): FamilyInstance {
  const { family, config } = variant;
  const imageShape = dataset.imageShape;
  const { latentDim, filters, seed, nCritic } = config;
  const makeGenerator = (name: string) => buildGenerator({
    imageShape, latentDim, filters, seed,
    batchNorm: config.generatorBatchNorm, leak: config.generatorLeak, upsampling: config.upsampling, name,
  });
  const generator = makeGenerator(`${family}_generator`);
  const ema = config.ema === null ? null : createGeneratorEma(generator, makeGenerator(`${family}_generator_ema`), config.ema);
  const semi = config.semiSupervised;
  const semiClasses = semiSupervisedClassCount(config, family, dataset);
  const critic = buildDiscriminator({
    imageShape, filters, seed, batchNorm: config.criticBatchNorm, leak: config.criticLeak, minibatch: null,
    ...(semi ? { auxClasses: semiClasses } : {}),
    name: `${family}_critic`,
  }).model;
  const optimizer = () =>
    variant.family === 'wgan'
      ? tf.train.rmsprop(variant.config.lr, RMSPROP_DECAY, 0, RMSPROP_EPSILON)
      : tf.train.adam(variant.config.lr, variant.config.beta1, variant.config.beta2, PYTORCH_EPSILON);
  const gOptimizer = optimizer();
  const cOptimizer = optimizer();
  const gVars = trainableVariables(generator);
  const cVars = trainableVariables(critic);
  const clip = variant.family === 'wgan' ? variant.config.clip : null;
  const gpWeight = variant.family === 'wgan-gp' ? variant.config.gpWeight : null;
  // The Lipschitz bound is on the critic's scores: the class head (semiSupervised) is not on
  // their path, so its weights are left unclipped (clipped to ±c, its logits could hardly leave 0).
  const headVars = new Set(semi ? critic.getLayer('d_aux').trainableWeights.map((w) => w.read()) : []);
  const clipped = cVars.filter((v) => !headVars.has(v));
  const clipCritic = () => {
    if (clip !== null) tf.tidy(() => clipped.forEach((v) => v.assign(tf.clipByValue(v, -clip, clip))));
  };
  // The clipped critic starts inside its constraint set: otherwise the first clip (of PyTorch's
  // U(±1/√fan_in) initial weights, up to ±0.25) would replace the critic rather than step it.
  clipCritic();

  function criticStep(real: tf.Tensor4D, realLabels: tf.Tensor2D | null, rand: () => number): { loss: number; w: number; gp: number } {
    const b = real.shape[0];
    const z = latentBatch(rand, b, latentDim);
    const fake = tf.tidy(() => generator.apply(z, { training: true }) as tf.Tensor4D);
    const eps = gpWeight === null ? null : tf.tensor4d(Float32Array.from({ length: b }, () => rand()), [b, 1, 1, 1]);
    let w: tf.Scalar | null = null;
    let gp: tf.Scalar | null = null;
    try {
      const loss = cOptimizer.minimize(
        () => {
          const onReal = splitDiscriminatorOutput(critic.apply(real, { training: true }) as tf.Tensor | tf.Tensor[]);
          const onFake = splitDiscriminatorOutput(critic.apply(fake, { training: true }) as tf.Tensor | tf.Tensor[]);
          const estimate = tf.sub(tf.mean(onReal.logit), tf.mean(onFake.logit));
          w = tf.keep(estimate) as tf.Scalar;
          let loss = tf.neg(estimate) as tf.Scalar;
          if (realLabels) loss = tf.add(loss, semiDiscriminatorLoss(onReal.classes!, onFake.classes!, realLabels, semi));
          if (gpWeight === null) return loss;
          gp = tf.keep(gradientPenalty(critic, real, fake, eps!));
          return tf.add(loss, tf.mul(gpWeight, gp)) as tf.Scalar;
        },
        true,
        cVars,
      )!;
      clipCritic();
      return { loss: takeScalar(loss), w: takeScalar(w!), gp: gp ? takeScalar(gp) : 0 };
    } finally {
      tf.dispose([z, fake]);
      if (eps) eps.dispose();
      if (w && !(w as tf.Scalar).isDisposed) (w as tf.Scalar).dispose();
      if (gp && !(gp as tf.Scalar).isDisposed) (gp as tf.Scalar).dispose();
    }
  }

  function trainStep(batch: TrainBatch, stepSeed: number): StepLosses {
    const [b, h, wd, c] = batch.images.shape;
    if (h !== imageShape[0] || wd !== imageShape[1] || c !== imageShape[2]) {
      throw new Error(`batch images are ${h}×${wd}×${c}, the model was built for ${imageShape.join('×')}`);
    }
    if (semi && (!batch.labels || batch.labels.shape[0] !== b)) throw new Error(`${family}: the semi-supervised class head needs the batch's labels`);
    const rand = mulberry32(stepSeed);
    const real = toTanhRange(batch.images);
    const realLabels = semi ? oneHotClasses(batch.labels!, semiClasses) : null;
    try {
      let loss = 0;
      let w = 0;
      let gp = 0;
      for (let i = 0; i < nCritic; i++) {
        const step = criticStep(real, realLabels, rand);
        loss += step.loss / nCritic;
        w += step.w / nCritic;
        gp += step.gp / nCritic;
      }
      const z = latentBatch(rand, b, latentDim);
      let g: number;
      try {
        g = takeScalar(
          gOptimizer.minimize(
            () => {
              const out = splitDiscriminatorOutput(critic.apply(generator.apply(z, { training: true }) as tf.Tensor, { training: true }) as tf.Tensor | tf.Tensor[]);
              const adversarial = tf.neg(tf.mean(out.logit)) as tf.Scalar;
              return semi ? tf.add(adversarial, semiGeneratorLoss(out.classes!, semi)) : adversarial;
            },
            true,
            gVars,
          )!,
        );
      } finally {
        z.dispose();
      }
      ema?.update(gOptimizer.iterations);
      return gpWeight === null ? { critic: loss, g, wasserstein: w } : { critic: loss, gp, g, wasserstein: w };
    } finally {
      real.dispose();
      realLabels?.dispose();
    }
  }

  const model: GenerativeModel = {
    family,
    latentDim,
    numClasses: null,
    imageShape,
    decode(zIn: tf.Tensor2D): tf.Tensor4D {
      if (zIn.rank !== 2 || zIn.shape[1] !== latentDim) throw new Error(`${family}: z must be [B, ${latentDim}], got [${zIn.shape.join(', ')}]`);
      return tf.tidy(() => fromTanhRange((ema?.network ?? generator).apply(zIn, { training: false }) as tf.Tensor4D));
    },
    dispose() {},
  };

  return {
    networks: { generator, critic, ...(ema ? { [EMA_ROLE]: ema.network } : {}) },
    optimizers: { generator: gOptimizer, critic: cOptimizer },
    trainStep,
    generative: () => model,
    dispose() {
      generator.dispose();
      ema?.network.dispose();
      critic.dispose();
      gOptimizer.dispose();
      cOptimizer.dispose();
    },
  };
}

type DatasetShape = Pick<Dataset, 'name' | 'imageShape' | 'numClasses'>;

export const wganFamily: FamilyDefinition<WganFamilyConfig> = {
  name: 'wgan',
  conditional: false,
  hasEncoder: false,
  lossNames: ['critic', 'g', 'wasserstein'],
  parseConfig: (raw: unknown, dataset: DatasetShape) => withSemiSupervisedClasses(parseGanConfig('wgan', wganSchema, raw, dataset), 'wgan', dataset),
  create: (config: WganFamilyConfig, dataset: DatasetShape) => createWgan({ family: 'wgan', config }, dataset),
};

export const wganGpFamily: FamilyDefinition<WganGpFamilyConfig> = {
  name: 'wgan-gp',
  conditional: false,
  hasEncoder: false,
  lossNames: ['critic', 'gp', 'g', 'wasserstein'],
  parseConfig: (raw: unknown, dataset: DatasetShape) => withSemiSupervisedClasses(parseGanConfig('wgan-gp', wganGpSchema, raw, dataset), 'wgan-gp', dataset),
  create: (config: WganGpFamilyConfig, dataset: DatasetShape) => createWgan({ family: 'wgan-gp', config }, dataset),
};
