/**
 * One DCGAN training step: a discriminator step, then a generator step (Goodfellow et al. 2014,
 * "Generative Adversarial Nets"; the DCGAN recipe of Radford, Metz, Chintala 2015,
 * arXiv:1511.06434: Adam, lr 2e-4, β1 0.5).
 *
 * With ℓ(x, y) = BCE on the logit x = max(x, 0) − x·y + log(1 + e^(−|x|)) (the stable form used by
 * tf.losses.sigmoidCrossEntropy), averaged over the batch:
 *
 *   D step:  L_D = mean ℓ(D(x), 1) + mean ℓ(D(G(z)), 0)        gradient w.r.t. D's weights only
 *   G step:  L_G = mean ℓ(D'(G(z)), 1)                          (non-saturating: −log D, not
 *            log(1 − D)), with D' the discriminator just updated; gradient w.r.t. G's weights.
 *
 * This is the order of the PyTorch peer: the fake batch the D step sees is the one the G step
 * back-propagates through (same z, same generator weights). PyTorch keeps G's forward graph and
 * backpropagates through it twice; TF.js tapes are per call, so G runs forward twice. Both
 * passes are in training mode (batch statistics) and give the same images, but each would also
 * update the batch-norm running statistics; the G step's update is undone so that they move once
 * per step, as in PyTorch.
 *
 * Everything runs inside tf.tidy or optimizer.minimize: a step leaves no tensors behind.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

export interface DcganTrainerOptions {
  generator: tfl.LayersModel;
  discriminator: tfl.LayersModel;
  /** Adam learning rate of both networks. Default 2e-4. */
  lr?: number;
  /** Adam β1. Default 0.5. */
  beta1?: number;
  /** Adam β2. Default 0.999. */
  beta2?: number;
  /** Adam ε. Default 1e-8 (PyTorch's; TF.js would otherwise use the backend's 1e-7). */
  epsilon?: number;
}

export interface DcganTrainer {
  /**
   * One D step then one G step on a batch of real images [B, 28, 28, 1] in [-1, 1] and latents
   * [B, latentDim]. Returns the two losses (read synchronously from the backend). The inputs stay
   * owned by the caller.
   */
  step(realBatch: tf.Tensor4D, z: tf.Tensor2D): { dLoss: number; gLoss: number };
  /** Steps taken so far. */
  readonly steps: number;
  /** Frees the optimizers' state (the models stay). */
  dispose(): void;
}

/** Mean binary cross-entropy of logits against a constant label (0 or 1). */
export function bceWithLogits(logits: tf.Tensor, label: 0 | 1): tf.Scalar {
  return tf.tidy(() => tf.losses.sigmoidCrossEntropy(label === 1 ? tf.onesLike(logits) : tf.zerosLike(logits), logits) as tf.Scalar);
}

function trainableVariables(model: tfl.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

export function createDcganTrainer(opts: DcganTrainerOptions): DcganTrainer {
  const { generator, discriminator } = opts;
  const lr = opts.lr ?? 2e-4;
  const beta1 = opts.beta1 ?? 0.5;
  const beta2 = opts.beta2 ?? 0.999;
  const epsilon = opts.epsilon ?? 1e-8;
  const dOptimizer = tf.train.adam(lr, beta1, beta2, epsilon);
  const gOptimizer = tf.train.adam(lr, beta1, beta2, epsilon);
  const dVars = trainableVariables(discriminator);
  const gVars = trainableVariables(generator);
  // Batch-norm running mean and variance of G: restored after the G step (see the header).
  const gStats = generator.nonTrainableWeights;
  let steps = 0;

  function step(realBatch: tf.Tensor4D, z: tf.Tensor2D): { dLoss: number; gLoss: number } {
    if (realBatch.shape[0] !== z.shape[0]) {
      throw new Error(`real batch has ${realBatch.shape[0]} images but z has ${z.shape[0]} rows`);
    }
    // Training mode: batch statistics, and the one update of the running statistics this step.
    const fake = tf.tidy(() => generator.apply(z, { training: true }) as tf.Tensor4D);
    let dLossT: tf.Scalar | null = null;
    let gLossT: tf.Scalar | null = null;
    try {
      dLossT = dOptimizer.minimize(
        () => {
          const realLogits = discriminator.apply(realBatch, { training: true }) as tf.Tensor;
          const fakeLogits = discriminator.apply(fake, { training: true }) as tf.Tensor;
          return tf.add(bceWithLogits(realLogits, 1), bceWithLogits(fakeLogits, 0));
        },
        true,
        dVars,
      );
      fake.dispose();

      const saved = gStats.map((w) => tf.clone(w.read()));
      try {
        gLossT = gOptimizer.minimize(
          () => {
            const images = generator.apply(z, { training: true }) as tf.Tensor4D;
            return bceWithLogits(discriminator.apply(images, { training: true }) as tf.Tensor, 1);
          },
          true,
          gVars,
        );
      } finally {
        gStats.forEach((w, i) => w.write(saved[i]!));
        tf.dispose(saved);
      }
      steps++;
      return { dLoss: dLossT!.dataSync()[0]!, gLoss: gLossT!.dataSync()[0]! };
    } finally {
      if (!fake.isDisposed) fake.dispose();
      dLossT?.dispose();
      gLossT?.dispose();
    }
  }

  return {
    step,
    get steps() {
      return steps;
    },
    dispose() {
      dOptimizer.dispose();
      gOptimizer.dispose();
    },
  };
}
