/**
 * The evaluation of one generative model: every figure beside its real-vs-real floor.
 *
 * Protocol (EVAL_PROTOCOL; version 1):
 *   - Reference set: the data set's held-out images (1,000 for MNIST and shapes), which neither
 *     the model nor (for shapes) the classifier has seen.
 *   - Model sets: `samples` (5,000) images generated from seeded N(0, I) latents at each
 *     truncation setting (psi 0.5, 0.7, 1 and radius 1, 2; ./truncation.ts); conditional models
 *     are asked for class i mod K for image i (500 per MNIST digit).
 *   - Floor set: `samples` training images (a seeded choice), compared with the same reference
 *     in exactly the same way. The floor is what a model that reproduced the training
 *     distribution perfectly would score with this many images: FID and precision/recall are
 *     biased by the sample sizes, so a figure means something only beside a floor computed with
 *     the same sizes.
 *   - FID (./fid.ts) of each set against the reference, on the extractor's features (domain
 *     classifier by default; a user's TF.js model on request).
 *   - Improved precision/recall (./precision-recall.ts), k = 3, with equal set sizes as the
 *     paper does: the set is cut into chunks of the reference's size (5 × 1,000), each chunk is
 *     compared with the reference, and the mean and standard deviation over chunks are reported.
 *   - Inception Score (./inception-score.ts) with the domain classifier's class probabilities,
 *     10 splits (500 images each), mean ± std.
 *   - Conditional models: class accuracy, the fraction of generated images the classifier puts
 *     in the class that was asked for (per class too); its floor is the classifier's accuracy on
 *     the held-out images (a perfect conditional generator scores about that).
 *   - Models with an encoder (VAE, VAE-GAN): held-out ELBO (10 draws of z per image) and the
 *     importance-weighted NLL estimate with k = 100 (models/vae/model.ts), in nats per image, on
 *     the held-out images and, for comparison, as many training images; and reconstructions.
 *
 * Everything is seeded: the same model, data and extractor give the same figures.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DomainClassifier } from '../classifier/index';
import type { Dataset, GenerativeModel } from '../common/family';
import { mulberry32, shuffleInPlace } from '../common/random';
import { subsetDataset } from '../datasets/split';
import { elboTerms, importanceWeightedNll, type VaeSource } from '../vae/model';
import type { FeatureExtractor } from './features';
import { frechetDistance } from './fid';
import { inceptionScore } from './inception-score';
import { gaussianStats, type GaussianStats } from './linalg';
import { coverage, kthNeighbourRadii } from './precision-recall';
import { evaluationLatents, truncationLabel, type Truncation } from './truncation';

export const EVAL_PROTOCOL_VERSION = 1;

export interface EvalOptions {
  /** Generated images per setting, and training images in the floor set. */
  samples: number;
  truncations: Truncation[];
  /** k of the k-NN radii. */
  k: number;
  isSplits: number;
  /** Importance samples per image for the NLL estimate. */
  iwK: number;
  /** Draws of z per image for the ELBO. */
  elboSamples: number;
  /** Images per decode. */
  batch: number;
  seed: number;
  /** Images in the reconstruction grid. */
  reconstructions: number;
}

export const EVAL_DEFAULTS: EvalOptions = {
  samples: 5000,
  truncations: [
    { kind: 'psi', psi: 1 },
    { kind: 'psi', psi: 0.7 },
    { kind: 'psi', psi: 0.5 },
    { kind: 'radius', radius: 2 },
    { kind: 'radius', radius: 1 },
  ],
  k: 3,
  isSplits: 10,
  iwK: 100,
  elboSamples: 10,
  batch: 250,
  seed: 0x4c52_e001,
  reconstructions: 32,
};

export interface MeanStd {
  mean: number;
  std: number;
}

export interface SetMetrics {
  count: number;
  fid: number;
  precision: MeanStd;
  recall: MeanStd;
  inceptionScore?: MeanStd;
}

export interface SettingMetrics extends SetMetrics {
  truncation: string;
  /** fid / floor fid. */
  fidOverFloor: number;
  /** Conditional models: fraction classified as the class asked for. */
  classAccuracy?: number;
  perClassAccuracy?: number[];
}

export interface LikelihoodFigures {
  count: number;
  /** Mean ELBO, nats per image (higher is better). */
  elbo: number;
  /** Mean −log p(x|z) and KL terms of the ELBO. */
  recon: number;
  kl: number;
  /** Mean importance-weighted estimate of −log p(x), nats per image (lower is better). */
  iwNll: number;
}

export interface EvalReport {
  protocol: Omit<EvalOptions, 'truncations' | 'batch'> & { version: number; truncations: string[] };
  features: { kind: FeatureExtractor['kind']; name: string; dim: number; description: string };
  classifier: { id: string; weightsHash?: string; heldOutAccuracy?: number } | null;
  reference: { dataset: string; set: 'held-out'; count: number };
  floor: SetMetrics & { set: 'training images'; classAccuracy?: number };
  settings: SettingMetrics[];
  likelihood?: { reconstruction: string; k: number; unit: 'nats per image'; heldOut: LikelihoodFigures; train: LikelihoodFigures };
  timingsMs: Record<string, number>;
  wallMs: number;
}

export interface EvalArtifacts {
  /** Held-out images and their reconstructions (decode of the posterior mean), count × h × w × c each. */
  reconstructions?: { originals: Float32Array; reconstructed: Float32Array; count: number; imageShape: [number, number, number] };
}

export interface EvaluateInput {
  model: GenerativeModel;
  data: { train: Dataset; heldOut: Dataset };
  extractor: FeatureExtractor;
  /** For the Inception Score and class accuracy; none when the data set has no classifier. */
  classifier?: DomainClassifier;
  /** Encoder and decoder for the likelihoods (VAE, VAE-GAN). */
  vae?: VaeSource;
  options?: Partial<EvalOptions>;
  log?(line: string): void;
}

interface Embedded {
  features: Float32Array;
  probs?: Float32Array;
}

function meanStd(values: number[]): MeanStd {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, std: Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length) };
}

const mean = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s / a.length;
};

/** Runs the protocol above. Synchronous and tidy (no tensor outlives it). */
export function evaluateModel(input: EvaluateInput): { report: EvalReport; artifacts: EvalArtifacts } {
  const opts: EvalOptions = { ...EVAL_DEFAULTS, ...input.options };
  const { model, extractor, classifier } = input;
  const { train, heldOut } = input.data;
  const log = input.log ?? (() => {});
  const t0 = performance.now();
  const timings: Record<string, number> = {};
  const timed = <T>(name: string, f: () => T): T => {
    const t = performance.now();
    const out = f();
    timings[name] = Math.round(performance.now() - t);
    log(`${name}: ${(timings[name] / 1000).toFixed(1)} s`);
    return out;
  };
  const shape = heldOut.imageShape;
  if (model.imageShape.some((v, i) => v !== shape[i])) {
    throw new Error(`the model makes ${model.imageShape.join('×')} images, data set ${heldOut.name} has ${shape.join('×')}`);
  }
  const px = shape[0] * shape[1] * shape[2];
  const K = classifier?.numClasses;
  const conditional = model.numClasses !== null;
  if (conditional && classifier && classifier.numClasses !== model.numClasses) {
    throw new Error(`the model has ${model.numClasses} classes, the classifier of ${heldOut.name} ${classifier.numClasses}`);
  }

  const embed = (images: Float32Array, count: number): Embedded => {
    if (classifier && extractor.kind === 'domain') {
      const { features, probs } = classifier.run(images, count);
      return { features, probs };
    }
    return { features: extractor.features(images, count, shape), ...(classifier ? { probs: classifier.run(images, count).probs } : {}) };
  };

  // Reference: the held-out images.
  const ref = timed(`features of ${heldOut.count} held-out images`, () => embed(heldOut.images, heldOut.count));
  const dim = extractor.dim;
  const refStats = gaussianStats(ref.features, heldOut.count, dim);
  const refRadii = kthNeighbourRadii(ref.features, heldOut.count, dim, opts.k);
  const chunk = heldOut.count;

  const setMetrics = (e: Embedded, count: number): SetMetrics => {
    const stats: GaussianStats = gaussianStats(e.features, count, dim);
    const f = frechetDistance(stats, refStats);
    if (f.minEigenvalue < -1e-6 || f.traceResidual > 1e-8) log(`warning: FID square root is ill-conditioned (min eigenvalue ${f.minEigenvalue}, trace residual ${f.traceResidual})`);
    const m = Math.min(chunk, count);
    const precision: number[] = [];
    const recall: number[] = [];
    for (let start = 0; start + m <= count; start += m) {
      const part = e.features.subarray(start * dim, (start + m) * dim);
      precision.push(coverage(part, m, ref.features, refRadii, dim));
      recall.push(coverage(ref.features, heldOut.count, part, kthNeighbourRadii(part, m, dim, opts.k), dim));
    }
    const out: SetMetrics = { count, fid: f.fid, precision: meanStd(precision), recall: meanStd(recall) };
    if (e.probs && K) {
      const is = inceptionScore(e.probs, count, K, Math.min(opts.isSplits, count));
      out.inceptionScore = { mean: is.mean, std: is.std };
    }
    return out;
  };

  // Floor: as many training images as generated ones, against the same reference.
  const floorCount = Math.min(opts.samples, train.count);
  const order = new Uint32Array(train.count);
  for (let i = 0; i < train.count; i++) order[i] = i;
  shuffleInPlace(order, mulberry32(opts.seed));
  const floorSet = subsetDataset(train, order.subarray(0, floorCount));
  const floorEmbedded = timed(`features of ${floorCount} training images`, () => embed(floorSet.images, floorCount));
  const floor: EvalReport['floor'] = { set: 'training images', ...timed('floor metrics', () => setMetrics(floorEmbedded, floorCount)) };
  if (classifier && ref.probs && heldOut.labels) floor.classAccuracy = accuracy(ref.probs, heldOut.labels, classifier.numClasses).overall;

  const settings: SettingMetrics[] = [];
  for (const t of opts.truncations) {
    const label = truncationLabel(t);
    const count = opts.samples;
    const classes = conditional ? Int32Array.from({ length: count }, (_, i) => i % model.numClasses!) : undefined;
    const images = timed(`decode ${count} images at ${label}`, () => {
      const z = evaluationLatents(opts.seed, count, model.latentDim, t);
      return decodeAll(model, z, classes, count, px, opts.batch);
    });
    const e = timed(`features at ${label}`, () => embed(images, count));
    const m = timed(`metrics at ${label}`, () => setMetrics(e, count));
    const s: SettingMetrics = { truncation: label, ...m, fidOverFloor: m.fid / floor.fid };
    if (classes && e.probs && classifier) {
      const acc = accuracy(e.probs, classes, classifier.numClasses);
      s.classAccuracy = acc.overall;
      s.perClassAccuracy = acc.perClass;
    }
    settings.push(s);
  }

  const artifacts: EvalArtifacts = {};
  let likelihood: EvalReport['likelihood'];
  if (input.vae) {
    const vae = input.vae;
    const reconstruction = ('config' in vae && vae.config?.reconstruction) || 'bce';
    const trainSubset = subsetDataset(train, order.subarray(0, heldOut.count));
    const figures = (d: Dataset, what: string): LikelihoodFigures =>
      timed(`ELBO and IW-NLL (k = ${opts.iwK}) of ${d.count} ${what} images`, () => {
        const x = tf.tensor4d(d.images, [d.count, ...d.imageShape]);
        try {
          const terms = elboTerms(vae, x, { samples: opts.elboSamples, seed: opts.seed });
          const nll = importanceWeightedNll(vae, x, { k: opts.iwK, seed: opts.seed + 1 });
          return { count: d.count, elbo: mean(terms.elbo), recon: mean(terms.recon), kl: mean(terms.kl), iwNll: mean(nll) };
        } finally {
          x.dispose();
        }
      });
    likelihood = { reconstruction, k: opts.iwK, unit: 'nats per image', heldOut: figures(heldOut, 'held-out'), train: figures(trainSubset, 'training') };
    if (model.encode && opts.reconstructions > 0) {
      // Evenly spaced through the held-out set (MNIST's is ordered by digit: every digit shows).
      const n = Math.min(opts.reconstructions, heldOut.count);
      const picks = Array.from({ length: n }, (_, i) => Math.floor((i * heldOut.count) / n));
      const originals = subsetDataset(heldOut, picks).images;
      const reconstructed = tf.tidy(() => {
        const { mean: mu } = model.encode!(tf.tensor4d(originals, [n, ...shape]));
        return model.decode(mu).dataSync() as Float32Array;
      });
      artifacts.reconstructions = { originals, reconstructed: Float32Array.from(reconstructed), count: n, imageShape: [...shape] };
    }
  }

  const report: EvalReport = {
    protocol: {
      version: EVAL_PROTOCOL_VERSION,
      samples: opts.samples,
      truncations: opts.truncations.map(truncationLabel),
      k: opts.k,
      isSplits: opts.isSplits,
      iwK: opts.iwK,
      elboSamples: opts.elboSamples,
      seed: opts.seed,
      reconstructions: opts.reconstructions,
    },
    features: { kind: extractor.kind, name: extractor.name, dim: extractor.dim, description: extractor.description },
    classifier: classifier
      ? {
          id: classifier.card.id,
          ...(classifier.card.weightsHash ? { weightsHash: classifier.card.weightsHash } : {}),
          ...(classifier.card.heldOut ? { heldOutAccuracy: classifier.card.heldOut.accuracy } : {}),
        }
      : null,
    reference: { dataset: heldOut.name, set: 'held-out', count: heldOut.count },
    floor,
    settings,
    ...(likelihood ? { likelihood } : {}),
    timingsMs: timings,
    wallMs: Math.round(performance.now() - t0),
  };
  return { report, artifacts };
}

/** Decodes `count` latents (and classes) in batches: count × px values in [0, 1]. */
export function decodeAll(model: GenerativeModel, z: Float32Array, classes: Int32Array | undefined, count: number, px: number, batch: number): Float32Array {
  const out = new Float32Array(count * px);
  const dim = model.latentDim;
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const images = tf.tidy(() => {
      const zt = tf.tensor2d(z.subarray(start * dim, (start + n) * dim), [n, dim]);
      const ct = classes ? tf.tensor1d(classes.subarray(start, start + n), 'int32') : undefined;
      return model.decode(zt, ct);
    });
    out.set(images.dataSync() as Float32Array, start * px);
    images.dispose();
  }
  return out;
}

/** Fraction of rows whose most probable class is the label, overall and per label. */
export function accuracy(probs: Float32Array, labels: ArrayLike<number>, k: number): { overall: number; perClass: number[] } {
  const hits = new Array<number>(k).fill(0);
  const totals = new Array<number>(k).fill(0);
  for (let i = 0; i < labels.length; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (probs[i * k + j]! > probs[i * k + best]!) best = j;
    const y = labels[i]!;
    totals[y]!++;
    if (best === y) hits[y]!++;
  }
  return {
    overall: hits.reduce((a, b) => a + b, 0) / labels.length,
    perClass: hits.map((h, j) => (totals[j] ? h / totals[j]! : NaN)),
  };
}
