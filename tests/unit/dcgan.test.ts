/**
 * DCGAN builders and training step on the cpu backend. The cpu backend's Conv2DBackpropFilter
 * is a slow reference loop (about a minute per step of the full model at batch 8 on these
 * machines), so the training tests use the same architecture with 8 filters instead of 64.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { DCGAN_MNIST, type DcganConfig, buildDiscriminator, buildGenerator, decode } from '../../models/dcgan/model';
import { bceWithLogits, createDcganTrainer } from '../../models/dcgan/train';
import { readWeights } from '../../models/common/weights';
import { MNIST_PIXELS, loadMnistSplit } from '../../models/datasets/mnist';
import { mnistImagesTensor } from '../../models/datasets/mnist-tensors';
import { mulberry32, randomNormal } from '../../models/common/random';

const SMALL: DcganConfig = { ...DCGAN_MNIST, filters: 8, seed: 7 };

function range(t: tf.Tensor): [number, number] {
  const v = t.dataSync();
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of v) {
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  return [lo, hi];
}

/** A fixed batch of real digits and fixed latents. */
function fixedBatch(batch: number, seed: number): { real: tf.Tensor4D; z: tf.Tensor2D } {
  const { train } = loadMnistSplit();
  const real = mnistImagesTensor(train.images.subarray(0, batch * MNIST_PIXELS));
  const z = tf.tensor2d(randomNormal(batch * 64, mulberry32(seed)), [batch, 64]);
  return { real, z };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('DCGAN builders (the torch_dcgan.py mirror)', () => {
  it('maps z [B, 64] to images [B, 28, 28, 1] in [-1, 1] and images to logits [B, 1]', () => {
    const g = buildGenerator();
    const d = buildDiscriminator();
    expect(g.inputs[0]!.shape).toEqual([null, 64]);
    // Trainable parameters of the PyTorch peer: G = 401,408 (dense) + 2·6,272 (BN) + 131,072 (convT)
    // + 2·64 (BN) + 1,025 (convT + bias) = 546,177; D = 1,088 + 131,200 + 6,273 = 138,561.
    // TF.js also counts the BN running statistics (2·6,272 + 2·64) as (non-trainable) weights.
    const size = (ws: { shape: (number | null)[] }[]) => ws.reduce((n, w) => n + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1), 0);
    expect(size(g.trainableWeights)).toBe(546_177);
    expect(size(g.nonTrainableWeights)).toBe(2 * 6272 + 2 * 64);
    expect(d.countParams()).toBe(138_561);

    const z = tf.randomNormal([3, 64], 0, 1, 'float32', 1) as tf.Tensor2D;
    tf.tidy(() => {
      const x = g.apply(z, { training: true }) as tf.Tensor4D;
      expect(x.shape).toEqual([3, 28, 28, 1]);
      const [lo, hi] = range(x);
      expect(lo).toBeGreaterThanOrEqual(-1);
      expect(hi).toBeLessThanOrEqual(1);
      expect(hi - lo).toBeGreaterThan(0.1); // not a constant image
      const logits = d.apply(x) as tf.Tensor;
      expect(logits.shape).toEqual([3, 1]);
    });
    const px = decode(g, z);
    expect(px.shape).toEqual([3, 28, 28, 1]);
    const [lo, hi] = range(px);
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    tf.dispose([px, z]);
    g.dispose();
    d.dispose();
  });

  it('gives the same initial weights for the same seed and others for another seed', () => {
    const a = readWeights(buildGenerator({ ...DCGAN_MNIST, seed: 3 }));
    const b = readWeights(buildGenerator({ ...DCGAN_MNIST, seed: 3 }));
    const c = readWeights(buildGenerator({ ...DCGAN_MNIST, seed: 4 }));
    expect(a.map((w) => w.name)).toEqual(b.map((w) => w.name));
    a.forEach((w, i) => expect(w.values).toEqual(b[i]!.values));
    expect(a[0]!.values).not.toEqual(c[0]!.values);
    // PyTorch's default initialisation: dense kernel in ±1/√64, BN γ = 1.
    const [lo, hi] = a[0]!.values.reduce(([l, h], v) => [Math.min(l, v), Math.max(h, v)], [Infinity, -Infinity]);
    expect(lo).toBeGreaterThanOrEqual(-1 / 8);
    expect(hi).toBeLessThanOrEqual(1 / 8);
    expect(hi).toBeGreaterThan(0.12);
    expect(a[1]!.name).toMatch(/g_bn1\/gamma/);
    expect(a[1]!.values.every((v) => v === 1)).toBe(true);
  });
});

describe('DCGAN training step', () => {
  it('computes BCE on logits stably (matches −log σ(x) and −log(1 − σ(x)))', () => {
    const xs = [-30, -2, -0.1, 0, 0.7, 3, 30];
    const logits = tf.tensor2d(xs, [xs.length, 1]);
    const mean = (f: (x: number) => number) => xs.reduce((s, x) => s + f(x), 0) / xs.length;
    const one = bceWithLogits(logits, 1);
    const zero = bceWithLogits(logits, 0);
    // −log σ(x) = log(1 + e^−x) and −log(1 − σ(x)) = log(1 + e^x), in double precision.
    expect(one.dataSync()[0]).toBeCloseTo(mean((x) => Math.log1p(Math.exp(-x))), 5);
    expect(zero.dataSync()[0]).toBeCloseTo(mean((x) => Math.log1p(Math.exp(x))), 5);
    expect(Number.isFinite(one.dataSync()[0]!)).toBe(true);
    tf.dispose([logits, one, zero]);
  });

  it('leaks no tensors over 20 steps', () => {
    const g = buildGenerator(SMALL);
    const d = buildDiscriminator(SMALL);
    const trainer = createDcganTrainer({ generator: g, discriminator: d });
    const { real, z } = fixedBatch(2, 1);
    trainer.step(real, z); // the optimizers create their slots on the first step
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      const { dLoss, gLoss } = trainer.step(real, z);
      expect(Number.isFinite(dLoss) && Number.isFinite(gLoss)).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(trainer.steps).toBe(21);
    trainer.dispose();
    tf.dispose([real, z]);
    g.dispose();
    d.dispose();
  });

  it('lowers the D loss with its D step and the G loss with its G step, on a fixed batch', () => {
    const g = buildGenerator(SMALL);
    const d = buildDiscriminator(SMALL);
    const trainer = createDcganTrainer({ generator: g, discriminator: d });
    const { real, z } = fixedBatch(8, 2);
    const fakeBefore = tf.tidy(() => g.apply(z, { training: true }) as tf.Tensor4D);
    const dLossOf = (fake: tf.Tensor4D) =>
      tf.tidy(() => tf.add(bceWithLogits(d.apply(real) as tf.Tensor, 1), bceWithLogits(d.apply(fake) as tf.Tensor, 0)).dataSync()[0]!);
    const gLossOf = (fake: tf.Tensor4D) => tf.tidy(() => bceWithLogits(d.apply(fake) as tf.Tensor, 1).dataSync()[0]!);
    const d0 = dLossOf(fakeBefore);

    const { dLoss, gLoss } = trainer.step(real, z);
    // The step reports the loss before its updates...
    expect(dLoss).toBeCloseTo(d0, 5);
    // ...the D step lowered L_D on the same real and fake images...
    const d1 = dLossOf(fakeBefore);
    expect(d1).toBeLessThan(d0 - 1e-4);
    // ...and the G step lowered L_G under the updated discriminator.
    expect(gLoss).toBeCloseTo(gLossOf(fakeBefore), 5);
    const fakeAfter = tf.tidy(() => g.apply(z, { training: true }) as tf.Tensor4D);
    expect(gLossOf(fakeAfter)).toBeLessThan(gLoss - 1e-4);

    trainer.dispose();
    tf.dispose([real, z, fakeBefore, fakeAfter]);
    g.dispose();
    d.dispose();
  });

  it('moves the batch-norm running statistics once per step (weight 0.1, as PyTorch)', () => {
    const g = buildGenerator(SMALL);
    const d = buildDiscriminator(SMALL);
    const trainer = createDcganTrainer({ generator: g, discriminator: d });
    const { real, z } = fixedBatch(4, 3);
    const movingMean = g.getLayer('g_bn2').weights.find((w) => /moving_mean/.test(w.name))!.read();
    expect(movingMean.dataSync().every((v) => v === 0)).toBe(true);
    const batchMean = tf.tidy(() => {
      let h: tf.Tensor = z;
      for (const layer of g.layers.slice(0, 5)) h = layer.apply(h, { training: true }) as tf.Tensor; // dense … g_convt1
      return tf.mean(h, [0, 1, 2]).dataSync();
    });
    trainer.step(real, z);
    const after = g.getLayer('g_bn2').weights.find((w) => /moving_mean/.test(w.name))!.read().dataSync();
    for (let c = 0; c < 8; c++) expect(after[c]).toBeCloseTo(0.1 * batchMean[c]!, 5);
    trainer.dispose();
    tf.dispose([real, z]);
    g.dispose();
    d.dispose();
  });
});
