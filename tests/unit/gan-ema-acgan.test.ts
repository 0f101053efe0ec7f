/**
 * The generator's moving average (models/common/ema.ts) in every GAN family, and AC-GAN's
 * auxiliary classifier in the conditional GAN (models/dcgan/bce-gan.ts): the average's
 * arithmetic, that trained models decode with it and ship it alone, that a resumed run continues
 * it exactly, and that the auxiliary class loss trains both networks.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latentBatch, oneHotClasses, withClassPlanes } from '../../models/common/blocks';
import { loadCheckpointInto, loadWeightsSync, saveCheckpoint, type ModelCard } from '../../models/common/checkpoint';
import { EMA_ROLE, emaDecay } from '../../models/common/ema';
import type { FamilyInstance } from '../../models/common/family';
import { mulberry32 } from '../../models/common/random';
import { readWeights } from '../../models/common/weights';
import { cganFamily } from '../../models/cgan/index';
import { dcganFamily } from '../../models/dcgan/index';
import { initEngine } from '../../server/inference/engine';
import { explorableRoles } from '../../server/training/runner';
import { GAN_FAMILIES, MNIST, disposeBatch, expectStepLowersBothLosses, mnistBatch } from './gan-fixtures';

const FAMILIES = GAN_FAMILIES;
const flat = (inst: FamilyInstance, role: string) => readWeights(inst.networks[role]!).map((w) => Array.from(w.values));

let dir: string;
beforeAll(async () => {
  await initEngine('wasm');
  dir = await mkdtemp(path.join(tmpdir(), 'ema-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('generator EMA', () => {
  it('warms up as (1 + t) / (10 + t) and then holds the decay', () => {
    expect(emaDecay(0.999, 1)).toBeCloseTo(2 / 11, 12);
    expect(emaDecay(0.999, 100)).toBeCloseTo(101 / 110, 12);
    expect(emaDecay(0.999, 1e6)).toBe(0.999);
  });

  it.each(FAMILIES.map((f) => [f.name, f] as const))('%s: Ḡ ← d·Ḡ + (1 − d)·G after each G step, decode uses Ḡ, the shipped roles are Ḡ alone', (_n, family) => {
    const config = family.parseConfig({ filters: 2, latentDim: 8, seed: 3, ema: 0.9, ...(family.name.startsWith('wgan') ? { nCritic: 1 } : {}) }, MNIST);
    const inst = family.create(config, MNIST);
    expect(Object.keys(inst.networks)).toContain(EMA_ROLE);
    expect(explorableRoles(inst)).toEqual([EMA_ROLE]);
    // At creation Ḡ is G.
    expect(flat(inst, EMA_ROLE)).toEqual(flat(inst, 'generator'));
    const batch = mnistBatch(8);
    inst.trainStep(batch, 1);
    inst.trainStep(batch, 2);
    const before = flat(inst, EMA_ROLE);
    inst.trainStep(batch, 3);
    const g = flat(inst, 'generator');
    const after = flat(inst, EMA_ROLE);
    const d = emaDecay(0.9, 3); // 4/13, still warming up
    let moved = 0;
    after.forEach((w, i) => w.forEach((v, j) => {
      expect(v).toBeCloseTo(d * before[i]![j]! + (1 - d) * g[i]![j]!, 5);
      moved = Math.max(moved, Math.abs(v - g[i]![j]!));
    }));
    expect(moved).toBeGreaterThan(1e-4); // Ḡ is not G: the check below can tell them apart

    const z = tf.randomNormal([3, 8], 0, 1, 'float32', 7) as tf.Tensor2D;
    const classes = tf.tensor1d([0, 1, 2], 'int32');
    const input = family.conditional ? tf.concat([z, oneHotClasses(classes, 10)], 1) : z;
    const viaEma = tf.tidy(() => tf.div(tf.add(inst.networks[EMA_ROLE]!.apply(input, { training: false }) as tf.Tensor, 1), 2));
    const viaG = tf.tidy(() => tf.div(tf.add(inst.networks['generator']!.apply(input, { training: false }) as tf.Tensor, 1), 2));
    const decoded = inst.generative().decode(z, classes);
    expect(Array.from(decoded.dataSync())).toEqual(Array.from(viaEma.dataSync()));
    expect(Array.from(decoded.dataSync())).not.toEqual(Array.from(viaG.dataSync()));
    tf.dispose([z, classes, input, viaEma, viaG, decoded]);
    disposeBatch(batch);
    inst.dispose();
  });

  it('is off by default: no Ḡ, the shipped role is G', () => {
    const inst = dcganFamily.create(dcganFamily.parseConfig({ filters: 2, latentDim: 8 }, MNIST), MNIST);
    expect(Object.keys(inst.networks).sort()).toEqual(['discriminator', 'generator']);
    expect(explorableRoles(inst)).toEqual(['generator']);
    inst.dispose();
  });

  it('a resumed run continues Ḡ exactly (the warm-up counter is restored), and the shipped Ḡ decodes as the trained one', async () => {
    const config = dcganFamily.parseConfig({ filters: 2, latentDim: 8, seed: 4, ema: 0.99 }, MNIST);
    const straight = dcganFamily.create(config, MNIST);
    const resumed = dcganFamily.create(config, MNIST);
    const batch = mnistBatch(8);
    for (let s = 0; s < 3; s++) straight.trainStep(batch, s);
    const card: Omit<ModelCard, 'format' | 'networks' | 'weightsDtype' | 'weightsHash'> = {
      id: 'ema-test', name: 'ema', family: 'dcgan', dataset: 'mnist', imageShape: [28, 28, 1], latentDim: 8, numClasses: null,
      config, seed: 4, batchSize: 8, steps: 3, wallMs: 1, backend: 'wasm', command: 'test', losses: {}, metrics: {}, createdAt: new Date(0).toISOString(),
    };
    const ckpt = path.join(dir, 'resume');
    await saveCheckpoint(ckpt, straight, card, { optimizers: true });
    for (let s = 3; s < 6; s++) straight.trainStep(batch, s);
    await loadCheckpointInto(ckpt, resumed, { optimizers: true });
    for (let s = 3; s < 6; s++) resumed.trainStep(batch, s);
    expect(flat(resumed, EMA_ROLE)).toEqual(flat(straight, EMA_ROLE));

    const shipped = path.join(dir, 'shipped');
    const saved = await saveCheckpoint(shipped, straight, card, { roles: explorableRoles(straight), dtype: 'float16' });
    expect(saved.networks).toEqual([EMA_ROLE]);
    const loaded = dcganFamily.create(config, MNIST);
    loadWeightsSync(shipped, loaded);
    const z = tf.randomNormal([4, 8], 0, 1, 'float32', 9) as tf.Tensor2D;
    const [a, b] = [straight.generative().decode(z), loaded.generative().decode(z)];
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
    expect(diff).toBeLessThan(2 / 255);
    tf.dispose([z, a, b]);
    disposeBatch(batch);
    [straight, resumed, loaded].forEach((i) => i.dispose());
  });
});

describe('AC-GAN auxiliary classifier', () => {
  it('is refused on an unconditional family, naming the field', () => {
    expect(() => dcganFamily.create(dcganFamily.parseConfig({ filters: 2, auxClassifier: 1 }, MNIST), MNIST)).toThrow(/auxClassifier.*conditional/);
  });

  it('D gains a head of K class logits; the D step lowers L_D with its class terms, the G step lowers L_G with its class term', () => {
    const config = cganFamily.parseConfig({ filters: 4, latentDim: 16, seed: 2, auxClassifier: 1 }, MNIST);
    const inst = cganFamily.create(config, MNIST);
    const g = inst.networks['generator']!;
    const d = inst.networks['discriminator']!;
    expect(d.outputs.map((o) => o.shape)).toEqual([[null, 1], [null, 10]]);
    const batch = mnistBatch(8);
    const seed = 11;
    const [z, oneHot, real] = tf.tidy(() => {
      const oh = oneHotClasses(batch.labels!, 10);
      return [latentBatch(mulberry32(seed), 8, 16), oh, withClassPlanes(tf.sub(tf.mul(batch.images, 2), 1) as tf.Tensor4D, oh)];
    });
    const fakeOf = () => tf.tidy(() => withClassPlanes(g.apply(tf.concat([z, oneHot], 1), { training: true }) as tf.Tensor4D, oneHot));
    const judge = (x: tf.Tensor4D) => d.apply(x, { training: true }) as tf.Tensor[];
    const ce = (logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(oneHot, logits) as tf.Scalar;
    const bce = (logits: tf.Tensor, t: number) => tf.losses.sigmoidCrossEntropy(tf.fill(logits.shape, t), logits) as tf.Scalar;
    const dLoss = (fake: tf.Tensor4D) => tf.tidy(() => {
      const [rl, rc] = judge(real);
      const [fl, fc] = judge(fake);
      return [bce(rl!, 1), bce(fl!, 0), ce(rc!), ce(fc!)].reduce((a, b) => tf.add(a, b)).dataSync()[0]!;
    });
    const gLoss = (fake: tf.Tensor4D) => tf.tidy(() => {
      const [fl, fc] = judge(fake);
      return tf.add(bce(fl!, 1), ce(fc!)).dataSync()[0]!;
    });
    const d0 = expectStepLowersBothLosses({ step: () => inst.trainStep(batch, seed), fakeOf, dLoss, gLoss });
    expect(d0).toBeGreaterThan(2 * Math.log(10) * 0.8); // the class terms are in it (≈ 2·ln 10 at the start)
    tf.dispose([z, oneHot, real]);
    disposeBatch(batch);
    inst.dispose();
  });
});
