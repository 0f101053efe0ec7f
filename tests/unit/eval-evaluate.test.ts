/**
 * models/eval/evaluate.ts, the protocol around the metrics, with known answers:
 *   - a model that always draws the same image: FID is ‖μ − μ_ref‖² + tr Σ_ref exactly,
 *     precision and recall 0, IS 1;
 *   - a conditional model that draws the class it is asked for: class accuracy 1 (per class
 *     too); one that draws the next class: 0;
 *   - the floor is computed from training images against held-out ones, with the same counts;
 *   - on real TF.js networks (a random classifier, a tiny VAE): no tensor is left behind, and the
 *     likelihoods come out ordered as the bounds say.
 * A stub classifier reads the class straight off the pixels (class k images are k/K bright), so
 * the expected values do not depend on any training.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DomainClassifier } from '../../models/classifier/index';
import { buildClassifier, domainClassifier } from '../../models/classifier/index';
import type { Dataset, GenerativeModel, ImageShape } from '../../models/common/family';
import { mulberry32 } from '../../models/common/random';
import { evaluateModel } from '../../models/eval/evaluate';
import { domainFeatures } from '../../models/eval/features';
import { gaussianStats, trace } from '../../models/eval/linalg';
import { createVae, vaeFamily } from '../../models/vae/index';
import { initEngine } from '../../server/inference/engine';

const K = 4;
const SHAPE: ImageShape = [4, 4, 1];
const PX = 16;

/** `count` images, class i mod K, every pixel k/K plus a little seeded noise. */
function dataset(count: number, seed: number): Dataset {
  const rand = mulberry32(seed);
  const images = new Float32Array(count * PX);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    labels[i] = i % K;
    for (let p = 0; p < PX; p++) images[i * PX + p] = labels[i]! / K + 0.05 * rand();
  }
  return { name: 'stub', imageShape: SHAPE, count, images, labels, numClasses: K };
}

/** Features: the mean and the first three pixels; class: the nearest k/K level of the mean. */
function stubClassifier(): DomainClassifier {
  const card = { id: 'stub-classifier', dataset: 'stub', imageShape: SHAPE, numClasses: K, classNames: [], factors: [], featureDim: 4, seed: 0 };
  return {
    card,
    featureDim: 4,
    numClasses: K,
    network: undefined as never,
    run(images, count) {
      const features = new Float32Array(count * 4);
      const probs = new Float32Array(count * K);
      for (let i = 0; i < count; i++) {
        let m = 0;
        for (let p = 0; p < PX; p++) m += images[i * PX + p]! / PX;
        features.set([m, images[i * PX]!, images[i * PX + 1]!, images[i * PX + 2]!], i * 4);
        probs[i * K + Math.min(K - 1, Math.max(0, Math.round((m - 0.025) * K)))] = 1;
      }
      return { features, probs, factors: {} };
    },
    dispose() {},
  };
}

function stubModel(draw: (z: Float32Array, cls: number | undefined) => number, conditional = false): GenerativeModel {
  return {
    family: 'dcgan',
    latentDim: 2,
    numClasses: conditional ? K : null,
    imageShape: SHAPE,
    decode(z, classes) {
      const zv = z.dataSync() as Float32Array;
      const cv = classes?.dataSync();
      const n = z.shape[0];
      const out = new Float32Array(n * PX);
      for (let i = 0; i < n; i++) out.fill(draw(zv.subarray(2 * i, 2 * i + 2), cv?.[i]), i * PX, (i + 1) * PX);
      return tf.tensor4d(out, [n, ...SHAPE]);
    },
    dispose() {},
  };
}

const data = { train: dataset(400, 1), heldOut: dataset(100, 2) };
const small = { samples: 200, isSplits: 4, truncations: [{ kind: 'psi' as const, psi: 1 }] };

beforeAll(async () => {
  await initEngine('wasm');
});

describe('evaluateModel', () => {
  it('scores a model that always draws the same image: FID = ‖μ − μ_ref‖² + tr Σ_ref, precision 0, recall 0, IS 1', () => {
    const classifier = stubClassifier();
    const { report } = evaluateModel({ model: stubModel(() => 0.9), data, extractor: domainFeatures(classifier), classifier, options: small });
    const ref = gaussianStats(classifier.run(data.heldOut.images, 100).features, 100, 4);
    const expected = [0.9, 0.9, 0.9, 0.9].reduce((s, v, i) => s + (v - ref.mean[i]!) ** 2, 0) + trace(ref.cov, 4);
    const s = report.settings[0]!;
    expect(s.fid).toBeCloseTo(expected, 6);
    expect(s.precision).toEqual({ mean: 0, std: 0 });
    expect(s.recall).toEqual({ mean: 0, std: 0 });
    expect(s.inceptionScore!.mean).toBeCloseTo(1, 9);
    expect(s.fidOverFloor).toBeCloseTo(s.fid / report.floor.fid, 12);
  });

  it('computes the floor from as many training images as generated ones against the same held-out set', () => {
    const classifier = stubClassifier();
    const { report } = evaluateModel({ model: stubModel(() => 0.5), data, extractor: domainFeatures(classifier), classifier, options: small });
    expect(report.reference).toEqual({ dataset: 'stub', set: 'held-out', count: 100 });
    expect(report.floor).toMatchObject({ set: 'training images', count: 200, classAccuracy: 1 });
    // Real images of the same classes and noise: a small FID, most points on each other's manifold,
    // IS just under K (a random choice of training images mixes the classes unevenly per split).
    expect(report.floor.fid).toBeLessThan(0.01);
    expect(report.floor.precision.mean).toBeGreaterThan(0.8);
    expect(report.floor.recall.mean).toBeGreaterThan(0.8);
    expect(report.floor.inceptionScore!.mean).toBeGreaterThan(3.7);
    expect(report.floor.inceptionScore!.mean).toBeLessThanOrEqual(K);
    expect(report.features.kind).toBe('domain');
    expect(report.features.description).toMatch(/domain FID.*not Inception/);
  });

  it('gives a conditional model that draws the asked class accuracy 1, one that draws the next class 0', () => {
    const classifier = stubClassifier();
    const run = (shift: number) =>
      evaluateModel({
        model: stubModel((z, c) => ((c! + shift) % K) / K + 0.01 + 0.01 * Math.tanh(z[0]!), true),
        data,
        extractor: domainFeatures(classifier),
        classifier,
        // 5 splits of 40: every split holds each class 10 times, so IS is exactly K.
        options: { ...small, isSplits: 5 },
      }).report.settings[0]!;
    const right = run(0);
    expect(right.classAccuracy).toBe(1);
    expect(right.perClassAccuracy).toEqual([1, 1, 1, 1]);
    expect(right.inceptionScore!.mean).toBeCloseTo(K, 6);
    expect(run(1).classAccuracy).toBe(0);
  });

  it('runs every truncation setting on the same base latents, in order', () => {
    const classifier = stubClassifier();
    // Brightness follows |z|: stronger truncation, darker images, a different FID per setting.
    const model = stubModel((z) => Math.min(1, Math.hypot(z[0]!, z[1]!) / 3));
    const { report } = evaluateModel({
      model, data, extractor: domainFeatures(classifier), classifier,
      options: { ...small, truncations: [{ kind: 'psi', psi: 1 }, { kind: 'psi', psi: 0.5 }, { kind: 'radius', radius: 1 }] },
    });
    expect(report.settings.map((s) => s.truncation)).toEqual(['psi=1', 'psi=0.5', 'radius=1']);
    expect(new Set(report.settings.map((s) => s.fid.toFixed(6))).size).toBe(3);
    expect(report.protocol).toMatchObject({ samples: 200, k: 3, truncations: ['psi=1', 'psi=0.5', 'radius=1'] });
  });

  it('leaves no tensor behind with real networks, and orders the VAE bounds (IW-NLL ≤ −ELBO on average)', () => {
    const mnistLike: ImageShape = [28, 28, 1];
    const rand = mulberry32(3);
    const fake = (count: number, seed: number): Dataset => {
      const r = mulberry32(seed);
      const images = Float32Array.from({ length: count * 784 }, () => (r() < 0.2 ? r() : 0));
      return { name: 'noise', imageShape: mnistLike, count, images, labels: Int32Array.from({ length: count }, () => Math.floor(rand() * 10)), numClasses: 10 };
    };
    const d = { train: fake(120, 4), heldOut: fake(40, 5) };
    const network = buildClassifier({ imageShape: mnistLike, numClasses: 10, factors: [], seed: 1 });
    const classifier = domainClassifier(network, { id: 'random', dataset: 'noise', imageShape: mnistLike, numClasses: 10, classNames: [], factors: [], featureDim: 128, seed: 1 });
    const vae = createVae(vaeFamily.parseConfig({ latentDim: 4, filters: 4 }, { name: 'noise', imageShape: mnistLike }) as never, { name: 'noise', imageShape: mnistLike });
    try {
      const before = tf.memory().numTensors;
      const { report, artifacts } = evaluateModel({
        model: vae.generative(), data: d, extractor: domainFeatures(classifier), classifier, vae,
        options: { samples: 60, isSplits: 3, iwK: 8, elboSamples: 2, reconstructions: 8, truncations: [{ kind: 'psi', psi: 1 }, { kind: 'radius', radius: 1 }] },
      });
      expect(tf.memory().numTensors).toBe(before);
      const l = report.likelihood!;
      expect(l).toMatchObject({ reconstruction: 'bce', k: 8, unit: 'nats per image', heldOut: { count: 40 }, train: { count: 40 } });
      expect(l.heldOut.iwNll).toBeLessThanOrEqual(-l.heldOut.elbo + 1);
      expect(l.heldOut.elbo).toBeCloseTo(-(l.heldOut.recon + l.heldOut.kl), 3);
      expect(artifacts.reconstructions?.count).toBe(8);
      expect(artifacts.reconstructions?.reconstructed).toHaveLength(8 * 784);
      expect(Number.isFinite(report.settings[1]!.fid)).toBe(true);
    } finally {
      vae.dispose();
      network.dispose();
    }
  });

  it('refuses a model whose images do not match the data set', () => {
    const classifier = stubClassifier();
    const wrong = { ...stubModel(() => 0), imageShape: [8, 8, 1] as ImageShape };
    expect(() => evaluateModel({ model: wrong, data, extractor: domainFeatures(classifier), classifier, options: small })).toThrow(/8×8×1 images/);
  });
});
