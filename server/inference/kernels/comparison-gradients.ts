/**
 * Zero gradients for the comparison kernels.
 *
 * Comparisons are piecewise constant, so their derivative is zero wherever it exists. TF.js 4.22
 * registers none, and LeakyRelu's gradient uses `Greater`, so a gradient of a gradient (the
 * WGAN-GP penalty) fails with "gradient function not found for Greater". Registering zeros makes
 * second-order gradients work on every backend.
 */
import * as tf from '@tensorflow/tfjs-core';

const COMPARISONS = ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual'] as const;

export function registerComparisonGradients(): void {
  for (const kernelName of COMPARISONS) {
    if (tf.getGradient(kernelName)) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: ['a', 'b'],
      gradFunc: (_dy, saved) => {
        const [a, b] = saved as [tf.Tensor, tf.Tensor];
        return { a: () => tf.zerosLike(a), b: () => tf.zerosLike(b) };
      },
    });
  }
}
