/**
 * The LeakyReLU gradient as dy · step(x, alpha): two elementwise kernels instead of three.
 *
 * tfjs computes dx = where(x > 0, dy, alpha·dy) as Greater, Multiply and Select, three passes over
 * the activations and two temporaries; every layer of both GAN networks pays it on every step.
 * `Step` (x > 0 ? 1 : alpha) and one Multiply give the same values, both SIMD kernels on wasm.
 * It stays differentiable for gradients of gradients (WGAN-GP): Step's gradient is zero and
 * Multiply's is the mask itself. Backends without a Step kernel keep tfjs's formula.
 */
import * as tf from '@tensorflow/tfjs-core';

let registered = false;

/** Replaces a gradient, not a kernel: nothing to add to the list of custom kernels. */
export function registerLeakyReluGrad(): string[] {
  if (registered) return [];
  registered = true;
  // registerGradient replaces tfjs's LeakyRelu gradient (the registry is keyed by kernel name).
  tf.registerGradient({
    kernelName: 'LeakyRelu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const { alpha } = attrs as unknown as { alpha: number };
      const hasStep = tf.getKernel('Step', tf.getBackend()) !== undefined;
      return {
        x: () => (hasStep ? tf.mul(dy as tf.Tensor, tf.step(x, alpha)) : tf.where(tf.greater(x, 0), dy as tf.Tensor, tf.mul(dy as tf.Tensor, alpha))),
      };
    },
  });
  return [];
}
