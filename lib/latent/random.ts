/**
 * Seeded latent samples: the `random` op carries a seed, not a vector, so every replay of the op
 * log (and any client that wants to preview it) draws the same z.
 *
 * mulberry32 (Tommy Ettinger's 32-bit generator) and Box–Muller: the one seeded source of the
 * project (models/ uses it for data splits, batch order and latents too). Only integer and
 * Math.{sqrt,log,cos,sin} maths: the same seed gives the same float32 vector in every JS engine
 * we target.
 */

/** Uniform numbers in [0, 1) from a 32-bit seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` standard normal samples from a 32-bit seed. */
export function seededNormal(seed: number, n: number): Float32Array {
  return randomNormal(n, mulberry32(seed));
}

/** `n` standard normal samples (Box–Muller) from the given uniform source. */
export function randomNormal(n: number, rand: () => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    // 1 - u keeps the logarithm's argument in (0, 1].
    const r = Math.sqrt(-2 * Math.log(1 - rand()));
    const theta = 2 * Math.PI * rand();
    out[i] = r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}
