/**
 * Feature extractors for FID and precision/recall: the data set's domain classifier
 * (models/classifier: its 128 penultimate ReLU units), or a TF.js model a user supplies
 * (./tfjs-features.ts: Inception-v3 pool3 for the classic FID, or any other image network).
 */
import type { DomainClassifier } from '../classifier/index';

export interface FeatureExtractor {
  /** `domain`: the project's classifier of the data set; `tfjs`: a model the user supplied. */
  readonly kind: 'domain' | 'tfjs';
  /** e.g. `classifier-mnist`, or the model.json path. */
  readonly name: string;
  /** What the figures are, for the output and the card (says plainly whether this is Inception FID). */
  readonly description: string;
  readonly dim: number;
  /** Features of `count` images (count × h × w × c values in [0, 1], NHWC): count × dim values. */
  features(images: Float32Array, count: number, imageShape: readonly [number, number, number]): Float32Array;
  dispose(): void;
}

/** The classifier's penultimate features as an extractor (the classifier stays owned by the caller). */
export function domainFeatures(classifier: DomainClassifier): FeatureExtractor {
  const { card } = classifier;
  return {
    kind: 'domain',
    name: card.id,
    description:
      `domain FID: features of the project's ${card.dataset} classifier (${card.id}, ${card.featureDim} penultimate units), ` +
      'not Inception-v3 features; comparable with other domain-FID figures of this data set only, not with published FIDs',
    dim: card.featureDim,
    features(images, count, imageShape) {
      const [h, w, c] = card.imageShape;
      if (imageShape[0] !== h || imageShape[1] !== w || imageShape[2] !== c) {
        throw new Error(`classifier ${card.id} takes ${h}×${w}×${c} images, got ${imageShape.join('×')}`);
      }
      return classifier.run(images, count).features;
    },
    dispose() {},
  };
}
