/**
 * Small seeded random sources for data splits, batch order and latent samples.
 *
 * mulberry32 (Tommy Ettinger's 32-bit generator) is enough here: the streams shuffle indices and
 * draw latents; nothing depends on their statistical quality beyond uniformity, and the same seed
 * gives the same stream in every JS engine, on every backend, in the browser and in Node.
 */

/** Returns a function giving uniform numbers in [0, 1) from a 32-bit seed. */
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

/** Fisher–Yates shuffle of `values` in place with the given uniform source. */
export function shuffleInPlace<T extends Uint32Array | number[]>(values: T, rand: () => number): T {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const tmp = values[i]!;
    values[i] = values[j]!;
    values[j] = tmp;
  }
  return values;
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
