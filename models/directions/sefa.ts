/**
 * Method 4, closed-form factorisation (Shen & Zhou 2021, "Closed-Form Factorization of Latent
 * Semantics in GANs", CVPR; "SeFa"). The generator's first layer maps z to y = A z + b; a step
 * z + αn changes y by αAn, so the directions that change the first layer most are
 *     n* = argmax_{‖n‖=1} ‖A n‖²  =  the top eigenvectors of AᵀA,
 * computed from the weights alone, without sampling anything. Here A is the first dense layer's
 * kernel restricted to z (./generator.ts; TF.js stores Aᵀ as the kernel K, latentDim × units).
 * As in the authors' code (genforce/sefa `factorize_weight`), each unit's weight vector (each
 * column of K) is normalised to unit length first, so that units with large weights do not
 * dominate: the eigenvectors are those of K̂ K̂ᵀ (latentDim × latentDim).
 *
 * Each direction's meta has its eigenvalue and its share of their sum. Signs are arbitrary: each
 * vector's largest entry is made positive.
 */
import * as tf from '@tensorflow/tfjs-core';
import { symmetricEigen } from '../eval/linalg';
import type { DirectionGenerator, FoundDirection } from './types';

export interface SefaParams {
  components: number;
}

export function sefaDirections(gen: DirectionGenerator, params: SefaParams): FoundDirection[] {
  const layer = gen.firstLayer;
  if (!layer) throw new Error(`model ${gen.id} has no first dense layer to factorise`);
  const dim = gen.latentDim;
  if (params.components > dim) throw new RangeError(`at most ${dim} components in a ${dim}-dimensional latent space`);
  const gram = tf.tidy(() => {
    const k = tf.tensor2d(layer.kernel, [dim, layer.units]);
    const unit = tf.div(k, tf.maximum(tf.norm(k, 'euclidean', 0, true), 1e-12));
    return tf.matMul(unit, tf.transpose(unit)).dataSync();
  });
  const eig = symmetricEigen(gram, dim);
  let sum = 0;
  for (const v of eig.values) sum += Math.max(0, v);
  const out: FoundDirection[] = [];
  for (let r = 0; r < params.components; r++) {
    const col = dim - 1 - r;
    let v = Float32Array.from({ length: dim }, (_, i) => eig.vectors[i * dim + col]!);
    let at = 0;
    for (let i = 1; i < dim; i++) if (Math.abs(v[i]!) > Math.abs(v[at]!)) at = i;
    if (v[at]! < 0) v = v.map((x) => -x);
    out.push({ suffix: `${r + 1}`, vector: v, meta: { rank: r + 1, eigenvalue: eig.values[col]!, share: Math.max(0, eig.values[col]!) / sum, layer: layer.name } });
  }
  return out;
}
