/**
 * The evaluation's metrics (models/eval) against known answers: the symmetric eigendecomposition
 * and matrix square root FID rests on, FID (0 for a set against itself, independent of sample
 * order, the closed form for Gaussians, symmetric in its arguments), improved precision/recall
 * on constructed point sets, the Inception Score's two limits, and the truncated latents.
 * Pure float64 maths, no TF.js: the whole file runs in well under a second.
 */
import { describe, expect, it } from 'vitest';
import { mulberry32, randomNormal } from '../../lib/latent/random';
import { fid, frechetDistance } from '../../models/eval/fid';
import { inceptionScore } from '../../models/eval/inception-score';
import { gaussianStats, matMul, sqrtPsd, symmetricEigen } from '../../models/eval/linalg';
import { coverage, kthNeighbourRadii, precisionRecall } from '../../models/eval/precision-recall';
import { evaluationLatents, parseTruncation } from '../../models/eval/truncation';

/** n × n symmetric matrix with entries N(0, 1) (seeded). */
function randomSymmetric(n: number, seed: number): Float64Array {
  const g = randomNormal(n * n, mulberry32(seed));
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = g[i * n + j]!;
  return a;
}

function frobenius(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! ** 2;
  return Math.sqrt(s);
}

/**
 * `n` samples of N(mean, L Lᵀ) in `dim` dimensions, L a fixed random mixing matrix (so the
 * covariance is full and not diagonal).
 */
function correlatedSamples(n: number, dim: number, seed: number, shift = 0, mixSeed = 99): Float64Array {
  const rand = mulberry32(seed);
  const mix = randomNormal(dim * dim, mulberry32(mixSeed));
  const out = new Float64Array(n * dim);
  for (let s = 0; s < n; s++) {
    const e = randomNormal(dim, rand);
    for (let i = 0; i < dim; i++) {
      let v = shift;
      for (let j = 0; j < dim; j++) v += mix[i * dim + j]! * e[j]! * 0.5;
      out[s * dim + i] = v;
    }
  }
  return out;
}

describe('symmetricEigen', () => {
  it('finds A·V = V·Λ with orthonormal V for random symmetric matrices of several sizes', () => {
    for (const [n, seed] of [[1, 1], [2, 2], [5, 3], [17, 4], [64, 5]] as const) {
      const a = randomSymmetric(n, seed);
      const { values, vectors } = symmetricEigen(a, n);
      const av = matMul(a, vectors, n);
      let residual = 0;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) residual += (av[i * n + j]! - vectors[i * n + j]! * values[j]!) ** 2;
      expect(Math.sqrt(residual)).toBeLessThan(1e-12 * n * frobenius(a));
      const vtv = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) vtv[i * n + j]! += vectors[k * n + i]! * vectors[k * n + j]!;
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) expect(Math.abs(vtv[i * n + j]! - (i === j ? 1 : 0))).toBeLessThan(1e-12 * n);
      for (let j = 1; j < n; j++) expect(values[j]!).toBeGreaterThanOrEqual(values[j - 1]!);
    }
  });

  it('gives the known eigenvalues of small matrices, repeated ones included', () => {
    expect(Array.from(symmetricEigen([2, 1, 1, 2], 2).values).map((v) => +v.toFixed(12))).toEqual([1, 3]);
    expect(Array.from(symmetricEigen([4, 0, 0, 0, 4, 0, 0, 0, 4], 3).values)).toEqual([4, 4, 4]);
    // [[2,-1,0],[-1,2,-1],[0,-1,2]]: 2 - √2, 2, 2 + √2
    const v = symmetricEigen([2, -1, 0, -1, 2, -1, 0, -1, 2], 3).values;
    expect(v[0]).toBeCloseTo(2 - Math.SQRT2, 12);
    expect(v[1]).toBeCloseTo(2, 12);
    expect(v[2]).toBeCloseTo(2 + Math.SQRT2, 12);
  });

  it('refuses non-finite entries instead of looping', () => {
    expect(() => symmetricEigen([1, NaN, NaN, 1], 2)).toThrow(/non-finite/);
  });
});

describe('sqrtPsd', () => {
  it('squares back to the matrix for a positive definite and a singular covariance', () => {
    for (const [n, samples] of [[12, 200], [12, 5]] as const) {
      const { cov } = gaussianStats(correlatedSamples(samples, n, 7), samples, n);
      const root = sqrtPsd(cov, n);
      const back = matMul(root, root, n);
      let err = 0;
      for (let i = 0; i < n * n; i++) err = Math.max(err, Math.abs(back[i]! - cov[i]!));
      expect(err).toBeLessThan(1e-10 * frobenius(cov));
    }
  });
});

describe('FID', () => {
  const dim = 16;
  const n = 600;
  const a = correlatedSamples(n, dim, 11);

  it('is 0 (to 1e-6) for a set against itself and against a reordering of itself', () => {
    expect(fid(a, n, a, n, dim).fid).toBeLessThan(1e-6);
    const order = Array.from({ length: n }, (_, i) => i).reverse();
    const shuffled = new Float64Array(n * dim);
    order.forEach((src, i) => shuffled.set(a.subarray(src * dim, (src + 1) * dim), i * dim));
    expect(fid(a, n, shuffled, n, dim).fid).toBeLessThan(1e-6);
    // and a positive distance does not depend on the order either
    const b = correlatedSamples(n, dim, 12, 0.1);
    expect(Math.abs(fid(shuffled, n, b, n, dim).fid - fid(a, n, b, n, dim).fid)).toBeLessThan(1e-9);
  });

  it('matches the 2-D closed form computed from the sample means and covariances', () => {
    // For 2×2 matrices, tr (Σ₁Σ₂)^½ = √(tr Σ₁Σ₂ + 2 √(det Σ₁ det Σ₂)) (eigenvalues λ₁, λ₂ ≥ 0 of
    // Σ₁Σ₂: (√λ₁ + √λ₂)² = λ₁ + λ₂ + 2√(λ₁λ₂)). An elementwise or a wrong-order square root fails.
    for (const seed of [1, 2, 3]) {
      const x = correlatedSamples(400, 2, 100 + seed, 0, 7 + seed);
      const y = correlatedSamples(300, 2, 200 + seed, 0.3, 70 + seed);
      const sx = gaussianStats(x, 400, 2);
      const sy = gaussianStats(y, 300, 2);
      const [a11, a12, , a22] = sx.cov;
      const [b11, b12, , b22] = sy.cov;
      const trAB = a11! * b11! + 2 * a12! * b12! + a22! * b22!;
      const det = (a11! * a22! - a12! ** 2) * (b11! * b22! - b12! ** 2);
      const closed = (sx.mean[0]! - sy.mean[0]!) ** 2 + (sx.mean[1]! - sy.mean[1]!) ** 2 + a11! + a22! + b11! + b22! - 2 * Math.sqrt(trAB + 2 * Math.sqrt(det));
      expect(frechetDistance(sx, sy).fid).toBeCloseTo(closed, 10);
    }
  });

  it('approaches the population closed form for two large Gaussian samples', () => {
    // N(μ₁, diag(a)) vs N(μ₂, diag(b)) in a rotated basis: d² = ‖μ₁ − μ₂‖² + Σ (√aᵢ − √bᵢ)².
    const d = 4;
    const count = 40_000;
    const sa = [1, 4, 0.25, 2];
    const sb = [2, 1, 0.25, 3];
    const mu = [0.5, -0.5, 0, 1];
    const c = Math.cos(0.7);
    const s = Math.sin(0.7);
    const rotate = (v: number[]) => [c * v[0]! - s * v[1]!, s * v[0]! + c * v[1]!, c * v[2]! - s * v[3]!, s * v[2]! + c * v[3]!];
    const draw = (vars: number[], mean: number[], seed: number) => {
      const rand = mulberry32(seed);
      const out = new Float64Array(count * d);
      for (let i = 0; i < count; i++) {
        const e = randomNormal(d, rand);
        const r = rotate(vars.map((v, j) => Math.sqrt(v) * e[j]!));
        for (let j = 0; j < d; j++) out[i * d + j] = r[j]! + mean[j]!;
      }
      return out;
    };
    const rotatedMu = rotate(mu);
    const expected = rotatedMu.reduce((t, m) => t + m * m, 0) + sa.reduce((t, v, i) => t + (Math.sqrt(v) - Math.sqrt(sb[i]!)) ** 2, 0);
    const got = fid(draw(sa, [0, 0, 0, 0], 5), count, draw(sb, rotatedMu, 6), count, d).fid;
    expect(Math.abs(got - expected)).toBeLessThan(0.03 * expected);
  });

  it('is symmetric in its arguments for covariances that do not commute', () => {
    const x = correlatedSamples(300, 10, 21, 0, 1);
    const y = correlatedSamples(250, 10, 22, 0.2, 2);
    const ab = fid(x, 300, y, 250, 10);
    const ba = fid(y, 250, x, 300, 10);
    expect(ab.fid).toBeGreaterThan(0.5);
    expect(Math.abs(ab.fid - ba.fid)).toBeLessThan(1e-9 * ab.fid);
    expect(ab.traceResidual).toBeLessThan(1e-12);
  });
});

describe('improved precision and recall', () => {
  it('k-th neighbour radii of points on a line', () => {
    // 0..9 on a line, k = 3: the ends reach 3 away, the others 2.
    const line = Array.from({ length: 10 }, (_, i) => i);
    expect(Array.from(kthNeighbourRadii(line, 10, 1, 3)).map(Math.sqrt)).toEqual([3, 2, 2, 2, 2, 2, 2, 2, 2, 3]);
  });

  it('counts the generated points inside the real balls (boundary included) and the real points inside the generated ones', () => {
    const real = Array.from({ length: 10 }, (_, i) => i); // radii 3 at the ends, 2 inside
    // inside: 4.5, −3 (on 0's boundary), 11 (9's ball reaches 12); outside: 12.5, 100, −3.5
    const fake = [4.5, -3, 11, 12.5, 100, -3.5];
    const { precision } = precisionRecall(real, 10, fake, fake.length, 1, 3);
    expect(precision).toBeCloseTo(3 / 6, 12);
    // Generated points 0, 0.5, 1, 1.5 (k = 3 radii 1.5, 1, 1, 1.5) cover [−1.5, 3]: real points
    // 0..3 (3 on the boundary), recall 4/10; each lies in 0's ball of radius 3, precision 1.
    expect(precisionRecall(real, 10, [0, 0.5, 1, 1.5], 4, 1, 3)).toEqual({ precision: 1, recall: 0.4 });
  });

  it('gives 1 and 1 for the same set, 0 and 0 for far-apart sets, and swaps when the sets swap', () => {
    const a = correlatedSamples(200, 5, 31);
    expect(precisionRecall(a, 200, a, 200, 5)).toEqual({ precision: 1, recall: 1 });
    const far = correlatedSamples(200, 5, 32, 100);
    expect(precisionRecall(a, 200, far, 200, 5)).toEqual({ precision: 0, recall: 0 });
    // A narrow generator (mode collapse): precise, poor recall; swapped roles swap the figures.
    const narrow = Float64Array.from(correlatedSamples(200, 5, 33), (v) => v * 0.1);
    const pr = precisionRecall(a, 200, narrow, 200, 5);
    const swapped = precisionRecall(narrow, 200, a, 200, 5);
    expect(pr.precision).toBeGreaterThan(0.9);
    expect(pr.recall).toBeLessThan(0.3);
    expect(swapped).toEqual({ precision: pr.recall, recall: pr.precision });
  });

  it('coverage with zero radii counts exact duplicates only', () => {
    expect(coverage([1, 2, 3], 3, [2, 5], new Float64Array(2), 1)).toBeCloseTo(1 / 3, 12);
  });
});

describe('Inception Score', () => {
  it('equals the number of classes for confident predictions over a uniform class mix', () => {
    for (const k of [2, 4, 10]) {
      const n = 10 * k * 3; // every split holds each class 3 times
      const probs = new Float32Array(n * k);
      for (let i = 0; i < n; i++) probs[i * k + (i % k)] = 1;
      const is = inceptionScore(probs, n, k, 10);
      expect(is.mean).toBeCloseTo(k, 10);
      expect(is.std).toBeCloseTo(0, 10);
    }
  });

  it('is 1 for a single class, confident or not, and for identical uncertain predictions', () => {
    const n = 100;
    const k = 10;
    const single = new Float32Array(n * k);
    for (let i = 0; i < n; i++) single[i * k + 3] = 1;
    expect(inceptionScore(single, n, k).mean).toBeCloseTo(1, 12);
    const flat = new Float32Array(n * k).fill(0.1);
    expect(inceptionScore(flat, n, k).mean).toBeCloseTo(1, 6);
  });

  it('lies between 1 and K for a mixed case (two classes, soft predictions)', () => {
    // p(y|x) = (0.9, 0.1) for half the images, (0.1, 0.9) for the others: p(y) = (½, ½),
    // KL = 0.9 ln 1.8 + 0.1 ln 0.2 for every image.
    const probs = new Float32Array(200 * 2);
    for (let i = 0; i < 200; i++) probs.set(i % 2 ? [0.9, 0.1] : [0.1, 0.9], 2 * i);
    expect(inceptionScore(probs, 200, 2, 10).mean).toBeCloseTo(Math.exp(0.9 * Math.log(1.8) + 0.1 * Math.log(0.2)), 6);
  });
});

describe('evaluation latents', () => {
  it('psi scales the base draws toward 0; a radius redraws exactly the components beyond it', () => {
    const base = evaluationLatents(5, 400, 8);
    const half = evaluationLatents(5, 400, 8, { kind: 'psi', psi: 0.5 });
    for (let i = 0; i < base.length; i++) expect(half[i]).toBeCloseTo(base[i]! * 0.5, 6);
    const cut = evaluationLatents(5, 400, 8, { kind: 'radius', radius: 1 });
    let redrawn = 0;
    for (let i = 0; i < base.length; i++) {
      expect(Math.abs(cut[i]!)).toBeLessThanOrEqual(1);
      if (Math.abs(base[i]!) <= 1) expect(cut[i]).toBe(base[i]);
      else redrawn++;
    }
    // P(|z| > 1) = 0.317
    expect(redrawn / base.length).toBeGreaterThan(0.28);
    expect(redrawn / base.length).toBeLessThan(0.36);
    expect(evaluationLatents(5, 400, 8, { kind: 'radius', radius: 1 })).toEqual(cut);
  });

  it('parses psi=x and radius=d, refusing the rest', () => {
    expect(parseTruncation('psi=0.7')).toEqual({ kind: 'psi', psi: 0.7 });
    expect(parseTruncation('radius=2')).toEqual({ kind: 'radius', radius: 2 });
    expect(() => parseTruncation('radius=0')).toThrow(/positive/);
    expect(() => parseTruncation('psi=3')).toThrow(/\[0, 2\]/);
    expect(() => parseTruncation('sigma=1')).toThrow(/psi=<x>/);
  });
});
