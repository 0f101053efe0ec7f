/**
 * Small seeded random sources for data splits, batch order and latent samples.
 *
 * mulberry32 (Tommy Ettinger's 32-bit generator) is enough here: the streams shuffle indices and
 * draw latents; nothing depends on their statistical quality beyond uniformity, and the same seed
 * gives the same stream in every JS engine, on every backend, in the browser and in Node. The
 * generator itself lives in lib/latent/random.ts (shared with the browser); it is re-exported here.
 */
export { mulberry32, randomNormal } from '../../lib/latent/random';

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
