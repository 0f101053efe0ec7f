/**
 * A training job's specification: what the CLI's flags and the API's JSON body both become.
 * Validated once, here; the family validates its own `config` (models/<family>/index.ts).
 */
import { z } from 'zod';
import { FAMILY_NAMES } from '../../models/common/family';

/** Model ids are folder names under MODEL_DIR and appear in URLs: a strict slug. */
export const MODEL_ID = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'a model id is 1-63 lowercase letters, digits and dashes, starting with a letter or digit');

/** Most steps one job may run (about 10 days of the DCGAN on one core). */
export const MAX_JOB_STEPS = 1_000_000;

export const TrainJobSpecSchema = z
  .strictObject({
    family: z.enum(FAMILY_NAMES, { error: (i) => `unknown family ${JSON.stringify(i.input)}; one of ${FAMILY_NAMES.join(', ')}` }),
    /** `mnist`, `shapes32`, `shapes64` or `folder:<path>`. */
    dataset: z.string().min(1).max(1024),
    modelId: MODEL_ID,
    name: z.string().min(1).max(200).optional(),
    /** The family's own options (validated by the family). */
    config: z.record(z.string(), z.unknown()).default({}),
    steps: z.number().int().min(1).max(MAX_JOB_STEPS),
    batchSize: z.number().int().min(1).max(1024).default(64),
    seed: z.number().int().min(0).max(2 ** 31 - 1).default(0),
    progressEvery: z.number().int().min(1).default(10),
    sampleEvery: z.number().int().min(1).default(200),
    checkpointEvery: z.number().int().min(1).default(500),
    /** Start from another model's networks (VAE-GAN from a VAE): a model id under MODEL_DIR. */
    initFrom: MODEL_ID.optional(),
    /** The command that reproduces the job, stored in the model card. */
    command: z.string().max(2000).optional(),
  });

export type TrainJobSpec = z.infer<typeof TrainJobSpecSchema>;
