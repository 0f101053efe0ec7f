/**
 * Improved precision and recall (Kynkäänniemi, Karras, Laine, Lehtinen & Aila 2019, "Improved
 * Precision and Recall Metric for Assessing Generative Models", arXiv:1904.06991).
 *
 * Each set's manifold is approximated by the union of balls centred on its feature vectors, each
 * with the radius of the distance to that vector's k-th nearest neighbour in its own set (k = 3
 * in the paper). Then
 *
 *   precision = fraction of generated vectors inside the real manifold   (are samples realistic?)
 *   recall    = fraction of real vectors inside the generated manifold   (is the data covered?)
 *
 * "Inside" includes the boundary (distance ≤ radius), as in the reference implementation. Both
 * depend on the set sizes (larger sets have smaller balls), so the paper compares equal numbers
 * of real and generated vectors; the evaluation does too (models/eval/evaluate.ts).
 *
 * Exact nearest neighbours by brute force over squared Euclidean distances, float64: n·m·dim
 * operations (1,000 × 1,000 × 128 vectors take a fraction of a second).
 */

/** Squared distances between every vector of `a` (na × dim) and of `b` (nb × dim), [na × nb]. */
export function squaredDistances(a: ArrayLike<number>, na: number, b: ArrayLike<number>, nb: number, dim: number): Float64Array {
  const out = new Float64Array(na * nb);
  const av = Float64Array.from(a as ArrayLike<number>);
  const bv = Float64Array.from(b as ArrayLike<number>);
  for (let i = 0; i < na; i++) {
    const ai = i * dim;
    for (let j = 0; j < nb; j++) {
      const bj = j * dim;
      let s = 0;
      for (let d = 0; d < dim; d++) {
        const t = av[ai + d]! - bv[bj + d]!;
        s += t * t;
      }
      out[i * nb + j] = s;
    }
  }
  return out;
}

/**
 * Squared distance from each of the `n` vectors to its k-th nearest neighbour among the others
 * (itself excluded; duplicates of it count as neighbours at distance 0).
 */
export function kthNeighbourRadii(points: ArrayLike<number>, n: number, dim: number, k: number): Float64Array {
  if (!(Number.isInteger(k) && k >= 1 && k < n)) throw new RangeError(`k must be in [1, ${n - 1}], got ${k}`);
  const d = squaredDistances(points, n, points, n, dim);
  const radii = new Float64Array(n);
  const nearest = new Float64Array(k); // the k smallest so far, ascending
  for (let i = 0; i < n; i++) {
    nearest.fill(Infinity);
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const v = d[i * n + j]!;
      if (v >= nearest[k - 1]!) continue;
      let p = k - 1;
      while (p > 0 && nearest[p - 1]! > v) {
        nearest[p] = nearest[p - 1]!;
        p--;
      }
      nearest[p] = v;
    }
    radii[i] = nearest[k - 1]!;
  }
  return radii;
}

/** Fraction of `queries` that lie in at least one ball (centre `centres[j]`, squared radius `radii[j]`). */
export function coverage(queries: ArrayLike<number>, nq: number, centres: ArrayLike<number>, radii: Float64Array, dim: number): number {
  const nc = radii.length;
  const d = squaredDistances(queries, nq, centres, nc, dim);
  let inside = 0;
  for (let i = 0; i < nq; i++) {
    for (let j = 0; j < nc; j++) {
      if (d[i * nc + j]! <= radii[j]!) {
        inside++;
        break;
      }
    }
  }
  return inside / nq;
}

export interface PrecisionRecall {
  precision: number;
  recall: number;
}

/** Improved precision and recall of `fake` (nf × dim) against `real` (nr × dim), k-NN radii. */
export function precisionRecall(real: ArrayLike<number>, nr: number, fake: ArrayLike<number>, nf: number, dim: number, k = 3): PrecisionRecall {
  if (real.length !== nr * dim || fake.length !== nf * dim) throw new RangeError('feature arrays do not match their counts');
  const realRadii = kthNeighbourRadii(real, nr, dim, k);
  const fakeRadii = kthNeighbourRadii(fake, nf, dim, k);
  return {
    precision: coverage(fake, nf, real, realRadii, dim),
    recall: coverage(real, nr, fake, fakeRadii, dim),
  };
}
