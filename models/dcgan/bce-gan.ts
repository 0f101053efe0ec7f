/**
 * The BCE GAN behind the `dcgan` and `cgan` families: a generator and a discriminator from
 * ../common/blocks, trained with binary cross-entropy and the non-saturating generator loss
 * (Goodfellow et al. 2014, "Generative Adversarial Nets", §3), Adam with β1 = 0.5 and lr 2e-4
 * (Radford, Metz & Chintala 2015, arXiv:1511.06434).
 *
 *   D step:  L_D = mean ℓ(D(x), 1 − α) + mean ℓ(D(G(z)), 0)        (α: one-sided label smoothing)
 *   G step:  L_G = mean ℓ(D'(G(z)), 1)                              (non-saturating: −log D)
 *        or  L_G = ‖mean f(x) − mean f(G(z))‖² / A                  (feature matching)
 *
 * with ℓ the BCE on logits and D' the discriminator just updated. One trainStep is one D step then
 * one G step on the caller's batch, with the same z (drawn from the step's seed) in both: the
 * order of the PyTorch peer and of models/dcgan/train.ts. With the default config on 28×28×1 the
 * networks and the step are those of the torch mirror (model.ts, train.ts), weights included;
 * tests/unit/gan-families.test.ts checks both.
 *
 * Conditional (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets",
 * arXiv:1411.1784): G sees [z, one-hot(y)]; D sees the image with K class planes (the one-hot
 * broadcast over h×w) joined to its channels. Fakes are conditioned on the real batch's labels,
 * so that G learns the classes in the data's proportions and D compares like with like.
 *
 * `auxClassifier` w > 0 (conditional only) adds the auxiliary classifier of AC-GAN (Odena, Olah
 * & Shlens 2017, "Conditional Image Synthesis with Auxiliary Classifier GANs", arXiv:1610.09585):
 * D has a second head of K class logits c(·), trained to name the class of real and fake images
 * alike, and G is also rewarded when c names the class it was asked for:
 *
 *   L_D += w · (CE(c(x), y) + CE(c(G(z, y)), y))        L_G += w · CE(c(G(z, y)), y)
 *
 * (the paper's L_C, maximised by both networks). The reported `d` and `g` include these terms.
 * The planes stay: D still judges real/fake given the class.
 *
 * `semiSupervised` w > 0 (unconditional only, on a labelled data set): D gets the same head of K
 * class logits, trained on real labels only, with CatGAN's entropy terms on the fakes
 * (models/common/class-head.ts); G stays unconditional. The reported `d` and `g` include them.
 *
 * `ema` d (models/common/ema.ts): the model decodes with an exponential moving average of G's
 * weights, updated after every G step.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { FamilyInstance, FamilyName, GenerativeModel, StepLosses, TrainBatch } from '../common/family';
import {
  bceWithLogits,
  buildDiscriminator,
  buildGenerator,
  type DatasetInfo,
  featureMatchingLoss,
  fromTanhRange,
  ganCommonFields,
  keepingRunningStats,
  latentBatch,
  leakField,
  minibatchField,
  oneHotClasses,
  splitDiscriminatorOutput,
  takeScalar,
  toTanhRange,
  trainableVariables,
  withClassPlanes,
} from '../common/blocks';
import { semiDiscriminatorLoss, semiGeneratorLoss, semiSupervisedClassCount, semiSupervisedFields } from '../common/class-head';
import { createGeneratorEma, EMA_ROLE, emaField } from '../common/ema';
import { mulberry32 } from '../common/random';

/** Adam ε: PyTorch's (TF.js would otherwise use the backend's 1e-7), as in train.ts. */
const ADAM_EPSILON = 1e-8;

export const bceGanSchema = z.strictObject({
  ...ganCommonFields,
  discriminatorBatchNorm: z.boolean().default(false),
  discriminatorLeak: leakField(0.2),
  minibatchDiscrimination: minibatchField,
  /** α of one-sided label smoothing: D's target for real images is 1 − α (0.1 → 0.9). */
  labelSmoothing: z.number().min(0).lt(0.5).default(0),
  featureMatching: z.boolean().default(false),
  lr: z.number().positive().max(1).default(2e-4),
  beta1: z.number().min(0).lt(1).default(0.5),
  beta2: z.number().min(0).lt(1).default(0.999),
  /** Weight of AC-GAN's auxiliary class loss; 0 (the default) is off. Conditional families only. */
  auxClassifier: z.number().min(0).max(100).default(0),
  ...semiSupervisedFields,
  ema: emaField,
});

/** The config of the `dcgan` and `cgan` families (every field has a default). */
export type BceGanConfig = z.output<typeof bceGanSchema>;

function checkBatch(batch: TrainBatch, imageShape: readonly number[], needsLabels: boolean): number {
  const [b, h, w, c] = batch.images.shape;
  if (h !== imageShape[0] || w !== imageShape[1] || c !== imageShape[2]) {
    throw new Error(`batch images are ${h}×${w}×${c}, the model was built for ${imageShape.join('×')}`);
  }
  if (needsLabels) {
    if (!batch.labels) throw new Error('the batch has no labels (a conditional GAN, or the semi-supervised class head, trains on a labelled data set)');
    if (batch.labels.shape[0] !== b) throw new Error(`cgan: ${b} images but ${batch.labels.shape[0]} labels`);
  }
  return b;
}

/** Throws unless `classes` is [B] with integers in [0, numClasses). */
export function checkClasses(classes: tf.Tensor1D | undefined, batch: number, numClasses: number, family: string): tf.Tensor1D {
  if (!classes) throw new Error(`${family}: decode needs classes ([B] int32 in 0..${numClasses - 1}) for a conditional model`);
  if (classes.rank !== 1 || classes.shape[0] !== batch) {
    throw new Error(`${family}: classes must be [${batch}], got [${classes.shape.join(', ')}]`);
  }
  for (const k of classes.dataSync()) {
    if (!(Number.isInteger(k) && k >= 0 && k < numClasses)) throw new Error(`${family}: class ${k} is not in 0..${numClasses - 1}`);
  }
  return classes;
}

/**
 * A BCE GAN instance. `numClasses` null: unconditional (dcgan); a number: conditional (cgan).
 */
export function createBceGan(family: FamilyName, config: BceGanConfig, dataset: DatasetInfo, numClasses: number | null): FamilyInstance {
  const imageShape = dataset.imageShape;
  const conditional = numClasses !== null;
  const k = numClasses ?? 0;
  const { latentDim, filters, seed } = config;
  if (config.auxClassifier > 0 && !conditional) {
    throw new Error(`${family} config: auxClassifier: the auxiliary classifier (AC-GAN) needs a conditional family (cgan)`);
  }
  const aux = config.auxClassifier > 0 ? config.auxClassifier : 0;
  const semi = config.semiSupervised;
  if (semi > 0 && conditional) {
    throw new Error(`${family} config: semiSupervised: the semi-supervised class head is for an unconditional family (dcgan); a conditional one has auxClassifier`);
  }
  const semiClasses = semiSupervisedClassCount(config, family, dataset);
  const makeGenerator = (name: string) => buildGenerator({
    imageShape, latentDim, conditionDim: k, filters, seed,
    batchNorm: config.generatorBatchNorm, leak: config.generatorLeak, upsampling: config.upsampling, name,
  });
  const generator = makeGenerator(`${family}_generator`);
  const ema = config.ema === null ? null : createGeneratorEma(generator, makeGenerator(`${family}_generator_ema`), config.ema);
  const d = buildDiscriminator({
    imageShape, conditionChannels: k, filters, seed,
    batchNorm: config.discriminatorBatchNorm, leak: config.discriminatorLeak, minibatch: config.minibatchDiscrimination,
    ...(aux ? { auxClasses: k } : semi ? { auxClasses: semiClasses } : {}),
    name: `${family}_discriminator`,
  });
  const discriminator = d.model;
  /** D's real/fake logits and, with the auxiliary classifier, its class logits. */
  const judge = (images: tf.Tensor4D): { logit: tf.Tensor; classes: tf.Tensor | null } =>
    splitDiscriminatorOutput(discriminator.apply(images, { training: true }) as tf.Tensor | tf.Tensor[]);
  const classLoss = (logits: tf.Tensor | null, oneHot: tf.Tensor2D | null): tf.Scalar | null =>
    logits && oneHot ? (tf.mul(tf.losses.softmaxCrossEntropy(oneHot, logits), aux) as tf.Scalar) : null;
  const plus = (a: tf.Scalar, b: tf.Scalar | null): tf.Scalar => (b ? tf.add(a, b) : a);
  const semiDLoss = (realLogits: tf.Tensor | null, fakeLogits: tf.Tensor | null, realOneHot: tf.Tensor2D | null): tf.Scalar | null =>
    realLogits && fakeLogits && realOneHot ? semiDiscriminatorLoss(realLogits, fakeLogits, realOneHot, semi) : null;
  const semiGLoss = (fakeLogits: tf.Tensor | null): tf.Scalar | null => (fakeLogits && semi ? semiGeneratorLoss(fakeLogits, semi) : null);
  const gOptimizer = tf.train.adam(config.lr, config.beta1, config.beta2, ADAM_EPSILON);
  const dOptimizer = tf.train.adam(config.lr, config.beta1, config.beta2, ADAM_EPSILON);
  const gVars = trainableVariables(generator);
  const dVars = trainableVariables(discriminator);
  const realTarget = 1 - config.labelSmoothing;

  function trainStep(batch: TrainBatch, stepSeed: number): StepLosses {
    const b = checkBatch(batch, imageShape, conditional || semi > 0);
    const z = latentBatch(mulberry32(stepSeed), b, latentDim);
    const oneHot = conditional ? oneHotClasses(batch.labels!, k) : null;
    const realLabels = semi > 0 ? oneHotClasses(batch.labels!, semiClasses) : null;
    const gInput = oneHot ? tf.concat([z, oneHot], 1) : z;
    const dInput = (images: tf.Tensor4D) => (oneHot ? withClassPlanes(images, oneHot) : images);
    const real = tf.tidy(() => dInput(toTanhRange(batch.images)));
    // Training mode: batch statistics, and this step's one update of the running statistics.
    const fake = tf.tidy(() => dInput(generator.apply(gInput, { training: true }) as tf.Tensor4D));
    try {
      const dLoss = dOptimizer.minimize(
        () => {
          const r = judge(real);
          const f = judge(fake);
          const adversarial = tf.add(bceWithLogits(r.logit, realTarget), bceWithLogits(f.logit, 0)) as tf.Scalar;
          return plus(plus(plus(adversarial, classLoss(r.classes, oneHot)), classLoss(f.classes, oneHot)), semiDLoss(r.classes, f.classes, realLabels));
        },
        true,
        dVars,
      )!;
      fake.dispose();
      // G runs forward again (TF.js tapes are per call): its statistics were updated above, and
      // D's belong to the D step; put both back after this pass.
      const gLoss = keepingRunningStats([generator, discriminator], () =>
        gOptimizer.minimize(
          () => {
            const images = dInput(generator.apply(gInput, { training: true }) as tf.Tensor4D);
            if (config.featureMatching) {
              const [, fakeFeatures] = d.withFeatures.apply(images, { training: true }) as tf.Tensor[];
              const [, realFeatures] = d.withFeatures.apply(real, { training: true }) as tf.Tensor[];
              const matching = featureMatchingLoss(realFeatures as tf.Tensor2D, fakeFeatures as tf.Tensor2D);
              if (!aux && !semi) return matching;
              const classes = judge(images).classes;
              return plus(plus(matching, classLoss(classes, oneHot)), semiGLoss(classes));
            }
            const f = judge(images);
            return plus(plus(bceWithLogits(f.logit, 1), classLoss(f.classes, oneHot)), semiGLoss(f.classes));
          },
          true,
          gVars,
        )!,
      );
      ema?.update(gOptimizer.iterations);
      return { d: takeScalar(dLoss), g: takeScalar(gLoss) };
    } finally {
      tf.dispose([z, gInput, real, fake]);
      if (oneHot) oneHot.dispose();
      if (realLabels) realLabels.dispose();
    }
  }

  const model: GenerativeModel = {
    family,
    latentDim,
    numClasses: numClasses,
    imageShape,
    decode(zIn: tf.Tensor2D, classes?: tf.Tensor1D): tf.Tensor4D {
      if (zIn.rank !== 2 || zIn.shape[1] !== latentDim) throw new Error(`${family}: z must be [B, ${latentDim}], got [${zIn.shape.join(', ')}]`);
      const cls = conditional ? checkClasses(classes, zIn.shape[0], k, family) : null;
      return tf.tidy(() => {
        const input = cls ? tf.concat([zIn, oneHotClasses(cls, k)], 1) : zIn;
        return fromTanhRange((ema?.network ?? generator).apply(input, { training: false }) as tf.Tensor4D);
      });
    },
    dispose() {},
  };

  return {
    networks: { generator, discriminator, ...(ema ? { [EMA_ROLE]: ema.network } : {}) },
    optimizers: { generator: gOptimizer, discriminator: dOptimizer },
    trainStep,
    generative: () => model,
    dispose() {
      generator.dispose();
      ema?.network.dispose();
      discriminator.dispose();
      gOptimizer.dispose();
      dOptimizer.dispose();
    },
  };
}
