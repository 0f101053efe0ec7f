/**
 * The dense linear algebra evaluation needs, in float64 on plain arrays (n × n row-major
 * Float64Array): Gaussian statistics of feature sets, products, and the eigendecomposition of a
 * symmetric matrix, from which FID takes its matrix square roots.
 *
 * Eigendecomposition: Householder reduction to tridiagonal form, then the implicit QL algorithm
 * with Wilkinson-type shifts (EISPACK tred2/tql2, as in JAMA's EigenvalueDecomposition, public
 * domain). O(n³), backward stable: the computed V, Λ satisfy (A + E)·V = V·Λ with ‖E‖ ≈ ε‖A‖,
 * V orthogonal to working precision. Tested against A·V = V·Λ and VᵀV = I (tests/unit/eval-*).
 * For the 128-wide features of the domain classifiers a decomposition takes about a millisecond;
 * for 2048-wide Inception features tens of seconds of plain JS (the matrix products dominate).
 *
 * Float64 and plain loops on purpose: TF.js computes in float32 on these backends, and
 * FID = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁^½ Σ₂ Σ₁^½)^½ subtracts numbers of similar size,
 * where float32 would lose the small differences that matter near the floor.
 */

/** Mean and covariance of a set of vectors. */
export interface GaussianStats {
  /** Number of vectors. */
  n: number;
  dim: number;
  mean: Float64Array;
  /** dim × dim, row-major, unbiased (divided by n − 1), as numpy.cov and pytorch-fid. */
  cov: Float64Array;
}

/**
 * Mean and unbiased covariance of `n` vectors of length `dim` stored back to back. Two passes
 * (centre, then accumulate the upper triangle), in float64.
 */
export function gaussianStats(values: ArrayLike<number>, n: number, dim: number): GaussianStats {
  if (!(Number.isInteger(n) && n >= 2)) throw new RangeError(`need at least 2 vectors, got ${n}`);
  if (values.length !== n * dim) throw new RangeError(`expected ${n} × ${dim} values, got ${values.length}`);
  const mean = new Float64Array(dim);
  for (let s = 0; s < n; s++) for (let i = 0; i < dim; i++) mean[i]! += values[s * dim + i]!;
  for (let i = 0; i < dim; i++) mean[i]! /= n;
  const cov = new Float64Array(dim * dim);
  const row = new Float64Array(dim);
  for (let s = 0; s < n; s++) {
    for (let i = 0; i < dim; i++) row[i] = values[s * dim + i]! - mean[i]!;
    for (let i = 0; i < dim; i++) {
      const ri = row[i]!;
      if (ri === 0) continue;
      const base = i * dim;
      for (let j = i; j < dim; j++) cov[base + j]! += ri * row[j]!;
    }
  }
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const v = cov[i * dim + j]! / (n - 1);
      cov[i * dim + j] = v;
      cov[j * dim + i] = v;
    }
  }
  return { n, dim, mean, cov };
}

/** A·B for n × n row-major matrices. */
export function matMul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const oi = i * n;
    for (let k = 0; k < n; k++) {
      const aik = a[oi + k]!;
      if (aik === 0) continue;
      const bk = k * n;
      for (let j = 0; j < n; j++) out[oi + j]! += aik * b[bk + j]!;
    }
  }
  return out;
}

export function trace(a: Float64Array, n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += a[i * n + i]!;
  return t;
}

/** (A + Aᵀ)/2: removes the rounding asymmetry of a product that is symmetric in exact arithmetic. */
export function symmetrize(a: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = 0.5 * (a[i * n + j]! + a[j * n + i]!);
      out[i * n + j] = v;
      out[j * n + i] = v;
    }
  }
  return out;
}

export interface SymmetricEigen {
  /** Eigenvalues, ascending. */
  values: Float64Array;
  /** n × n row-major; column j is the unit eigenvector of values[j]. */
  vectors: Float64Array;
}

/** Most QL iterations per eigenvalue before giving up (typically 1-3 are needed). */
const MAX_QL_ITERATIONS = 60;

/**
 * Eigenvalues and eigenvectors of the symmetric n × n matrix `a` (only symmetric input is
 * meaningful: the lower triangle is what is read). `a` is not modified.
 */
export function symmetricEigen(a: ArrayLike<number>, n: number): SymmetricEigen {
  if (a.length !== n * n) throw new RangeError(`expected ${n} × ${n} values, got ${a.length}`);
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) throw new RangeError('matrix has a non-finite entry');
  const V = Float64Array.from(a as ArrayLike<number>);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return { values: d, vectors: V };
  tred2(V, d, e, n);
  tql2(V, d, e, n);
  return { values: d, vectors: V };
}

/** Householder tridiagonalisation: V ← Q, d ← diagonal, e ← subdiagonal (e[0] = 0). */
function tred2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  const at = (i: number, j: number) => i * n + j;
  for (let j = 0; j < n; j++) d[j] = V[at(n - 1, j)]!;
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]!);
    if (scale === 0) {
      e[i] = d[i - 1]!;
      for (let j = 0; j < i; j++) {
        d[j] = V[at(i - 1, j)]!;
        V[at(i, j)] = 0;
        V[at(j, i)] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k]! /= scale;
        h += d[k]! * d[k]!;
      }
      let f = d[i - 1]!;
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        V[at(j, i)] = f;
        g = e[j]! + V[at(j, j)]! * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += V[at(k, j)]! * d[k]!;
          e[k]! += V[at(k, j)]! * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j]! /= h;
        f += e[j]! * d[j]!;
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j]! -= hh * d[j]!;
      for (let j = 0; j < i; j++) {
        f = d[j]!;
        g = e[j]!;
        for (let k = j; k <= i - 1; k++) V[at(k, j)]! -= f * e[k]! + g * d[k]!;
        d[j] = V[at(i - 1, j)]!;
        V[at(i, j)] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    V[at(n - 1, i)] = V[at(i, i)]!;
    V[at(i, i)] = 1;
    const h = d[i + 1]!;
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = V[at(k, i + 1)]! / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += V[at(k, i + 1)]! * V[at(k, j)]!;
        for (let k = 0; k <= i; k++) V[at(k, j)]! -= g * d[k]!;
      }
    }
    for (let k = 0; k <= i; k++) V[at(k, i + 1)] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = V[at(n - 1, j)]!;
    V[at(n - 1, j)] = 0;
  }
  V[at(n - 1, n - 1)] = 1;
  e[0] = 0;
}

/** Implicit QL on the tridiagonal (d, e), accumulating rotations into V; sorts ascending. */
function tql2(V: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  const at = (i: number, j: number) => i * n + j;
  for (let i = 1; i < n; i++) e[i - 1] = e[i]!;
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]!) + Math.abs(e[l]!));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]!) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > MAX_QL_ITERATIONS) throw new Error(`symmetric eigendecomposition did not converge (eigenvalue ${l} of ${n})`);
        let g = d[l]!;
        let p = (d[l + 1]! - g) / (2 * e[l]!);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l]! / (p + r);
        d[l + 1] = e[l]! * (p + r);
        const dl1 = d[l + 1]!;
        let h = g - d[l]!;
        for (let i = l + 2; i < n; i++) d[i]! -= h;
        f += h;
        p = d[m]!;
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1]!;
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i]!;
          h = c * p;
          r = Math.hypot(p, e[i]!);
          e[i + 1] = s * r;
          s = e[i]! / r;
          c = p / r;
          p = c * d[i]! - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]!);
          for (let k = 0; k < n; k++) {
            h = V[at(k, i + 1)]!;
            V[at(k, i + 1)] = s * V[at(k, i)]! + c * h;
            V[at(k, i)] = c * V[at(k, i)]! - s * h;
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]!) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]!) > eps * tst1);
    }
    d[l] = d[l]! + f;
    e[l] = 0;
  }
  for (let i = 0; i < n - 1; i++) {
    let k = i;
    let p = d[i]!;
    for (let j = i + 1; j < n; j++) {
      if (d[j]! < p) {
        k = j;
        p = d[j]!;
      }
    }
    if (k !== i) {
      d[k] = d[i]!;
      d[i] = p;
      for (let j = 0; j < n; j++) {
        const t = V[at(j, i)]!;
        V[at(j, i)] = V[at(j, k)]!;
        V[at(j, k)] = t;
      }
    }
  }
}

/**
 * The principal square root of a symmetric positive semi-definite matrix: V·diag(√max(λ, 0))·Vᵀ.
 * Eigenvalues that rounding made slightly negative are taken as 0.
 */
export function sqrtPsd(a: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, n);
  const out = new Float64Array(n * n);
  const root = values.map((v) => Math.sqrt(Math.max(v, 0)));
  for (let k = 0; k < n; k++) {
    const r = root[k]!;
    if (r === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k]! * r;
      if (vik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j]! += vik * vectors[j * n + k]!;
    }
  }
  return out;
}
