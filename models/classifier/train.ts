/**
 * Training and scoring of a domain classifier (./model.ts).
 *
 *   loss = CE(softmax(logits), class) + factorWeight · mean over valid units of (r̂ − r)²
 *
 * where r is, per factor head, the factor value (plain heads) or (cos 2πv, sin 2πv) (cyclic
 * heads), and a unit is valid unless the image's class has no such factor (circles have no
 * rotation). Adam, learning rate decayed geometrically from `lr` to `lrFinal` over the run,
 * seeded batch order and augmentation: the same command gives the same classifier.
 *
 * Augmentation (MNIST): a random affine warp per image — rotation ±ROTATE_DEG, scale ±SCALE,
 * shift ±SHIFT_PX — resampled bilinearly with black outside. Besides accuracy it keeps the
 * classifier from memorising its training digits: evaluation compares training digits with
 * held-out ones (the real-vs-real floor), and a classifier whose features told the two apart
 * would inflate that floor.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Dataset } from '../common/family';
import { mulberry32, shuffleInPlace } from '../common/random';
import type { ClassifierScores } from './checkpoint';
import type { DomainClassifier } from './index';
import { regressionUnits, type ClassifierArchitecture, type FactorHead } from './model';

export const ROTATE_DEG = 12;
export const SCALE = 0.1;
export const SHIFT_PX = 2;

export interface ClassifierTrainConfig {
  epochs: number;
  batchSize: number;
  lr: number;
  lrFinal: number;
  factorWeight: number;
  seed: number;
  augment: boolean;
}

export interface ClassifierProgress {
  epoch: number;
  step: number;
  totalSteps: number;
  loss: number;
  imagesPerSec: number;
}

/**
 * Random affine warps of `count` single-image slices of `images` (h × w × c each), in place:
 * rotation, isotropic scale and shift about the centre, bilinear, zero outside.
 */
export function augmentAffine(images: Float32Array, count: number, shape: readonly [number, number, number], rand: () => number): void {
  const [h, w, c] = shape;
  const px = h * w * c;
  const src = new Float32Array(px);
  const cy = (h - 1) / 2;
  const cx = (w - 1) / 2;
  for (let n = 0; n < count; n++) {
    const img = images.subarray(n * px, (n + 1) * px);
    src.set(img);
    const theta = ((2 * rand() - 1) * ROTATE_DEG * Math.PI) / 180;
    const scale = 1 + (2 * rand() - 1) * SCALE;
    const tx = (2 * rand() - 1) * SHIFT_PX;
    const ty = (2 * rand() - 1) * SHIFT_PX;
    // Output pixel (x, y) samples the source at R(−θ)·((x, y) − centre − t) / scale + centre.
    const cos = Math.cos(theta) / scale;
    const sin = Math.sin(theta) / scale;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const dx = x - cx - tx;
        const dy = y - cy - ty;
        const sx = cos * dx + sin * dy + cx;
        const sy = -sin * dx + cos * dy + cy;
        const x0 = Math.floor(sx);
        const y0 = Math.floor(sy);
        const fx = sx - x0;
        const fy = sy - y0;
        for (let k = 0; k < c; k++) {
          const at = (yy: number, xx: number) => (yy >= 0 && yy < h && xx >= 0 && xx < w ? src[(yy * w + xx) * c + k]! : 0);
          img[(y * w + x) * c + k] =
            (1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x0 + 1)) + fy * ((1 - fx) * at(y0 + 1, x0) + fx * at(y0 + 1, x0 + 1));
        }
      }
    }
  }
}

/** Regression targets and validity mask ([n × units] each) of the images at `indices`. */
export function factorTargets(data: Dataset, indices: ArrayLike<number>, heads: readonly FactorHead[]): { targets: Float32Array; mask: Float32Array } {
  const units = regressionUnits(heads);
  const n = indices.length;
  const targets = new Float32Array(n * units);
  const mask = new Float32Array(n * units);
  for (let i = 0; i < n; i++) {
    const src = indices[i]!;
    let col = 0;
    for (const head of heads) {
      const values = data.factors?.[head.name];
      if (!values) throw new Error(`data set ${data.name} has no factor ${head.name}`);
      const v = values[src]!;
      const valid = head.skipClass === undefined || data.labels?.[src] !== head.skipClass ? 1 : 0;
      if (head.cyclic) {
        targets[i * units + col] = Math.cos(2 * Math.PI * v);
        targets[i * units + col + 1] = Math.sin(2 * Math.PI * v);
        mask[i * units + col] = valid;
        mask[i * units + col + 1] = valid;
        col += 2;
      } else {
        targets[i * units + col] = v;
        mask[i * units + col] = valid;
        col += 1;
      }
    }
  }
  return { targets, mask };
}

/**
 * Trains `network` (built from `arch`) in place. `epochData(e)` gives epoch e's training images
 * (the same data set every epoch, or fresh procedural images). Synchronous; `onProgress` is
 * called every `progressEvery` steps and at the end of each epoch.
 */
export function trainClassifier(
  network: tfl.LayersModel,
  arch: ClassifierArchitecture,
  config: ClassifierTrainConfig,
  epochData: (epoch: number) => Dataset,
  opts: { onProgress?(p: ClassifierProgress): void; progressEvery?: number } = {},
): { steps: number } {
  const [h, w, c] = arch.imageShape;
  const px = h * w * c;
  const units = regressionUnits(arch.factors);
  const vars = network.trainableWeights.map((v) => v.read() as tf.Variable);
  const optimizer = tf.train.adam(config.lr, 0.9, 0.999, 1e-8);
  const rand = mulberry32(config.seed ^ 0x5eed_c1a5);
  const first = epochData(0);
  const stepsPerEpoch = Math.floor(first.count / config.batchSize);
  const totalSteps = stepsPerEpoch * config.epochs;
  const progressEvery = opts.progressEvery ?? 50;
  let step = 0;
  let windowStart = performance.now();
  let windowSteps = 0;
  try {
    for (let epoch = 0; epoch < config.epochs; epoch++) {
      const data = epoch === 0 ? first : epochData(epoch);
      if (!data.labels) throw new Error(`data set ${data.name} has no labels`);
      const order = new Uint32Array(data.count);
      for (let i = 0; i < data.count; i++) order[i] = i;
      shuffleInPlace(order, rand);
      for (let b = 0; b + config.batchSize <= data.count; b += config.batchSize) {
        const indices = order.subarray(b, b + config.batchSize);
        const n = indices.length;
        const images = new Float32Array(n * px);
        for (let i = 0; i < n; i++) images.set(data.images.subarray(indices[i]! * px, (indices[i]! + 1) * px), i * px);
        if (config.augment) augmentAffine(images, n, arch.imageShape, rand);
        const labels = Int32Array.from(indices, (i) => data.labels![i]!);
        const reg = units > 0 ? factorTargets(data, indices, arch.factors) : undefined;
        // Geometric decay: lr at step 0, lrFinal at the last step.
        const lr = config.lr * (config.lrFinal / config.lr) ** (step / Math.max(1, totalSteps - 1));
        (optimizer as unknown as { learningRate: number }).learningRate = lr;
        const loss = tf.tidy(() => {
          const x = tf.tensor4d(images, [n, h, w, c]);
          const y = tf.oneHot(tf.tensor1d(labels, 'int32'), arch.numClasses);
          const target = reg ? tf.tensor2d(reg.targets, [n, units]) : undefined;
          const mask = reg ? tf.tensor2d(reg.mask, [n, units]) : undefined;
          const value = optimizer.minimize(() => {
            const outs = network.apply(x, { training: true }) as tf.Tensor[];
            let total = tf.losses.softmaxCrossEntropy(y, outs[1]!) as tf.Scalar;
            if (target && mask && outs[2]) {
              const se = tf.sum(tf.mul(mask, tf.squaredDifference(outs[2], target)));
              total = tf.add(total, tf.mul(config.factorWeight, tf.div(se, tf.maximum(tf.sum(mask), 1)))) as tf.Scalar;
            }
            return total;
          }, true, vars);
          return value!;
        });
        const lossValue = loss.dataSync()[0]!;
        loss.dispose();
        if (!Number.isFinite(lossValue)) throw new Error(`classifier loss is ${lossValue} at step ${step + 1}: training diverged`);
        step++;
        windowSteps++;
        const endOfEpoch = b + 2 * config.batchSize > data.count;
        if (opts.onProgress && (step % progressEvery === 0 || endOfEpoch)) {
          const now = performance.now();
          opts.onProgress({ epoch, step, totalSteps, loss: lossValue, imagesPerSec: (windowSteps * config.batchSize) / ((now - windowStart) / 1000) });
          windowStart = now;
          windowSteps = 0;
        }
      }
    }
  } finally {
    optimizer.dispose();
  }
  return { steps: step };
}

/** Accuracy (and factor errors) of a classifier on a labelled data set. */
export function scoreClassifier(classifier: DomainClassifier, data: Dataset): ClassifierScores {
  if (!data.labels) throw new Error(`data set ${data.name} has no labels`);
  const { probs, factors } = classifier.run(data.images, data.count);
  const k = classifier.numClasses;
  let correct = 0;
  for (let i = 0; i < data.count; i++) if (argmax(probs, i * k, k) === data.labels[i]) correct++;
  const scores: ClassifierScores = { count: data.count, accuracy: correct / data.count };
  if (classifier.card.factors.length > 0) {
    scores.factors = {};
    for (const head of classifier.card.factors) {
      const truth = data.factors?.[head.name];
      const pred = factors[head.name];
      if (!truth || !pred) continue;
      let sum = 0;
      let n = 0;
      for (let i = 0; i < data.count; i++) {
        if (head.skipClass !== undefined && data.labels[i] === head.skipClass) continue;
        const d = pred[i]! - truth[i]!;
        if (head.cyclic) {
          const wrapped = Math.abs(d - Math.round(d));
          sum += wrapped;
        } else {
          sum += d * d;
        }
        n++;
      }
      scores.factors[head.name] = head.cyclic ? sum / n : Math.sqrt(sum / n);
    }
  }
  return scores;
}

/** Index of the largest of values[offset .. offset + k). */
export function argmax(values: ArrayLike<number>, offset: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (values[offset + j]! > values[offset + best]!) best = j;
  return best;
}
