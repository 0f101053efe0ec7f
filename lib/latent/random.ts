/**
 * Seeded latent samples: the `random` op carries a seed, not a vector, so every replay of the op
 * log (and any client that wants to preview it) draws the same z.
 *
 * mulberry32 and Box–Muller, the same construction as models/common/random.ts, kept here so the
 * browser bundle does not reach into models/. Only integer and Math.{sqrt,log,cos,sin} maths: the
 * same seed gives the same float32 vector in every JS engine we target.
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
  const rand = mulberry32(seed);
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
