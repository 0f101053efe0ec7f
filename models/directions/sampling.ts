/**
 * Latents and their scores, in batches: the shared first step of most methods and of the scores.
 * Latents come from the project's seeded normal source (lib/latent/random.ts), so a method's
 * result is a function of its parameters and seed.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32, seededNormal } from '../../lib/latent/random';
import { truncatedNormal } from '../../lib/latent/truncation';
import type { AttributeScorer, DirectionGenerator, ProgressFn, ScoredImages } from './types';

/** Latents per decode-and-classify batch (memory stays small; wasm is no faster past this). */
export const SCORE_BATCH = 250;

/** `count` latents of the generator's size from `seed`, each component within ±radius if given. */
export function sampleLatents(seed: number, count: number, dim: number, radius?: number): Float32Array {
  return radius === undefined ? seededNormal(seed, count * dim) : truncatedNormal(seed, count * dim, radius);
}

/** A uniformly drawn class per latent for a conditional model; undefined otherwise. */
export function sampleClasses(seed: number, count: number, numClasses: number | null): Int32Array | undefined {
  if (!numClasses) return undefined;
  const rand = mulberry32((seed ^ 0x0c1a_55e5) >>> 0);
  return Int32Array.from({ length: count }, () => Math.floor(rand() * numClasses));
}

/** Latents [start, start + n) as a tensor, with their classes. */
export function latentBatch(z: Float32Array, classes: Int32Array | undefined, dim: number, start: number, n: number): { z: tf.Tensor2D; classes?: tf.Tensor1D } {
  return {
    z: tf.tensor2d(z.subarray(start * dim, (start + n) * dim), [n, dim]),
    ...(classes ? { classes: tf.tensor1d(classes.subarray(start, start + n), 'int32') } : {}),
  };
}

/** Concatenates scored batches. */
export function mergeScored(parts: readonly ScoredImages[]): ScoredImages {
  const count = parts.reduce((n, p) => n + p.count, 0);
  const k = parts[0] ? parts[0].probs.length / Math.max(1, parts[0].count) : 0;
  const probs = new Float32Array(count * k);
  const factors: Record<string, Float32Array> = {};
  for (const name of Object.keys(parts[0]?.factors ?? {})) factors[name] = new Float32Array(count);
  let at = 0;
  for (const p of parts) {
    probs.set(p.probs, at * k);
    for (const name of Object.keys(factors)) factors[name]!.set(p.factors[name]!, at);
    at += p.count;
  }
  return { count, probs, factors };
}

/** Throws unless the classifier reads the generator's images. */
export function checkCompatible(gen: DirectionGenerator, scorer: AttributeScorer): void {
  const a = gen.imageShape.join('×');
  const b = scorer.imageShape.join('×');
  if (a !== b) throw new Error(`classifier ${scorer.id} reads ${b} images, model ${gen.id} makes ${a}`);
}

/** Decodes `count` latents and scores every image, SCORE_BATCH at a time. */
export async function scoreLatents(
  gen: DirectionGenerator,
  scorer: AttributeScorer,
  z: Float32Array,
  classes: Int32Array | undefined,
  count: number,
  onProgress?: ProgressFn,
): Promise<ScoredImages> {
  checkCompatible(gen, scorer);
  const parts: ScoredImages[] = [];
  for (let start = 0; start < count; start += SCORE_BATCH) {
    const n = Math.min(SCORE_BATCH, count - start);
    const images = tf.tidy(() => {
      const b = latentBatch(z, classes, gen.latentDim, start, n);
      return gen.decode(b.z, b.classes);
    });
    try {
      parts.push(scorer.score(images));
    } finally {
      images.dispose();
    }
    await onProgress?.(start + n, count);
  }
  return mergeScored(parts);
}
