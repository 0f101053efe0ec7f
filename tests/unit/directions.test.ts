/**
 * The direction methods (models/directions) on small inputs: each of the six on a shipped model
 * (dcgan-mnist with classifier-mnist, vae-shapes32 with classifier-shapes32, cgan-mnist for a
 * conditional first layer), the scores, the randomised PCA against an exact one, SeFa against
 * its defining eigen-equation, the logistic fit against a known boundary, and no tensor left
 * behind by any of them. Full-size figures are bench:directions' (bench/directions.ts).
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulberry32, randomNormal, seededNormal } from '../../lib/latent/random';
import { dot, norm } from '../../lib/latent/vector';
import { symmetricEigen } from '../../models/eval/linalg';
import {
  activationPcaDirections,
  centroidDifferenceDirection,
  classifierGradientDirection,
  conditionalDirection,
  discoverDirections,
  encodedPcaDirections,
  linearBoundaryDirection,
  scoreDirection,
  sefaDirections,
  steerLatents,
  type AttributeScorer,
  type DirectionGenerator,
  type FactorProbe,
} from '../../models/directions/index';
import { STEER_CLASS_CONFIDENCE } from '../../models/directions/classifier-gradient';
import { fitLogistic, logisticAccuracy } from '../../models/directions/logistic';
import { circularLinearCorrelation, withinGroupCorrelation, withinGroupSlope } from '../../models/directions/stats';
import { DirectionDiscoverRequestSchema } from '../../lib/protocol/directions';
import { initEngine } from '../../server/inference/engine';
import { factorProbe, loadDirectionModel, loadScorer, type DirectionModel } from '../../server/directions/loaders';

const MODEL_DIR = path.resolve('models/pretrained');
let dcgan: DirectionModel;
let vae: DirectionModel;
let cgan: DirectionModel;
let mnist: AttributeScorer;
let shapes: AttributeScorer;
let probe: FactorProbe;
const disposers: (() => void)[] = [];

beforeAll(async () => {
  await initEngine('wasm');
  dcgan = await loadDirectionModel(MODEL_DIR, 'dcgan-mnist');
  vae = await loadDirectionModel(MODEL_DIR, 'vae-shapes32');
  cgan = await loadDirectionModel(MODEL_DIR, 'cgan-mnist');
  const m = loadScorer('mnist', MODEL_DIR, dcgan.gen)!;
  const s = loadScorer('shapes32', MODEL_DIR, vae.gen)!;
  mnist = m.scorer;
  shapes = s.scorer;
  probe = factorProbe('shapes32', shapes)!;
  disposers.push(() => dcgan.dispose(), () => vae.dispose(), () => cgan.dispose(), () => m.classifier.dispose(), () => s.classifier.dispose());
});
afterAll(() => disposers.forEach((d) => d()));

/** Runs `fn` and checks that it leaves tf.memory().numTensors where it was. */
async function noLeak<T>(fn: () => Promise<T> | T): Promise<T> {
  const before = tf.memory().numTensors;
  const out = await fn();
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

function gram(vs: Float32Array[]): number[][] {
  return vs.map((a) => vs.map((b) => dot(a, b)));
}

describe('logistic regression (the linear boundary fit)', () => {
  it('recovers the direction of a known boundary and classifies held-out points as well as it', () => {
    const d = 8;
    const truth = Float64Array.from(seededNormal(3, d));
    const rand = mulberry32(9);
    const draw = (n: number) => {
      const x = randomNormal(n * d, rand);
      const y = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        let m = 0.5;
        for (let j = 0; j < d; j++) m += 2 * truth[j]! * x[i * d + j]!;
        y[i] = rand() < 1 / (1 + Math.exp(-m)) ? 1 : 0;
      }
      return { x, y };
    };
    const train = draw(3000);
    const fit = fitLogistic(train.x, train.y, 3000, d, 1e-4);
    const cos = dot(fit.w, truth) / (norm(fit.w) * norm(truth));
    expect(cos).toBeGreaterThan(0.98);
    const test = draw(2000);
    const ours = logisticAccuracy(fit, test.x, test.y, 2000, d);
    const best = logisticAccuracy({ w: truth.map((v) => 2 * v), b: 0.5, iterations: 0, loss: 0 }, test.x, test.y, 2000, d);
    expect(ours).toBeGreaterThan(best - 0.02);
    expect(() => fitLogistic([1, 2], [1], 1, 2, 0)).toThrow(RangeError);
  });
});

describe('correlations of the scores', () => {
  it('within-latent correlation ignores each latent level; circular-linear correlation sees an angle that turns with t', () => {
    const t = [-1, 0, 1, -1, 0, 1];
    expect(withinGroupCorrelation(t, [10, 11, 12, -5, -4, -3], 3)).toBeCloseTo(1, 10);
    expect(withinGroupSlope(t, [10, 12, 14, 0, 2, 4], 3)).toBeCloseTo(2, 10);
    expect(withinGroupCorrelation(t, [3, 1, 3, 0, 5, 0], 3)).toBeCloseTo(0, 10);
    const ts = Array.from({ length: 200 }, (_, i) => i / 50);
    expect(circularLinearCorrelation(ts, ts.map((x) => 1.3 * x))).toBeGreaterThan(0.9);
    const noise = mulberry32(4);
    expect(circularLinearCorrelation(ts, ts.map(() => 2 * Math.PI * noise()))).toBeLessThan(0.25);
  });
});

describe('SeFa', () => {
  it('gives orthonormal eigenvectors of the column-normalised first-layer kernel, eigenvalues descending', async () => {
    const found = await noLeak(() => sefaDirections(dcgan.gen, { components: 4 }));
    expect(found).toHaveLength(4);
    const g = gram(found.map((f) => f.vector));
    g.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(i === j ? 1 : 0, 4)));
    const eig = found.map((f) => f.meta['eigenvalue'] as number);
    for (let i = 1; i < eig.length; i++) expect(eig[i]).toBeLessThanOrEqual(eig[i - 1]!);
    // K̂ K̂ᵀ v = λ v, computed here in float64 from the kernel.
    const layer = dcgan.gen.firstLayer!;
    const dim = dcgan.gen.latentDim;
    const k = Float64Array.from(layer.kernel);
    for (let u = 0; u < layer.units; u++) {
      let s = 0;
      for (let i = 0; i < dim; i++) s += k[i * layer.units + u]! ** 2;
      for (let i = 0; i < dim; i++) k[i * layer.units + u]! /= Math.sqrt(s);
    }
    const v = found[0]!.vector;
    const kv = new Float64Array(layer.units);
    for (let u = 0; u < layer.units; u++) for (let i = 0; i < dim; i++) kv[u]! += k[i * layer.units + u]! * v[i]!;
    for (let i = 0; i < dim; i++) {
      let s = 0;
      for (let u = 0; u < layer.units; u++) s += k[i * layer.units + u]! * kv[u]!;
      expect(s).toBeCloseTo(eig[0]! * v[i]!, 2);
    }
  });

  it('uses only the z rows of a conditional model\'s first layer, and refuses too many components', () => {
    expect(cgan.gen.firstLayer!.kernel.length).toBe(cgan.gen.latentDim * cgan.gen.firstLayer!.units);
    expect(sefaDirections(cgan.gen, { components: 2 })).toHaveLength(2);
    expect(() => sefaDirections(vae.gen, { components: 11 })).toThrow(/at most 10/);
  });
});

describe('PCA', () => {
  it('GANSpace: the randomised SVD finds the exact top components of the first-layer activations', async () => {
    const n = 300;
    const found = await noLeak(() => activationPcaDirections(dcgan.gen, { source: 'activations', components: 3, samples: n, seed: 5 }));
    expect(found.map((f) => f.suffix)).toEqual(['pc1', 'pc2', 'pc3']);
    for (const f of found) expect(norm(f.vector)).toBeCloseTo(1, 5);
    // Exact: eigenvalues of the centred activations' n × n Gram matrix.
    const { sampleLatents } = await import('../../models/directions/sampling');
    const z = sampleLatents(5, n, dcgan.gen.latentDim);
    const y = tf.tidy(() => {
      const a = dcgan.gen.firstLayer!.activations(tf.tensor2d(z, [n, dcgan.gen.latentDim]));
      const c = tf.sub(a, tf.mean(a, 0, true));
      return { g: tf.matMul(c, tf.transpose(c)).dataSync(), total: tf.sum(tf.square(c)).dataSync()[0]! };
    });
    const exact = symmetricEigen(y.g, n).values;
    for (let c = 0; c < 3; c++) {
      expect(found[c]!.meta['explainedVariance'] as number).toBeCloseTo(exact[n - 1 - c]! / y.total, 3);
    }
  });

  it('encoded: components of the posterior means, orthonormal, variance shares descending', async () => {
    const found = await noLeak(() => encodedPcaDirections(vae.gen, probe.images.subarray(0, 200 * 32 * 32 * 3), 200, { components: 3 }));
    const g = gram(found.map((f) => f.vector));
    g.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(i === j ? 1 : 0, 4)));
    const shares = found.map((f) => f.meta['explainedVariance'] as number);
    expect(shares[0]).toBeGreaterThan(shares[1]!);
    expect(shares[1]).toBeGreaterThan(shares[2]!);
  });
});

describe('classifier gradient', () => {
  it('a direction toward a digit raises that digit\'s probability along it', async () => {
    const found = await noLeak(() => classifierGradientDirection(dcgan.gen, mnist, { attribute: '3', samples: 16, seed: 2 }));
    expect(norm(found.vector)).toBeCloseTo(1, 5);
    expect(found.meta['agreement']).toBeGreaterThan(0);
    const scores = await noLeak(() => scoreDirection(dcgan.gen, mnist, found.vector, { samples: 8, span: 2, seed: 3, target: '3' }));
    expect(scores.slope!['3']).toBeGreaterThan(0);
    expect(scores.target).toBe('3');
    expect(Object.keys(scores.entanglement!)).toHaveLength(9);
    expect(scores.factorCorrelation).toBeUndefined();
  });

  it('steer: each latent climbs toward the digit, at most steps × stepSize away, and stops once sure', async () => {
    const n = 4;
    const z = seededNormal(11, n * 64);
    const before = await mnistValues(z, n, '7');
    const r = await noLeak(() => steerLatents(dcgan.gen, mnist, z, undefined, n, { attribute: '7', steps: 25, stepSize: 0.2 }));
    expect(Array.from(z)).toEqual(Array.from(seededNormal(11, n * 64))); // input untouched
    let climbed = 0;
    for (let i = 0; i < n; i++) {
      const moved = norm(Array.from({ length: 64 }, (_, j) => r.z[i * 64 + j]! - z[i * 64 + j]!));
      expect(moved).toBeLessThanOrEqual(r.steps[i]! * 0.2 + 1e-4);
      if (before[i]! >= STEER_CLASS_CONFIDENCE) {
        // Already sure at the start: it stays where it is.
        expect(r.steps[i]).toBe(0);
        expect(r.value[i]).toBeCloseTo(before[i]!, 5);
        continue;
      }
      climbed++;
      expect(r.value[i]).toBeGreaterThan(before[i]!);
      if (r.steps[i]! < 25) expect(r.value[i]).toBeGreaterThan(0.5);
    }
    expect(climbed).toBeGreaterThanOrEqual(2);
    expect(r.reached.some((x) => x === 1)).toBe(true);
  });
});

async function mnistValues(z: Float32Array, n: number, attribute: string): Promise<number[]> {
  const { scoreLatents } = await import('../../models/directions/sampling');
  const { attributeValue } = await import('../../models/directions/attributes');
  const scored = await scoreLatents(dcgan.gen, mnist, z, undefined, n);
  return Array.from({ length: n }, (_, i) => attributeValue(scored, mnist.attribute(attribute), i));
}

describe('linear boundary on the shapes VAE', () => {
  it('finds a hue direction that moves the hue head and the encoded true hue, with its held-out accuracy', async () => {
    const found = await noLeak(() => linearBoundaryDirection(vae.gen, shapes, { attribute: 'hue', samples: 600, extremes: 0.2, heldOut: 0.25, lambda: 1e-3, seed: 1 }));
    expect(found.meta['heldOutAccuracy']).toBeGreaterThan(0.8);
    expect(found.meta['perSide']).toBe(120);
    const scores = await noLeak(() => scoreDirection(vae.gen, shapes, found.vector, { samples: 12, span: 2, seed: 7, target: 'hue' }, probe));
    expect(scores.factorCorrelation!['hue']).toBeGreaterThan(0.7);
    expect(scores.encoderCorrelation!['hue']).toBeGreaterThan(0.7);
    expect(scores.flipRate!['hue']).toBeGreaterThan(0.5);
    expect(Object.keys(scores.factorCorrelation!).sort()).toEqual(['hue', 'rotation', 'scale', 'x', 'y']);
  });

  it('refuses an attribute the classifier does not have, and too few extremes', async () => {
    await expect(linearBoundaryDirection(vae.gen, shapes, { attribute: 'smile', samples: 200, extremes: 0.2, heldOut: 0.2, lambda: 1e-3, seed: 1 })).rejects.toThrow(/no attribute "smile"/);
    await expect(linearBoundaryDirection(vae.gen, shapes, { attribute: 'hue', samples: 10, extremes: 0.2, heldOut: 0.2, lambda: 1e-3, seed: 1 })).rejects.toThrow(/too few/);
  });
});

describe('centroid difference and conditional manipulation', () => {
  it('the centroid difference carries one group onto the other; a conditional direction is orthogonal to its conditions', async () => {
    const a = [seededNormal(1, 10), seededNormal(2, 10)];
    const b = [seededNormal(3, 10)];
    const c = centroidDifferenceDirection(a, b);
    for (let i = 0; i < 10; i++) expect(c.vector[i]).toBeCloseTo((a[0]![i]! + a[1]![i]!) / 2 - b[0]![i]!, 5);
    expect(() => centroidDifferenceDirection(a, a)).toThrow(/same centroid/);
    const d = conditionalDirection(seededNormal(4, 10), [seededNormal(5, 10), seededNormal(6, 10)]);
    expect(Math.abs(dot(d.vector, seededNormal(5, 10)))).toBeLessThan(1e-5);
    expect(norm(d.vector)).toBeCloseTo(1, 5);
    expect(() => conditionalDirection(seededNormal(4, 10), [])).toThrow(RangeError);
  });

  it('discoverDirections dispatches a parsed request (defaults filled) and refuses missing inputs', async () => {
    const spec = DirectionDiscoverRequestSchema.parse({ method: 'sefa', params: { components: 2 } });
    const gen: DirectionGenerator = vae.gen;
    expect(await noLeak(() => discoverDirections(spec, { gen }))).toHaveLength(2);
    const boundary = DirectionDiscoverRequestSchema.parse({ method: 'linear-boundary', params: { attribute: 'hue' } });
    expect(boundary.method === 'linear-boundary' && boundary.params.samples).toBe(10_000);
    await expect(discoverDirections(boundary, { gen })).rejects.toThrow(/needs the model's classifier/);
    await expect(discoverDirections(DirectionDiscoverRequestSchema.parse({ method: 'pca', params: { source: 'activations' } }), { gen: { ...gen, firstLayer: undefined } as unknown as DirectionGenerator })).rejects.toThrow(/no first dense layer/);
  });
});
