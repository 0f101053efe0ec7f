/**
 * The semi-supervised class head of an unconditional GAN (`--set semiSupervised=w`), shared by
 * the BCE GAN (dcgan) and the WGANs. The discriminator or critic gets a second head of K class
 * logits c(·), trained on the real images' labels only; the generator stays unconditional, asked
 * for no class. The head's use on fakes follows CatGAN (Springenberg 2016, "Unsupervised and
 * Semi-supervised Learning with Categorical Generative Adversarial Networks", arXiv:1511.06390):
 * D would have the head undecided about a fake, G wants each fake to be one confident class
 * while its batch as a whole covers the classes evenly. With H the entropy, p(y|x) = softmax c(x):
 *
 *   L_D += w · (CE(c(x), y) − E_z H[p(y|G(z))])
 *   L_G += w · (E_z H[p(y|G(z))] − H[E_z p(y|G(z))])
 *
 * It is aimed at unconditional samples that sit between two classes: such a sample is what the
 * head is undecided about.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import type { DatasetInfo } from './blocks';

export const semiSupervisedFields = {
  /** w, the weight of the semi-supervised class head's terms; 0 (the default) is off. Unconditional families only. */
  semiSupervised: z.number().min(0).max(100).default(0),
  /** The head's class count: the training data set's, filled in by parseConfig so a saved model rebuilds without the data. */
  semiSupervisedClasses: z.number().int().min(2).max(1000).nullable().default(null),
};

type SemiConfig = { semiSupervised: number; semiSupervisedClasses: number | null };

/** parseConfig's part: the head's class count is the data set's (an error when it has none). */
export function withSemiSupervisedClasses<C extends SemiConfig>(config: C, family: string, dataset: DatasetInfo): C {
  if (config.semiSupervised === 0 || config.semiSupervisedClasses !== null) return config;
  if (!dataset.numClasses || dataset.numClasses < 2) {
    throw new Error(`${family} config: semiSupervised: the class head trains on labels, and data set ${dataset.name} has no classes`);
  }
  return { ...config, semiSupervisedClasses: dataset.numClasses };
}

/** The head's class count for `create` (0: no head), checked against the data set when it has classes. */
export function semiSupervisedClassCount(config: SemiConfig, family: string, dataset: DatasetInfo): number {
  if (config.semiSupervised === 0) return 0;
  const k = config.semiSupervisedClasses ?? dataset.numClasses ?? 0;
  if (k < 2) throw new Error(`${family} config: semiSupervised: the class head trains on labels, and data set ${dataset.name} has no classes`);
  if (dataset.numClasses !== undefined && dataset.numClasses !== k) {
    throw new Error(`${family} config: semiSupervisedClasses is ${k}, data set ${dataset.name} has ${dataset.numClasses} classes`);
  }
  return k;
}

/**
 * Entropies of the class distributions softmax(logits) [B, K], in nats: `each`, the mean of the
 * rows' entropies; `ofMean`, the entropy of the mean row.
 */
export function classEntropies(logits: tf.Tensor): { each: tf.Scalar; ofMean: tf.Scalar } {
  return tf.tidy(() => {
    const logP = tf.logSoftmax(logits);
    const p = tf.exp(logP);
    const each = tf.neg(tf.mean(tf.sum(tf.mul(p, logP), 1))) as tf.Scalar;
    const mean = tf.mean(p, 0);
    const ofMean = tf.neg(tf.sum(tf.mul(mean, tf.log(tf.add(mean, 1e-8))))) as tf.Scalar;
    return { each, ofMean };
  });
}

/** D's (or the critic's) terms: w · (CE on the labelled reals − the fakes' mean entropy). */
export function semiDiscriminatorLoss(realLogits: tf.Tensor, fakeLogits: tf.Tensor, realOneHot: tf.Tensor2D, w: number): tf.Scalar {
  return tf.tidy(() => tf.mul(tf.sub(tf.losses.softmaxCrossEntropy(realOneHot, realLogits), classEntropies(fakeLogits).each), w) as tf.Scalar);
}

/** G's term: w · (the fakes' mean entropy − the entropy of their mean): each confident, together spread. */
export function semiGeneratorLoss(fakeLogits: tf.Tensor, w: number): tf.Scalar {
  return tf.tidy(() => {
    const h = classEntropies(fakeLogits);
    return tf.mul(tf.sub(h.each, h.ofMean), w) as tf.Scalar;
  });
}
