/**
 * L2-regularised logistic regression in float64, for the linear boundary (./linear-boundary.ts):
 *
 *   p(y = 1 | x) = σ(w·x + b),   minimise  L(w, b) = −(1/n) Σ [yᵢ log pᵢ + (1 − yᵢ) log(1 − pᵢ)] + (λ/2)‖w‖²
 *
 * by Newton's method with the Newton system solved by conjugate gradients (truncated Newton,
 * Nocedal & Wright 2006 §7.1): the Hessian (1/n) Xᵀ S X + λI (S = diag pᵢ(1 − pᵢ); the bias is
 * not regularised) is never formed, only its products with vectors, O(n·d) each, so the cost is
 * the same for 10 or 1,000 latent dimensions. A backtracking line search keeps every step a
 * descent. λ > 0 makes L strictly convex (a unique minimum even for separable data, where the
 * unregularised weights would grow without bound). Converges in a handful of Newton steps.
 */

export interface LogisticFit {
  /** Weights, d values. */
  w: Float64Array;
  b: number;
  /** Newton iterations taken. */
  iterations: number;
  /** Final regularised loss. */
  loss: number;
}

const MAX_NEWTON = 50;
const MAX_CG = 100;
const GRAD_TOLERANCE = 1e-7;

function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** log(1 + e^x) without overflow. */
function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

/**
 * Fits the model to `n` rows of `x` (d values each, back to back) with labels `y` (0 or 1).
 * `lambda` is the L2 weight λ (> 0).
 */
export function fitLogistic(x: ArrayLike<number>, y: ArrayLike<number>, n: number, d: number, lambda: number): LogisticFit {
  if (x.length !== n * d) throw new RangeError(`expected ${n} rows of ${d} values, got ${x.length} values`);
  if (y.length !== n) throw new RangeError(`expected ${n} labels, got ${y.length}`);
  if (!(lambda > 0)) throw new RangeError(`lambda must be positive, got ${lambda}`);
  const X = Float64Array.from(x as ArrayLike<number>);
  // Parameters: w (d values) then b.
  const theta = new Float64Array(d + 1);
  const margins = new Float64Array(n);

  const computeMargins = (t: Float64Array, out: Float64Array) => {
    for (let i = 0; i < n; i++) {
      let m = t[d]!;
      const row = i * d;
      for (let j = 0; j < d; j++) m += X[row + j]! * t[j]!;
      out[i] = m;
    }
  };
  const lossAt = (t: Float64Array, m: Float64Array) => {
    let l = 0;
    for (let i = 0; i < n; i++) l += y[i] ? softplus(-m[i]!) : softplus(m[i]!);
    let r = 0;
    for (let j = 0; j < d; j++) r += t[j]! * t[j]!;
    return l / n + (lambda / 2) * r;
  };

  computeMargins(theta, margins);
  let loss = lossAt(theta, margins);
  const grad = new Float64Array(d + 1);
  const s = new Float64Array(n);
  const trial = new Float64Array(d + 1);
  const trialMargins = new Float64Array(n);
  let iterations = 0;
  for (; iterations < MAX_NEWTON; iterations++) {
    grad.fill(0);
    for (let i = 0; i < n; i++) {
      const p = sigmoid(margins[i]!);
      const r = (p - (y[i] ? 1 : 0)) / n;
      s[i] = (p * (1 - p)) / n;
      const row = i * d;
      for (let j = 0; j < d; j++) grad[j]! += r * X[row + j]!;
      grad[d]! += r;
    }
    for (let j = 0; j < d; j++) grad[j]! += lambda * theta[j]!;
    let gnorm = 0;
    for (const g of grad) gnorm += g * g;
    if (Math.sqrt(gnorm) < GRAD_TOLERANCE) break;

    // H v = Xᵀ S X v + λ v (v's bias entry unregularised).
    const Xv = new Float64Array(n);
    const hessianTimes = (v: Float64Array, out: Float64Array) => {
      for (let i = 0; i < n; i++) {
        let m = v[d]!;
        const row = i * d;
        for (let j = 0; j < d; j++) m += X[row + j]! * v[j]!;
        Xv[i] = m * s[i]!;
      }
      out.fill(0);
      for (let i = 0; i < n; i++) {
        const row = i * d;
        const c = Xv[i]!;
        for (let j = 0; j < d; j++) out[j]! += c * X[row + j]!;
        out[d]! += c;
      }
      for (let j = 0; j < d; j++) out[j]! += lambda * v[j]!;
    };

    // Conjugate gradients on H Δ = −g.
    const delta = new Float64Array(d + 1);
    const r = Float64Array.from(grad, (g) => -g);
    const p = Float64Array.from(r);
    const hp = new Float64Array(d + 1);
    let rr = gnorm;
    const stop = Math.min(0.5, Math.sqrt(Math.sqrt(gnorm))) ** 2 * gnorm; // Eisenstat–Walker-like forcing
    for (let k = 0; k < MAX_CG && rr > stop; k++) {
      hessianTimes(p, hp);
      let php = 0;
      for (let j = 0; j <= d; j++) php += p[j]! * hp[j]!;
      if (!(php > 0)) break;
      const alpha = rr / php;
      let rrNext = 0;
      for (let j = 0; j <= d; j++) {
        delta[j]! += alpha * p[j]!;
        r[j]! -= alpha * hp[j]!;
        rrNext += r[j]! * r[j]!;
      }
      const beta = rrNext / rr;
      for (let j = 0; j <= d; j++) p[j] = r[j]! + beta * p[j]!;
      rr = rrNext;
    }

    // Backtracking (Armijo) line search along Δ.
    let slope = 0;
    for (let j = 0; j <= d; j++) slope += grad[j]! * delta[j]!;
    if (!(slope < 0)) break;
    let step = 1;
    let accepted = false;
    for (let k = 0; k < 30; k++, step /= 2) {
      for (let j = 0; j <= d; j++) trial[j] = theta[j]! + step * delta[j]!;
      computeMargins(trial, trialMargins);
      const l = lossAt(trial, trialMargins);
      if (l <= loss + 1e-4 * step * slope) {
        theta.set(trial);
        margins.set(trialMargins);
        const improvement = loss - l;
        loss = l;
        accepted = true;
        if (improvement < 1e-12 * Math.max(1, Math.abs(loss))) iterations = MAX_NEWTON;
        break;
      }
    }
    if (!accepted) break;
  }
  return { w: theta.slice(0, d), b: theta[d]!, iterations: Math.min(iterations, MAX_NEWTON), loss };
}

/** Share of rows the fitted model labels correctly (p > ½ for label 1). */
export function logisticAccuracy(fit: LogisticFit, x: ArrayLike<number>, y: ArrayLike<number>, n: number, d: number): number {
  if (n === 0) return NaN;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    let m = fit.b;
    for (let j = 0; j < d; j++) m += x[i * d + j]! * fit.w[j]!;
    if ((m > 0 ? 1 : 0) === (y[i] ? 1 : 0)) correct++;
  }
  return correct / n;
}
