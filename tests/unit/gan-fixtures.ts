/** What the GAN family tests share: the four GAN families and fixed batches of real MNIST digits. */
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { FamilyDefinition, ImageShape, TrainBatch } from '../../models/common/family';
import { cganFamily } from '../../models/cgan/index';
import { dcganFamily } from '../../models/dcgan/index';
import { MNIST_PIXELS, loadMnistSplit } from '../../models/datasets/mnist';
import { wganFamily, wganGpFamily } from '../../models/wgan/index';

export const MNIST = { name: 'mnist', imageShape: [28, 28, 1] as ImageShape, numClasses: 10 };

export type AnyFamily = FamilyDefinition<Record<string, unknown>>;
export const asAny = (f: unknown) => f as AnyFamily;
export const GAN_FAMILIES: AnyFamily[] = [asAny(dcganFamily), asAny(cganFamily), asAny(wganFamily), asAny(wganGpFamily)];

/** A fixed batch of real MNIST digits in [0, 1] with their labels. */
export function mnistBatch(batch: number, offset = 0): TrainBatch {
  const { train } = loadMnistSplit({ range: 'unit' });
  return {
    images: tf.tensor4d(train.images.slice(offset * MNIST_PIXELS, (offset + batch) * MNIST_PIXELS), [batch, 28, 28, 1]),
    labels: tf.tensor1d(Int32Array.from(train.labels.subarray(offset, offset + batch)), 'int32'),
  };
}

export function disposeBatch(b: TrainBatch): void {
  tf.dispose([b.images, ...(b.labels ? [b.labels] : [])]);
}

/**
 * One BCE-GAN step checked against losses recomputed outside it: the step reports L_D before its
 * update, the D step lowers L_D on the same real and fake images, and the G step lowers L_G of
 * new fakes under the new D. Returns L_D before the step. `fakeOf` draws fakes with the step's
 * latents from the current G.
 */
export function expectStepLowersBothLosses(args: {
  step: () => { d?: number };
  fakeOf: () => tf.Tensor4D;
  dLoss: (fake: tf.Tensor4D) => number;
  gLoss: (fake: tf.Tensor4D) => number;
}): number {
  const fakeBefore = args.fakeOf();
  const d0 = args.dLoss(fakeBefore);
  const losses = args.step();
  expect(losses.d).toBeCloseTo(d0, 4); // the step reports its loss before its update
  expect(args.dLoss(fakeBefore)).toBeLessThan(d0 - 1e-4);
  const g0 = args.gLoss(fakeBefore);
  const fakeAfter = args.fakeOf();
  expect(args.gLoss(fakeAfter)).toBeLessThan(g0 - 1e-6);
  tf.dispose([fakeBefore, fakeAfter]);
  return d0;
}
