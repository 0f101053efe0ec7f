/**
 * A domain classifier at inference: built from its card, weights loaded, and run in batches over
 * images held as plain arrays (NHWC, [0, 1]), returning plain arrays (evaluation works on
 * thousands of images and keeps no tensors between batches).
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { buildClassifier, regressionUnits, type FactorHead } from './model';
import { findClassifierDir, loadClassifierWeights, readClassifierCard, type ClassifierCard, type ClassifierInfo } from './checkpoint';

export { buildClassifier, CLASSIFIER_FEATURE_DIM, regressionUnits, type ClassifierArchitecture, type FactorHead } from './model';
export {
  classifierId,
  findClassifierDir,
  readClassifierCard,
  roundWeightsToHalf,
  saveClassifier,
  SHIPPED_MODEL_DIR,
  type ClassifierCard,
  type ClassifierInfo,
  type ClassifierScores,
} from './checkpoint';

/** Images per forward pass (memory stays small; the wasm convolutions are no faster past this). */
export const CLASSIFIER_BATCH = 250;

export interface ClassifierOutputs {
  /** [n × featureDim] penultimate ReLU features. */
  features: Float32Array;
  /** [n × numClasses] class probabilities (softmax of the logits). */
  probs: Float32Array;
  /** Per factor head: the predicted factor value of each image ([n]), cyclic ones read back from cos/sin. */
  factors: Record<string, Float32Array>;
}

export interface DomainClassifier {
  /** The stored card of a loaded classifier; the info a network was built from otherwise. */
  readonly card: ClassifierInfo & Partial<ClassifierCard>;
  readonly featureDim: number;
  readonly numClasses: number;
  /** The underlying network: images → [features, logits(, factors)]. */
  readonly network: tfl.LayersModel;
  /** Runs `count` images (count × h × w × c values) in batches. */
  run(images: Float32Array, count: number): ClassifierOutputs;
  dispose(): void;
}

/** Factor values from the regression outputs ([n × units]) of the heads, in head order. */
export function decodeFactors(raw: Float32Array, n: number, heads: readonly FactorHead[]): Record<string, Float32Array> {
  const units = regressionUnits(heads);
  const out: Record<string, Float32Array> = {};
  let col = 0;
  for (const head of heads) {
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      if (head.cyclic) {
        const turn = Math.atan2(raw[i * units + col + 1]!, raw[i * units + col]!) / (2 * Math.PI);
        values[i] = turn < 0 ? turn + 1 : turn;
      } else {
        values[i] = Math.min(1, Math.max(0, raw[i * units + col]!));
      }
    }
    out[head.name] = values;
    col += head.cyclic ? 2 : 1;
  }
  return out;
}

/** Wraps a network (built for `card`) as a DomainClassifier. */
export function domainClassifier(network: tfl.LayersModel, card: ClassifierInfo & Partial<ClassifierCard>): DomainClassifier {
  const [h, w, c] = card.imageShape;
  const px = h * w * c;
  const units = regressionUnits(card.factors);
  return {
    card,
    featureDim: card.featureDim,
    numClasses: card.numClasses,
    network,
    run(images, count) {
      if (images.length !== count * px) throw new Error(`classifier ${card.id}: expected ${count} images of ${h}×${w}×${c}, got ${images.length} values`);
      const features = new Float32Array(count * card.featureDim);
      const probs = new Float32Array(count * card.numClasses);
      const raw = new Float32Array(count * units);
      for (let start = 0; start < count; start += CLASSIFIER_BATCH) {
        const n = Math.min(CLASSIFIER_BATCH, count - start);
        const outs = tf.tidy(() => {
          const x = tf.tensor4d(images.subarray(start * px, (start + n) * px), [n, h, w, c]);
          const [f, logits, r] = network.apply(x, { training: false }) as tf.Tensor[];
          return [f!, tf.softmax(logits!), ...(r ? [r] : [])];
        });
        features.set(outs[0]!.dataSync(), start * card.featureDim);
        probs.set(outs[1]!.dataSync(), start * card.numClasses);
        if (outs[2]) raw.set(outs[2].dataSync(), start * units);
        tf.dispose(outs);
      }
      return { features, probs, factors: units > 0 ? decodeFactors(raw, count, card.factors) : {} };
    },
    dispose: () => network.dispose(),
  };
}

/** Loads the classifier stored in `dir`. */
export function loadClassifier(dir: string): DomainClassifier {
  const card = readClassifierCard(dir);
  const network = buildClassifier({ imageShape: card.imageShape, numClasses: card.numClasses, factors: card.factors, seed: card.seed });
  try {
    loadClassifierWeights(dir, network, card);
  } catch (err) {
    network.dispose();
    throw err;
  }
  return domainClassifier(network, card);
}

/** The classifier of a data set (searched in `searchDirs`, then the shipped models), or undefined. */
export function loadDomainClassifier(dataset: string, searchDirs: readonly string[] = []): DomainClassifier | undefined {
  const dir = findClassifierDir(dataset, searchDirs);
  return dir ? loadClassifier(dir) : undefined;
}
