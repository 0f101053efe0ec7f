/**
 * lib/latent: the pure latent-space algebra shared by the server and the browser. Vector maths
 * (./vector.ts), seeded samples (./random.ts), projections onto and out of directions
 * (./basis.ts), truncation (./truncation.ts) and expressions over named vectors
 * (./expression.ts). No TF.js, no I/O.
 */
export * from './vector';
export * from './random';
export * from './basis';
export { MAX_REDRAWS, resampleBeyond, truncatedNormal } from './truncation';
export * from './expression';
