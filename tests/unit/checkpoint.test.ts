/**
 * Checkpoints (models/common/checkpoint.ts): float16 conversion, weights and optimiser state
 * round trips on a real DCGAN with a real Adam, atomic replacement, and the errors for files
 * that do not match the model.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { fromHalf, loadCheckpointInto, readCard, saveCheckpoint, toHalf, type ModelCard } from '../../models/common/checkpoint';
import type { FamilyInstance } from '../../models/common/family';
import { DCGAN_MNIST, buildDiscriminator, buildGenerator, decode } from '../../models/dcgan/model';
import { initEngine } from '../../server/inference/engine';

let dir: string;
beforeAll(async () => {
  await initEngine('wasm');
  dir = await mkdtemp(path.join(tmpdir(), 'ckpt-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A real generator/discriminator pair with an Adam per network, as a family instance. */
function instance(seed: number): FamilyInstance {
  const config = { ...DCGAN_MNIST, filters: 8, seed };
  const generator = buildGenerator(config);
  const discriminator = buildDiscriminator(config);
  const optimizers = { generator: tf.train.adam(1e-3, 0.5), discriminator: tf.train.adam(1e-3, 0.5) };
  const vars = (m: tfl.LayersModel) => m.trainableWeights.map((w) => w.read() as tf.Variable);
  return {
    networks: { generator, discriminator },
    optimizers,
    trainStep(batch, s) {
      const z = tf.randomNormal([batch.images.shape[0], 64], 0, 1, 'float32', s) as tf.Tensor2D;
      const d = optimizers.discriminator.minimize(() => tf.mean(discriminator.apply(batch.images) as tf.Tensor) as tf.Scalar, true, vars(discriminator))!;
      const g = optimizers.generator.minimize(() => tf.mean(decode(generator, z)) as tf.Scalar, true, vars(generator))!;
      const out = { d: d.dataSync()[0]!, g: g.dataSync()[0]! };
      tf.dispose([z, d, g]);
      return out;
    },
    generative: () => ({
      family: 'dcgan',
      latentDim: 64,
      numClasses: null,
      imageShape: [28, 28, 1],
      decode: (z) => decode(generator, z),
      dispose: () => undefined,
    }),
    dispose() {
      generator.dispose();
      discriminator.dispose();
      optimizers.generator.dispose();
      optimizers.discriminator.dispose();
    },
  };
}

const CARD: Omit<ModelCard, 'format' | 'networks' | 'weightsDtype' | 'weightsHash'> = {
  id: 'test-model',
  name: 'test',
  family: 'dcgan',
  dataset: 'mnist',
  imageShape: [28, 28, 1],
  latentDim: 64,
  numClasses: null,
  config: {},
  seed: 1,
  batchSize: 4,
  steps: 3,
  wallMs: 10,
  backend: 'wasm',
  command: 'test',
  losses: {},
  metrics: {},
  createdAt: new Date(0).toISOString(),
};

const weightsOf = (m: tfl.LayersModel) => m.weights.map((w) => Array.from(w.read().dataSync()));

function steps(inst: FamilyInstance, n: number, from: number): Record<string, number>[] {
  const out = [];
  for (let i = 0; i < n; i++) {
    const images = tf.randomUniform([4, 28, 28, 1], 0, 1, 'float32', 100 + from + i) as tf.Tensor4D;
    out.push(inst.trainStep({ images }, from + i));
    images.dispose();
  }
  return out;
}

describe('float16', () => {
  it('round-trips representable values exactly and rounds the rest to nearest even', () => {
    for (const v of [0, -0, 1, -2, 0.5, 65504, 2 ** -24, 2 ** -14, 0.333251953125]) expect(fromHalf(toHalf(v))).toBe(v);
    expect(fromHalf(toHalf(1e6))).toBe(Infinity);
    expect(Number.isNaN(fromHalf(toHalf(NaN)))).toBe(true);
    expect(fromHalf(toHalf(1 + 2 ** -11))).toBe(1); // halfway: to even
    expect(fromHalf(toHalf(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
    // Relative error of a normal value is at most 2^-11.
    for (const v of [0.1, -3.14159, 1234.5678, 1e-3]) expect(Math.abs(fromHalf(toHalf(v)) - v) / Math.abs(v)).toBeLessThanOrEqual(2 ** -11);
  });
});

describe('training checkpoints', () => {
  it('resume continues exactly as an uninterrupted run (weights and Adam moments restored)', async () => {
    const straight = instance(3);
    const resumed = instance(3);
    const before = tf.memory().numTensors;
    steps(straight, 2, 0);
    const ckpt = path.join(dir, 'resume');
    await saveCheckpoint(ckpt, straight, CARD, { optimizers: true });
    const tail = steps(straight, 2, 2);

    await loadCheckpointInto(ckpt, resumed, { optimizers: true });
    const tailResumed = steps(resumed, 2, 2);
    expect(tailResumed).toEqual(tail);
    expect(weightsOf(resumed.networks['generator']!)).toEqual(weightsOf(straight.networks['generator']!));
    straight.dispose();
    resumed.dispose();
    expect(tf.memory().numTensors).toBeLessThanOrEqual(before);
  });

  it('a fresh optimiser without the saved moments would diverge from that run (the test above can fail)', async () => {
    const a = instance(4);
    const b = instance(4);
    steps(a, 2, 0);
    const ckpt = path.join(dir, 'no-opt');
    await saveCheckpoint(ckpt, a, CARD, { optimizers: true });
    const tail = steps(a, 2, 2);
    await loadCheckpointInto(ckpt, b); // weights only: the first loss matches, the update does not
    const tailB = steps(b, 2, 2);
    expect(tailB[0]).toEqual(tail[0]);
    expect(tailB[1]).not.toEqual(tail[1]);
    a.dispose();
    b.dispose();
  });
});

describe('shipped checkpoints', () => {
  it('float16 weights reproduce the images to within 8-bit output precision', async () => {
    const a = instance(5);
    const b = instance(6);
    const out = path.join(dir, 'f16');
    const card = await saveCheckpoint(out, a, CARD, { roles: ['generator'], dtype: 'float16' });
    expect(card.networks).toEqual(['generator']);
    expect((await readFile(path.join(out, 'weights.bin'))).length).toBe(2 * a.networks['generator']!.weights.reduce((n, w) => n + w.read().size, 0));
    await loadCheckpointInto(out, b);
    const z = tf.randomNormal([8, 64], 0, 1, 'float32', 9) as tf.Tensor2D;
    const [x, y] = [decode(a.networks['generator']!, z), decode(b.networks['generator']!, z)];
    const diff = tf.max(tf.abs(tf.sub(x, y))).dataSync()[0]!;
    expect(diff).toBeLessThan(1 / 255);
    tf.dispose([z, x, y]);
    a.dispose();
    b.dispose();
  });

  it('rewriting a checkpoint replaces it whole and leaves no temporary folders', async () => {
    const a = instance(7);
    const out = path.join(dir, 'atomic');
    await saveCheckpoint(out, a, { ...CARD, steps: 1 });
    await saveCheckpoint(out, a, { ...CARD, steps: 2 });
    expect((await readCard(out)).steps).toBe(2);
    const { readdir } = await import('node:fs/promises');
    expect((await readdir(dir)).filter((n) => n.startsWith('atomic'))).toEqual(['atomic']);
    a.dispose();
  });

  it('refuses weights that do not match: changed bytes, another architecture, a missing weight', async () => {
    const a = instance(8);
    const out = path.join(dir, 'bad');
    await saveCheckpoint(out, a, CARD, { roles: ['generator'] });
    const bin = await readFile(path.join(out, 'weights.bin'));
    bin[10] = bin[10]! ^ 0xff;
    await writeFile(path.join(out, 'weights.bin'), bin);
    await expect(loadCheckpointInto(out, instance(8))).rejects.toThrow(/SHA-256 .* does not match/);

    await saveCheckpoint(out, a, CARD, { roles: ['generator'] });
    const wider: FamilyInstance = { ...instance(8), networks: { generator: buildGenerator({ ...DCGAN_MNIST, filters: 16, seed: 1 }) } };
    await expect(loadCheckpointInto(out, wider)).rejects.toThrow(/has shape \[.*\], the model wants/);

    const manifest = JSON.parse(await readFile(path.join(out, 'weights.json'), 'utf8')) as { name: string }[];
    await writeFile(path.join(out, 'weights.json'), JSON.stringify(manifest.slice(1)));
    await expect(loadCheckpointInto(out, instance(8))).rejects.toThrow(/no weight generator\//);
    a.dispose();
  });
});
