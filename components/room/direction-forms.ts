/**
 * The pure side of the room's "Find directions" and "Steer toward" forms: which fields each
 * discovery method has (bounds and defaults read from the zod schemas of lib/protocol/directions.ts,
 * so the form cannot drift from the protocol), turning the form's text values into a request that
 * the same schemas accept (or the reasons it is refused, by field: nothing invalid is ever sent),
 * and a compact reading of a direction's scores. No React here; tests/unit/direction-forms.test.ts.
 */
import { z } from 'zod';
import {
  CLASSIFIER_METHODS,
  CentroidParamsSchema,
  ClassifierGradientParamsSchema,
  ConditionalParamsSchema,
  DIRECTION_METHODS,
  DirectionDiscoverRequestSchema,
  DirectionSteerRequestSchema,
  LinearBoundaryParamsSchema,
  PcaParamsSchema,
  ScoringSchema,
  SefaParamsSchema,
  type DirectionDiscoverRequest,
  type DirectionMethod,
  type DirectionScores,
  type DirectionSteerRequest,
} from '@/lib/protocol/directions';

/** What a field holds: numbers and choices are strings as the inputs give them; multi-selects are id lists. */
export type FormValues = Record<string, string | string[]>;

export type FieldKind = 'integer' | 'number' | 'choice' | 'attribute' | 'bookmarks' | 'direction' | 'directions' | 'text';

export interface FieldSpec {
  /** `params.samples`, `scoring.span`, `name`: the request path, also the form key. */
  key: string;
  label: string;
  hint: string;
  kind: FieldKind;
  /** Left empty, the server's default applies (or, for `extremes`, its rule). */
  optional: boolean;
  min?: number;
  max?: number;
  /** The minimum itself is refused (`gt`). */
  minExclusive?: boolean;
  /** Choices of a `choice` field. */
  options?: readonly string[];
  /** Most ids of a multi-select. */
  maxItems?: number;
  /** The schema's default, as the input shows it. */
  initial: string | string[];
}

export const PARAMS_SCHEMAS = {
  'classifier-gradient': ClassifierGradientParamsSchema,
  'linear-boundary': LinearBoundaryParamsSchema,
  pca: PcaParamsSchema,
  sefa: SefaParamsSchema,
  'centroid-difference': CentroidParamsSchema,
  conditional: ConditionalParamsSchema,
} as const satisfies Record<DirectionMethod, z.ZodObject>;

export const METHOD_INFO: Record<DirectionMethod, { label: string; about: string }> = {
  'classifier-gradient': { label: 'Classifier gradient', about: "Averages the classifier's gradient of one attribute over many latents." },
  'linear-boundary': { label: 'Linear boundary', about: 'Fits a boundary between latents scored high and low on one attribute (InterFaceGAN); reports held-out accuracy.' },
  pca: { label: 'PCA', about: "Principal components of the generator's first-layer activations (GANSpace) or of the encoded data set." },
  sefa: { label: 'SeFa', about: "Closed form: the top eigenvectors of the generator's first weight matrix. Fastest." },
  'centroid-difference': { label: 'Centroid difference', about: 'From the mean of one group of bookmarks to the mean of another.' },
  conditional: { label: 'Conditional', about: 'An existing direction with the others projected out, so moving along it leaves them alone.' },
};

/** Labels and hints of every field the schemas have; kinds of the fields that are not plain numbers. */
const FIELD_TEXT: Record<string, { label: string; hint: string; kind?: FieldKind }> = {
  attribute: { label: 'Attribute', hint: "What the model's classifier scores: a class or a factor.", kind: 'attribute' },
  samples: { label: 'Samples', hint: 'Latents sampled (more: steadier, slower).' },
  seed: { label: 'Seed', hint: 'The same seed gives the same result.' },
  extremes: { label: 'Extremes share', hint: 'Share of latents taken from each end of the scores; empty: chosen from the attribute.' },
  heldOut: { label: 'Held-out share', hint: "Share kept aside to measure the boundary's accuracy." },
  lambda: { label: 'L2 weight', hint: 'Regularisation of the logistic regression.' },
  source: { label: 'Source', hint: "activations: the generator's first layer; encoded: the encoder's means (VAE models)." },
  components: { label: 'Components', hint: 'Directions stored, one per component.' },
  positive: { label: 'Toward (bookmarks)', hint: 'The group the direction points to.', kind: 'bookmarks' },
  negative: { label: 'Away from (bookmarks)', hint: 'The group it points away from.', kind: 'bookmarks' },
  direction: { label: 'Direction', hint: 'The stored direction to keep.', kind: 'direction' },
  conditions: { label: 'Orthogonal to', hint: 'Directions to leave alone (projected out).', kind: 'directions' },
  span: { label: 'Scoring span', hint: 'Latents move from −span to +span (z units) when scored.' },
};

const SCORING_TEXT: Record<string, { label: string; hint: string }> = {
  samples: { label: 'Scoring samples', hint: 'Latents moved along the new direction to score it (fewer: faster).' },
  span: FIELD_TEXT['span']!,
};

/** Reads bounds, choices and default off one schema field (zod 4's public introspection). */
function describe(key: string, schema: z.ZodType, text: { label: string; hint: string; kind?: FieldKind }): FieldSpec {
  let inner: z.ZodType = schema;
  let optional = false;
  let initial: string | string[] = '';
  for (;;) {
    if (inner instanceof z.ZodDefault) {
      const d: unknown = inner.def.defaultValue;
      initial = Array.isArray(d) ? d.map(String) : String(d);
      optional = true;
      inner = inner.unwrap() as z.ZodType;
    } else if (inner instanceof z.ZodOptional) {
      optional = true;
      inner = inner.unwrap() as z.ZodType;
    } else break;
  }
  const spec: FieldSpec = { key, label: text.label, hint: text.hint, kind: text.kind ?? 'text', optional, initial };
  if (inner instanceof z.ZodNumber) {
    spec.kind = inner.isInt ? 'integer' : 'number';
    if (inner.minValue !== null && Number.isFinite(inner.minValue)) spec.min = inner.minValue;
    if (inner.maxValue !== null && Number.isFinite(inner.maxValue)) spec.max = inner.maxValue;
    const gt = (inner.def.checks ?? []).some((c) => (c._zod.def as { check?: string; inclusive?: boolean }).check === 'greater_than' && !(c._zod.def as { inclusive?: boolean }).inclusive);
    if (gt) spec.minExclusive = true;
  } else if (inner instanceof z.ZodEnum) {
    spec.kind = 'choice';
    spec.options = inner.options.map(String);
  } else if (inner instanceof z.ZodArray) {
    spec.maxItems = (inner.def.checks ?? [])
      .map((c) => c._zod.def as { check?: string; maximum?: number })
      .find((c) => c.check === 'max_length')?.maximum;
    if (!Array.isArray(spec.initial)) spec.initial = [];
  }
  return spec;
}

/** The fields of a method: its parameters, then the optional name and the scoring size. */
export function methodFields(method: DirectionMethod): FieldSpec[] {
  const shape = PARAMS_SCHEMAS[method].shape as Record<string, z.ZodType>;
  const params = Object.entries(shape).map(([k, s]) => describe(`params.${k}`, s, FIELD_TEXT[k] ?? { label: k, hint: '' }));
  const scoring = (['samples', 'span'] as const).map((k) => describe(`scoring.${k}`, ScoringSchema.shape[k], SCORING_TEXT[k]!));
  const name: FieldSpec = { key: 'name', label: 'Direction name', hint: 'Optional; the server names it from the method otherwise.', kind: 'text', optional: true, initial: '' };
  return [...params, name, ...scoring];
}

/** The form's starting values: the schemas' defaults; the first attribute, if there is one. */
export function initialValues(method: DirectionMethod, attributes: readonly string[] = []): FormValues {
  const values: FormValues = {};
  for (const f of methodFields(method)) values[f.key] = f.kind === 'attribute' ? (attributes[0] ?? '') : f.initial;
  return values;
}

/** Methods this model can run, and why not for the others (the server would refuse them: D1). */
export function methodAvailability(method: DirectionMethod, model: { attributes: readonly string[]; family?: string; bookmarks: number; directions: number }): string | null {
  if (CLASSIFIER_METHODS.includes(method) && model.attributes.length === 0) return 'needs a classifier for this model’s images, and it has none';
  if ((method === 'sefa' || method === 'pca') && model.family === 'imported') return 'needs the generator’s first layer, which an imported model does not expose';
  if (method === 'centroid-difference' && model.bookmarks < 2) return 'needs at least two bookmarks in this room';
  if (method === 'conditional' && model.directions < 2) return 'needs at least two stored directions';
  return null;
}

export { DIRECTION_METHODS };

export type Built<T> = { ok: true; request: T } | { ok: false; errors: Record<string, string> };

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const [head, tail] = key.split('.', 2) as [string, string | undefined];
  if (tail === undefined) target[head] = value;
  else ((target[head] ??= {}) as Record<string, unknown>)[tail] = value;
}

function issueMessage(issue: z.core.$ZodIssue): string {
  const i = issue as z.core.$ZodIssue & { origin?: string; minimum?: number | bigint; maximum?: number | bigint; inclusive?: boolean };
  if (i.code === 'too_small' && i.origin === 'array') return `pick at least ${String(i.minimum)}`;
  if (i.code === 'too_big' && i.origin === 'array') return `pick at most ${String(i.maximum)}`;
  if (i.code === 'too_small' && i.origin === 'number') return i.inclusive ? `at least ${String(i.minimum)}` : `more than ${String(i.minimum)}`;
  if (i.code === 'too_big' && i.origin === 'number') return i.inclusive ? `at most ${String(i.maximum)}` : `less than ${String(i.maximum)}`;
  if (i.code === 'invalid_type' && i.expected === 'int') return 'a whole number';
  if (i.code === 'too_small' && i.origin === 'string') return 'required';
  return i.message;
}

/** Reads the text values into a raw object by path; numbers that do not parse are errors here. */
function readFields(fields: FieldSpec[], values: FormValues): { raw: Record<string, unknown>; errors: Record<string, string> } {
  const raw: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const v = values[f.key];
    if (Array.isArray(v)) {
      setPath(raw, f.key, v);
      continue;
    }
    const text = (v ?? '').trim();
    if (text === '') {
      if (!f.optional) errors[f.key] = 'required';
      continue;
    }
    if (f.kind === 'integer' || f.kind === 'number') {
      const n = Number(text);
      if (!Number.isFinite(n)) errors[f.key] = 'a finite number';
      else setPath(raw, f.key, n);
    } else setPath(raw, f.key, text);
  }
  return { raw, errors };
}

function schemaErrors(error: z.ZodError, errors: Record<string, string>): void {
  for (const issue of error.issues) {
    const key = issue.path.map(String).join('.') || 'form';
    errors[key] ??= issueMessage(issue);
  }
}

/**
 * The `direction:discover` request of a filled form, checked by the protocol's own schema and
 * against what the room knows (the latent size, a direction conditioned on itself), or the
 * reason for each refused field.
 */
export function buildDiscoverRequest(method: DirectionMethod, values: FormValues, context: { latentDim?: number } = {}): Built<DirectionDiscoverRequest> {
  const { raw, errors } = readFields(methodFields(method), values);
  const candidate = { method, params: raw['params'] ?? {}, ...(raw['name'] !== undefined ? { name: raw['name'] } : {}), ...(raw['scoring'] !== undefined ? { scoring: raw['scoring'] } : {}) };
  const parsed = DirectionDiscoverRequestSchema.safeParse(candidate);
  if (!parsed.success) schemaErrors(parsed.error, errors);
  const params = raw['params'] as Record<string, unknown> | undefined;
  const components = params?.['components'];
  if (context.latentDim !== undefined && typeof components === 'number' && components > context.latentDim) {
    errors['params.components'] ??= `at most ${context.latentDim} in this ${context.latentDim}-dimensional latent space`;
  }
  if (method === 'conditional' && Array.isArray(params?.['conditions']) && (params['conditions'] as string[]).includes(String(params['direction']))) {
    errors['params.conditions'] ??= 'a direction cannot be orthogonal to itself';
  }
  if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors };
  // Send what the schema accepted (defaults filled in: the request says exactly what runs).
  return { ok: true, request: parsed.data as DirectionDiscoverRequest };
}

/** A refused form in one line: each field's label (its key when it has none) and its error. */
export function notSentMessage(errors: Record<string, string>, fields: readonly FieldSpec[]): string {
  return `Not sent: ${Object.entries(errors)
    .map(([k, m]) => `${fields.find((f) => f.key === k)?.label ?? k}: ${m}`)
    .join(' · ')}`;
}

export const STEER_FIELDS: FieldSpec[] = [
  describe('attribute', DirectionSteerRequestSchema.shape.attribute, FIELD_TEXT['attribute']!),
  describe('steps', DirectionSteerRequestSchema.shape.steps, { label: 'Steps', hint: 'Most gradient steps (a class edit stops once the classifier is sure).' }),
  describe('stepSize', DirectionSteerRequestSchema.shape.stepSize, { label: 'Step size', hint: 'z units per step.' }),
];

export function initialSteerValues(attributes: readonly string[] = []): FormValues {
  return { attribute: attributes[0] ?? '', steps: STEER_FIELDS[1]!.initial, stepSize: STEER_FIELDS[2]!.initial, sign: '1' };
}

/** The `direction:steer` request of the steer form (sign `1` toward, `-1` away), or its errors. */
export function buildSteerRequest(values: FormValues): Built<DirectionSteerRequest> {
  const { raw, errors } = readFields(STEER_FIELDS, values);
  const sign = values['sign'] === '-1' ? -1 : values['sign'] === '1' || values['sign'] === undefined ? 1 : Number.NaN;
  const parsed = DirectionSteerRequestSchema.safeParse({ ...raw, sign });
  if (!parsed.success) schemaErrors(parsed.error, errors);
  if (Object.keys(errors).length > 0 || !parsed.success) return { ok: false, errors };
  return { ok: true, request: parsed.data };
}

/** One figure beside a direction's slider. */
export interface ScoreBadge {
  key: 'target' | 'flip' | 'entanglement' | 'heldOut' | 'method';
  text: string;
  /** The tooltip: what the figure means. */
  title: string;
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
/** Two decimals (exponent past them), with a true minus sign. */
const num = (x: number) => (x !== 0 && (Math.abs(x) >= 100 || Math.abs(x) < 0.01) ? x.toExponential(1) : x.toFixed(2)).replace('-', '−');

/**
 * The scores worth a glance (docs/directions.md "Scores"): the attribute the direction moves,
 * its flip rate, the most entangled other attribute, the held-out accuracy of a boundary; for a
 * model without a classifier, the method's first figure. Absent figures give no badge.
 */
export function scoreBadges(scores: DirectionScores | undefined): ScoreBadge[] {
  if (!scores) return [];
  const out: ScoreBadge[] = [];
  const attr = scores.target ?? scores.dominant;
  const n = scores.samples !== undefined ? `${scores.samples} ` : '';
  const span = scores.span !== undefined ? `±${scores.span}` : 'a step';
  if (attr !== undefined) {
    out.push({ key: 'target', text: `→ ${attr}`, title: scores.target !== undefined ? `Aimed at “${attr}”` : `Moves “${attr}” most of all the classifier's attributes` });
    const flip = scores.flipRate?.[attr];
    if (typeof flip === 'number') out.push({ key: 'flip', text: `flip ${pct(flip)}`, title: `Flip rate: share of ${n}sampled latents whose “${attr}” label flips after a step of ${span} along this direction (higher: it changes “${attr}” more reliably)` });
  }
  const others = Object.entries(scores.entanglement ?? {}).filter(([k, v]) => k !== attr && typeof v === 'number' && Number.isFinite(v));
  if (others.length > 0) {
    const [k, v] = others.reduce((a, b) => (Math.abs(b[1]) > Math.abs(a[1]) ? b : a));
    out.push({ key: 'entanglement', text: `entangled ${k} ${num(v)}`, title: `Entanglement: “${k}”, the other attribute that changes most, changes ${num(v)} per unit change of “${attr ?? 'the target'}” (0: a clean direction)` });
  }
  if (typeof scores.heldOutAccuracy === 'number') out.push({ key: 'heldOut', text: `held-out ${pct(scores.heldOutAccuracy)}`, title: 'Held-out accuracy: how often the fitted boundary classifies latents it was not fitted on correctly' });
  if (out.length === 0) {
    const figure = Object.entries(scores.method ?? {}).find(([, v]) => typeof v === 'number');
    if (figure) out.push({ key: 'method', text: `${figure[0]} ${num(figure[1] as number)}`, title: `The method's own figure “${figure[0]}” (no classifier scored this direction)` });
  }
  return out;
}
