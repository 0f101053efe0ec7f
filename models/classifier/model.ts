/**
 * Domain classifiers: the feature extractors of the project's evaluation (models/eval). One small
 * CNN per data set, trained by the project (./train.ts, `npm run train:classifier`) and shipped
 * beside the generative models (models/pretrained/classifier-<data set>/).
 *
 *   x ∈ [0, 1]^(S×S×C)
 *     → Conv(32, 3×3, stride 1) → ReLU → Conv(32, 3×3, stride 2) → ReLU        S/2
 *     → Conv(64, 3×3, stride 1) → ReLU
 *     → while the side is above 7: Conv(48, then 64, 3×3, stride 2) → ReLU     28 → 7; 32 → 4; 64 → 4
 *     → Flatten → Dense(128) → ReLU = the features φ(x) (FID, precision/recall)
 *     → Dense(K) = class logits (Inception Score, class accuracy of conditional models)
 *     → Dense(R) = factor regressions, data sets with generating factors only (shapes)
 *
 * Why this size: it trains in minutes on the wasm backend on one thread, stores in well under
 * 1 MB as float16, and still separates what matters for MNIST (≥ 98.5% on the held-out digits).
 * The features are the 128 ReLU units before the class layer, like Inception-v3's pool3 features
 * before its logits (Heusel et al. 2017 take FID on those): what the classifier has learnt to
 * tell apart, in a space where a Gaussian fit is meaningful.
 *
 * Factor heads (shapes; models/datasets/shapes.ts): scale, x, y and hue are plain regressions of
 * the factor value (in [0, 1]); rotation is cyclic (0 and 1 are the same image, a fraction of the
 * shape's symmetry period), so its head predicts (cos 2πr, sin 2πr) and the angle is read back
 * with atan2; circles (no rotation) are left out of its loss and its error.
 *
 * No batch norm and no dropout: inference is then the same function as training, and training
 * is a pure function of its seed (dropout masks in TF.js layers are not seeded).
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { ImageShape } from '../common/family';

/**
 * He initialisation (He et al. 2015: variance 2/fan_in, here uniform) for the ReLU layers, zero
 * biases, seeded per layer. PyTorch's default (models/common/init.ts, variance 1/(3·fan_in)) made
 * this net learn markedly slower: 94.9% on held-out digits after 5 epochs where He reached ...
 */
function heInit(seed: number) {
  return {
    kernelInitializer: tfl.initializers.varianceScaling({ scale: 2, mode: 'fanIn', distribution: 'uniform', seed }),
    biasInitializer: tfl.initializers.zeros(),
  };
}

/** Width of the feature layer. */
export const CLASSIFIER_FEATURE_DIM = 128;

/** A regression head of the classifier: one factor of the data set. */
export interface FactorHead {
  name: string;
  /** Cyclic in [0, 1) (predicted as cos/sin of 2π·value); `skipClass`: images of this class have no such factor. */
  cyclic: boolean;
  skipClass?: number;
}

/** What fixes a classifier's architecture and initial weights. */
export interface ClassifierArchitecture {
  imageShape: ImageShape;
  numClasses: number;
  factors: FactorHead[];
  seed: number;
}

/** Output units of the regression layer: one per plain factor, two (cos, sin) per cyclic one. */
export function regressionUnits(factors: readonly FactorHead[]): number {
  return factors.reduce((n, f) => n + (f.cyclic ? 2 : 1), 0);
}

/** Why the builder cannot make a classifier for this shape, or null. */
export function classifierShapeProblem(shape: readonly number[]): string | null {
  const [h, w, c] = shape;
  if (shape.length !== 3 || ![h, w, c].every((v) => Number.isInteger(v) && v! > 0)) return `image shape [${shape.join(', ')}] is not [height, width, channels]`;
  if (h !== w) return `images are ${h}×${w}: the classifier needs square images`;
  if (h! < 16 || h! > 128) return `images are ${h}×${w}: the classifier takes sides from 16 to 128`;
  return null;
}

/**
 * The classifier: images [B, S, S, C] → [features [B, 128], logits [B, K]] (and regressions
 * [B, R] when there are factor heads), in that output order.
 */
export function buildClassifier(arch: ClassifierArchitecture): tfl.LayersModel {
  const problem = classifierShapeProblem(arch.imageShape);
  if (problem) throw new Error(problem);
  const side = arch.imageShape[0];
  const s = (i: number) => arch.seed * 1000 + 10 * i;
  const input = tfl.input({ name: 'cls_input', shape: [...arch.imageShape] });
  const conv = (x: tfl.SymbolicTensor, i: number, filters: number, stride: number) =>
    tfl.layers.conv2d({
      name: `cls_conv${i}`, filters, kernelSize: 3, strides: stride, padding: 'same', activation: 'relu', ...heInit(s(i)),
    }).apply(x) as tfl.SymbolicTensor;
  let x = conv(input, 1, 32, 1);
  x = conv(x, 2, 32, 2);
  let size = Math.ceil(side / 2);
  x = conv(x, 3, 64, 1);
  const widths = [48, 64];
  for (let i = 4; size > 7; i++) {
    x = conv(x, i, widths[Math.min(i - 4, widths.length - 1)]!, 2);
    size = Math.ceil(size / 2);
  }
  const flat = tfl.layers.flatten({ name: 'cls_flatten' }).apply(x) as tfl.SymbolicTensor;
  const features = tfl.layers.dense({ name: 'cls_features', units: CLASSIFIER_FEATURE_DIM, activation: 'relu', ...heInit(s(90)) }).apply(flat) as tfl.SymbolicTensor;
  const logits = tfl.layers.dense({ name: 'cls_logits', units: arch.numClasses, ...heInit(s(91)) }).apply(features) as tfl.SymbolicTensor;
  const outputs = [features, logits];
  const r = regressionUnits(arch.factors);
  if (r > 0) {
    outputs.push(tfl.layers.dense({ name: 'cls_factors', units: r, ...heInit(s(92)) }).apply(features) as tfl.SymbolicTensor);
  }
  return tfl.model({ name: 'domain_classifier', inputs: input, outputs });
}
