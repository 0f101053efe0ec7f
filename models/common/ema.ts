/**
 * An exponential moving average of a generator's weights (Yazıcı et al. 2019, "The Unusual
 * Effectiveness of Averaging in GAN Training", arXiv:1806.04498; Karras et al. 2018, ProGAN,
 * arXiv:1710.10196, §A.1): after G's t-th update
 *
 *   Ḡ ← d_t·Ḡ + (1 − d_t)·G,   d_t = min(decay, (1 + t) / (10 + t))
 *
 * (the warm-up of TensorFlow's ExponentialMovingAverage with num_updates, so that the first
 * hundreds of steps are not dominated by the random initial weights). The averaged generator
 * Ḡ is what a trained model decodes with: the iterates of GAN training circle around a point
 * that the average comes closer to. Every weight is averaged, batch-norm running statistics
 * included (as timm's ModelEmaV2 does).
 *
 * Ḡ is a network of its own (role `generatorEma`), so a training checkpoint saves and a resume
 * restores it with the rest; t is G's optimiser's iteration count, which checkpoints restore too.
 * A shipped model stores Ḡ only (server/training/runner.ts explorableRoles).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';

/** The network role of the averaged generator. */
export const EMA_ROLE = 'generatorEma';

/** `ema`: the decay of the average (e.g. 0.999), or null (off, the default). */
export const emaField = z.number().gt(0).lt(1).nullable().default(null);

export interface GeneratorEma {
  /** Ḡ: same architecture as G, its own weights. */
  readonly network: tfl.LayersModel;
  /** Folds G's current weights into Ḡ; `t` is the number of G updates so far (≥ 1). */
  update(t: number): void;
}

/** The decay used at G's t-th update. */
export function emaDecay(decay: number, t: number): number {
  return Math.min(decay, (1 + t) / (10 + t));
}

/**
 * Ḡ for `generator`: `twin` is a second network built exactly like it (same layers in the same
 * order); its weights are set to G's now.
 */
export function createGeneratorEma(generator: tfl.LayersModel, twin: tfl.LayersModel, decay: number): GeneratorEma {
  const from = generator.weights;
  const to = twin.weights;
  if (from.length !== to.length || from.some((w, i) => w.shape.join() !== to[i]!.shape.join())) {
    throw new Error('generator EMA: the twin network does not have the generator\'s weights');
  }
  tf.tidy(() => to.forEach((w, i) => w.write(tf.clone(from[i]!.read()))));
  return {
    network: twin,
    update(t: number) {
      const d = emaDecay(decay, t);
      tf.tidy(() => {
        to.forEach((w, i) => w.write(tf.add(tf.mul(w.read(), d), tf.mul(from[i]!.read(), 1 - d))));
      });
    },
  };
}
