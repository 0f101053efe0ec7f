/**
 * The semi-supervised class head of the unconditional GANs (models/common/class-head.ts): the
 * entropy terms' known answers, that the D (critic) and G steps of dcgan and the WGANs train on
 * exactly the terms documented, that the gradient penalty sees the critic's scores only, and the
 * refusals.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latentBatch, oneHotClasses } from '../../models/common/blocks';
import { saveCheckpoint, type ModelCard } from '../../models/common/checkpoint';
import { classEntropies } from '../../models/common/class-head';
import { loadCheckpointInstance } from '../../models/families';
import { mulberry32 } from '../../models/common/random';
import { cganFamily } from '../../models/cgan/index';
import { dcganFamily } from '../../models/dcgan/index';
import { gradientPenalty, wganFamily, wganGpFamily } from '../../models/wgan/index';
import { initEngine } from '../../server/inference/engine';
import { MNIST, asAny, disposeBatch, expectStepLowersBothLosses, mnistBatch } from './gan-fixtures';

let dir: string;
beforeAll(async () => {
  await initEngine('wasm');
  dir = await mkdtemp(path.join(tmpdir(), 'semi-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const value = (t: tf.Tensor) => t.dataSync()[0]!;
const entropies = (logits: number[][]) => tf.tidy(() => {
  const h = classEntropies(tf.tensor2d(logits));
  return { each: value(h.each), ofMean: value(h.ofMean) };
});

describe('class-head entropies', () => {
  it('uniform rows: both ln K; confident rows of two classes: each 0, of the mean ln 2; of one class: both 0', () => {
    const uniform = entropies([[0, 0, 0, 0], [3, 3, 3, 3]]);
    expect(uniform.each).toBeCloseTo(Math.log(4), 5);
    expect(uniform.ofMean).toBeCloseTo(Math.log(4), 5);
    const two = entropies([[60, 0, 0], [0, 60, 0]]);
    expect(two.each).toBeCloseTo(0, 5);
    expect(two.ofMean).toBeCloseTo(Math.log(2), 5);
    const one = entropies([[0, 60, 0], [0, 60, 0]]);
    expect(one.each).toBeCloseTo(0, 5);
    expect(one.ofMean).toBeCloseTo(0, 5);
  });
});

describe('semi-supervised class head', () => {
  const oneHotOf = (labels: tf.Tensor1D) => oneHotClasses(labels, 10);
  const bce = (logits: tf.Tensor, t: number) => tf.losses.sigmoidCrossEntropy(tf.fill(logits.shape, t), logits) as tf.Scalar;
  const h = (logits: tf.Tensor) => classEntropies(logits);

  it('dcgan: D gains K class logits; the D step lowers BCE + CE(real) − H̄(fake), the G step lowers BCE + H̄(fake) − H(mean)', () => {
    const config = dcganFamily.parseConfig({ filters: 4, latentDim: 16, seed: 2, semiSupervised: 1 }, MNIST);
    expect(config.semiSupervisedClasses).toBe(10);
    const inst = dcganFamily.create(config, MNIST);
    const g = inst.networks['generator']!;
    const d = inst.networks['discriminator']!;
    expect(d.outputs.map((o) => o.shape)).toEqual([[null, 1], [null, 10]]);
    const batch = mnistBatch(8);
    const seed = 5;
    const [z, labels, real] = tf.tidy(() => [latentBatch(mulberry32(seed), 8, 16), oneHotOf(batch.labels!), tf.sub(tf.mul(batch.images, 2), 1) as tf.Tensor4D]);
    const fakeOf = () => tf.tidy(() => g.apply(z, { training: true }) as tf.Tensor4D);
    const judge = (x: tf.Tensor4D) => d.apply(x, { training: true }) as tf.Tensor[];
    const dLoss = (fake: tf.Tensor4D) => tf.tidy(() => {
      const [rl, rc] = judge(real);
      const [fl, fc] = judge(fake);
      return value(tf.sub(tf.addN([bce(rl!, 1), bce(fl!, 0), tf.losses.softmaxCrossEntropy(labels, rc!)]), h(fc!).each));
    });
    const gLoss = (fake: tf.Tensor4D) => tf.tidy(() => {
      const [fl, fc] = judge(fake);
      const e = h(fc!);
      return value(tf.add(bce(fl!, 1), tf.sub(e.each, e.ofMean)));
    });
    expectStepLowersBothLosses({ step: () => inst.trainStep(batch, seed), fakeOf, dLoss, gLoss });
    // The generator is asked for no class: decode takes z alone.
    const out = inst.generative().decode(z as tf.Tensor2D);
    expect(out.shape).toEqual([8, 28, 28, 1]);
    tf.dispose([z, labels, real, out]);
    disposeBatch(batch);
    inst.dispose();
  });

  it.each([asAny(wganFamily), asAny(wganGpFamily)].map((f) => [f.name, f] as const))('%s: the critic step reports −W + CE(real) − H̄(fake) (+ λ·GP), and lowers it', (_n, family) => {
    const config = family.parseConfig({ filters: 4, latentDim: 16, seed: 4, nCritic: 1, semiSupervised: 1 }, MNIST);
    const inst = family.create(config, MNIST);
    const g = inst.networks['generator']!;
    const critic = inst.networks['critic']!;
    expect(critic.outputs.map((o) => o.shape)).toEqual([[null, 1], [null, 10]]);
    const batch = mnistBatch(8, 16);
    const seed = 9;
    // The critic step's fakes come from the first latents its seed draws.
    const [z, labels, real] = tf.tidy(() => [latentBatch(mulberry32(seed), 8, 16), oneHotOf(batch.labels!), tf.sub(tf.mul(batch.images, 2), 1) as tf.Tensor4D]);
    const fake = tf.tidy(() => g.apply(z, { training: true }) as tf.Tensor4D);
    const semiLoss = () => tf.tidy(() => {
      const [rs, rc] = critic.apply(real, { training: true }) as tf.Tensor[];
      const [fs, fc] = critic.apply(fake, { training: true }) as tf.Tensor[];
      const w = tf.sub(tf.mean(rs!), tf.mean(fs!));
      return value(tf.sub(tf.sub(tf.losses.softmaxCrossEntropy(labels, rc!), w), h(fc!).each));
    });
    const before = semiLoss();
    const losses = inst.trainStep(batch, seed);
    if (family.name === 'wgan') expect(losses['critic']).toBeCloseTo(before, 4);
    else expect(losses['critic']! - 10 * losses['gp']!).toBeCloseTo(before, 4);
    expect(semiLoss()).toBeLessThan(before);
    tf.dispose([z, labels, real, fake]);
    disposeBatch(batch);
    inst.dispose();
  });

  it('wgan: weight clipping bounds every critic weight on the scores\' path and leaves the class head free', () => {
    const config = wganFamily.parseConfig({ filters: 4, latentDim: 16, seed: 4, nCritic: 2, semiSupervised: 1 }, MNIST);
    const inst = wganFamily.create(config, MNIST);
    const critic = inst.networks['critic']!;
    const batch = mnistBatch(8);
    inst.trainStep(batch, 3);
    const absMax = (w: { read(): tf.Tensor }) => tf.tidy(() => value(tf.max(tf.abs(w.read()))));
    const head = critic.trainableWeights.filter((w) => w.originalName.startsWith('d_aux/'));
    const trunk = critic.trainableWeights.filter((w) => !w.originalName.startsWith('d_aux/'));
    expect(head.length).toBe(2); // kernel and bias
    expect(Math.max(...trunk.map(absMax))).toBeLessThanOrEqual(config.clip + 1e-7);
    expect(Math.max(...head.map(absMax))).toBeGreaterThan(config.clip * 2);
    disposeBatch(batch);
    inst.dispose();
  });

  it('the gradient penalty of a critic with the head is that of its scores alone', () => {
    const inst = wganGpFamily.create(wganGpFamily.parseConfig({ filters: 4, latentDim: 16, seed: 6, semiSupervised: 1 }, MNIST), MNIST);
    const critic = inst.networks['critic']!;
    const scoresOnly = tfl.model({ inputs: critic.inputs, outputs: critic.outputs[0]! });
    const batch = mnistBatch(4);
    const [real, fake, eps] = tf.tidy(() => [
      tf.sub(tf.mul(batch.images, 2), 1) as tf.Tensor4D,
      tf.randomUniform([4, 28, 28, 1], -1, 1, 'float32', 3) as tf.Tensor4D,
      tf.tensor4d([0.1, 0.4, 0.6, 0.9], [4, 1, 1, 1]),
    ]);
    const both = value(gradientPenalty(critic, real, fake, eps));
    const alone = value(gradientPenalty(scoresOnly, real, fake, eps));
    expect(Number.isFinite(both)).toBe(true);
    expect(both).toBeCloseTo(alone, 6);
    tf.dispose([real, fake, eps]);
    disposeBatch(batch);
    inst.dispose();
  });

  it('rebuilds from its saved config without the data set; refused on cgan, on a data set without classes, and for a batch without labels', () => {
    const config = dcganFamily.parseConfig({ filters: 2, semiSupervised: 1 }, MNIST);
    // Loading a shipped model: the card's data set has no class count (the model is unconditional).
    const loaded = dcganFamily.create(config, { name: 'mnist', imageShape: MNIST.imageShape });
    expect(loaded.networks['discriminator']!.outputs[1]!.shape).toEqual([null, 10]);
    const unlabelled = mnistBatch(4);
    unlabelled.labels!.dispose();
    delete unlabelled.labels;
    expect(() => loaded.trainStep(unlabelled, 1)).toThrow(/labels/);
    disposeBatch(unlabelled);
    loaded.dispose();
    expect(() => dcganFamily.create(config, { ...MNIST, numClasses: 3 })).toThrow(/semiSupervisedClasses is 10.*3 classes/);
    const folder = { name: 'folder:/x', imageShape: MNIST.imageShape };
    expect(() => dcganFamily.parseConfig({ semiSupervised: 1 }, folder)).toThrow(/semiSupervised.*no classes/);
    expect(() => wganGpFamily.parseConfig({ semiSupervised: 1 }, folder)).toThrow(/semiSupervised.*no classes/);
    expect(() => cganFamily.create(cganFamily.parseConfig({ filters: 2, semiSupervised: 1 }, MNIST), MNIST)).toThrow(/semiSupervised.*unconditional/);
  });
});

describe('loading a saved GAN', () => {
  it('a card written before the head existed loads with it off; a card with a bad or unknown config field is refused naming it', async () => {
    const config = wganGpFamily.parseConfig({ filters: 2, latentDim: 8, seed: 1 }, MNIST);
    const inst = wganGpFamily.create(config, MNIST);
    const card: Omit<ModelCard, 'format' | 'networks' | 'weightsDtype' | 'weightsHash'> = {
      id: 'old-card', name: 'old', family: 'wgan-gp', dataset: 'mnist', imageShape: [28, 28, 1], latentDim: 8, numClasses: null,
      config, seed: 1, batchSize: 8, steps: 1, wallMs: 1, backend: 'wasm', command: 'test', losses: {}, metrics: {}, createdAt: new Date(0).toISOString(),
    };
    const ckpt = path.join(dir, 'old');
    await saveCheckpoint(ckpt, inst, card, { roles: ['generator'] });
    inst.dispose();
    const cardPath = path.join(ckpt, 'card.json');
    const written = JSON.parse(await readFile(cardPath, 'utf8')) as ModelCard & { config: Record<string, unknown> };
    // As the shipped wgan-gp-mnist's card: written before semiSupervised and ema.
    delete written.config['semiSupervised'];
    delete written.config['semiSupervisedClasses'];
    delete written.config['ema'];
    await writeFile(cardPath, JSON.stringify(written));
    const loaded = loadCheckpointInstance(ckpt, written);
    expect(Object.keys(loaded.networks).sort()).toEqual(['critic', 'generator']);
    expect(loaded.networks['critic']!.outputs).toHaveLength(1);
    loaded.dispose();
    expect(() => loadCheckpointInstance(ckpt, { ...written, config: { ...written.config, filters: -3 } })).toThrow(/filters/);
    expect(() => loadCheckpointInstance(ckpt, { ...written, config: { ...written.config, layers: 900 } })).toThrow(/layers/);
  });
});
