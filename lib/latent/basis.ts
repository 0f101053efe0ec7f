/**
 * Projections onto and out of a set of directions, shared by the server (conditional
 * manipulation of stored directions, models/directions) and the browser (previews).
 *
 * A set of directions spans a subspace S. `projectOnto(v, dirs)` is the orthogonal projection
 * P_S v, `projectOut(v, dirs)` is v − P_S v (the part of v that no direction of the set
 * explains), so the two add up to v. The directions need not be orthogonal, unit or even
 * independent: they are first turned into an orthonormal basis of S by Gram–Schmidt.
 *
 * Gram–Schmidt: the modified form with a second pass ("twice is enough": Giraud, Langou, Rozložník
 * & van den Eshof 2005, Numer. Math. 101), in float64, so the basis is orthonormal to working
 * precision even for nearly parallel directions. A direction whose residual after the earlier ones
 * is below DEPENDENT_TOLERANCE of its own length adds nothing to the span and is dropped.
 *
 * Conditional manipulation (Shen, Gu, Tang & Zhou 2020, "InterFaceGAN", §2.2): to change one
 * attribute without the ones it is correlated with, move along the part of its direction that is
 * orthogonal to theirs, `orthogonalize(d, others)`.
 *
 * Results are Float32Array, like every other function of lib/latent.
 */
import { type Vector } from './vector';

/** A direction adds nothing to the span when its residual is below this share of its length. */
export const DEPENDENT_TOLERANCE = 1e-6;

function checkLengths(v: Vector, dirs: readonly Vector[]): void {
  for (const d of dirs) {
    if (d.length !== v.length) throw new RangeError(`length mismatch: ${d.length} vs ${v.length}`);
  }
}

function dot64(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * An orthonormal basis (float64) of the span of `vectors`, in their order: basis[k] is the unit
 * residual of the k-th independent vector after the earlier ones. Dependent and zero vectors are
 * skipped, so the basis may be shorter than the input.
 */
export function orthonormalBasis(vectors: readonly Vector[], tolerance = DEPENDENT_TOLERANCE): Float64Array[] {
  const basis: Float64Array[] = [];
  const n = vectors[0]?.length ?? 0;
  for (const v of vectors) {
    if (v.length !== n) throw new RangeError(`length mismatch: ${v.length} vs ${n}`);
    const r = Float64Array.from(v as ArrayLike<number>);
    const original = Math.sqrt(dot64(r, r));
    if (!(original > 0) || !Number.isFinite(original)) continue;
    for (let pass = 0; pass < 2; pass++) {
      for (const q of basis) {
        const c = dot64(r, q);
        for (let i = 0; i < n; i++) r[i]! -= c * q[i]!;
      }
    }
    const residual = Math.sqrt(dot64(r, r));
    if (!(residual > tolerance * original)) continue;
    for (let i = 0; i < n; i++) r[i]! /= residual;
    basis.push(r);
  }
  return basis;
}

/** P_S v in float64 for an orthonormal basis of S. */
function projection64(v: Vector, basis: readonly Float64Array[]): Float64Array {
  const out = new Float64Array(v.length);
  for (const q of basis) {
    const c = dot64(v, q);
    for (let i = 0; i < out.length; i++) out[i]! += c * q[i]!;
  }
  return out;
}

/** The orthogonal projection of `v` onto the span of `directions` (zero for an empty set). */
export function projectOnto(v: Vector, directions: readonly Vector[]): Float32Array {
  checkLengths(v, directions);
  return Float32Array.from(projection64(v, orthonormalBasis(directions)));
}

/** `v` minus its projection onto the span of `directions`: what none of them explains. */
export function projectOut(v: Vector, directions: readonly Vector[]): Float32Array {
  checkLengths(v, directions);
  const p = projection64(v, orthonormalBasis(directions));
  return Float32Array.from(v as ArrayLike<number>, (x, i) => x - p[i]!);
}

/**
 * The unit direction of `d` with every direction of `others` projected out (conditional
 * manipulation): moving along it changes, to first order, none of the others' projections.
 * Undefined when `d` lies in their span (nothing is left of it).
 */
export function orthogonalize(d: Vector, others: readonly Vector[], tolerance = DEPENDENT_TOLERANCE): Float32Array | undefined {
  checkLengths(d, others);
  const basis = orthonormalBasis(others);
  const p = projection64(d, basis);
  const r = Float64Array.from(d as ArrayLike<number>, (x, i) => x - p[i]!);
  // A second pass removes what rounding left of the others (as in orthonormalBasis).
  const p2 = projection64(r, basis);
  for (let i = 0; i < r.length; i++) r[i]! -= p2[i]!;
  const length = Math.sqrt(dot64(r, r));
  const original = Math.sqrt(dot64(d, d));
  if (!(length > tolerance * original) || !Number.isFinite(length)) return undefined;
  return Float32Array.from(r, (x) => x / length);
}

/** The mean of a non-empty set of vectors of one length. */
export function mean(vectors: readonly Vector[]): Float32Array {
  const first = vectors[0];
  if (!first) throw new RangeError('the mean of no vectors is undefined');
  const out = new Float64Array(first.length);
  for (const v of vectors) {
    if (v.length !== first.length) throw new RangeError(`length mismatch: ${v.length} vs ${first.length}`);
    for (let i = 0; i < out.length; i++) out[i]! += v[i]!;
  }
  return Float32Array.from(out, (x) => x / vectors.length);
}

/**
 * The difference of two groups' centroids, mean(positive) − mean(negative): the vector that
 * "smiling woman − neutral woman + neutral man" adds to the neutral man, averaged over several
 * examples of each side so that what the examples do not share cancels out.
 */
export function centroidDifference(positive: readonly Vector[], negative: readonly Vector[]): Float32Array {
  const a = mean(positive);
  const b = mean(negative);
  if (a.length !== b.length) throw new RangeError(`length mismatch: ${a.length} vs ${b.length}`);
  return Float32Array.from(a, (x, i) => x - b[i]!);
}
