/**
 * Helpers every data set shares (no TF.js): picking images out of a `Dataset`, the seeded
 * train/held-out split, and the seeded order of training batches.
 *
 * Every random choice goes through the project's one seeded generator (mulberry32, in
 * lib/latent/random.ts), so a split or a batch order is the same in every run.
 */
import type { Dataset } from '../common/family';
import { mulberry32, shuffleInPlace } from '../common/random';

/** Values per image of a data set (h × w × c). */
export function imageSize(dataset: Pick<Dataset, 'imageShape'>): number {
  const [h, w, c] = dataset.imageShape;
  return h * w * c;
}

/** A new data set holding the images (labels, factors) of `dataset` at `indices`, in that order. */
export function subsetDataset(dataset: Dataset, indices: ArrayLike<number>): Dataset {
  const px = imageSize(dataset);
  const images = new Float32Array(indices.length * px);
  const labels = dataset.labels ? new Int32Array(indices.length) : undefined;
  const factors = dataset.factors
    ? Object.fromEntries(Object.keys(dataset.factors).map((k) => [k, new Float32Array(indices.length)]))
    : undefined;
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i]!;
    if (!(Number.isInteger(src) && src >= 0 && src < dataset.count)) {
      throw new RangeError(`index ${src} outside a data set of ${dataset.count}`);
    }
    images.set(dataset.images.subarray(src * px, (src + 1) * px), i * px);
    if (labels) labels[i] = dataset.labels![src]!;
    if (factors) for (const k in factors) factors[k]![i] = dataset.factors![k]![src]!;
  }
  const out: Dataset = { name: dataset.name, imageShape: [...dataset.imageShape], count: indices.length, images };
  if (labels) out.labels = labels;
  if (dataset.numClasses !== undefined) out.numClasses = dataset.numClasses;
  if (dataset.classNames) out.classNames = [...dataset.classNames];
  if (factors) out.factors = factors;
  return out;
}

/**
 * Indices 0..count-1 split into a held-out part of `heldOutCount` and a training part, by a seeded
 * permutation (the same recipe as MNIST's split); each part sorted ascending.
 */
export function splitIndices(count: number, heldOutCount: number, seed: number): { train: Uint32Array; heldOut: Uint32Array } {
  if (!Number.isInteger(heldOutCount) || heldOutCount < 0 || heldOutCount > count) {
    throw new RangeError(`held-out count must be an integer in [0, ${count}], got ${heldOutCount}`);
  }
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  shuffleInPlace(order, mulberry32(seed));
  return { heldOut: order.slice(0, heldOutCount).sort(), train: order.slice(heldOutCount).sort() };
}

/** `dataset` split by `splitIndices`. */
export function splitDataset(dataset: Dataset, heldOutCount: number, seed: number): { train: Dataset; heldOut: Dataset } {
  const { train, heldOut } = splitIndices(dataset.count, heldOutCount, seed);
  return { train: subsetDataset(dataset, train), heldOut: subsetDataset(dataset, heldOut) };
}

/**
 * Endless seeded batch indices over `count` images: every epoch a fresh permutation from one
 * generator seeded with `seed`; the last partial batch of an epoch is dropped so every batch has
 * exactly `batchSize` images (fixed tensor shapes). Stops after `epochs` if given.
 */
export function* batchIndices(
  count: number,
  batchSize: number,
  seed: number,
  epochs?: number,
): Generator<{ indices: Uint32Array; epoch: number }, void, undefined> {
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > count) {
    throw new RangeError(`batchSize must be an integer in [1, ${count}], got ${batchSize}`);
  }
  const rand = mulberry32(seed);
  const order = new Uint32Array(count);
  for (let epoch = 0; epochs === undefined || epoch < epochs; epoch++) {
    for (let i = 0; i < count; i++) order[i] = i;
    shuffleInPlace(order, rand);
    for (let start = 0; start + batchSize <= count; start += batchSize) {
      yield { indices: order.slice(start, start + batchSize), epoch };
    }
  }
}
