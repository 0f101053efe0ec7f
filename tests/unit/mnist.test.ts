import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  MNIST_COUNT,
  MNIST_HELD_OUT_COUNT,
  MNIST_PIXELS,
  MNIST_SPLIT_SEED,
  MNIST_TRAIN_COUNT,
  loadMnist,
  loadMnistSplit,
  mnistBatches,
  mnistSplitIndices,
} from '../../models/datasets/mnist';
import { mnistImagesTensor } from '../../models/datasets/mnist-tensors';

function minMax(a: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of a) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

describe('MNIST loader', () => {
  it('loads 10,000 images of 28×28×1 with labels 0–9, in [-1, 1] by default and [0, 1] on request', () => {
    const sym = loadMnist();
    expect(sym.count).toBe(MNIST_COUNT);
    expect(sym.images.length).toBe(MNIST_COUNT * MNIST_PIXELS);
    expect(sym.labels.length).toBe(MNIST_COUNT);
    expect(minMax(sym.images)).toEqual([-1, 1]);

    const unit = loadMnist({ range: 'unit' });
    expect(minMax(unit.images)).toEqual([0, 1]);
    // Same pixels, two scales.
    for (let i = 0; i < unit.images.length; i += 997) expect(sym.images[i]).toBeCloseTo(unit.images[i]! * 2 - 1, 6);

    const perDigit = new Array<number>(10).fill(0);
    for (const l of sym.labels) perDigit[l] = perDigit[l]! + 1;
    expect(perDigit.every((n) => n > 800)).toBe(true);
    expect(perDigit.reduce((a, b) => a + b, 0)).toBe(MNIST_COUNT);
  });

  it('returns fresh arrays on every call', () => {
    const a = loadMnist({ range: 'unit' });
    a.images[0] = 42;
    expect(loadMnist({ range: 'unit' }).images[0]).toBe(0);
  });

  it('splits 9,000 / 1,000, deterministically for the fixed seed, disjoint and covering all images', () => {
    const a = mnistSplitIndices();
    const b = mnistSplitIndices(MNIST_SPLIT_SEED);
    expect(a.train.length).toBe(MNIST_TRAIN_COUNT);
    expect(a.heldOut.length).toBe(MNIST_HELD_OUT_COUNT);
    expect(a.train).toEqual(b.train);
    expect(a.heldOut).toEqual(b.heldOut);
    const seen = new Set<number>([...a.train, ...a.heldOut]);
    expect(seen.size).toBe(MNIST_COUNT);
    // The split is a real shuffle: another seed holds out other digits.
    const c = mnistSplitIndices(MNIST_SPLIT_SEED + 1);
    expect(c.heldOut).not.toEqual(a.heldOut);
  });

  it('gives every digit in both parts and the images at the split indices', () => {
    const all = loadMnist();
    const { train, heldOut } = loadMnistSplit();
    const idx = mnistSplitIndices();
    expect(train.count).toBe(9000);
    expect(heldOut.count).toBe(1000);
    expect(new Set(train.labels).size).toBe(10);
    expect(new Set(heldOut.labels).size).toBe(10);
    const k = 123;
    const src = idx.heldOut[k]!;
    expect(heldOut.labels[k]).toBe(all.labels[src]);
    expect(heldOut.images.subarray(k * MNIST_PIXELS, (k + 1) * MNIST_PIXELS)).toEqual(
      all.images.subarray(src * MNIST_PIXELS, (src + 1) * MNIST_PIXELS),
    );
  });

  it('iterates seeded batches: same seed same batches, full batches, each epoch a permutation', () => {
    const { train } = loadMnistSplit();
    const take = (seed: number, n: number) => {
      const out = [];
      for (const b of mnistBatches(train, { batchSize: 64, seed })) {
        out.push(b);
        if (out.length === n) break;
      }
      return out;
    };
    const a = take(7, 3);
    const b = take(7, 3);
    const c = take(8, 1);
    expect(a.map((x) => Array.from(x.indices))).toEqual(b.map((x) => Array.from(x.indices)));
    expect(a[0]!.images).toEqual(b[0]!.images);
    expect(Array.from(c[0]!.indices)).not.toEqual(Array.from(a[0]!.indices));
    for (const batch of a) {
      expect(batch.count).toBe(64);
      expect(batch.images.length).toBe(64 * MNIST_PIXELS);
      expect(batch.labels.length).toBe(64);
    }

    const epochs = [...mnistBatches(train, { batchSize: 1000, seed: 3, epochs: 2 })];
    expect(epochs.length).toBe(18); // 9 full batches per epoch
    const first = new Set(epochs.filter((x) => x.epoch === 0).flatMap((x) => Array.from(x.indices)));
    expect(first.size).toBe(9000);
    expect(Array.from(epochs[9]!.indices)).not.toEqual(Array.from(epochs[0]!.indices));
    expect(() => mnistBatches(train, { batchSize: 0, seed: 1 }).next()).toThrow(/batchSize/);
  });

  it('builds a [B, 28, 28, 1] tensor from a batch', async () => {
    await tf.setBackend('cpu');
    const { heldOut } = loadMnistSplit();
    const t = mnistImagesTensor(heldOut.images.subarray(0, 4 * MNIST_PIXELS));
    expect(t.shape).toEqual([4, 28, 28, 1]);
    t.dispose();
    expect(() => mnistImagesTensor(new Float32Array(100))).toThrow(RangeError);
  });
});
