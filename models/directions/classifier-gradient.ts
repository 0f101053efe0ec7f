/**
 * Method 1, the classifier gradient: with the generator G frozen, the gradient of a classifier's
 * attribute score s (./attributes.ts: log p(k | x) for a class, the regression for a factor)
 * with respect to the latent says which way in Z makes more of the attribute, at that latent:
 *
 *   g(z) = ∇_z s(G(z))
 *
 * - Direction: over N latents zᵢ ~ N(0, I), the mean of the normalised gradients,
 *     d = normalise( (1/N) Σᵢ g(zᵢ) / ‖g(zᵢ)‖ )
 *   (normalised first so that latents where s is steep do not outvote the others). `agreement`
 *   in its meta is ‖(1/N) Σᵢ g(zᵢ)/‖g(zᵢ)‖‖ ∈ [0, 1]: 1 when every latent's gradient points the
 *   same way (one global direction describes the attribute well), near 0 when they disagree.
 * - Per-latent edit, "steer this latent toward the attribute": normalised gradient ascent,
 *     z ← z + η · sign · g(z)/‖g(z)‖,  n times,
 *   each latent on its own path; for a class attribute a latent stops as soon as the classifier
 *   gives that class with probability ≥ STEER_CLASS_CONFIDENCE (going further only drifts away
 *   from the prior). Steps have length η, so a latent moves at most n·η.
 *
 * Activation maximisation in a generator's latent code is the method of Nguyen, Dosovitskiy,
 * Yosinski, Brox & Clune 2016 ("Synthesizing the preferred inputs for neurons in neural networks
 * via deep generator networks", NeurIPS) and of Plug & Play Generative Networks (Nguyen et al.,
 * CVPR 2017), after the class-score gradients of Simonyan, Vedaldi & Zisserman 2014.
 * Caveat they all note: s is the classifier's opinion; an edit can satisfy it with changes a
 * person would not call the attribute (an adversarial direction). The scores (./scores.ts)
 * measure what else changes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { normalize } from '../../lib/latent/vector';
import { attributeValue, hasAttribute } from './attributes';
import { latentBatch, sampleClasses, sampleLatents, scoreLatents } from './sampling';
import type { Attribute, AttributeScorer, DirectionGenerator, FoundDirection, ProgressFn } from './types';

/** A class edit stops once the classifier is this sure. */
export const STEER_CLASS_CONFIDENCE = 0.9;
/** Latents per gradient batch. */
export const GRADIENT_BATCH = 64;

export interface ClassifierGradientParams {
  attribute: string;
  /** Latents whose gradients are averaged. */
  samples: number;
  seed: number;
}

/**
 * Per-row gradients of the attribute's score at `z` ([n, dim]) and the per-row scores. Tidy:
 * returns two new tensors.
 */
export function scoreGradients(
  gen: DirectionGenerator,
  scorer: AttributeScorer,
  attribute: Attribute,
  z: tf.Tensor2D,
  classes?: tf.Tensor1D,
): { grad: tf.Tensor2D; score: tf.Tensor1D } {
  let score: tf.Tensor1D | undefined;
  const grad = tf.tidy(() =>
    tf.grad((zz: tf.Tensor) => {
      const s = scorer.scoreTensor(gen.decode(zz as tf.Tensor2D, classes), attribute);
      score = tf.keep(tf.clone(s));
      // Rows are independent (inference mode: no batch statistics), so the gradient of the sum
      // is each row's own gradient.
      return tf.sum(s);
    })(z),
  ) as tf.Tensor2D;
  return { grad, score: score! };
}

export async function classifierGradientDirection(
  gen: DirectionGenerator,
  scorer: AttributeScorer,
  params: ClassifierGradientParams,
  onProgress?: ProgressFn,
): Promise<FoundDirection> {
  const attribute = scorer.attribute(params.attribute);
  const dim = gen.latentDim;
  const z = sampleLatents(params.seed, params.samples, dim);
  const classes = sampleClasses(params.seed, params.samples, gen.numClasses);
  const sum = new Float64Array(dim);
  let used = 0;
  for (let start = 0; start < params.samples; start += GRADIENT_BATCH) {
    const n = Math.min(GRADIENT_BATCH, params.samples - start);
    const unit = tf.tidy(() => {
      const b = latentBatch(z, classes, dim, start, n);
      const { grad, score } = scoreGradients(gen, scorer, attribute, b.z, b.classes);
      score.dispose();
      const norms = tf.norm(grad, 'euclidean', 1, true);
      // A zero gradient (a saturated score) says nothing: it is left out of the mean.
      return tf.mul(tf.div(grad, tf.maximum(norms, 1e-12)), tf.cast(tf.greater(norms, 1e-12), 'float32'));
    });
    const values = unit.dataSync();
    unit.dispose();
    for (let i = 0; i < n; i++) {
      let any = false;
      for (let j = 0; j < dim; j++) {
        const v = values[i * dim + j]!;
        sum[j]! += v;
        if (v !== 0) any = true;
      }
      if (any) used++;
    }
    await onProgress?.(start + n, params.samples);
  }
  const meanVector = Float32Array.from(sum, (x) => x / Math.max(1, used));
  const vector = normalize(meanVector);
  if (!vector) throw new Error(`the classifier's ${attribute.name} score has a zero gradient at every sampled latent`);
  let agreement = 0;
  for (const x of meanVector) agreement += x * x;
  return { vector, meta: { attribute: attribute.name, samples: params.samples, agreement: Math.sqrt(agreement) } };
}

export interface SteerParams {
  attribute: string;
  /** Gradient steps at most. */
  steps: number;
  /** Length of each step in z units. */
  stepSize: number;
  /** +1 toward more of the attribute, −1 toward less. */
  sign?: 1 | -1;
}

export interface SteerResult {
  /** The edited latents, back to back. */
  z: Float32Array;
  /** Steps each latent took. */
  steps: Int32Array;
  /** Each latent's attribute value after the edit (class probability, factor value). */
  value: Float32Array;
  /** Whether each latent has the attribute after the edit (./attributes.ts hasAttribute). */
  reached: Uint8Array;
}

/**
 * Steers each of `count` latents toward (sign +1) or away from the attribute by normalised
 * gradient ascent (see the header). `z` is not modified.
 */
export async function steerLatents(
  gen: DirectionGenerator,
  scorer: AttributeScorer,
  z: Float32Array,
  classes: Int32Array | undefined,
  count: number,
  params: SteerParams,
  onProgress?: ProgressFn,
): Promise<SteerResult> {
  const attribute = scorer.attribute(params.attribute);
  const dim = gen.latentDim;
  if (z.length !== count * dim) throw new RangeError(`expected ${count} latents of ${dim} values, got ${z.length} values`);
  const sign = params.sign ?? 1;
  const out = Float32Array.from(z);
  const steps = new Int32Array(count);
  const value = new Float32Array(count);
  const reached = new Uint8Array(count);
  const stopsEarly = attribute.kind === 'class' && sign === 1;
  const total = Math.ceil(count / GRADIENT_BATCH) * (params.steps + 1);
  let done = 0;
  for (let start = 0; start < count; start += GRADIENT_BATCH) {
    const n = Math.min(GRADIENT_BATCH, count - start);
    const active = new Uint8Array(n).fill(1);
    for (let step = 0; step <= params.steps; step++) {
      // One forward-backward pass: the scores say who has arrived, the gradients move the rest.
      const { grad, score } = tf.tidy(() => {
        const b = latentBatch(out, classes, dim, start, n);
        return scoreGradients(gen, scorer, attribute, b.z, b.classes);
      });
      const g = grad.dataSync();
      const s = score.dataSync();
      tf.dispose([grad, score]);
      for (let i = 0; i < n; i++) {
        if (!active[i]) continue;
        if (stopsEarly && Math.exp(s[i]!) >= STEER_CLASS_CONFIDENCE) active[i] = 0;
        if (step === params.steps || !active[i]) {
          active[i] = 0;
          continue;
        }
        let norm = 0;
        for (let j = 0; j < dim; j++) norm += g[i * dim + j]! ** 2;
        norm = Math.sqrt(norm);
        if (!(norm > 1e-12)) {
          active[i] = 0;
          continue;
        }
        const k = (sign * params.stepSize) / norm;
        for (let j = 0; j < dim; j++) out[(start + i) * dim + j]! += k * g[i * dim + j]!;
        steps[start + i]! += 1;
      }
      await onProgress?.(++done, total);
      if (!active.some((a) => a)) {
        done += params.steps - step;
        break;
      }
    }
  }
  // The final judgement, on the images the edited latents decode to.
  const scored = await scoreLatents(gen, scorer, out, classes, count);
  for (let i = 0; i < count; i++) {
    value[i] = attributeValue(scored, attribute, i);
    reached[i] = hasAttribute(scored, attribute, i) ? 1 : 0;
  }
  await onProgress?.(total, total);
  return { z: out, steps, value, reached };
}
