/**
 * Direction discovery: the six methods of issue 6 as functions of a generator and (where they
 * need one) a classifier, and the scores every direction gets. Each file's header has the maths
 * and the paper:
 *
 *   classifier-gradient   ./classifier-gradient.ts   (also the per-latent steer)
 *   linear-boundary       ./linear-boundary.ts       InterFaceGAN (Shen et al. 2020)
 *   pca                   ./pca.ts                   GANSpace (Härkönen et al. 2020)
 *   sefa                  ./sefa.ts                  SeFa (Shen & Zhou 2021)
 *   centroid-difference   ./vector-methods.ts        (Radford et al. 2016)
 *   conditional           ./vector-methods.ts        InterFaceGAN §2.2
 *   scores                ./scores.ts
 *
 * `discoverDirections` runs one method from a parsed request (lib/protocol/directions.ts) once
 * its inputs (model, classifier, stored vectors, data set images) are resolved: the server's
 * job worker (server/directions) does the loading. Every tensor op is tidy; nothing is kept.
 */
import type { DirectionSpec } from '../../lib/protocol/directions';
import { classifierGradientDirection } from './classifier-gradient';
import { linearBoundaryDirection } from './linear-boundary';
import { activationPcaDirections, encodedPcaDirections } from './pca';
import { sefaDirections } from './sefa';
import type { AttributeScorer, DirectionGenerator, FoundDirection, ProgressFn } from './types';
import { centroidDifferenceDirection, conditionalDirection } from './vector-methods';

export * from './types';
export { attributeScorer, attributeValue, hasAttribute } from './attributes';
export { directionGenerator, firstDenseBlock } from './generator';
export { classifierGradientDirection, steerLatents, STEER_CLASS_CONFIDENCE, type SteerParams, type SteerResult } from './classifier-gradient';
export { linearBoundaryDirection } from './linear-boundary';
export { activationPcaDirections, encodedPcaDirections } from './pca';
export { sefaDirections } from './sefa';
export { centroidDifferenceDirection, conditionalDirection } from './vector-methods';
export { scoreDirection, encoderCorrelation, type FactorProbe, type ScoreParams } from './scores';
export { sampleLatents, sampleClasses, scoreLatents } from './sampling';

/** What a method may need besides the request: resolved by the caller. */
export interface DiscoverInputs {
  gen: DirectionGenerator;
  scorer?: AttributeScorer;
  /** centroid-difference: the bookmarks' latents. */
  positive?: Float32Array[];
  negative?: Float32Array[];
  /** conditional: the stored directions' vectors. */
  primary?: Float32Array;
  conditions?: Float32Array[];
  /** pca with source `encoded`: the data set's images. */
  images?: { data: Float32Array; count: number };
}

/** How many directions a request produces (known before it runs: for progress). */
export function expectedCount(spec: DirectionSpec): number {
  return spec.method === 'pca' || spec.method === 'sefa' ? spec.params.components : 1;
}

function needScorer(inputs: DiscoverInputs, method: string): AttributeScorer {
  if (!inputs.scorer) throw new Error(`${method} needs the model's classifier`);
  return inputs.scorer;
}

export async function discoverDirections(spec: DirectionSpec, inputs: DiscoverInputs, onProgress?: ProgressFn): Promise<FoundDirection[]> {
  const { gen } = inputs;
  switch (spec.method) {
    case 'classifier-gradient':
      return [await classifierGradientDirection(gen, needScorer(inputs, spec.method), spec.params, onProgress)];
    case 'linear-boundary':
      return [await linearBoundaryDirection(gen, needScorer(inputs, spec.method), spec.params, onProgress)];
    case 'pca':
      if (spec.params.source === 'activations') return activationPcaDirections(gen, spec.params, onProgress);
      if (!inputs.images) throw new Error('pca over encoded images needs the data set images');
      return encodedPcaDirections(gen, inputs.images.data, inputs.images.count, spec.params, onProgress);
    case 'sefa': {
      const found = sefaDirections(gen, spec.params);
      await onProgress?.(1, 1);
      return found;
    }
    case 'centroid-difference':
      if (!inputs.positive || !inputs.negative) throw new Error('centroid-difference needs the bookmarks of both groups');
      return [centroidDifferenceDirection(inputs.positive, inputs.negative)];
    case 'conditional':
      if (!inputs.primary || !inputs.conditions) throw new Error('conditional needs the stored directions');
      return [conditionalDirection(inputs.primary, inputs.conditions)];
  }
}
