/**
 * Fréchet distance between Gaussian fits of two feature sets (Heusel et al. 2017, "GANs Trained
 * by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium", arXiv:1706.08500), the
 * FID when the features are Inception-v3's pool3, a *domain* FID when they are a domain
 * classifier's (models/classifier):
 *
 *   d²((μ₁, Σ₁), (μ₂, Σ₂)) = ‖μ₁ − μ₂‖² + tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^½
 *
 * The square root. Σ₁Σ₂ is not symmetric, so its square root is not computed directly (scipy's
 * sqrtm does a Schur decomposition in complex arithmetic, and pytorch-fid then drops imaginary
 * parts and adds εI when it fails). Here: Σ₁Σ₂ = Σ₁^½ (Σ₁^½ Σ₂ Σ₁^½) Σ₁^-½ is similar to the
 * symmetric positive semi-definite M = Σ₁^½ Σ₂ Σ₁^½, so tr (Σ₁Σ₂)^½ = tr M^½ = Σ √λᵢ(M): two
 * symmetric eigendecompositions (Σ₁ for Σ₁^½, then M), real arithmetic throughout, valid for
 * singular covariances too (fewer samples than dimensions). The eigenvalues of M that rounding
 * makes slightly negative are clipped to 0; how negative the most negative one was is returned
 * as a diagnostic (`minEigenvalue` relative to the largest), and a check that Σλᵢ = tr M.
 *
 * The covariances are unbiased (n − 1). The estimate is biased upwards for finite n (Chong &
 * Forsyth 2020, "Effectively Unbiased FID and Inception Score and where to find them"): compare
 * figures computed with the same numbers of samples only, which is why the evaluation's floors
 * use the same counts as the model's figures (models/eval/evaluate.ts).
 */
import { gaussianStats, matMul, sqrtPsd, symmetricEigen, symmetrize, trace, type GaussianStats } from './linalg';

export interface FrechetResult {
  /** The distance d² (what is reported as FID). Never negative. */
  fid: number;
  /** ‖μ₁ − μ₂‖². */
  meanTerm: number;
  /** tr Σ₁ + tr Σ₂ − 2 tr (Σ₁Σ₂)^½. */
  covTerm: number;
  /** Most negative eigenvalue of Σ₁^½Σ₂Σ₁^½ over its largest (0 when none was negative): rounding noise is ~1e-15. */
  minEigenvalue: number;
  /** |Σλ − tr M| / max(|tr M|, tiny): the eigenvalues' consistency with the matrix. */
  traceResidual: number;
}

/** Fréchet distance between two Gaussians given by their statistics. */
export function frechetDistance(a: Pick<GaussianStats, 'dim' | 'mean' | 'cov'>, b: Pick<GaussianStats, 'dim' | 'mean' | 'cov'>): FrechetResult {
  const n = a.dim;
  if (b.dim !== n) throw new RangeError(`feature sizes differ: ${a.dim} vs ${b.dim}`);
  let meanTerm = 0;
  for (let i = 0; i < n; i++) {
    const d = a.mean[i]! - b.mean[i]!;
    meanTerm += d * d;
  }
  const rootA = sqrtPsd(a.cov, n);
  const m = symmetrize(matMul(matMul(rootA, b.cov, n), rootA, n), n);
  const { values } = symmetricEigen(m, n);
  let trRoot = 0;
  let sum = 0;
  let largest = 0;
  let smallest = 0;
  for (const v of values) {
    sum += v;
    largest = Math.max(largest, v);
    smallest = Math.min(smallest, v);
    trRoot += Math.sqrt(Math.max(v, 0));
  }
  const trM = trace(m, n);
  const covTerm = trace(a.cov, n) + trace(b.cov, n) - 2 * trRoot;
  return {
    // Rounding can leave a distance of identical sets at -1e-13: a distance is never negative.
    fid: Math.max(0, meanTerm + covTerm),
    meanTerm,
    covTerm,
    minEigenvalue: largest > 0 ? smallest / largest : 0,
    traceResidual: Math.abs(sum - trM) / Math.max(Math.abs(trM), Number.MIN_VALUE),
  };
}

/** FID between two feature sets (n × dim values each, vectors back to back). */
export function fid(a: ArrayLike<number>, nA: number, b: ArrayLike<number>, nB: number, dim: number): FrechetResult {
  return frechetDistance(gaussianStats(a, nA, dim), gaussianStats(b, nB, dim));
}
