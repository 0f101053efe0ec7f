/**
 * Method 3, principal components: ranked candidate directions without a classifier.
 *
 * `activations` (GANSpace: Härkönen, Hertzmann, Lehtinen & Paris 2020, "GANSpace: Discovering
 * Interpretable GAN Controls", NeurIPS). Sample N latents zⱼ ~ N(0, I), compute the generator's
 * first-layer activations yⱼ (after its normalisation and nonlinearity: ./generator.ts), and take
 * the principal components of the yⱼ: y ≈ μ + V x. Directions in Z follow from the paper's
 * linear regression of the latents on the principal coordinates xⱼ = Vᵀ(yⱼ − μ):
 *     U = argmin_U Σⱼ ‖U xⱼ − zⱼ‖²
 * whose k-th column is the latent direction of the k-th component (the coordinates are
 * uncorrelated, so each column is Σⱼ zⱼ x_jk / Σⱼ x_jk²). Why not PCA of z itself: the prior is
 * isotropic, every direction of Z has the same variance, and its "principal components" would be
 * noise. The nonlinearity is what makes the activations' components differ from SeFa's
 * closed-form ones (for a purely linear first layer, GANSpace's components are SeFa's).
 *
 * The activations are wide (6,272 units for the MNIST DCGAN): their top components come from a
 * randomised block Krylov SVD (Musco & Musco 2015, "Randomized Block Krylov Methods for Stronger
 * and Faster Approximate Singular Value Decomposition", NeurIPS; after Halko, Martinsson & Tropp
 * 2011) with TF.js matrix products, never forming the units × units covariance.
 *
 * `encoded` (models with an encoder): the principal components of the posterior means μ(x) of the
 * model's data set images. The aggregate posterior, unlike the prior, is not isotropic: its main
 * axes are where the data varies most in this model's Z.
 *
 * Each component's share of the variance is in its meta (`explainedVariance`); components come
 * in descending order of it. Signs are arbitrary: each vector is flipped so that its largest
 * entry is positive, so a run is reproducible.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gaussianStats, symmetricEigen } from '../eval/linalg';
import { randomNormal, mulberry32 } from '../common/random';
import { normalize } from '../../lib/latent/vector';
import { latentBatch, sampleClasses, sampleLatents } from './sampling';
import type { DirectionGenerator, FoundDirection, ProgressFn } from './types';

/**
 * Block size beyond the components asked for, and Krylov iterations. The activations' spectrum
 * is flat (the top components hold 2–3% of the variance each, 2% apart), where plain subspace
 * iteration converges slowly: against an exact decomposition of 800 samples, subspace iteration
 * with 20 extra vectors and 5 iterations was off by 0.7% of the top-5 variances, a Krylov space
 * of blocks of k + 7 over 4 iterations by 0.13%, with less than half the products (and
 * tests/unit/directions.test.ts checks it against an exact one).
 */
const EXTRA_BLOCK = 7;
const KRYLOV_ITERATIONS = 4;
/** Latents per activation batch. */
const ACTIVATION_BATCH = 500;

export interface PcaParams {
  source: 'activations' | 'encoded';
  components: number;
  /** Latents sampled (activations). */
  samples: number;
  seed: number;
}

/** Orthonormalises the columns of an r × c row-major matrix in place (modified Gram–Schmidt, twice). */
function orthonormalColumns(a: Float64Array, r: number, c: number): void {
  for (let j = 0; j < c; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let d = 0;
        for (let i = 0; i < r; i++) d += a[i * c + j]! * a[i * c + k]!;
        for (let i = 0; i < r; i++) a[i * c + j]! -= d * a[i * c + k]!;
      }
    }
    let norm = 0;
    for (let i = 0; i < r; i++) norm += a[i * c + j]! ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < r; i++) a[i * c + j] = norm > 0 ? a[i * c + j]! / norm : 0;
  }
}

/** The vector with its sign fixed: its largest-magnitude entry positive. */
function fixSign(v: Float32Array): Float32Array {
  let at = 0;
  for (let i = 1; i < v.length; i++) if (Math.abs(v[i]!) > Math.abs(v[at]!)) at = i;
  return v[at]! < 0 ? v.map((x) => -x) : v;
}

/** GANSpace over the first-layer activations (see the header). */
export async function activationPcaDirections(gen: DirectionGenerator, params: PcaParams, onProgress?: ProgressFn): Promise<FoundDirection[]> {
  const layer = gen.firstLayer;
  if (!layer) throw new Error(`model ${gen.id} has no first dense layer to take activations from`);
  const dim = gen.latentDim;
  const n = params.samples;
  const k = params.components;
  const b = Math.min(k + EXTRA_BLOCK, n, layer.units);
  if (k > b) throw new RangeError(`${k} components need at least ${k} samples and units`);
  // The Krylov space [YΩ, (YYᵀ)YΩ, …] has b·(q + 1) columns, at most the samples and units.
  const q = Math.max(0, Math.min(KRYLOV_ITERATIONS, Math.floor(Math.min(n, layer.units) / b) - 1));
  const l = b * (q + 1);
  const z = sampleLatents(params.seed, n, dim);
  const classes = sampleClasses(params.seed, n, gen.numClasses);
  const total = 3;

  // Y: n × units activations, centred; kept as one tensor for the products below.
  const parts: tf.Tensor2D[] = [];
  for (let start = 0; start < n; start += ACTIVATION_BATCH) {
    const m = Math.min(ACTIVATION_BATCH, n - start);
    parts.push(tf.tidy(() => {
      const batch = latentBatch(z, classes, dim, start, m);
      return layer.activations(batch.z, batch.classes);
    }));
  }
  const y = tf.tidy(() => {
    const all = tf.concat(parts, 0);
    return tf.sub(all, tf.mean(all, 0, true)) as tf.Tensor2D;
  });
  tf.dispose(parts);
  // Yᵀ once: every product below is a plain one (transposed products are slow on wasm, and
  // transposing Y, 12.5 M values for the MNIST DCGAN, in every iteration cost more than the products).
  const yT = tf.transpose(y) as tf.Tensor2D;
  try {
    const totalVariance = tf.tidy(() => tf.sum(tf.square(y)).dataSync()[0]! / (n - 1));
    await onProgress?.(1, total);

    // Block Krylov space of Y's column space: K = [Q₀, Q₁, …], Qᵢ₊₁ = orth(Y Yᵀ Qᵢ), Q₀ = orth(YΩ).
    const omega = randomNormal(layer.units * b, mulberry32((params.seed ^ 0x6a5_9ace) >>> 0));
    let block = Float64Array.from(tf.tidy(() => tf.matMul(y, tf.tensor2d(omega, [layer.units, b])).dataSync()));
    orthonormalColumns(block, n, b);
    const blocks = [block];
    for (let it = 0; it < q; it++) {
      const current = block;
      block = Float64Array.from(tf.tidy(() => tf.matMul(y, tf.matMul(yT, tf.tensor2d(Float32Array.from(current), [n, b]))).dataSync()));
      orthonormalColumns(block, n, b);
      blocks.push(block);
    }
    const krylov = new Float64Array(n * l);
    blocks.forEach((bk, j) => {
      for (let i = 0; i < n; i++) for (let c = 0; c < b; c++) krylov[i * l + j * b + c] = bk[i * b + c]!;
    });
    orthonormalColumns(krylov, n, l);
    const basis = krylov;
    await onProgress?.(2, total);

    // W = Yᵀ Q (units × l) = Bᵀ for B = Qᵀ Y; the eigenvectors of B Bᵀ = Wᵀ W (l × l) give Y's
    // top singular triplets.
    const bbt = tf.tidy(() => {
      const w = tf.matMul(yT, tf.tensor2d(Float32Array.from(basis), [n, l]));
      return tf.matMul(tf.transpose(w), w).dataSync();
    });
    const eig = symmetricEigen(bbt, l);
    const out: FoundDirection[] = [];
    for (let c = 0; c < k; c++) {
      const col = l - 1 - c; // eigenvalues ascend
      const lambda = Math.max(0, eig.values[col]!);
      // Principal coordinates of the samples: x = Q w σ (σ² = λ).
      const x = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let j = 0; j < l; j++) s += basis[i * l + j]! * eig.vectors[j * l + col]!;
        x[i] = s * Math.sqrt(lambda);
      }
      // Regression of z on x: u = Σⱼ zⱼ xⱼ / Σⱼ xⱼ².
      const u = new Float64Array(dim);
      let xx = 0;
      for (let i = 0; i < n; i++) {
        xx += x[i]! * x[i]!;
        for (let d = 0; d < dim; d++) u[d]! += z[i * dim + d]! * x[i]!;
      }
      const vector = normalize(u.map((v) => v / Math.max(xx, 1e-30)));
      if (!vector) continue;
      out.push({
        suffix: `pc${c + 1}`,
        vector: fixSign(vector),
        meta: { source: 'activations', rank: c + 1, explainedVariance: lambda / (n - 1) / totalVariance, layer: layer.name, samples: n },
      });
    }
    await onProgress?.(3, total);
    return out;
  } finally {
    tf.dispose([y, yT]);
  }
}

/** PCA of the posterior means of `count` images (models with an encoder; see the header). */
export async function encodedPcaDirections(
  gen: DirectionGenerator,
  images: Float32Array,
  count: number,
  params: Pick<PcaParams, 'components'>,
  onProgress?: ProgressFn,
): Promise<FoundDirection[]> {
  const encode = gen.encodeMean;
  if (!encode) throw new Error(`model ${gen.id} has no encoder`);
  const dim = gen.latentDim;
  const [h, w, c] = gen.imageShape;
  const px = h * w * c;
  if (images.length !== count * px) throw new RangeError(`expected ${count} images of ${h}×${w}×${c}`);
  if (params.components > dim) throw new RangeError(`at most ${dim} components in a ${dim}-dimensional latent space`);
  const means = new Float32Array(count * dim);
  for (let start = 0; start < count; start += ACTIVATION_BATCH) {
    const m = Math.min(ACTIVATION_BATCH, count - start);
    const mu = tf.tidy(() => encode(tf.tensor4d(images.subarray(start * px, (start + m) * px), [m, h, w, c])));
    means.set(mu.dataSync(), start * dim);
    mu.dispose();
    await onProgress?.(start + m, count + 1);
  }
  const { cov } = gaussianStats(means, count, dim);
  const eig = symmetricEigen(cov, dim);
  let trace = 0;
  for (const v of eig.values) trace += Math.max(0, v);
  const out: FoundDirection[] = [];
  for (let r = 0; r < params.components; r++) {
    const col = dim - 1 - r;
    const v = Float32Array.from({ length: dim }, (_, i) => eig.vectors[i * dim + col]!);
    out.push({
      suffix: `pc${r + 1}`,
      vector: fixSign(normalize(v)!),
      meta: { source: 'encoded', rank: r + 1, explainedVariance: Math.max(0, eig.values[col]!) / trace, images: count },
    });
  }
  await onProgress?.(count + 1, count + 1);
  return out;
}
