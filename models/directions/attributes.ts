/**
 * A domain classifier (models/classifier) as a scorer of attributes: each class and each factor
 * head is one attribute. Values and thresholds:
 *
 *   class k          value p(k | x) (softmax); an image has it when k is the arg max.
 *                    Differentiable score: log p(k | x).
 *   plain factor     value: the head's prediction clipped to [0, 1] (the factors are uniform in
 *                    [0, 1], so 0.5 is the middle); an image has it above FACTOR_THRESHOLD.
 *                    Differentiable score: the unclipped regression.
 *   cyclic factor    (rotation) value cos 2πr of the angle read back from the head's (cos, sin)
 *                    pair; above 0 means nearer 0 than half a period. Differentiable score: the
 *                    same cosine, c / √(c² + s²). Images of its `skipClass` (circles) have none.
 */
import * as tf from '@tensorflow/tfjs-core';
import { decodeFactors, type DomainClassifier } from '../classifier/index';
import type { Attribute, AttributeScorer, ScoredImages } from './types';

/** The middle of a factor's [0, 1] range. */
export const FACTOR_THRESHOLD = 0.5;

export function attributeScorer(classifier: DomainClassifier): AttributeScorer {
  const { card, network } = classifier;
  const heads = card.factors;
  const classNames = card.classNames.length === card.numClasses ? card.classNames : Array.from({ length: card.numClasses }, (_, k) => String(k));
  const attributes: Attribute[] = [
    ...classNames.map((name, index): Attribute => ({ name, kind: 'class', index, cyclic: false, threshold: 0.5 })),
    ...heads.map((h, index): Attribute => ({
      name: h.name,
      kind: 'factor',
      index,
      cyclic: h.cyclic,
      ...(h.skipClass !== undefined ? { skipClass: h.skipClass } : {}),
      threshold: h.cyclic ? 0 : FACTOR_THRESHOLD,
    })),
  ];
  // Column of each head in the regression output (cyclic heads take two: cos, sin).
  const columns: number[] = [];
  let col = 0;
  for (const h of heads) {
    columns.push(col);
    col += h.cyclic ? 2 : 1;
  }
  const byName = new Map(attributes.map((a) => [a.name, a]));

  function outputs(images: tf.Tensor4D): tf.Tensor[] {
    return network.apply(images, { training: false }) as tf.Tensor[];
  }

  return {
    id: card.id,
    imageShape: card.imageShape,
    numClasses: card.numClasses,
    attributes,
    attribute(name) {
      const a = byName.get(name);
      if (!a) throw new Error(`classifier ${card.id} has no attribute ${JSON.stringify(name)}; it has ${attributes.map((x) => x.name).join(', ')}`);
      return a;
    },
    scoreTensor(images, attribute) {
      return tf.tidy(() => {
        const [, logits, regressions] = outputs(images);
        if (attribute.kind === 'class') {
          return tf.reshape(tf.gather(tf.logSoftmax(logits!), [attribute.index], 1), [-1]) as tf.Tensor1D;
        }
        const c = columns[attribute.index]!;
        if (!attribute.cyclic) return tf.reshape(tf.slice(regressions!, [0, c], [-1, 1]), [-1]) as tf.Tensor1D;
        const cos = tf.reshape(tf.slice(regressions!, [0, c], [-1, 1]), [-1]);
        const sin = tf.reshape(tf.slice(regressions!, [0, c + 1], [-1, 1]), [-1]);
        return tf.div(cos, tf.sqrt(tf.add(tf.add(tf.square(cos), tf.square(sin)), 1e-8))) as tf.Tensor1D;
      });
    },
    score(images): ScoredImages {
      const count = images.shape[0];
      const outs = tf.tidy(() => {
        const [, logits, regressions] = outputs(images);
        return [tf.softmax(logits!), ...(regressions ? [regressions] : [])];
      });
      try {
        const probs = outs[0]!.dataSync() as Float32Array;
        const factors = outs[1] ? decodeFactors(outs[1].dataSync() as Float32Array, count, heads) : {};
        return { count, probs: Float32Array.from(probs), factors };
      } finally {
        tf.dispose(outs);
      }
    },
  };
}

/** The value of `attribute` for image `i` (see the header), and whether the image has it. */
export function attributeValue(scored: ScoredImages, attribute: Attribute, i: number): number {
  if (attribute.kind === 'class') return scored.probs[i * (scored.probs.length / scored.count) + attribute.index]!;
  const v = scored.factors[attribute.name]![i]!;
  return attribute.cyclic ? Math.cos(2 * Math.PI * v) : v;
}

/** The arg max class of image `i`. */
export function predictedClass(scored: ScoredImages, i: number): number {
  const k = scored.probs.length / scored.count;
  let best = 0;
  for (let c = 1; c < k; c++) if (scored.probs[i * k + c]! > scored.probs[i * k + best]!) best = c;
  return best;
}

/** Whether image `i` has the attribute: its class is the arg max, or its value is above the threshold. */
export function hasAttribute(scored: ScoredImages, attribute: Attribute, i: number): boolean {
  if (attribute.kind === 'class') return predictedClass(scored, i) === attribute.index;
  return attributeValue(scored, attribute, i) > attribute.threshold;
}

/** Whether image `i` has no value for the attribute (a circle's rotation). */
export function lacksAttribute(scored: ScoredImages, attribute: Attribute, i: number): boolean {
  return attribute.skipClass !== undefined && predictedClass(scored, i) === attribute.skipClass;
}
