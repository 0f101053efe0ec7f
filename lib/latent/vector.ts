/**
 * Pure latent-vector maths shared by the server (authoritative room state) and the browser
 * (previews). Vectors are plain `ArrayLike<number>` in, `Float32Array` out: the engine computes
 * in float32, and rounding every result to float32 here is what makes a state bit-identical on
 * the server, in the op log and at every client (float32 values survive a JSON round trip).
 *
 * Nothing here throws on bad numbers silently: callers check inputs with {@link isFiniteVector}
 * and {@link hasLength}, and results with {@link isFiniteVector} (a finite input can overflow).
 */

export type Vector = ArrayLike<number>;

/** True when `v` has exactly `n` entries. */
export function hasLength(v: Vector, n: number): boolean {
  return v.length === n;
}

/** True when every entry is a finite number (no NaN, no ±Infinity). */
export function isFiniteVector(v: Vector): boolean {
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}

function sameLength(a: Vector, b: Vector): number {
  if (a.length !== b.length) throw new RangeError(`length mismatch: ${a.length} vs ${b.length}`);
  return a.length;
}

export function dot(a: Vector, b: Vector): number {
  const n = sameLength(a, b);
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i]! * b[i]!;
  return s;
}

/** Euclidean length. */
export function norm(v: Vector): number {
  return Math.sqrt(dot(v, v));
}

/** `v / |v|`; undefined for the zero vector (it has no direction). */
export function normalize(v: Vector): Float32Array | undefined {
  const n = norm(v);
  if (!(n > 0) || !Number.isFinite(n)) return undefined;
  return Float32Array.from(v, (x) => x / n);
}

/** Linear interpolation `a + t (b - a)`: `a` at t = 0, `b` at t = 1. */
export function lerp(a: Vector, b: Vector, t: number): Float32Array {
  const n = sameLength(a, b);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = a[i]! + t * (b[i]! - a[i]!);
  return out;
}

/** Below this angle (radians) slerp falls back to lerp: sin(Ω) is too small to divide by. */
const SLERP_MIN_ANGLE = 1e-4;

/**
 * Spherical interpolation (Shoemake 1985; White 2016, "Sampling Generative Networks", for why
 * it suits Gaussian latents): follows the great circle between the directions of `a` and `b`
 * while interpolating along it, so intermediate points keep a typical norm instead of shrinking
 * toward the origin as lerp's do. Falls back to lerp when the vectors are (anti)parallel or
 * zero, where the great circle is not unique.
 */
export function slerp(a: Vector, b: Vector, t: number): Float32Array {
  const n = sameLength(a, b);
  const na = norm(a);
  const nb = norm(b);
  if (!(na > 0) || !(nb > 0)) return lerp(a, b, t);
  const cos = Math.min(1, Math.max(-1, dot(a, b) / (na * nb)));
  const omega = Math.acos(cos);
  const sin = Math.sin(omega);
  if (omega < SLERP_MIN_ANGLE || Math.PI - omega < SLERP_MIN_ANGLE || !(sin > 0)) return lerp(a, b, t);
  const wa = Math.sin((1 - t) * omega) / sin;
  const wb = Math.sin(t * omega) / sin;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = wa * a[i]! + wb * b[i]!;
  return out;
}

/** `Σ wᵢ vᵢ` over terms of equal length; `a - b + c` is weights 1, -1, 1. */
export function weightedSum(terms: ReadonlyArray<{ vector: Vector; weight: number }>, length: number): Float32Array {
  const out = new Float64Array(length);
  for (const { vector, weight } of terms) {
    if (vector.length !== length) throw new RangeError(`length mismatch: ${vector.length} vs ${length}`);
    for (let i = 0; i < length; i++) out[i]! += weight * vector[i]!;
  }
  return Float32Array.from(out);
}

/** `v + amount · direction` (the caller normalises the direction if amount is in z units). */
export function addScaled(v: Vector, direction: Vector, amount: number): Float32Array {
  const n = sameLength(v, direction);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = v[i]! + amount * direction[i]!;
  return out;
}

/**
 * The truncation trick (Brock et al. 2019, BigGAN; Karras et al. 2019, StyleGAN's ψ form):
 * `mean + psi (z - mean)`. psi = 1 leaves z as it is, psi = 0 gives the mean (the "average"
 * image), 0 < psi < 1 trades variety for fidelity. For a standard normal prior the mean is 0.
 */
export function truncate(z: Vector, mean: Vector | undefined, psi: number): Float32Array {
  const out = new Float32Array(z.length);
  for (let i = 0; i < z.length; i++) {
    const m = mean === undefined ? 0 : (mean[i] ?? 0);
    out[i] = m + psi * (z[i]! - m);
  }
  return out;
}
