/**
 * Methods 5 and 6, pure vector arithmetic over stored latents and directions (lib/latent).
 *
 * Centroid difference: d = mean(positive) − mean(negative) over two groups of bookmarks, the
 * vector arithmetic of word embeddings carried to latent spaces by Radford, Metz & Chintala 2016
 * ("DCGAN", §6.3: "smiling woman − neutral woman + neutral man = smiling man", with each concept
 * the average of three examples' latents, which "was unstable" with single samples). The stored
 * vector keeps its length (the distance between the centroids): added with weight 1 in a `sum` op
 * it carries one group's latent to the other's, and a nudge normalises it anyway.
 *
 * Conditional manipulation (Shen et al. 2020, InterFaceGAN §2.2): when attribute directions are
 * correlated (moving along "glasses" also ages a face), project the others out of the primary
 * one: d′ = (d − P_S d)/‖d − P_S d‖ with S the span of the conditioned directions (lib/latent
 * `orthogonalize`, Gram–Schmidt). To first order, a step along d′ leaves every conditioned
 * direction's coordinate — so, for boundary directions, that attribute's predicted score —
 * unchanged. Up to MAX_CONDITIONS directions.
 */
import { centroidDifference, orthogonalize } from '../../lib/latent/basis';
import { dot, norm } from '../../lib/latent/vector';
import { MAX_CONDITIONS } from '../../lib/protocol/directions';
import type { FoundDirection } from './types';

export function centroidDifferenceDirection(positive: readonly Float32Array[], negative: readonly Float32Array[]): FoundDirection {
  if (positive.length === 0 || negative.length === 0) throw new RangeError('each group needs at least one latent');
  const vector = centroidDifference(positive, negative);
  const length = norm(vector);
  if (!(length > 0)) throw new Error('the two groups have the same centroid: their difference is zero');
  return { vector, meta: { positives: positive.length, negatives: negative.length, length } };
}

export function conditionalDirection(primary: Float32Array, conditions: readonly Float32Array[]): FoundDirection {
  if (conditions.length === 0 || conditions.length > MAX_CONDITIONS) {
    throw new RangeError(`condition on 1 to ${MAX_CONDITIONS} directions, got ${conditions.length}`);
  }
  const vector = orthogonalize(primary, conditions);
  if (!vector) throw new Error('the direction lies in the span of the others: nothing is left once they are projected out');
  return {
    vector,
    // How much of the primary direction survives: 1 when it was already orthogonal to the others.
    meta: { conditions: conditions.length, cosineWithPrimary: dot(vector, primary) / norm(primary) },
  };
}
