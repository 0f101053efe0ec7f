/**
 * Latents for evaluation, drawn from the N(0, I) prior with the project's seeded generator and
 * optionally truncated, two ways:
 *
 *   psi     z ← mean + ψ (z − mean), interpolation toward the mean latent (0 for N(0, I)): the
 *           StyleGAN form of the truncation trick (lib/latent/vector.ts `truncate`, the same
 *           function rooms and `npm run sample` use).
 *   radius  every component with |zᵢ| > d is redrawn until |zᵢ| ≤ d: BigGAN's truncation trick
 *           (Brock et al. 2019), i.e. each component from N(0, 1) truncated to [−d, d].
 *
 * Every setting starts from the same base draws (common random numbers), so the settings of one
 * evaluation differ by the truncation only; radius redraws come from a second stream.
 */
import { mulberry32, randomNormal, seededNormal } from '../../lib/latent/random';
import { truncate } from '../../lib/latent/vector';

export type Truncation = { kind: 'psi'; psi: number } | { kind: 'radius'; radius: number };

/** Redraws per component before giving up (P(|z| ≤ d) is 0.08 even at d = 0.1). */
const MAX_REDRAWS = 10_000;

/** `psi=0.7`, `radius=2`. */
export function truncationLabel(t: Truncation): string {
  return t.kind === 'psi' ? `psi=${t.psi}` : `radius=${t.radius}`;
}

/** Parses `psi=0.7` / `radius=2` (the labels above). */
export function parseTruncation(text: string): Truncation {
  const m = /^(psi|radius)=([0-9.]+)$/.exec(text.trim());
  const value = m ? Number(m[2]) : NaN;
  if (!m || !Number.isFinite(value)) throw new Error(`truncation ${JSON.stringify(text)}: expected psi=<x> or radius=<d>`);
  const t: Truncation = m[1] === 'psi' ? { kind: 'psi', psi: value } : { kind: 'radius', radius: value };
  checkTruncation(t);
  return t;
}

function checkTruncation(t: Truncation): void {
  if (t.kind === 'psi' && !(t.psi >= 0 && t.psi <= 2)) throw new RangeError(`psi must be in [0, 2], got ${t.psi}`);
  if (t.kind === 'radius' && !(t.radius > 0)) throw new RangeError(`the truncation radius must be positive, got ${t.radius}`);
}

/** `count` latents of `dim` components (back to back) from `seed`, truncated as asked. */
export function evaluationLatents(seed: number, count: number, dim: number, t: Truncation = { kind: 'psi', psi: 1 }): Float32Array {
  checkTruncation(t);
  const z = seededNormal(seed, count * dim);
  if (t.kind === 'psi') return t.psi === 1 ? z : truncate(z, undefined, t.psi);
  const redraw = mulberry32((seed ^ 0x7a11_0c1d) >>> 0);
  for (let i = 0; i < z.length; i++) {
    let tries = 0;
    while (Math.abs(z[i]!) > t.radius) {
      if (++tries > MAX_REDRAWS) throw new Error(`could not draw a component within radius ${t.radius}`);
      z[i] = randomNormal(1, redraw)[0]!;
    }
  }
  return z;
}
