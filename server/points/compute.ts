/**
 * Computes a model's point cloud (lib/points/format.ts). Runs in its own child process
 * (./worker.ts), never on the realtime thread nor in the engine worker that renders rooms.
 *
 * - A model with an encoder (VAE, VAE-GAN) on a data set this service can load: the posterior
 *   means of the data set's held-out images, labelled with their true classes (and, for shapes,
 *   the generating factors as scores).
 * - Any other model (GANs, imported ones): `count` seeded N(0, I) latents, each decoded and
 *   scored by the data set's domain classifier (models/classifier): the class argmax as label,
 *   its probability as a score, and the factor heads' predictions where the classifier has them
 *   (shapes). A conditional model decodes latent i with class i mod K. Without a classifier the
 *   points carry no labels and are coloured by |z|.
 *
 * Then PCA of the latents (mean and the top three eigenvectors of their covariance), so the
 * browser can project any latent into the same three coordinates.
 */
import * as tf from '@tensorflow/tfjs-core';
import { seededNormal } from '../../lib/latent/random';
import { POINTS_FORMAT, type PointCloud } from '../../lib/points/format';
import type { Dataset, GenerativeModel } from '../../models/common/family';
import { loadDomainClassifier } from '../../models/classifier/index';
import { describeDataset, loadDataset } from '../../models/datasets/index';
import { symmetricEigen } from '../../models/eval/linalg';

/** Latents decoded per call (bounded memory). */
const DECODE_BATCH = 250;
/** Seed of a GAN's sampled latents: the same cloud on every machine. */
export const POINTS_SEED = 20_261_203;

export interface PointsSource {
  id: string;
  weightsHash: string;
  /** Data set name from the card (`mnist`, `shapes32`, ...), or undefined. */
  dataset: string | undefined;
  model: GenerativeModel;
}

export interface ComputeOptions {
  /** Latents sampled for a model without an encoder. */
  count: number;
  /** Extra folders where the data set's classifier may live (MODEL_DIR). */
  classifierDirs: string[];
  log?: (line: string) => void;
}

function decodeAll(model: GenerativeModel, latents: Float32Array, count: number): Float32Array {
  const [h, w, c] = model.imageShape;
  const px = h * w * c;
  const out = new Float32Array(count * px);
  for (let start = 0; start < count; start += DECODE_BATCH) {
    const n = Math.min(DECODE_BATCH, count - start);
    const pixels = tf.tidy(() => {
      const z = tf.tensor2d(latents.subarray(start * model.latentDim, (start + n) * model.latentDim), [n, model.latentDim]);
      const classes = model.numClasses ? tf.tensor1d(Int32Array.from({ length: n }, (_, i) => (start + i) % model.numClasses!), 'int32') : undefined;
      return model.decode(z, classes).dataSync() as Float32Array;
    });
    out.set(pixels, start * px);
  }
  return out;
}

function encodeAll(model: GenerativeModel, images: Float32Array, count: number): Float32Array {
  const [h, w, c] = model.imageShape;
  const px = h * w * c;
  const out = new Float32Array(count * model.latentDim);
  for (let start = 0; start < count; start += DECODE_BATCH) {
    const n = Math.min(DECODE_BATCH, count - start);
    const means = tf.tidy(() => {
      const x = tf.tensor4d(images.subarray(start * px, (start + n) * px), [n, h, w, c]);
      return model.encode!(x).mean.dataSync() as Float32Array;
    });
    out.set(means, start * model.latentDim);
  }
  return out;
}

/** Mean, top three unit eigenvectors of the covariance, their variance fractions, projections. */
export function pca(latents: Float32Array, count: number, dim: number) {
  const mean = new Float64Array(dim);
  for (let i = 0; i < count; i++) for (let j = 0; j < dim; j++) mean[j]! += latents[i * dim + j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= Math.max(1, count);
  const cov = new Float64Array(dim * dim);
  const row = new Float64Array(dim);
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < dim; j++) row[j] = latents[i * dim + j]! - mean[j]!;
    for (let a = 0; a < dim; a++) {
      const ra = row[a]!;
      for (let b = 0; b <= a; b++) cov[a * dim + b]! += ra * row[b]!;
    }
  }
  const denom = Math.max(1, count - 1);
  for (let a = 0; a < dim; a++) {
    for (let b = 0; b <= a; b++) {
      const v = cov[a * dim + b]! / denom;
      cov[a * dim + b] = v;
      cov[b * dim + a] = v;
    }
  }
  const { values, vectors } = symmetricEigen(cov, dim);
  let total = 0;
  for (let j = 0; j < dim; j++) total += Math.max(0, values[j]!);
  const components = new Float32Array(3 * dim);
  const explained = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    const col = dim - 1 - k; // eigenvalues ascend
    if (col < 0) continue;
    // A sign convention (largest entry positive) so a recomputation gives the same picture.
    let big = 0;
    for (let i = 0; i < dim; i++) if (Math.abs(vectors[i * dim + col]!) > Math.abs(big)) big = vectors[i * dim + col]!;
    const sign = big < 0 ? -1 : 1;
    for (let i = 0; i < dim; i++) components[k * dim + i] = sign * vectors[i * dim + col]!;
    explained[k] = total > 0 ? Math.max(0, values[col]!) / total : 0;
  }
  const mean32 = Float32Array.from(mean);
  const positions = new Float32Array(count * 3);
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < 3; k++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += components[k * dim + j]! * (latents[i * dim + j]! - mean32[j]!);
      positions[i * 3 + k] = s;
    }
  }
  return { mean: mean32, components, explained, positions };
}

async function heldOutOf(dataset: string | undefined): Promise<Dataset | undefined> {
  if (!dataset) return undefined;
  try {
    if (!describeDataset(dataset)) return undefined; // folders: their path is the trainer's, maybe not here
    return (await loadDataset(dataset)).heldOut;
  } catch {
    return undefined;
  }
}

export async function computePoints(src: PointsSource, opts: ComputeOptions): Promise<PointCloud> {
  const { model } = src;
  const dim = model.latentDim;
  const log = opts.log ?? (() => {});
  const heldOut = model.encode ? await heldOutOf(src.dataset) : undefined;
  const sameShape = heldOut && heldOut.imageShape.every((v, i) => v === model.imageShape[i]);

  let latents: Float32Array;
  let count: number;
  let labels: Int32Array | undefined;
  let labelInfo: PointCloud['header']['labels'] = null;
  const scoreNames: { name: string; description: string }[] = [];
  const scoreColumns: Float32Array[] = [];
  let source: 'encoded-held-out' | 'sampled';
  let description: string;

  if (heldOut && sameShape) {
    source = 'encoded-held-out';
    count = heldOut.count;
    latents = encodeAll(model, heldOut.images, count);
    if (heldOut.labels) {
      labels = heldOut.labels;
      labelInfo = { from: 'dataset', names: heldOut.classNames ?? Array.from({ length: heldOut.numClasses ?? 0 }, (_, i) => String(i)) };
    }
    for (const [name, values] of Object.entries(heldOut.factors ?? {})) {
      scoreNames.push({ name, description: `the image's true ${name}` });
      scoreColumns.push(values);
    }
    description = `the encoder's means of the ${count} held-out ${heldOut.name} images, coloured by their true class`;
    log(`encoded ${count} held-out images`);
  } else {
    source = 'sampled';
    count = opts.count;
    latents = seededNormal(POINTS_SEED, count * dim);
    const classifier = src.dataset ? loadDomainClassifier(src.dataset, opts.classifierDirs) : undefined;
    const fits = classifier && classifier.card.imageShape.every((v, i) => v === model.imageShape[i]);
    if (classifier && fits) {
      const images = decodeAll(model, latents, count);
      const out = classifier.run(images, count);
      const k = classifier.numClasses;
      labels = new Int32Array(count);
      const confidence = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        let best = 0;
        for (let c = 1; c < k; c++) if (out.probs[i * k + c]! > out.probs[i * k + best]!) best = c;
        labels[i] = best;
        confidence[i] = out.probs[i * k + best]!;
      }
      labelInfo = { from: 'classifier', names: classifier.card.classNames };
      scoreNames.push({ name: 'confidence', description: `the classifier's probability of its class` });
      scoreColumns.push(confidence);
      for (const [name, values] of Object.entries(out.factors)) {
        scoreNames.push({ name, description: `the classifier's estimate of the image's ${name}` });
        scoreColumns.push(values);
      }
      description = `${count} seeded latents, each decoded${model.numClasses ? ' (latent i with class i mod ' + model.numClasses + ')' : ''} and scored by ${classifier.card.id}`;
      classifier.dispose();
      log(`decoded and classified ${count} latents`);
    } else {
      classifier?.dispose();
      description = `${count} seeded latents (no classifier for this model's data set: coloured by |z|)`;
    }
  }

  const { mean, components, explained, positions } = pca(latents, count, dim);
  let normSum = 0;
  for (let i = 0; i < count; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += latents[i * dim + j]! ** 2;
    normSum += Math.sqrt(s);
  }
  const scores = new Float32Array(count * scoreColumns.length);
  for (let i = 0; i < count; i++) for (let s = 0; s < scoreColumns.length; s++) scores[i * scoreColumns.length + s] = scoreColumns[s]![i]!;
  return {
    header: {
      format: POINTS_FORMAT,
      modelId: src.id,
      weightsHash: src.weightsHash,
      count,
      latentDim: dim,
      source,
      seed: source === 'sampled' ? POINTS_SEED : null,
      labels: labelInfo,
      scores: scoreNames,
      explained,
      meanNorm: count > 0 ? normSum / count : Math.sqrt(dim),
      description,
    },
    latents,
    positions,
    mean,
    components,
    labels,
    scores,
  };
}
