/**
 * The two truncation tricks for Gaussian latents, pure and shared:
 *
 *   psi     z ← mean + ψ (z − mean): interpolation toward the mean latent (StyleGAN's form,
 *           Karras et al. 2019); `truncate` in ./vector.ts, re-exported here.
 *   radius  every component with |zᵢ| > d is redrawn from N(0, 1) until |zᵢ| ≤ d: BigGAN's
 *           truncation trick (Brock, Donahue & Simonyan 2019), i.e. each component drawn from
 *           the standard normal truncated to [−d, d]. Components already within d are kept.
 *
 * The redraws come from a seeded uniform source (./random.ts), so a seed gives the same
 * truncated latent everywhere, as the `random` op does.
 */
import { mulberry32, randomNormal } from './random';
import { type Vector } from './vector';

export { truncate } from './vector';

/** Redraws per component before giving up (P(|z| ≤ d) is about 0.08 even at d = 0.1). */
export const MAX_REDRAWS = 10_000;

/**
 * `z` with every component beyond `radius` in absolute value redrawn from N(0, 1) (using `rand`)
 * until it is within. Throws for a radius that is not positive and finite.
 */
export function resampleBeyond(z: Vector, radius: number, rand: () => number): Float32Array {
  if (!(radius > 0) || !Number.isFinite(radius)) throw new RangeError(`the truncation radius must be positive and finite, got ${radius}`);
  const out = Float32Array.from(z as ArrayLike<number>);
  for (let i = 0; i < out.length; i++) {
    let tries = 0;
    while (!(Math.abs(out[i]!) <= radius)) {
      if (++tries > MAX_REDRAWS) throw new Error(`could not draw a component within radius ${radius}`);
      out[i] = randomNormal(1, rand)[0]!;
    }
  }
  return out;
}

/**
 * `n` standard normal values from `seed`, each truncated to [−radius, radius] by redrawing (a
 * second stream, so the values already within the radius are those of seededNormal(seed, n)).
 */
export function truncatedNormal(seed: number, n: number, radius: number): Float32Array {
  const rand = mulberry32(seed);
  const base = randomNormal(n, rand);
  return resampleBeyond(base, radius, mulberry32((seed ^ 0x7a11_0c1d) >>> 0));
}
