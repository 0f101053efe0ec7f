/**
 * Training batches of any `Dataset` as tensors (kept apart so that the data set modules have no
 * TF.js dependency).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Dataset, TrainBatch } from '../common/family';
import { batchIndices, imageSize } from './split';

export interface DatasetBatch extends TrainBatch {
  /** Position of each image in the data set. */
  indices: Uint32Array;
  /** Epoch (0-based) the batch belongs to. */
  epoch: number;
}

/** `[count, h, w, c]` float32 tensor over a data set's images. */
export function datasetImagesTensor(dataset: Dataset): tf.Tensor4D {
  return tf.tensor4d(dataset.images, [dataset.count, ...dataset.imageShape], 'float32');
}

/**
 * Endless seeded training batches of `dataset`: a fresh permutation every epoch (one generator
 * seeded with `seed`), the last partial batch of each epoch dropped so every batch has exactly
 * `batchSize` images. Each batch's tensors belong to the caller, who disposes them. Stops after
 * `epochs` if given. Throws at once for a bad batch size.
 */
export function datasetBatches(
  dataset: Dataset,
  batchSize: number,
  seed: number,
  opts: { epochs?: number } = {},
): Generator<DatasetBatch, void, undefined> {
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > dataset.count) {
    throw new RangeError(`batchSize must be an integer in [1, ${dataset.count}] for ${dataset.name}, got ${batchSize}`);
  }
  const order = batchIndices(dataset.count, batchSize, seed, opts.epochs);
  return (function* () {
    for (const { indices, epoch } of order) yield { ...gatherBatch(dataset, indices), indices, epoch };
  })();
}

/**
 * The images (and labels, for a labelled data set) at `indices` as tensors owned by the caller:
 * `[indices.length, h, w, c]` float32 and `[indices.length]` int32.
 */
export function gatherBatch(dataset: Dataset, indices: ArrayLike<number>): TrainBatch {
  const px = imageSize(dataset);
  const n = indices.length;
  const images = new Float32Array(n * px);
  for (let i = 0; i < n; i++) {
    const src = indices[i]!;
    images.set(dataset.images.subarray(src * px, (src + 1) * px), i * px);
  }
  const batch: TrainBatch = { images: tf.tensor4d(images, [n, ...dataset.imageShape], 'float32') };
  if (dataset.labels) batch.labels = tf.tensor1d(Int32Array.from(indices, (i) => dataset.labels![i]!), 'int32');
  return batch;
}
