/**
 * The `vae` family: a convolutional variational autoencoder (Kingma & Welling 2014,
 * arXiv:1312.6114), networks and maths in ./model.ts.
 *
 *   loss = E_q[−log p(x|z)] + β·KL(q(z|x) ‖ N(0, I)),   z = μ + e^(ℓ/2)·ε,  ε from the step's seed
 *
 * per image in nats, averaged over the batch, minimised by Adam (β 0.9/0.999, ε 1e-8, lr 2e-3:
 * on MNIST, 2 epochs at batch 64 on wasm reached a held-out ELBO of −139 nats at lr 1e-3, −129 at
 * 2e-3 and −123 at 3e-3, all stable; 2e-3 leaves headroom for long runs). trainStep returns,
 * before its update, `loss`, `recon` (−log p(x|z)), `kl`, and `elbo` = −(recon + kl), the
 * one-sample ELBO estimate of the batch (nats per image; equal to −loss only when β = 1). With `reconstruction: 'bce'` the likelihood is the Bernoulli
 * log-mass on grey levels; with 'mse' a Gaussian of variance ½ (./model.ts says exactly).
 *
 * Config fields and defaults (`vaeFamily.parseConfig({}, dataset)`):
 *   latentDim 16, filters 32, encoderLeak 0.2, decoderLeak 0 (ReLU), upsampling 'transposed',
 *   seed 0, reconstruction 'bce', beta 1, lr 2e-3, beta1 0.9, beta2 0.999.
 *
 * For evaluation: elbo(source, images), elboTerms, importanceWeightedNll(source, images, { k })
 * (./model.ts), where `source` is this family's instance or `{ encoder, decoder }`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import type { FamilyDefinition, FamilyInstance, GenerativeModel, ImageShape, StepLosses, TrainBatch } from '../common/family';
import { betaField, type DatasetInfo, parseFamilyConfig, vaeArchitectureFields } from './config';
import {
  buildDecoder,
  buildEncoder,
  encodeMoments,
  stepNoise,
  type VaeArchitecture,
  type VaeNetworks,
  vaeLossTerms,
} from './model';

export {
  buildDecoder,
  buildEncoder,
  elbo,
  elboTerms,
  importanceWeightedNll,
  klDivergence,
  reconstructionNll,
  vaePlan,
  vaeShapeProblem,
  type LikelihoodOptions,
  type Reconstruction,
  type VaeArchitecture,
  type VaeNetworks,
  type VaeSource,
} from './model';
export { vaeArchitectureFields } from './config';

/** Adam ε: PyTorch's (TF.js would otherwise use the backend's 1e-7). */
export const ADAM_EPSILON = 1e-8;

export const vaeSchema = z.strictObject({
  ...vaeArchitectureFields,
  /** The likelihood p(x|z): 'bce' (Bernoulli on grey levels) or 'mse' (Gaussian, σ² = ½). */
  reconstruction: z.enum(['bce', 'mse']).default('bce'),
  beta: betaField,
  lr: z.number().positive().max(1).default(2e-3),
  beta1: z.number().min(0).lt(1).default(0.9),
  beta2: z.number().min(0).lt(1).default(0.999),
});

/** The `vae` family's config (every field has a default). */
export type VaeConfig = z.output<typeof vaeSchema>;

/** A `vae` instance: the FamilyInstance plus the config it was built from. */
export interface VaeInstance extends FamilyInstance {
  readonly config: VaeConfig;
  readonly networks: { encoder: tfl.LayersModel; decoder: tfl.LayersModel };
}

/** The builders' options from a config of either family. */
export function architectureOf(config: z.output<z.ZodObject<typeof vaeArchitectureFields>>, imageShape: ImageShape): VaeArchitecture {
  const { latentDim, filters, encoderLeak, decoderLeak, upsampling, seed } = config;
  return { imageShape: [...imageShape], latentDim, filters, encoderLeak, decoderLeak, upsampling, seed };
}

/** Throws unless the batch's images have the model's shape; returns the batch size. */
export function checkBatch(family: string, batch: TrainBatch, imageShape: ImageShape): number {
  const [b, h, w, c] = batch.images.shape;
  if (h !== imageShape[0] || w !== imageShape[1] || c !== imageShape[2]) {
    throw new Error(`${family}: batch images are ${h}×${w}×${c}, the model was built for ${imageShape.join('×')}`);
  }
  return b;
}

/** decode/encode over an encoder and a decoder (shared with the vae-gan family). */
export function encoderDecoderModel(family: 'vae' | 'vae-gan', nets: VaeNetworks, latentDim: number, imageShape: ImageShape): GenerativeModel {
  return {
    family,
    latentDim,
    numClasses: null,
    imageShape: [...imageShape],
    decode(z: tf.Tensor2D): tf.Tensor4D {
      if (z.rank !== 2 || z.shape[1] !== latentDim) throw new Error(`${family}: z must be [B, ${latentDim}], got [${z.shape.join(', ')}]`);
      return tf.tidy(() => tf.sigmoid(nets.decoder.apply(z, { training: false }) as tf.Tensor4D));
    },
    encode(x: tf.Tensor4D): { mean: tf.Tensor2D; logVar: tf.Tensor2D } {
      const [, h, w, c] = x.shape;
      if (x.rank !== 4 || h !== imageShape[0] || w !== imageShape[1] || c !== imageShape[2]) {
        throw new Error(`${family}: images must be [B, ${imageShape.join(', ')}], got [${x.shape.join(', ')}]`);
      }
      return tf.tidy(() => encodeMoments(nets.encoder, x));
    },
    dispose() {},
  };
}

/** Reads several scalars with one synchronous download and disposes them. */
export function readScalars<K extends string>(named: Record<K, tf.Scalar>): Record<K, number> {
  const keys = Object.keys(named) as K[];
  const scalars = keys.map((k) => named[k]);
  try {
    const values = tf.tidy(() => tf.stack(scalars).dataSync());
    return Object.fromEntries(keys.map((k, i) => [k, values[i]!])) as Record<K, number>;
  } finally {
    tf.dispose(scalars);
  }
}

/** Trainable variables of a model, for variableGrads / minimize. */
export function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

/** The gradients of `vars` out of a variableGrads map. */
export function pickGrads(grads: tf.NamedTensorMap, vars: readonly tf.Variable[]): { name: string; tensor: tf.Tensor }[] {
  return vars.map((v) => {
    const tensor = grads[v.name];
    if (!tensor) throw new Error(`no gradient for ${v.name}`);
    return { name: v.name, tensor };
  });
}

export function createVae(config: VaeConfig, dataset: DatasetInfo): VaeInstance {
  const imageShape: ImageShape = [...dataset.imageShape];
  const arch = architectureOf(config, imageShape);
  const encoder = buildEncoder(arch);
  const decoder = buildDecoder(arch);
  // One Adam per network (Adam is per coordinate: the same as one Adam over both), keyed by
  // role like the vae-gan family's.
  const optimizers = {
    encoder: tf.train.adam(config.lr, config.beta1, config.beta2, ADAM_EPSILON),
    decoder: tf.train.adam(config.lr, config.beta1, config.beta2, ADAM_EPSILON),
  };
  const encoderVars = trainableVariables(encoder);
  const decoderVars = trainableVariables(decoder);
  const nets = { encoder, decoder };
  const lossOpts = { reconstruction: config.reconstruction, beta: config.beta };

  function trainStep(batch: TrainBatch, seed: number): StepLosses {
    const b = checkBatch('vae', batch, imageShape);
    const eps = stepNoise(seed, b, config.latentDim);
    let recon: tf.Scalar | null = null;
    let kl: tf.Scalar | null = null;
    const { value: loss, grads } = tf.variableGrads(() => {
      const terms = vaeLossTerms(nets, batch.images, eps, lossOpts);
      recon = tf.keep(terms.recon);
      kl = tf.keep(terms.kl);
      return terms.loss;
    }, [...encoderVars, ...decoderVars]);
    try {
      optimizers.encoder.applyGradients(pickGrads(grads, encoderVars));
      optimizers.decoder.applyGradients(pickGrads(grads, decoderVars));
      const values = readScalars({ loss, recon: recon!, kl: kl! });
      return { ...values, elbo: -(values.recon + values.kl) };
    } finally {
      tf.dispose([eps, loss, ...Object.values(grads)]);
      for (const t of [recon as tf.Scalar | null, kl as tf.Scalar | null]) if (t && !t.isDisposed) t.dispose();
    }
  }

  const model = encoderDecoderModel('vae', nets, config.latentDim, imageShape);
  return {
    config,
    networks: nets,
    optimizers,
    trainStep,
    generative: () => model,
    dispose() {
      encoder.dispose();
      decoder.dispose();
      optimizers.encoder.dispose();
      optimizers.decoder.dispose();
    },
  };
}

export const vaeFamily: FamilyDefinition<VaeConfig> = {
  name: 'vae',
  conditional: false,
  hasEncoder: true,
  lossNames: ['loss', 'recon', 'kl', 'elbo'],
  parseConfig: (raw: unknown, dataset: DatasetInfo) => parseFamilyConfig('vae', vaeSchema, raw, dataset),
  create: createVae,
};
