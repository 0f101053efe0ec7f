/**
 * The GAN families (dcgan, wgan, wgan-gp, cgan) and their building blocks (models/common/blocks.ts).
 *
 * Training tests run on the wasm backend with the project's kernels (the cpu backend's
 * Conv2DBackpropFilter is a slow reference loop) and small filter counts; the gradient-penalty
 * test runs the same critic on wasm and on cpu and compares.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine } from '../../server/inference/engine';
import {
  MinibatchDiscrimination,
  bceWithLogits,
  buildDiscriminator,
  buildGenerator,
  convPlan,
  featureMatchingLoss,
  imageShapeProblem,
  latentBatch,
  withClassPlanes,
  type Upsampling,
} from '../../models/common/blocks';
import type { FamilyInstance, ImageShape } from '../../models/common/family';
import { mulberry32 } from '../../models/common/random';
import { readWeights } from '../../models/common/weights';
import { dcganFamily } from '../../models/dcgan/index';
import { DCGAN_MNIST, buildDiscriminator as mirrorDiscriminator, buildGenerator as mirrorGenerator } from '../../models/dcgan/model';
import { createDcganTrainer } from '../../models/dcgan/train';
import { cganFamily } from '../../models/cgan/index';
import { gradientPenalty, wganFamily, wganGpFamily } from '../../models/wgan/index';
import { type AnyFamily, GAN_FAMILIES, MNIST, asAny, disposeBatch, expectStepLowersBothLosses, mnistBatch } from './gan-fixtures';

const SHAPES: ImageShape[] = [[28, 28, 1], [32, 32, 3], [64, 64, 3]];

const FAMILIES = GAN_FAMILIES;

function values(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

beforeAll(async () => {
  await initEngine('wasm');
});

describe('blocks: sizes', () => {
  it('plans 28 → 7 (2 stages), 32 → 4 (3), 64 → 4 (4)', () => {
    expect(convPlan([28, 28, 1])).toEqual({ base: 7, stages: 2 });
    expect(convPlan([32, 32, 3])).toEqual({ base: 4, stages: 3 });
    expect(convPlan([64, 64, 3])).toEqual({ base: 4, stages: 4 });
  });

  it('refuses shapes the builders cannot do, saying why', () => {
    expect(imageShapeProblem([28, 32, 1])).toMatch(/square/);
    expect(imageShapeProblem([32, 32, 4])).toMatch(/channels/);
    expect(imageShapeProblem([30, 30, 1])).toMatch(/base/); // 30 → 15: one halving
    expect(imageShapeProblem([256, 256, 3])).toMatch(/128/);
    expect(imageShapeProblem([28, 28, 1])).toBeNull();
  });
});

describe('blocks: builders', () => {
  const cases: { shape: ImageShape; bn: boolean; up: Upsampling }[] = [];
  for (const shape of SHAPES) for (const bn of [true, false]) for (const up of ['transposed', 'resize'] as const) cases.push({ shape, bn, up });

  it.each(cases)('G $shape bn=$bn $up: z (+ condition) → [B, h, w, c] in [−1, 1]', ({ shape, bn, up }) => {
    const g = buildGenerator({ imageShape: shape, latentDim: 10, conditionDim: 3, filters: 4, batchNorm: bn, leak: 0.2, upsampling: up, seed: 1 });
    const { stages } = convPlan(shape);
    const names = g.layers.map((l) => l.getClassName());
    expect(names.filter((n) => n === 'Conv2DTranspose').length).toBe(up === 'transposed' ? stages : 0);
    expect(names.filter((n) => n === 'UpSampling2D').length).toBe(up === 'resize' ? stages : 0);
    expect(names.filter((n) => n === 'BatchNormalization').length).toBe(bn ? stages : 0);
    tf.tidy(() => {
      const x = g.apply(tf.randomNormal([2, 13], 0, 1, 'float32', 3), { training: true }) as tf.Tensor;
      expect(x.shape).toEqual([2, ...shape]);
      const v = values(x);
      expect(Math.min(...v)).toBeGreaterThanOrEqual(-1);
      expect(Math.max(...v)).toBeLessThanOrEqual(1);
    });
    g.dispose();
  });

  const dCases: { shape: ImageShape; bn: boolean; mb: boolean; cond: number }[] = [];
  for (const shape of SHAPES) for (const bn of [true, false]) for (const mb of [true, false]) dCases.push({ shape, bn, mb, cond: mb ? 0 : 10 });

  it.each(dCases)('D $shape bn=$bn minibatch=$mb condition=$cond: → logits [B, 1] and features', ({ shape, bn, mb, cond }) => {
    const d = buildDiscriminator({
      imageShape: shape, conditionChannels: cond, filters: 4, batchNorm: bn, leak: 0.2, minibatch: mb ? { kernels: 6, kernelDim: 3 } : null, seed: 1,
    });
    const { base, stages } = convPlan(shape);
    const featureDim = base * base * 4 * 2 ** (stages - 1);
    expect(d.model.inputs[0]!.shape).toEqual([null, shape[0], shape[1], shape[2] + cond]);
    expect(d.model.layers.filter((l) => l.getClassName() === 'BatchNormalization').length).toBe(bn ? stages - 1 : 0);
    tf.tidy(() => {
      const x = tf.randomUniform([3, shape[0], shape[1], shape[2] + cond], -1, 1, 'float32', 4);
      expect((d.model.apply(x) as tf.Tensor).shape).toEqual([3, 1]);
      const [logits, features] = d.withFeatures.apply(x) as tf.Tensor[];
      expect(logits!.shape).toEqual([3, 1]);
      expect(features!.shape).toEqual([3, featureDim]);
    });
    const logit = d.model.getLayer('d_logit');
    expect((logit.getWeights()[0]!).shape).toEqual([featureDim + (mb ? 6 : 0), 1]);
    d.model.dispose();
  });

  it('with the defaults on 28×28×1 are the torch mirror of models/dcgan/model.ts, weight for weight', () => {
    const cfg = { ...DCGAN_MNIST, seed: 3 };
    const common = { imageShape: [28, 28, 1] as ImageShape, filters: cfg.filters, seed: cfg.seed };
    const pairs: [tfl.LayersModel, tfl.LayersModel][] = [
      [buildGenerator({ ...common, latentDim: cfg.latentDim, batchNorm: true, leak: 0.3, upsampling: 'transposed' }), mirrorGenerator(cfg)],
      [buildDiscriminator({ ...common, batchNorm: false, leak: 0.2, minibatch: null }).model, mirrorDiscriminator(cfg)],
    ];
    for (const [ours, mirror] of pairs) {
      const a = readWeights(ours);
      const b = readWeights(mirror);
      expect(a.map((w) => [w.name, w.shape])).toEqual(b.map((w) => [w.name, w.shape]));
      a.forEach((w, i) => expect(maxAbsDiff(w.values, b[i]!.values)).toBe(0));
      // Same activations too (slopes are not weights).
      expect(ours.layers.filter((l) => l.getClassName() === 'LeakyReLU').map((l) => l.getConfig().alpha))
        .toEqual(mirror.layers.filter((l) => l.getClassName() === 'LeakyReLU').map((l) => l.getConfig().alpha));
      ours.dispose();
      mirror.dispose();
    }
  });
});

describe('blocks: minibatch discrimination, losses', () => {
  it('MinibatchDiscrimination computes Σ_{j≠i} exp(−‖M_i − M_j‖₁) per kernel and serialises', async () => {
    const layer = new MinibatchDiscrimination({ kernels: 2, kernelDim: 2, seed: 5 });
    const x = tf.tensor2d([[1, 0, 2], [0, 1, -1], [0.5, 0.5, 0]]);
    const out = layer.apply(x) as tf.Tensor2D;
    expect(out.shape).toEqual([3, 5]);
    const t = values(layer.getWeights()[0]!); // [3, 4]
    const xs = values(x);
    const m = [0, 1, 2].map((i) => [0, 1, 2, 3].map((c) => [0, 1, 2].reduce((s, a) => s + xs[i * 3 + a]! * t[a * 4 + c]!, 0)));
    const got = values(out);
    for (let i = 0; i < 3; i++) {
      for (let k = 0; k < 2; k++) {
        let o = 0;
        for (let j = 0; j < 3; j++) {
          if (j === i) continue;
          o += Math.exp(-(Math.abs(m[i]![2 * k]! - m[j]![2 * k]!) + Math.abs(m[i]![2 * k + 1]! - m[j]![2 * k + 1]!)));
        }
        expect(got[i * 5 + 3 + k]).toBeCloseTo(o, 5);
      }
      for (let a = 0; a < 3; a++) expect(got[i * 5 + a]).toBe(xs[i * 3 + a]);
    }
    // A model holding the layer goes through JSON and back (the class is registered).
    const d = buildDiscriminator({ imageShape: [28, 28, 1], filters: 2, batchNorm: false, leak: 0.2, minibatch: { kernels: 3, kernelDim: 2 }, seed: 0 });
    const back = await tfl.models.modelFromJSON({ modelTopology: d.model.toJSON(null, false) } as never);
    expect(back.getLayer('d_minibatch').getClassName()).toBe('MinibatchDiscrimination');
    expect(back.getLayer('d_minibatch').getConfig()).toMatchObject({ kernels: 3, kernelDim: 2 });
    tf.dispose([x, out]);
    d.model.dispose();
    back.dispose();
  });

  it('bceWithLogits takes a smoothed target; featureMatchingLoss is the squared distance of the means', () => {
    const logits = tf.tensor2d([[-2], [0.5], [3]]);
    const t = 0.9;
    const expected = [-2, 0.5, 3].reduce((s, x) => s + Math.max(x, 0) - x * t + Math.log1p(Math.exp(-Math.abs(x))), 0) / 3;
    expect(bceWithLogits(logits, t).dataSync()[0]).toBeCloseTo(expected, 5);
    const real = tf.tensor2d([[1, 2], [3, 4]]); // means 2, 3
    const fake = tf.tensor2d([[0, 0], [2, 2]]); // means 1, 1
    expect(featureMatchingLoss(real, fake).dataSync()[0]).toBeCloseTo((1 + 4) / 2, 6);
    tf.dispose([logits, real, fake]);
  });
});

describe('parseConfig', () => {
  it('fills the documented defaults', () => {
    expect(dcganFamily.parseConfig({}, MNIST)).toEqual({
      latentDim: 64, filters: 64, seed: 0, generatorBatchNorm: true, generatorLeak: 0.3, upsampling: 'transposed',
      discriminatorBatchNorm: false, discriminatorLeak: 0.2, minibatchDiscrimination: null, labelSmoothing: 0, featureMatching: false,
      lr: 2e-4, beta1: 0.5, beta2: 0.999, auxClassifier: 0, semiSupervised: 0, semiSupervisedClasses: null, ema: null,
    });
    expect(wganFamily.parseConfig(undefined, MNIST)).toMatchObject({ criticBatchNorm: false, nCritic: 5, clip: 0.01, lr: 5e-5, ema: null });
    expect(wganGpFamily.parseConfig({}, MNIST)).toMatchObject({ criticBatchNorm: false, nCritic: 5, gpWeight: 10, lr: 1e-4, beta1: 0, beta2: 0.9, ema: null });
    expect(dcganFamily.parseConfig({ minibatchDiscrimination: true }, MNIST).minibatchDiscrimination).toEqual({ kernels: 32, kernelDim: 5 });
  });

  it.each(FAMILIES.map((f) => [f.name, f] as const))('%s: a parsed config parses to itself', (_name, family) => {
    const once = family.parseConfig({ latentDim: 12, seed: 4 }, MNIST);
    expect(family.parseConfig(once, MNIST)).toEqual(once);
  });

  const bad: [AnyFamily, unknown, RegExp][] = [
    [asAny(dcganFamily), { latentDims: 3 }, /unknown field latentDims/],
    [asAny(dcganFamily), { latentDim: 0 }, /latentDim: .*>=1/],
    [asAny(dcganFamily), { latentDim: 2.5 }, /latentDim/],
    [asAny(dcganFamily), { filters: '64' }, /filters: .*number/],
    [asAny(dcganFamily), { upsampling: 'bilinear' }, /upsampling/],
    [asAny(dcganFamily), { labelSmoothing: 0.9 }, /labelSmoothing/],
    [asAny(dcganFamily), { minibatchDiscrimination: { kernels: 0 } }, /minibatchDiscrimination/],
    [asAny(dcganFamily), { minibatchDiscrimination: { kernel: 3 } }, /minibatchDiscrimination\.kernel\b/],
    [asAny(dcganFamily), { generatorLeak: 1.5 }, /generatorLeak/],
    [asAny(dcganFamily), 'fast', /\(config\)/],
    [asAny(wganFamily), { clip: 0 }, /clip/],
    [asAny(wganFamily), { labelSmoothing: 0.1 }, /unknown field labelSmoothing/],
    [asAny(wganGpFamily), { criticBatchNorm: true }, /criticBatchNorm: batch norm in a WGAN-GP critic/],
    [asAny(wganGpFamily), { nCritic: 0 }, /nCritic/],
    [asAny(wganGpFamily), { gpWeight: -1 }, /gpWeight/],
    [asAny(dcganFamily), { ema: 1 }, /ema/],
    [asAny(wganFamily), { ema: 0 }, /ema/],
    [asAny(cganFamily), { auxClassifier: -1 }, /auxClassifier/],
  ];
  it.each(bad.map(([f, raw, re]) => [f.name, JSON.stringify(raw), f, raw, re] as const))('%s %s → an error naming the field', (_n, _r, family, raw, re) => {
    expect(() => family.parseConfig(raw, MNIST)).toThrow(re);
  });

  it('refuses image sizes the builders cannot do and a cgan without labels', () => {
    for (const family of FAMILIES) {
      expect(() => family.parseConfig({}, { name: 'odd', imageShape: [30, 30, 1], numClasses: 10 })).toThrow(/odd: images are 30×30/);
    }
    expect(() => cganFamily.parseConfig({}, { name: 'folder:cats', imageShape: [32, 32, 3] })).toThrow(/folder:cats has no class labels/);
    expect(() => cganFamily.create(cganFamily.parseConfig({}, MNIST), { name: 'x', imageShape: [28, 28, 1] })).toThrow(/no class labels/);
  });
});

/** The G and D (or critic) of a family instance, and the step's draws, to evaluate losses outside the step. */
function netsOf(inst: FamilyInstance): { g: tfl.LayersModel; d: tfl.LayersModel } {
  return { g: inst.networks.generator!, d: (inst.networks.discriminator ?? inst.networks.critic)! };
}

describe('a training step lowers each network’s loss on a fixed batch', () => {
  const bceVariants: [string, Record<string, unknown>][] = [
    ['defaults', {}],
    ['label smoothing, minibatch discrimination, D batch norm, resize-conv', {
      labelSmoothing: 0.1, minibatchDiscrimination: { kernels: 4, kernelDim: 3 }, discriminatorBatchNorm: true, upsampling: 'resize',
    }],
    ['feature matching', { featureMatching: true }],
  ];
  const bceCases = [asAny(dcganFamily), asAny(cganFamily)].flatMap((f) => bceVariants.map(([label, extra]) => [f.name, label, f, extra] as const));

  it.each(bceCases)('%s (%s): the D step lowers L_D on the same real and fake images; the G step lowers L_G under the new D', (_n, _l, family, extra) => {
    const config = family.parseConfig({ filters: 4, latentDim: 16, seed: 2, ...extra }, MNIST) as Record<string, unknown>;
    const inst = family.create(config, MNIST);
    const { g, d } = netsOf(inst);
    const batch = mnistBatch(8);
    const seed = 11;
    const cond = family.conditional;
    const features = tfl.model({ inputs: d.inputs, outputs: [d.outputs[0]!, d.getLayer('d_flatten').output as tfl.SymbolicTensor] });
    const realTarget = 1 - (config.labelSmoothing as number);
    const [z, oneHot, real] = tf.tidy(() => {
      const zz = latentBatch(mulberry32(seed), 8, 16);
      const oh = tf.cast(tf.oneHot(batch.labels!, 10), 'float32') as tf.Tensor2D;
      const r = tf.sub(tf.mul(batch.images, 2), 1) as tf.Tensor4D;
      return [zz, oh, cond ? withClassPlanes(r, oh) : r];
    });
    const fakeOf = () => tf.tidy(() => {
      const x = g.apply(cond ? tf.concat([z, oneHot], 1) : z, { training: true }) as tf.Tensor4D;
      return cond ? withClassPlanes(x, oneHot) : x;
    });
    const dLoss = (fake: tf.Tensor4D) => tf.tidy(() =>
      tf.add(bceWithLogits(d.apply(real, { training: true }) as tf.Tensor, realTarget), bceWithLogits(d.apply(fake, { training: true }) as tf.Tensor, 0)).dataSync()[0]!);
    const gLoss = (fake: tf.Tensor4D) => tf.tidy(() => {
      if (config.featureMatching) {
        const [, fr] = features.apply(real, { training: true }) as tf.Tensor[];
        const [, ff] = features.apply(fake, { training: true }) as tf.Tensor[];
        return featureMatchingLoss(fr as tf.Tensor2D, ff as tf.Tensor2D).dataSync()[0]!;
      }
      return bceWithLogits(d.apply(fake, { training: true }) as tf.Tensor, 1).dataSync()[0]!;
    });

    expectStepLowersBothLosses({ step: () => inst.trainStep(batch, seed), fakeOf, dLoss, gLoss });
    tf.dispose([z, oneHot, real]);
    disposeBatch(batch);
    inst.dispose();
  });

  it.each([asAny(wganFamily), asAny(wganGpFamily)].map((f) => [f.name, f] as const))(
    '%s (n_critic 1): the critic step lowers L_C on the same real, fake (and interpolates); the G step lowers L_G under the new critic',
    (name, family) => {
      const gp = name === 'wgan-gp';
      const config = family.parseConfig({ filters: 4, latentDim: 16, seed: 2, nCritic: 1 }, MNIST) as Record<string, unknown>;
      const inst = family.create(config, MNIST);
      const { g, d: critic } = netsOf(inst);
      const batch = mnistBatch(8);
      const seed = 5;
      // The step's draws, in its order: z of the critic step, ε (wgan-gp), z of the G step.
      const rand = mulberry32(seed);
      const zc = latentBatch(rand, 8, 16);
      const eps = gp ? tf.tensor4d(Float32Array.from({ length: 8 }, () => rand()), [8, 1, 1, 1]) : null;
      const zg = latentBatch(rand, 8, 16);
      const real = tf.tidy(() => tf.sub(tf.mul(batch.images, 2), 1) as tf.Tensor4D);
      const fakeC = tf.tidy(() => g.apply(zc, { training: true }) as tf.Tensor4D);
      const cLoss = () => tf.tidy(() => {
        let l = tf.sub(tf.mean(critic.apply(fakeC) as tf.Tensor), tf.mean(critic.apply(real) as tf.Tensor));
        if (eps) l = tf.add(l, tf.mul(10, gradientPenalty(critic, real, fakeC, eps)));
        return l.dataSync()[0]!;
      });
      const gLoss = (fake: tf.Tensor) => tf.tidy(() => -tf.mean(critic.apply(fake) as tf.Tensor).dataSync()[0]!);

      const c0 = cLoss();
      const fakeGBefore = tf.tidy(() => g.apply(zg, { training: true }) as tf.Tensor4D);
      const losses = inst.trainStep(batch, seed);
      expect(losses.critic).toBeCloseTo(c0, 4);
      // The clipped critic's scores are small (weights within ±0.01): margins relative to the loss,
      // far above float32 rounding (~1e-7 relative).
      const margin = (x: number) => Math.max(1e-7, 1e-4 * Math.abs(x));
      const c1 = cLoss();
      expect(c1).toBeLessThan(c0 - margin(c0));
      const g0 = gLoss(fakeGBefore);
      const fakeGAfter = tf.tidy(() => g.apply(zg, { training: true }) as tf.Tensor4D);
      const g1 = gLoss(fakeGAfter);
      expect(g1).toBeLessThan(g0 - margin(g0));
      console.log(`${name}: L_C ${c0} → ${c1}, L_G ${g0} → ${g1}`);
      if (!gp) {
        // Weight clipping: every critic weight in [−c, c] after the step.
        for (const w of readWeights(critic)) expect(Math.max(...w.values.map(Math.abs))).toBeLessThanOrEqual(0.01 + 1e-7);
      }
      tf.dispose([zc, zg, real, fakeC, fakeGBefore, fakeGAfter, ...(eps ? [eps] : [])]);
      disposeBatch(batch);
      inst.dispose();
    },
  );
});

describe('every family', () => {
  it.each(FAMILIES.map((f) => [f.name, f] as const))('%s: no tensor growth over 100 steps, finite losses named by lossNames', (_n, family) => {
    const inst = family.create(family.parseConfig({ filters: 2, latentDim: 8 }, MNIST), MNIST);
    const batch = mnistBatch(8);
    inst.trainStep(batch, 0); // optimisers create their slots on the first step
    const before = tf.memory().numTensors;
    for (let i = 1; i <= 100; i++) {
      const losses = inst.trainStep(batch, i);
      if (i === 1) expect(Object.keys(losses)).toEqual([...family.lossNames]);
      for (const v of Object.values(losses)) expect(Number.isFinite(v)).toBe(true);
    }
    expect(tf.memory().numTensors).toBe(before);
    const model = inst.generative();
    const z = tf.randomNormal([2, 8]) as tf.Tensor2D;
    const classes = tf.tensor1d([0, 1], 'int32');
    const px = model.decode(z, classes);
    expect(px.shape).toEqual([2, 28, 28, 1]);
    const v = values(px);
    expect(Math.min(...v)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...v)).toBeLessThanOrEqual(1);
    tf.dispose([z, classes, px]);
    expect(tf.memory().numTensors).toBe(before);
    disposeBatch(batch);
    inst.dispose();
  });

  it.each(FAMILIES.map((f) => [f.name, f] as const))('%s: same config and step seed → same weights and losses; roles name networks and optimisers', (_n, family) => {
    const config = family.parseConfig({ filters: 2, latentDim: 8, seed: 9 }, MNIST);
    const a = family.create(config, MNIST);
    const b = family.create(config, MNIST);
    expect(Object.keys(a.networks).sort()).toEqual(Object.keys(a.optimizers).sort());
    expect(Object.keys(a.networks)).toContain(family.name.startsWith('wgan') ? 'critic' : 'discriminator');
    const batch = mnistBatch(8);
    expect(a.trainStep(batch, 3)).toEqual(b.trainStep(batch, 3));
    for (const role of Object.keys(a.networks)) {
      const wa = readWeights(a.networks[role]!);
      const wb = readWeights(b.networks[role]!);
      wa.forEach((w, i) => expect(maxAbsDiff(w.values, wb[i]!.values)).toBe(0));
    }
    // Another step seed draws other latents.
    const c = family.create(config, MNIST);
    expect(c.trainStep(batch, 4)).not.toEqual(b.trainStep(batch, 3));
    disposeBatch(batch);
    [a, b, c].forEach((i) => i.dispose());
  });
});

describe('every family on RGB images', () => {
  it.each(FAMILIES.flatMap((f) => ([[32, 32, 3], [64, 64, 3]] as ImageShape[]).map((shape) => [f.name, shape.join('×'), f, shape] as const)))(
    '%s on %s: a step gives finite losses and decode gives [B, h, w, 3]',
    (_n, _s, family, shape) => {
      const ds = { name: 'rgb', imageShape: shape, numClasses: 3 };
      const inst = family.create(family.parseConfig({ filters: 2, latentDim: 8, upsampling: 'resize' }, ds), ds);
      const rand = mulberry32(1);
      const batch = {
        images: tf.tensor4d(Float32Array.from({ length: 4 * shape[0] * shape[1] * 3 }, () => rand()), [4, ...shape]),
        labels: tf.tensor1d([0, 1, 2, 0], 'int32'),
      };
      for (const v of Object.values(inst.trainStep(batch, 1))) expect(Number.isFinite(v)).toBe(true);
      const z = tf.randomNormal([2, 8]) as tf.Tensor2D;
      const classes = tf.tensor1d([2, 1], 'int32');
      const px = inst.generative().decode(z, classes);
      expect(px.shape).toEqual([2, ...shape]);
      tf.dispose([z, classes, px]);
      disposeBatch(batch);
      inst.dispose();
    },
  );
});

describe('dcgan with the default config is the torch mirror', () => {
  it('same weights and the same losses, step for step, as models/dcgan/model.ts + train.ts', () => {
    const inst = dcganFamily.create(dcganFamily.parseConfig({ filters: 8, seed: 7 }, MNIST), MNIST);
    const g = mirrorGenerator({ latentDim: 64, filters: 8, seed: 7 });
    const d = mirrorDiscriminator({ latentDim: 64, filters: 8, seed: 7 });
    const trainer = createDcganTrainer({ generator: g, discriminator: d });
    const batch = mnistBatch(8);
    const real = tf.tidy(() => tf.sub(tf.mul(batch.images, 2), 1) as tf.Tensor4D);
    for (const seed of [1, 2, 3]) {
      const z = latentBatch(mulberry32(seed), 8, 64);
      const ours = inst.trainStep(batch, seed);
      const theirs = trainer.step(real, z);
      expect(ours.d).toBeCloseTo(theirs.dLoss, 6);
      expect(ours.g).toBeCloseTo(theirs.gLoss, 6);
      z.dispose();
    }
    for (const [ours, mirror] of [[inst.networks.generator!, g], [inst.networks.discriminator!, d]] as const) {
      const a = readWeights(ours);
      const b = readWeights(mirror);
      a.forEach((w, i) => expect(maxAbsDiff(w.values, b[i]!.values)).toBeLessThan(1e-6));
    }
    trainer.dispose();
    tf.dispose(real);
    disposeBatch(batch);
    inst.dispose();
    g.dispose();
    d.dispose();
  });
});

describe('cgan', () => {
  it('decode honours the class and requires classes', () => {
    const inst = cganFamily.create(cganFamily.parseConfig({ filters: 4, latentDim: 16 }, MNIST), MNIST);
    const model = inst.generative();
    expect(model.numClasses).toBe(10);
    const z = tf.tidy(() => tf.tile(latentBatch(mulberry32(1), 1, 16), [2, 1]) as tf.Tensor2D);
    const same = tf.tensor1d([3, 3], 'int32');
    const other = tf.tensor1d([3, 7], 'int32');
    const a = model.decode(z, same);
    const b = model.decode(z, other);
    const va = values(a);
    const vb = values(b);
    // Same z and class → the same image; same z, another class → another image.
    expect(maxAbsDiff(va.subarray(0, 784), va.subarray(784))).toBe(0);
    expect(maxAbsDiff(vb.subarray(0, 784), vb.subarray(784))).toBeGreaterThan(1e-3);
    expect(() => model.decode(z)).toThrow(/needs classes/);
    expect(() => model.decode(z, tf.tensor1d([3], 'int32'))).toThrow(/classes must be \[2\]/);
    expect(() => model.decode(z, tf.tensor1d([3, 10], 'int32'))).toThrow(/class 10 is not in 0..9/);
    const batch = mnistBatch(4);
    expect(() => inst.trainStep({ images: batch.images }, 0)).toThrow(/no labels/);
    tf.dispose([z, same, other, a, b]);
    disposeBatch(batch);
    inst.dispose();
  });
});

describe('WGAN-GP gradient penalty: second-order gradients on wasm match the cpu backend', () => {
  /** GP and its gradients w.r.t. every critic weight, on the current backend, for a seeded critic. */
  function penaltyAndGrads(): { gp: number; names: string[]; grads: Float32Array[]; weights: Float32Array[] } {
    const critic = buildDiscriminator({ imageShape: [28, 28, 1], filters: 4, batchNorm: false, leak: 0.2, minibatch: null, seed: 3 }).model;
    const rand = mulberry32(42);
    const real = tf.tensor4d(Float32Array.from({ length: 4 * 784 }, () => rand() * 2 - 1), [4, 28, 28, 1]);
    const fake = tf.tensor4d(Float32Array.from({ length: 4 * 784 }, () => rand() * 2 - 1), [4, 28, 28, 1]);
    const eps = tf.tensor4d(Float32Array.from({ length: 4 }, () => rand()), [4, 1, 1, 1]);
    const vars = critic.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => gradientPenalty(critic, real, fake, eps), vars);
    // ∇ₓC does not depend on the last layer's bias: the one weight without a gradient path.
    expect(vars.filter((v) => !grads[v.name]).map((v) => v.name)).toEqual([expect.stringMatching(/d_logit\/bias/)]);
    const out = {
      gp: value.dataSync()[0]!,
      names: vars.filter((v) => grads[v.name]).map((v) => v.name.replace(/_\d+$/, '')),
      grads: vars.filter((v) => grads[v.name]).map((v) => Float32Array.from(grads[v.name]!.dataSync() as Float32Array)),
      weights: readWeights(critic).map((w) => w.values),
    };
    tf.dispose([real, fake, eps, value, ...Object.values(grads)]);
    critic.dispose();
    return out;
  }

  it('penalty value within 1e-5 relative and critic weight gradients within 1e-4 of the largest, per weight', async () => {
    const wasm = penaltyAndGrads();
    await tf.setBackend('cpu');
    let cpu: ReturnType<typeof penaltyAndGrads>;
    try {
      cpu = penaltyAndGrads();
    } finally {
      await tf.setBackend('wasm');
    }
    // Same seed → the same critic on both backends.
    wasm.weights.forEach((w, i) => expect(maxAbsDiff(w, cpu.weights[i]!)).toBe(0));
    expect(cpu.gp).toBeGreaterThan(0.01); // not a trivial penalty
    expect(Math.abs(wasm.gp - cpu.gp) / cpu.gp).toBeLessThan(1e-5);
    expect(wasm.names).toEqual(cpu.names);
    let worst = 0;
    cpu.grads.forEach((ref, i) => {
      const scale = Math.max(...ref.map(Math.abs));
      if (/bias/.test(cpu.names[i]!)) {
        // A piecewise-linear critic's input gradient depends on a bias only through the LeakyReLU
        // masks, whose derivative is zero: exactly zero on both backends.
        expect(scale).toBe(0);
        expect(Math.max(...wasm.grads[i]!.map(Math.abs))).toBe(0);
        return;
      }
      expect(scale).toBeGreaterThan(1e-3);
      worst = Math.max(worst, maxAbsDiff(wasm.grads[i]!, ref) / scale);
    });
    expect(worst).toBeLessThan(1e-4);
    console.log(`GP parity: penalty ${cpu.gp} (cpu) vs ${wasm.gp} (wasm), rel ${(Math.abs(wasm.gp - cpu.gp) / cpu.gp).toExponential(2)}; worst kernel-gradient error ${worst.toExponential(2)} of the largest`);
  });

  /**
   * The penalty is only piecewise smooth in the weights: a LeakyReLU unit changing side changes
   * ∇ₓC by a jump, so a finite difference across such a kink is meaningless. The last layer's
   * weights do not move the kinks (checked with the real slope); the convolution weights are
   * checked on a critic with slope 1 (no kinks), which still runs every second-order kernel.
   */
  it.each([
    ['d_conv1', 1], ['d_conv2', 1], ['d_logit', 0.2],
  ] as const)('the gradient w.r.t. %s (slope %s) agrees with a central finite difference within 1%% (wasm)', (layerName, leak) => {
    const critic = buildDiscriminator({ imageShape: [28, 28, 1], filters: 4, batchNorm: false, leak, minibatch: null, seed: 3 }).model;
    const rand = mulberry32(43);
    const real = tf.tensor4d(Float32Array.from({ length: 4 * 784 }, () => rand() * 2 - 1), [4, 28, 28, 1]);
    const fake = tf.tensor4d(Float32Array.from({ length: 4 * 784 }, () => rand() * 2 - 1), [4, 28, 28, 1]);
    const eps = tf.tensor4d(Float32Array.from({ length: 4 }, () => rand()), [4, 1, 1, 1]);
    const penalty = () => tf.tidy(() => gradientPenalty(critic, real, fake, eps).dataSync()[0]!);
    const v = critic.getLayer(layerName).weights[0]!.read() as tf.Variable;
    const { grads, value } = tf.variableGrads(() => gradientPenalty(critic, real, fake, eps), [v]);
    const g = Float32Array.from(grads[v.name]!.dataSync() as Float32Array);
    tf.dispose([value, ...Object.values(grads)]);
    // The coordinate with the largest gradient: the best-conditioned finite difference.
    let at = 0;
    g.forEach((x, i) => { if (Math.abs(x) > Math.abs(g[at]!)) at = i; });
    const base = Float32Array.from(v.dataSync() as Float32Array);
    const at0 = base[at]!;
    const h = 1e-2;
    const set = (x: number) => { base[at] = x; tf.tidy(() => v.assign(tf.tensor(base, v.shape))); };
    set(at0 + h);
    const up = penalty();
    set(at0 - h);
    const down = penalty();
    set(at0);
    const fd = (up - down) / (2 * h);
    expect(Math.abs(fd - g[at]!) / Math.abs(g[at]!)).toBeLessThan(0.01);
    tf.dispose([real, fake, eps]);
    critic.dispose();
  });
});
