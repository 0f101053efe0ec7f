/**
 * The directions protocol: discovery requests (REST `POST /api/models/:id/directions` and the
 * room event `direction:discover` take the same body), the per-latent steer, the scores every
 * direction carries, job views, and the export format. Shared by the server and the browser;
 * rules D1… are in ./SPEC.md, the methods in docs/directions.md.
 */
import { z } from 'zod';
import { ItemIdSchema, MAX_STEER_STEPS } from './rooms';

export { MAX_STEER_STEPS };

export const DIRECTION_METHODS = ['classifier-gradient', 'linear-boundary', 'pca', 'sefa', 'centroid-difference', 'conditional'] as const;
export type DirectionMethod = (typeof DIRECTION_METHODS)[number];

/** Methods that need the model's domain classifier (the others only use it for their scores). */
export const CLASSIFIER_METHODS: readonly DirectionMethod[] = ['classifier-gradient', 'linear-boundary'];

/** Largest number of bookmarks on each side of a centroid difference. */
export const MAX_CENTROID_BOOKMARKS = 32;
/** Most directions a conditional direction is made orthogonal to. */
export const MAX_CONDITIONS = 8;
/** Most components one PCA or SeFa job stores. */
export const MAX_COMPONENTS = 20;

const seed = z.number().int().min(0).max(0xffffffff);
/** An attribute of the model's classifier: a class name (`7`, `circle`) or a factor (`scale`). */
const attribute = z.string().trim().min(1).max(60);

export const ClassifierGradientParamsSchema = z.strictObject({
  attribute,
  /** Latents whose normalised gradients are averaged. */
  samples: z.number().int().min(8).max(4096).default(256),
  seed: seed.default(1),
});

export const LinearBoundaryParamsSchema = z.strictObject({
  attribute,
  /** Latents sampled and scored (InterFaceGAN's N). */
  samples: z.number().int().min(100).max(20_000).default(10_000),
  /**
   * Share of the latents taken from each end of the scores as positives and negatives. Default:
   * 0.2 for a factor; for a class, half the share of latents the classifier gives that class
   * (at most 0.2), so that the top end holds that class and not its nearest rivals.
   */
  extremes: z.number().gt(0).max(0.5).optional(),
  /** Share of those held out to measure the boundary's accuracy. */
  heldOut: z.number().gt(0).max(0.9).default(0.2),
  /** L2 weight of the logistic regression. */
  lambda: z.number().gt(0).max(100).default(1e-3),
  seed: seed.default(1),
});

export const PcaParamsSchema = z.strictObject({
  /** `activations`: GANSpace over the first layer; `encoded`: the encoder's means of the data set. */
  source: z.enum(['activations', 'encoded']).default('activations'),
  components: z.number().int().min(1).max(MAX_COMPONENTS).default(5),
  /** Latents sampled (activations) or images encoded (encoded). */
  samples: z.number().int().min(50).max(20_000).default(2000),
  seed: seed.default(1),
});

export const SefaParamsSchema = z.strictObject({
  components: z.number().int().min(1).max(MAX_COMPONENTS).default(5),
});

export const CentroidParamsSchema = z.strictObject({
  /** Bookmark ids of the group the direction points to. */
  positive: z.array(ItemIdSchema).min(1).max(MAX_CENTROID_BOOKMARKS),
  /** Bookmark ids of the group it points away from. */
  negative: z.array(ItemIdSchema).min(1).max(MAX_CENTROID_BOOKMARKS),
});

export const ConditionalParamsSchema = z.strictObject({
  /** The stored direction to keep. */
  direction: ItemIdSchema,
  /** Stored directions to leave alone (projected out). */
  conditions: z.array(ItemIdSchema).min(1).max(MAX_CONDITIONS),
});

/** How every new direction is scored (./SPEC.md D4; docs/directions.md "Scores"). */
export const ScoringSchema = z.strictObject({
  /** Latents moved along the direction. */
  samples: z.number().int().min(4).max(1024).default(64),
  /** Steps go from −span to +span (z units); the flip step is span. */
  span: z.number().gt(0).max(10).default(2),
  seed: seed.default(7),
});
export type Scoring = z.output<typeof ScoringSchema>;

const name = z.string().trim().min(1).max(60);
const common = { name: name.optional(), scoring: ScoringSchema.optional() };

/**
 * A discovery request. @example { method: 'linear-boundary', params: { attribute: 'scale' }, name: 'bigger' }
 * @example { method: 'sefa', params: { components: 3 } }
 */
export const DirectionDiscoverRequestSchema = z.discriminatedUnion('method', [
  z.strictObject({ method: z.literal('classifier-gradient'), params: ClassifierGradientParamsSchema, ...common }),
  z.strictObject({ method: z.literal('linear-boundary'), params: LinearBoundaryParamsSchema, ...common }),
  z.strictObject({ method: z.literal('pca'), params: PcaParamsSchema.default({} as never), ...common }),
  z.strictObject({ method: z.literal('sefa'), params: SefaParamsSchema.default({} as never), ...common }),
  z.strictObject({ method: z.literal('centroid-difference'), params: CentroidParamsSchema, ...common }),
  z.strictObject({ method: z.literal('conditional'), params: ConditionalParamsSchema, ...common }),
]);
export type DirectionDiscoverRequest = z.input<typeof DirectionDiscoverRequestSchema>;
export type DirectionSpec = z.output<typeof DirectionDiscoverRequestSchema>;

/**
 * `GET /api/models/:id/directions/attributes`: the attributes the model's classifier scores, the
 * values `attribute` takes in classifier methods and `direction:steer`; empty without a classifier.
 * @example { ok: true, attributes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] }
 */
export const DirectionAttributesAnswerSchema = z.object({ ok: z.literal(true), attributes: z.array(z.string()) });
export const directionAttributesUrl = (modelId: string) => `/api/models/${encodeURIComponent(modelId)}/directions/attributes`;

/** `direction:discover` answer. @example { jobId: '5d1c…' } */
export interface DirectionDiscoverResponse {
  jobId: string;
}

/**
 * `direction:steer`: move the room's latent toward (sign 1) or away from (−1) an attribute of the
 * model's classifier by normalised gradient ascent, at most `steps` steps of `stepSize` z units
 * (a class stops early once the classifier gives it 0.9). Default 60 steps: with the retrained
 * dcgan-mnist (docs/benchmarks.md, bench:directions) 30 left 14% of edits short of their digit.
 * @example { attribute: '7', steps: 60, stepSize: 0.15 }
 */
export const DirectionSteerRequestSchema = z.strictObject({
  attribute,
  steps: z.number().int().min(1).max(MAX_STEER_STEPS).default(60),
  stepSize: z.number().gt(0).max(5).default(0.15),
  sign: z.union([z.literal(1), z.literal(-1)]).default(1),
});
export type DirectionSteerRequest = z.input<typeof DirectionSteerRequestSchema>;

/** `direction:steer` answer: the version of the `steer` op, and what the classifier says now. */
export interface DirectionSteerResponse {
  version: number;
  /** Gradient steps taken (a class edit stops once the classifier is sure). */
  steps: number;
  /** The attribute's value at the new z (a class probability, a factor's value). */
  value: number;
  /** Whether the image now has the attribute (the class is the arg max; a factor is above its middle). */
  reached: boolean;
}

/**
 * The scores of a direction (docs/directions.md "Scores"): measured by moving `samples` latents
 * from −span to +span along its unit vector and reading the model's classifier. Figures a model
 * cannot have (no classifier, no factors, no encoder) are absent.
 */
export interface DirectionScores {
  /** The classifier that read the images. */
  classifier?: string;
  /** The attribute the method aimed at, if any. */
  target?: string;
  /** The attribute the direction moves most (largest |factor correlation|, else |slope|). */
  dominant?: string;
  samples?: number;
  span?: number;
  /** Share of latents whose label for each attribute flips after a step of `span` toward the other side. */
  flipRate?: Record<string, number>;
  /** Change of each attribute's value per unit step (within-latent regression slope). */
  slope?: Record<string, number>;
  /** slope[a] / slope[target or dominant] for every other attribute: what else changes per unit of it. */
  entanglement?: Record<string, number>;
  /** Shapes: within-latent correlation of each factor head's reading with the step (rotation: circular-linear, no sign). */
  factorCorrelation?: Record<string, number>;
  /** Models with an encoder, data sets with factors: correlation of each true factor with the projection of the encoded images on the direction. */
  encoderCorrelation?: Record<string, number>;
  /** Boundary methods: accuracy of the fitted boundary on held-out extremes. */
  heldOutAccuracy?: number;
  /** The method's own figures: explained variance, eigenvalue, agreement, ... */
  method?: Record<string, number | string | boolean>;
}

/** A stored direction as the REST API lists it. */
export interface DirectionRecord {
  id: string;
  name: string;
  method: string;
  scores: DirectionScores;
  createdAt: string;
}

export type DirectionJobStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** A discovery job (`GET /api/direction-jobs/:id`). */
export interface DirectionJobView {
  id: string;
  modelId: string;
  method: DirectionMethod;
  name: string;
  params: Record<string, unknown>;
  status: DirectionJobStatus;
  progress: { done: number; total: number } | null;
  /** The stored directions, once succeeded. */
  result: { directions: DirectionRecord[] } | null;
  error: string | null;
  /** The room that asked for it, if one did. */
  roomId: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** `direction:progress`, to the requesting room's members. */
export interface DirectionProgressBroadcast {
  jobId: string;
  method: DirectionMethod;
  done: number;
  total: number;
}

/** `direction:failed`, to the requesting room's members. */
export interface DirectionFailedBroadcast {
  jobId: string;
  message: string;
}

/** The export format (`GET /api/models/:id/directions/export`). */
export const DIRECTIONS_EXPORT_FORMAT = 'latentroom-directions';
export const DIRECTIONS_EXPORT_VERSION = 1;
/** Largest import body, bytes, and most directions in one import. */
export const MAX_DIRECTIONS_IMPORT_BYTES = 4 * 1024 * 1024;
export const MAX_DIRECTIONS_IMPORT = 500;

export const ExportedDirectionSchema = z.strictObject({
  name,
  method: z.string().trim().min(1).max(60),
  /** Float32 values as JSON numbers: parsed back to float32 they are the same bits. */
  vector: z.array(z.number()).min(1).max(1024),
  scores: z.record(z.string(), z.unknown()).default({}),
  createdAt: z.string().max(40).optional(),
});

export const DirectionsExportSchema = z.strictObject({
  format: z.literal(DIRECTIONS_EXPORT_FORMAT),
  formatVersion: z.literal(DIRECTIONS_EXPORT_VERSION),
  modelId: z.string().min(1).max(100),
  weightsHash: z.string().max(128).nullable(),
  directions: z.array(ExportedDirectionSchema).max(MAX_DIRECTIONS_IMPORT),
});
export type DirectionsExport = z.input<typeof DirectionsExportSchema>;
