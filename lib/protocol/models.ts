/**
 * The models REST API (`GET /api/models`, `GET /api/models/:id`, served by
 * server/http/models.ts), shared by the server that builds the answers and the pages that read
 * them (which parse them: a response is input like any other). Cards are written by the
 * training runner and `npm run eval` (models/common/checkpoint.ts, docs/evaluation.md); the
 * schemas here read the fields the UI shows and pass the rest through.
 */
import { z } from 'zod';

export const MODELS_API = '/api/models';

const num = z.number().nullable().optional();

/** `metrics.summary` of a card: the headline figures at psi = 1 beside their floors. */
export const MetricsSummarySchema = z
  .object({
    features: z.string().optional(),
    fid: num,
    fidFloor: num,
    fidOverFloor: num,
    precision: num,
    recall: num,
    precisionFloor: num,
    recallFloor: num,
    inceptionScore: num,
    inceptionScoreFloor: num,
    classAccuracy: num,
    classAccuracyFloor: num,
    elbo: num,
    iwNll: num,
    iwK: num,
  })
  .loose();
export type MetricsSummary = z.infer<typeof MetricsSummarySchema>;

const MeanStd = z.object({ mean: z.number(), std: z.number() });

/** One truncation setting of an evaluation report. */
export const EvalSettingSchema = z
  .object({
    truncation: z.string(),
    count: z.number().optional(),
    fid: z.number().optional(),
    fidOverFloor: z.number().optional(),
    precision: MeanStd.optional(),
    recall: MeanStd.optional(),
    inceptionScore: MeanStd.optional(),
    classAccuracy: z.number().optional(),
  })
  .loose();
export type EvalSetting = z.infer<typeof EvalSettingSchema>;

export const EvaluationSchema = z
  .object({
    features: z.object({ kind: z.string(), name: z.string(), description: z.string().optional() }).loose().optional(),
    floor: z
      .object({
        fid: z.number().optional(),
        precision: MeanStd.optional(),
        recall: MeanStd.optional(),
        inceptionScore: MeanStd.optional(),
        classAccuracy: z.number().optional(),
        count: z.number().optional(),
      })
      .loose()
      .optional(),
    settings: z.array(EvalSettingSchema).default([]),
    likelihood: z
      .object({
        unit: z.string().optional(),
        k: z.number().optional(),
        heldOut: z.object({ elbo: z.number(), iwNll: z.number().optional() }).loose().optional(),
      })
      .loose()
      .optional(),
    evaluatedAt: z.string().optional(),
    command: z.string().optional(),
  })
  .loose();
export type Evaluation = z.infer<typeof EvaluationSchema>;

/** What a card says that the UI shows; every field optional (imported and built-in models have less). */
export const CardSchema = z
  .object({
    id: z.string(),
    name: z.string().optional(),
    family: z.string().optional(),
    dataset: z.string().optional(),
    steps: z.number().optional(),
    batchSize: z.number().optional(),
    seed: z.number().optional(),
    wallMs: z.number().optional(),
    backend: z.string().optional(),
    command: z.string().optional(),
    createdAt: z.string().optional(),
    losses: z.record(z.string(), z.number()).optional(),
    config: z.record(z.string(), z.unknown()).optional(),
    metrics: z
      .object({ summary: MetricsSummarySchema.optional(), evaluation: EvaluationSchema.optional() })
      .loose()
      .optional(),
  })
  .loose();
export type Card = z.infer<typeof CardSchema>;

/** A model the engine has loaded (server/inference/engine-protocol.ts ModelSummary). */
export const ModelSummarySchema = z.object({
  id: z.string(),
  family: z.string(),
  latentDim: z.number(),
  trained: z.boolean().optional(),
  imageShape: z.tuple([z.number(), z.number(), z.number()]).optional(),
  name: z.string().optional(),
  dataset: z.string().optional(),
  numClasses: z.number().nullable().optional(),
  classNames: z.array(z.string()).optional(),
  weightsHash: z.string().optional(),
  steps: z.number().optional(),
});
export type ModelSummaryInfo = z.infer<typeof ModelSummarySchema>;

/** `GET /api/models`: every loaded model with the short form of its card (no evaluation report). */
export const ModelListSchema = z.object({
  ok: z.literal(true),
  models: z.array(ModelSummarySchema.extend({ card: CardSchema.nullable(), hasSamples: z.boolean() })),
});
export type ModelListEntry = z.infer<typeof ModelListSchema>['models'][number];

/** `GET /api/models/:id`: the model and its whole card. */
export const ModelDetailSchema = z.object({
  ok: z.literal(true),
  model: ModelSummarySchema,
  card: CardSchema.nullable(),
  hasSamples: z.boolean(),
});
export type ModelDetail = z.infer<typeof ModelDetailSchema>;

/** `GET /api/models/:id/image.png?z=&psi=&class=`: z is float32 little-endian, base64url. */
export function encodeLatentParam(z: ArrayLike<number>): string {
  const f = Float32Array.from(z as ArrayLike<number>);
  const bytes = new Uint8Array(f.buffer);
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]!);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The URL of the image of a latent (psi and class as a room would decode them). */
export function latentImageUrl(modelId: string, z: ArrayLike<number>, psi = 1, classLabel: number | null = null): string {
  const q = new URLSearchParams({ z: encodeLatentParam(z), psi: String(psi) });
  if (classLabel !== null) q.set('class', String(classLabel));
  return `${MODELS_API}/${encodeURIComponent(modelId)}/image.png?${q.toString()}`;
}
