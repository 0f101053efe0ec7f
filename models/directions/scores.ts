/**
 * The scores of a direction d (unit length here), for every method (lib/protocol/directions.ts
 * DirectionScores). N latents zᵢ ~ N(0, I) are moved to zᵢ + t·d for t on a grid of `points`
 * steps from −span to +span; every image is decoded and read by the model's classifier.
 *
 * - slope[a]: the within-latent regression slope of attribute a's value on t (./stats.ts): how
 *   much a changes per unit step along d.
 * - flipRate[a]: the share of latents whose label for a (./attributes.ts hasAttribute) flips
 *   after one step of `span` toward the other side (a latent without a moves +span·sign(slope),
 *   one with it −span·sign(slope)).
 * - entanglement[a]: slope[a] / slope[target] for every a ≠ target (the aimed-at attribute, or the
 *   dominant one for methods without a target): change in every other attribute per unit
 *   change of the target. 0 is a perfectly disentangled direction.
 * - factorCorrelation[f] (classifiers with factor heads, i.e. shapes): the within-latent
 *   correlation of the head's reading with t, signed; for a cyclic factor (rotation) Mardia's
 *   circular-linear correlation, which has no sign, with latents whose image is of the skipped
 *   class (circles) left out.
 * - encoderCorrelation[f] (models with an encoder, given a probe of real images with known
 *   factors): the correlation of each true factor with the projection μ(x)·d of the encoded
 *   images: the ground truth read back through the encoder, no classifier involved.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { DirectionScores } from '../../lib/protocol/directions';
import { attributeValue, hasAttribute, lacksAttribute } from './attributes';
import { sampleClasses, sampleLatents, scoreLatents } from './sampling';
import { circularLinearCorrelation, pearson, withinGroupCircularCorrelation, withinGroupCorrelation, withinGroupSlope } from './stats';
import type { AttributeScorer, DirectionGenerator, ProgressFn } from './types';

export interface ScoreParams {
  samples: number;
  span: number;
  seed: number;
  /** Points of the step grid (odd, so that t = 0 is on it). Default 9. */
  points?: number;
  /** The attribute the method aimed at. */
  target?: string;
}

/** Real images with known factors (a data set's held-out images), for the encoder read-back. */
export interface FactorProbe {
  images: Float32Array;
  count: number;
  /** Factor name → true value per image ([0, 1]; cyclic ones a fraction of a period). */
  factors: Record<string, Float32Array>;
  /** Class per image (to leave out a cyclic factor's skipped class). */
  labels?: Int32Array;
  /** Which factors are cyclic, and which class lacks them. */
  heads: readonly { name: string; cyclic: boolean; skipClass?: number }[];
}

const DEFAULT_POINTS = 9;
const ENCODE_BATCH = 500;

function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(6)) : 0;
}

function roundAll(r: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, round(v)]));
}

/** Correlation of each true factor with the encoded images' projection on `unit`. */
export function encoderCorrelation(gen: DirectionGenerator, unit: Float32Array, probe: FactorProbe): Record<string, number> {
  const encode = gen.encodeMean;
  if (!encode) throw new Error(`model ${gen.id} has no encoder`);
  const [h, w, c] = gen.imageShape;
  const px = h * w * c;
  const dim = gen.latentDim;
  const projection = new Float64Array(probe.count);
  for (let start = 0; start < probe.count; start += ENCODE_BATCH) {
    const n = Math.min(ENCODE_BATCH, probe.count - start);
    const p = tf.tidy(() => {
      const mu = encode(tf.tensor4d(probe.images.subarray(start * px, (start + n) * px), [n, h, w, c]));
      return tf.matMul(mu, tf.tensor2d(unit, [dim, 1]));
    });
    projection.set(p.dataSync(), start);
    p.dispose();
  }
  const out: Record<string, number> = {};
  for (const head of probe.heads) {
    const values = probe.factors[head.name];
    if (!values) continue;
    const keep: number[] = [];
    for (let i = 0; i < probe.count; i++) if (head.skipClass === undefined || probe.labels?.[i] !== head.skipClass) keep.push(i);
    const t = keep.map((i) => projection[i]!);
    const v = keep.map((i) => values[i]!);
    out[head.name] = head.cyclic ? circularLinearCorrelation(t, v.map((x) => 2 * Math.PI * x)) : pearson(t, v);
  }
  return roundAll(out);
}

export async function scoreDirection(
  gen: DirectionGenerator,
  scorer: AttributeScorer | undefined,
  vector: Float32Array,
  params: ScoreParams,
  probe?: FactorProbe,
  onProgress?: ProgressFn,
): Promise<DirectionScores> {
  let length = 0;
  for (const x of vector) length += x * x;
  length = Math.sqrt(length);
  if (!(length > 0) || vector.length !== gen.latentDim) throw new RangeError('a direction must be a non-zero vector of the latent size');
  const unit = vector.map((x) => x / length);
  const scores: DirectionScores = {};
  if (gen.encodeMean && probe) scores.encoderCorrelation = encoderCorrelation(gen, unit, probe);
  if (!scorer) {
    await onProgress?.(1, 1);
    return scores;
  }

  const points = params.points ?? DEFAULT_POINTS;
  if (!(Number.isInteger(points) && points >= 3 && points % 2 === 1)) throw new RangeError(`points must be an odd integer ≥ 3, got ${points}`);
  const dim = gen.latentDim;
  const n = params.samples;
  const base = sampleLatents(params.seed, n, dim);
  const baseClasses = sampleClasses(params.seed, n, gen.numClasses);
  const grid = Array.from({ length: points }, (_, j) => -params.span + (2 * params.span * j) / (points - 1));
  const mid = (points - 1) / 2;
  // Latent i, step j at row i·points + j.
  const z = new Float32Array(n * points * dim);
  const t = new Float64Array(n * points);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < points; j++) {
      const row = i * points + j;
      t[row] = grid[j]!;
      for (let d = 0; d < dim; d++) z[row * dim + d] = base[i * dim + d]! + grid[j]! * unit[d]!;
    }
  }
  const classes = baseClasses ? Int32Array.from({ length: n * points }, (_, r) => baseClasses[Math.floor(r / points)]!) : undefined;
  const scored = await scoreLatents(gen, scorer, z, classes, n * points, onProgress);

  const slope: Record<string, number> = {};
  const flipRate: Record<string, number> = {};
  const factorCorrelation: Record<string, number> = {};
  for (const a of scorer.attributes) {
    // Latents without the attribute at t = 0 (a circle's rotation) are left out of it.
    const kept: number[] = [];
    for (let i = 0; i < n; i++) if (!lacksAttribute(scored, a, i * points + mid)) kept.push(i);
    if (kept.length === 0) continue;
    const tk = new Float64Array(kept.length * points);
    const vk = new Float64Array(kept.length * points);
    kept.forEach((i, r) => {
      for (let j = 0; j < points; j++) {
        tk[r * points + j] = t[i * points + j]!;
        vk[r * points + j] = attributeValue(scored, a, i * points + j);
      }
    });
    slope[a.name] = withinGroupSlope(tk, vk, points);
    const up = slope[a.name]! >= 0 ? 1 : -1;
    let flips = 0;
    for (const i of kept) {
      const before = hasAttribute(scored, a, i * points + mid);
      // Toward the other side: up the slope if it lacks the label, down if it has it.
      const j = before === (up === 1) ? 0 : points - 1;
      if (hasAttribute(scored, a, i * points + j) !== before) flips++;
    }
    flipRate[a.name] = flips / kept.length;
    if (a.kind === 'factor') {
      if (a.cyclic) {
        const theta = new Float64Array(kept.length * points);
        kept.forEach((i, r) => {
          for (let j = 0; j < points; j++) theta[r * points + j] = 2 * Math.PI * scored.factors[a.name]![i * points + j]!;
        });
        factorCorrelation[a.name] = withinGroupCircularCorrelation(tk, theta, points);
      } else {
        factorCorrelation[a.name] = withinGroupCorrelation(tk, vk, points);
      }
    }
  }

  const hasFactors = Object.keys(factorCorrelation).length > 0;
  const pick = hasFactors ? factorCorrelation : slope;
  let dominant: string | undefined;
  for (const [name, v] of Object.entries(pick)) if (dominant === undefined || Math.abs(v) > Math.abs(pick[dominant]!)) dominant = name;
  const reference = params.target ?? dominant;
  const entanglement: Record<string, number> = {};
  const refSlope = reference === undefined ? 0 : (slope[reference] ?? 0);
  if (reference !== undefined && refSlope !== 0) {
    for (const [name, s] of Object.entries(slope)) if (name !== reference) entanglement[name] = s / refSlope;
  }
  return {
    ...scores,
    classifier: scorer.id,
    ...(params.target !== undefined ? { target: params.target } : {}),
    ...(dominant !== undefined ? { dominant } : {}),
    samples: n,
    span: params.span,
    flipRate: roundAll(flipRate),
    slope: roundAll(slope),
    ...(Object.keys(entanglement).length > 0 ? { entanglement: roundAll(entanglement) } : {}),
    ...(hasFactors ? { factorCorrelation: roundAll(factorCorrelation) } : {}),
  };
}
