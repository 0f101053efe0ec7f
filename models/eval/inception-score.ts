/**
 * Inception Score (Salimans et al. 2016, "Improved Techniques for Training GANs",
 * arXiv:1606.03498), here with a domain classifier's class probabilities p(y|x):
 *
 *   IS = exp( E_x KL(p(y|x) ‖ p(y)) ),   p(y) = E_x p(y|x)
 *
 * 1 when every image gets the same class distribution, K (the number of classes) when each image
 * is classified with certainty and the classes are used equally. As in the reference code, the
 * images are cut into `splits` consecutive parts, the score is computed per part (p(y) of that
 * part), and the mean and the (population) standard deviation over parts are reported.
 */

export interface InceptionScore {
  mean: number;
  std: number;
  /** Score of each split. */
  splits: number[];
}

/** IS of `n` probability vectors of length `k` (back to back). Terms with p(y|x) = 0 count 0. */
export function inceptionScore(probs: ArrayLike<number>, n: number, k: number, splits = 10): InceptionScore {
  if (probs.length !== n * k) throw new RangeError(`expected ${n} × ${k} probabilities, got ${probs.length}`);
  if (!(Number.isInteger(splits) && splits >= 1 && splits <= n)) throw new RangeError(`splits must be in [1, ${n}], got ${splits}`);
  const part = Math.floor(n / splits);
  const scores: number[] = [];
  const py = new Float64Array(k);
  for (let s = 0; s < splits; s++) {
    const start = s * part;
    py.fill(0);
    for (let i = start; i < start + part; i++) for (let j = 0; j < k; j++) py[j]! += probs[i * k + j]!;
    for (let j = 0; j < k; j++) py[j]! /= part;
    let kl = 0;
    for (let i = start; i < start + part; i++) {
      for (let j = 0; j < k; j++) {
        const p = probs[i * k + j]!;
        if (p > 0) kl += p * (Math.log(p) - Math.log(py[j]!));
      }
    }
    scores.push(Math.exp(kl / part));
  }
  const mean = scores.reduce((a, b) => a + b, 0) / splits;
  const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
  return { mean, std, splits: scores };
}
