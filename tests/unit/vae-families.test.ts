/**
 * The `vae` and `vae-gan` families (models/vae, models/vae-gan) on the wasm backend with the
 * project's kernels: config parsing, builder shapes for 28×28×1, 32×32×3 and 64×64×3, seeded
 * weights, the loss maths against hand-computed values, training steps (lower the loss, are
 * deterministic, leak nothing), the ELBO / importance-weighted bound ordering, and initFromVae.
 * Small filter counts keep every case to seconds.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../server/inference/engine';
import type { ImageShape } from '../../models/common/family';
import { readWeights, writeWeights, type WeightData } from '../../models/common/weights';
import { MNIST_PIXELS, loadMnistSplit } from '../../models/datasets/mnist';
import { mnistImagesTensor } from '../../models/datasets/mnist-tensors';
import {
  type VaeConfig,
  type VaeInstance,
  createVae,
  elbo,
  elboTerms,
  importanceWeightedNll,
  klDivergence,
  reconstructionNll,
  vaeFamily,
} from '../../models/vae/index';
import { stepNoise, vaeLossTerms } from '../../models/vae/model';
import { VAE_GAN_ROLES, type VaeGanConfig, createVaeGan, initFromVae, vaeGanFamily } from '../../models/vae-gan/index';

const MNIST = { name: 'mnist', imageShape: [28, 28, 1] as ImageShape };
const SHAPES32 = { name: 'shapes32', imageShape: [32, 32, 3] as ImageShape };
const SHAPES64 = { name: 'shapes64', imageShape: [64, 64, 3] as ImageShape };

function mnistBatch(count: number, offset = 0): tf.Tensor4D {
  const { train } = loadMnistSplit({ range: 'unit' });
  return mnistImagesTensor(train.images.subarray(offset * MNIST_PIXELS, (offset + count) * MNIST_PIXELS));
}

function snapshot(networks: Record<string, tfl.LayersModel>): Record<string, WeightData[]> {
  return Object.fromEntries(Object.entries(networks).map(([role, m]) => [role, readWeights(m)]));
}

const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;

beforeAll(async () => {
  await initEngine('wasm');
});

describe('parseConfig', () => {
  it('fills the documented defaults', () => {
    expect(vaeFamily.parseConfig({}, MNIST)).toEqual({
      latentDim: 16, filters: 32, encoderLeak: 0.2, decoderLeak: 0, upsampling: 'transposed', seed: 0,
      reconstruction: 'bce', beta: 1, lr: 2e-3, beta1: 0.9, beta2: 0.999,
    });
    expect(vaeFamily.parseConfig(undefined, MNIST).latentDim).toBe(16);
    expect(vaeGanFamily.parseConfig({}, MNIST)).toEqual({
      latentDim: 16, filters: 32, encoderLeak: 0.2, decoderLeak: 0, upsampling: 'transposed', seed: 0,
      beta: 1, gamma: 0.01, discriminatorFilters: 32, discriminatorLeak: 0.2, featureLayer: 2, lr: 2e-4, beta1: 0.5, beta2: 0.999,
    });
    expect(vaeGanFamily.parseConfig({}, SHAPES64).featureLayer).toBe(4);
  });

  it('names the field for unknown keys, wrong types and impossible values', () => {
    expect(() => vaeFamily.parseConfig({ latentSize: 8 }, MNIST)).toThrow(/vae config: unknown field latentSize/);
    expect(() => vaeFamily.parseConfig({ latentDim: '8' }, MNIST)).toThrow(/latentDim: .*expected number/);
    expect(() => vaeFamily.parseConfig({ latentDim: 0 }, MNIST)).toThrow(/latentDim: Too small/);
    expect(() => vaeFamily.parseConfig({ filters: 2.5 }, MNIST)).toThrow(/filters: .*int/i);
    expect(() => vaeFamily.parseConfig({ beta: -1 }, MNIST)).toThrow(/beta: Too small/);
    expect(() => vaeFamily.parseConfig({ reconstruction: 'l1' }, MNIST)).toThrow(/reconstruction: .*"bce"\|"mse"/);
    expect(() => vaeFamily.parseConfig({ lr: Number.NaN }, MNIST)).toThrow(/lr:/);
    expect(() => vaeFamily.parseConfig([], MNIST)).toThrow(/vae config: \(config\)/);
    expect(() => vaeGanFamily.parseConfig({ gamma: 'big' }, MNIST)).toThrow(/vae-gan config: gamma:/);
    expect(() => vaeGanFamily.parseConfig({ featureLayer: 3 }, MNIST)).toThrow(/featureLayer: .*2 stages, got 3/);
    expect(() => vaeGanFamily.parseConfig({ featureLayer: 0 }, MNIST)).toThrow(/featureLayer: Too small/);
  });

  it('refuses image shapes the builders cannot do, naming the data set and imageShape', () => {
    const bad = (imageShape: number[]) => ({ name: 'odd', imageShape: imageShape as ImageShape });
    expect(() => vaeFamily.parseConfig({}, bad([30, 30, 1]))).toThrow(/vae: data set odd: imageShape: .*30 gives base 15 after 1 halvings/);
    expect(() => vaeFamily.parseConfig({}, bad([28, 32, 1]))).toThrow(/square/);
    expect(() => vaeFamily.parseConfig({}, bad([28, 28, 2]))).toThrow(/2 channels/);
    expect(() => vaeFamily.parseConfig({}, bad([256, 256, 3]))).toThrow(/up to 128/);
    expect(() => vaeGanFamily.parseConfig({}, bad([12, 12, 1]))).toThrow(/vae-gan: data set odd: imageShape/);
  });
});

describe('builders', () => {
  const cases: [string, { name: string; imageShape: ImageShape }, number][] = [
    ['28×28×1', MNIST, 4],
    ['32×32×3', SHAPES32, 4],
    ['64×64×3', SHAPES64, 2],
  ];
  for (const [label, dataset, filters] of cases) {
    it(`maps ${label} images to [μ, log σ²] and latents back, decode in [0, 1]`, () => {
      const config = vaeGanFamily.parseConfig({ filters, discriminatorFilters: filters, latentDim: 6 }, dataset);
      const inst = createVaeGan(config, dataset);
      const [h, w, c] = dataset.imageShape;
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const x = tf.randomUniform([3, h, w, c], 0, 1, 'float32', 1) as tf.Tensor4D;
        const [mu, logVar] = inst.networks.encoder.apply(x) as tf.Tensor[];
        expect(mu!.shape).toEqual([3, 6]);
        expect(logVar!.shape).toEqual([3, 6]);
        const logits = inst.networks.decoder.apply(mu!) as tf.Tensor;
        expect(logits.shape).toEqual([3, h, w, c]);
        expect((inst.networks.discriminator.apply(x) as tf.Tensor).shape).toEqual([3, 1]);
        const gen = inst.generative();
        const px = gen.decode(mu as tf.Tensor2D);
        expect(px.shape).toEqual([3, h, w, c]);
        const v = px.dataSync();
        expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...v)).toBeLessThanOrEqual(1);
        expect(Math.max(...v) - Math.min(...v)).toBeGreaterThan(1e-3);
        const e = gen.encode!(x);
        expect(e.mean.shape).toEqual([3, 6]);
        expect(() => gen.decode(tf.zeros([1, 5]) as tf.Tensor2D)).toThrow(/z must be \[B, 6\]/);
      });
      expect(tf.memory().numTensors).toBe(before);
      inst.dispose();
    });
  }

  it('gives the VAE and the VAE-GAN the same encoder and decoder: names, shapes and initial values', () => {
    for (const dataset of [MNIST, SHAPES32, SHAPES64]) {
      for (const upsampling of ['transposed', 'resize'] as const) {
        const shared = { latentDim: 5, filters: 3, upsampling, seed: 9 };
        const vae = createVae(vaeFamily.parseConfig(shared, dataset), dataset);
        const gan = createVaeGan(vaeGanFamily.parseConfig({ ...shared, gamma: 0.5, discriminatorFilters: 2 }, dataset), dataset);
        for (const role of ['encoder', 'decoder'] as const) {
          const a = readWeights(vae.networks[role]);
          const b = readWeights(gan.networks[role]);
          expect(a.length).toBeGreaterThan(3);
          expect(b.map((x) => [x.name, x.shape])).toEqual(a.map((x) => [x.name, x.shape]));
          a.forEach((x, i) => expect(b[i]!.values).toEqual(x.values));
        }
        vae.dispose();
        gan.dispose();
      }
    }
  });

  it('draws the same initial weights on wasm and cpu for a seed, others for another seed', async () => {
    const config = vaeGanFamily.parseConfig({ filters: 3, discriminatorFilters: 3, seed: 4 }, MNIST);
    const onWasm = createVaeGan(config, MNIST);
    const a = snapshot(onWasm.networks);
    onWasm.dispose();
    await tf.setBackend('cpu');
    try {
      const onCpu = createVaeGan(config, MNIST);
      const b = snapshot(onCpu.networks);
      onCpu.dispose();
      for (const role of Object.keys(a)) a[role]!.forEach((w, i) => expect(b[role]![i]!.values).toEqual(w.values));
    } finally {
      await tf.setBackend('wasm');
    }
    const other = createVaeGan({ ...config, seed: 5 }, MNIST);
    const c = snapshot(other.networks);
    other.dispose();
    for (const role of Object.keys(a)) expect(c[role]![0]!.values).not.toEqual(a[role]![0]!.values);
    // Every layer of the three networks has its own initial values (distinct per-layer seeds).
    const firsts = Object.values(a).flatMap((ws) => ws.filter((w) => /kernel/.test(w.name)).map((w) => w.values.slice(0, 4).join()));
    expect(new Set(firsts).size).toBe(firsts.length);
  });
});

describe('VAE maths', () => {
  it('computes the KL divergence of a known posterior', () => {
    // μ = (0.5, −1), log σ² = (0, ln 2): KL = −½[(1 + 0 − 0.25 − 1) + (1 + ln 2 − 1 − 2)] = (2.25 − ln 2)/2
    const kl = tf.tidy(() => klDivergence(tf.tensor2d([[0.5, -1], [0, 0]]), tf.tensor2d([[0, Math.log(2)], [0, 0]])).dataSync());
    expect(kl[0]).toBeCloseTo((2.25 - Math.LN2) / 2, 5);
    expect(kl[1]).toBeCloseTo(0, 6);
  });

  it('computes the Bernoulli and Gaussian reconstruction terms per image', () => {
    const x = [0, 0.25, 1, 0.5];
    const logits = [-2, 0, 3, 30];
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    const bce = x.reduce((s, xi, i) => s - (xi * Math.log(sig(logits[i]!)) + (1 - xi) * Math.log(1 - sig(logits[i]!))), 0);
    const sse = x.reduce((s, xi, i) => s + (xi - sig(logits[i]!)) ** 2, 0);
    const [b, g] = tf.tidy(() => {
      const xt = tf.tensor4d(x, [1, 2, 2, 1]);
      const lt = tf.tensor4d(logits, [1, 2, 2, 1]);
      return [reconstructionNll(lt, xt, 'bce').dataSync()[0]!, reconstructionNll(lt, xt, 'mse').dataSync()[0]!];
    });
    expect(b).toBeCloseTo(bce, 2); // the 30-logit pixel at x = 0.5 costs 15 nats: stable, not Infinity
    expect(g).toBeCloseTo(sse + 2 * Math.log(Math.PI), 4);
  });

  it('reports loss = recon + β·kl and elbo = −(recon + kl) from a step', () => {
    const dataset = MNIST;
    const inst = createVae(vaeFamily.parseConfig({ filters: 4, latentDim: 4, beta: 3 }, dataset), dataset);
    const x = mnistBatch(4);
    const l = inst.trainStep({ images: x }, 1);
    expect(l.loss).toBeCloseTo(l.recon! + 3 * l.kl!, 2);
    expect(l.elbo).toBeCloseTo(-(l.recon! + l.kl!), 2);
    expect(Object.keys(l)).toEqual([...vaeFamily.lossNames]);
    x.dispose();
    inst.dispose();
  });
});

describe('VAE training step', () => {
  it('lowers the loss on a fixed batch with the same ε, and repeats exactly for the same seed', () => {
    const config: VaeConfig = vaeFamily.parseConfig({ filters: 4, latentDim: 4 }, MNIST);
    const x = mnistBatch(8);
    const lossAt = (inst: VaeInstance, seed: number) => tf.tidy(() => {
      const eps = stepNoise(seed, 8, config.latentDim);
      return vaeLossTerms(inst.networks as never, x, eps, { reconstruction: 'bce', beta: 1 }).loss.dataSync()[0]!;
    });
    const a = createVae(config, MNIST);
    const before = lossAt(a, 77);
    const reported = a.trainStep({ images: x }, 77).loss!;
    expect(reported).toBeCloseTo(before, 3); // the step reports the loss before its update
    const after = lossAt(a, 77);
    expect(after).toBeLessThan(before - 0.1); // −0.86 nats here: Adam's first step moves every weight by ~lr

    const b = createVae(config, MNIST);
    expect(b.trainStep({ images: x }, 77).loss).toBe(reported);
    const wa = snapshot(a.networks);
    const wb = snapshot(b.networks);
    for (const role of Object.keys(wa)) wa[role]!.forEach((w, i) => expect(wb[role]![i]!.values).toEqual(w.values));
    const c = createVae(config, MNIST);
    expect(c.trainStep({ images: x }, 78).loss).not.toBe(reported);
    for (const inst of [a, b, c]) inst.dispose();
    x.dispose();
  });

  it('leaks no tensors over 100 steps (batch 8)', () => {
    const inst = createVae(vaeFamily.parseConfig({ filters: 4, latentDim: 4, reconstruction: 'mse' }, MNIST), MNIST);
    const x = mnistBatch(8);
    inst.trainStep({ images: x }, 0); // Adam creates its slots on the first step
    const before = tf.memory().numTensors;
    for (let i = 1; i <= 100; i++) {
      const l = inst.trainStep({ images: x }, i);
      expect(Number.isFinite(l.loss)).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    inst.dispose();
  });

  it('refuses a batch of the wrong image shape', () => {
    const inst = createVae(vaeFamily.parseConfig({ filters: 2 }, MNIST), MNIST);
    const x = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
    expect(() => inst.trainStep({ images: x }, 0)).toThrow(/batch images are 32×32×3, the model was built for 28×28×1/);
    x.dispose();
    inst.dispose();
  });
});

describe('ELBO and the importance-weighted bound', () => {
  // A small VAE trained for 300 steps on real digits: a posterior that is informative but not
  // exact, so the bounds are strictly ordered.
  let trained: VaeInstance;
  let held: tf.Tensor4D;
  beforeAll(() => {
    trained = createVae(vaeFamily.parseConfig({ filters: 8, latentDim: 8, seed: 3 }, MNIST), MNIST);
    const { train, heldOut } = loadMnistSplit({ range: 'unit' });
    for (let step = 0; step < 300; step++) {
      const start = (step * 32) % (train.count - 32);
      const x = mnistImagesTensor(train.images.subarray(start * MNIST_PIXELS, (start + 32) * MNIST_PIXELS));
      trained.trainStep({ images: x }, step);
      x.dispose();
    }
    held = mnistImagesTensor(heldOut.images.subarray(0, 100 * MNIST_PIXELS));
  });
  const first = (n: number) => tf.slice(held, 0, n);

  it('k = 1 estimates the ELBO in expectation; k = 64 is above it; neither leaks', () => {
    const before = tf.memory().numTensors;
    const seeds = Array.from({ length: 20 }, (_, i) => 100 + i);
    const elboMean = mean(seeds.map((seed) => mean(elbo(trained, held, { seed }))));
    const iw1 = mean(seeds.map((seed) => -mean(importanceWeightedNll(trained, held, { k: 1, seed }))));
    const iw64 = -mean(importanceWeightedNll(trained, held, { k: 64, seed: 1 }));
    // Learnt something: far better than the ~540 nats of an untrained decoder.
    expect(elboMean).toBeGreaterThan(-250);
    expect(Math.abs(iw1 - elboMean)).toBeLessThan(1);
    expect(iw64).toBeGreaterThan(elboMean + 1);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('does not depend on the batch size (one ε stream in image order)', () => {
    const a = elboTerms(trained, held, { seed: 3, batchSize: 100 });
    const b = elboTerms(trained, held, { seed: 3, batchSize: 7 });
    a.elbo.forEach((v, i) => expect(b.elbo[i]).toBeCloseTo(v, 3));
    const ten = first(10);
    const c = importanceWeightedNll(trained, ten, { k: 10, seed: 2, batchSize: 10 });
    const d = importanceWeightedNll(trained, ten, { k: 10, seed: 2, batchSize: 3 });
    ten.dispose();
    c.forEach((v, i) => expect(d[i]).toBeCloseTo(v, 3));
    // KL and recon are the parts of the ELBO; the closed-form KL is the same for every seed.
    const e = elboTerms(trained, held, { seed: 4 });
    a.kl.forEach((v, i) => expect(e.kl[i]).toBeCloseTo(v, 4));
    a.elbo.forEach((v, i) => expect(v).toBeCloseTo(-a.recon[i]! - a.kl[i]!, 3));
  });

  it('takes { encoder, decoder } as well as an instance, and refuses images of another shape', () => {
    const nets = { encoder: trained.networks.encoder, decoder: trained.networks.decoder };
    const five = first(5);
    expect(Array.from(elbo(nets, five, { seed: 1 }))).toEqual(Array.from(elbo(trained, five, { seed: 1 })));
    five.dispose();
    const wrong = tf.zeros([2, 32, 32, 3]) as tf.Tensor4D;
    expect(() => elbo(trained, wrong)).toThrow(/the encoder takes \[B, 28, 28, 1\]/);
    expect(() => importanceWeightedNll(trained, held, { k: 0 })).toThrow(/k must be a positive integer/);
    wrong.dispose();
  });
});

describe('VAE-GAN', () => {
  const small = (extra: Partial<VaeGanConfig> = {}): VaeGanConfig =>
    vaeGanFamily.parseConfig({ filters: 4, discriminatorFilters: 4, latentDim: 4, gamma: 0.1, ...extra }, MNIST);

  it('each network\'s update lowers its own loss with the other two held at their old weights', () => {
    const inst = createVaeGan(small({ lr: 1e-3 }), MNIST);
    const x = mnistBatch(8);
    const w0 = snapshot(inst.networks);
    const lossesNow = () => inst.losses({ images: x }, 5);
    const l0 = lossesNow() as Record<'encoder' | 'decoder' | 'discriminator', number>;
    expect(inst.losses({ images: x }, 5)).toEqual(l0); // evaluating changes nothing
    const reported = inst.trainStep({ images: x }, 5);
    expect(reported.encoder).toBeCloseTo(l0.encoder, 2);
    expect(reported.decoder).toBeCloseTo(l0.decoder, 3);
    expect(reported.discriminator).toBeCloseTo(l0.discriminator, 4);
    expect(reported.encoder).toBeCloseTo(reported.kl! + reported.llike!, 2);
    expect(reported.decoder).toBeCloseTo(0.1 * reported.llike! + reported.gan!, 3);
    const w1 = snapshot(inst.networks);
    for (const role of ['encoder', 'decoder', 'discriminator'] as const) {
      for (const r of VAE_GAN_ROLES) writeWeights(inst.networks[r], r === role ? w1[r]! : w0[r]!);
      expect(lossesNow()[role]).toBeLessThan(l0[role]);
      for (const r of VAE_GAN_ROLES) writeWeights(inst.networks[r], w1[r]!);
    }
    x.dispose();
    inst.dispose();
  });

  it('is deterministic for a seed and leaks no tensors over 100 steps (batch 8)', () => {
    const a = createVaeGan(small(), MNIST);
    const b = createVaeGan(small(), MNIST);
    const x = mnistBatch(8, 100);
    const la = a.trainStep({ images: x }, 3);
    expect(b.trainStep({ images: x }, 3)).toEqual(la);
    expect(Object.keys(la)).toEqual([...vaeGanFamily.lossNames]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) {
      const l = a.trainStep({ images: x }, 10 + i);
      expect(Object.values(l).every(Number.isFinite)).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    a.dispose();
    b.dispose();
  });

  it('initFromVae copies the VAE\'s encoder and decoder and leaves the discriminator', () => {
    const vae = createVae(vaeFamily.parseConfig({ filters: 4, latentDim: 4, seed: 11 }, MNIST), MNIST);
    const gan = createVaeGan(small({ seed: 12 }), MNIST);
    const disBefore = readWeights(gan.networks.discriminator);
    expect(readWeights(gan.networks.decoder)[0]!.values).not.toEqual(readWeights(vae.networks.decoder)[0]!.values);
    initFromVae(gan, vae.networks);
    for (const role of ['encoder', 'decoder'] as const) {
      const a = readWeights(vae.networks[role]);
      readWeights(gan.networks[role]).forEach((w, i) => expect(w.values).toEqual(a[i]!.values));
    }
    readWeights(gan.networks.discriminator).forEach((w, i) => expect(w.values).toEqual(disBefore[i]!.values));
    // The copies are the VAE-GAN's own: training it leaves the VAE as it was.
    const vaeDecoder = readWeights(vae.networks.decoder);
    const x = mnistBatch(4);
    gan.trainStep({ images: x }, 0);
    readWeights(vae.networks.decoder).forEach((w, i) => expect(w.values).toEqual(vaeDecoder[i]!.values));
    x.dispose();
    vae.dispose();
    gan.dispose();
  });

  it('initFromVae names the role and weight on a mismatch and copies nothing', () => {
    const gan = createVaeGan(small({ seed: 12 }), MNIST);
    const good = createVae(vaeFamily.parseConfig({ filters: 4, latentDim: 4, seed: 11 }, MNIST), MNIST);
    const wider = createVae(vaeFamily.parseConfig({ filters: 5, latentDim: 4 }, MNIST), MNIST);
    const resize = createVae(vaeFamily.parseConfig({ filters: 4, latentDim: 4, upsampling: 'resize' }, MNIST), MNIST);
    const encBefore = readWeights(gan.networks.encoder);
    expect(() => initFromVae(gan, { encoder: good.networks.encoder, decoder: wider.networks.decoder }))
      .toThrow(/initFromVae: decoder: weight 0 is dec_dense\/kernel \[4, 490\] in the VAE but dec_dense\/kernel \[4, 392\] here/);
    // The encoder matched but was not copied: all or nothing.
    readWeights(gan.networks.encoder).forEach((w, i) => expect(w.values).toEqual(encBefore[i]!.values));
    expect(() => initFromVae(gan, { encoder: good.networks.encoder, decoder: resize.networks.decoder })).toThrow(/decoder: weight 2 is dec_conv1\/kernel/);
    expect(() => initFromVae(gan, { encoder: good.networks.encoder })).toThrow(/the VAE has no decoder network \(it has encoder\)/);
    for (const inst of [gan, good, wider, resize]) inst.dispose();
  });
});
