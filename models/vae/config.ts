/**
 * Config parsing for the `vae` and `vae-gan` families (zod): unknown keys, wrong types and
 * impossible values are errors that name the field; every field has a default.
 */
import { z } from 'zod';
import type { Dataset } from '../common/family';
import { parseConfigWith } from '../common/init';
import { vaeShapeProblem } from './model';

/**
 * The fields that fix the encoder's and decoder's architecture and initial weights. The `vae`
 * and `vae-gan` configs both start with these, with the same defaults, so that the same values
 * build identical networks (a VAE checkpoint then loads into a VAE-GAN by role).
 */
export const vaeArchitectureFields = {
  /** Size of z. */
  latentDim: z.number().int().min(1).max(1024).default(16),
  /** Filters of the outermost encoder/decoder stage; each stage inwards doubles them. */
  filters: z.number().int().min(1).max(512).default(32),
  /** LeakyReLU slope in the encoder (0: ReLU). */
  encoderLeak: z.number().min(0).lt(1).default(0.2),
  /** LeakyReLU slope in the decoder (0: ReLU). */
  decoderLeak: z.number().min(0).lt(1).default(0),
  /** 'transposed' (4×4 stride 2) or 'resize' (nearest ×2 then 3×3): see ./model.ts. */
  upsampling: z.enum(['transposed', 'resize']).default('transposed'),
  /** Seed of the initial weights (each layer derives its own from it). */
  seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
};

/** The weight of the KL term (β-VAE, Higgins et al. 2017; 1 is the ELBO). */
export const betaField = z.number().min(0).max(1000).default(1);

/** What a family needs to know of its data set. */
export type DatasetInfo = Pick<Dataset, 'name' | 'imageShape' | 'numClasses'>;

/**
 * Parses `raw` (undefined or null: all defaults) with `schema`; throws one Error naming every bad
 * field, e.g. `vae config: latentDim: Too small: expected number to be >=1` or
 * `vae config: unknown field latentSize`. Also refuses data sets whose images the builders cannot
 * take (naming the data set's imageShape).
 */
export function parseFamilyConfig<S extends z.ZodType>(family: string, schema: S, raw: unknown, dataset: DatasetInfo): z.output<S> {
  return parseConfigWith(family, schema, raw, dataset, (shape) => {
    const problem = vaeShapeProblem(shape);
    return problem ? `imageShape: ${problem}` : problem;
  });
}
