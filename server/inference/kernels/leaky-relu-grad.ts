/**
 * The LeakyReLU gradient as one wasm-heap pass instead of three kernels.
 *
 * tfjs computes dx = where(x > 0, dy, alpha·dy) as Greater, Multiply and Select, three passes over
 * the activations and two temporaries; every layer of both GAN networks pays it on every step.
 * On the wasm backend the gradient here runs one loop over the heap. It stays differentiable
 * (the WGAN-GP penalty takes the gradient of a gradient): d(dx)/d(dy) is the same mask applied
 * to the incoming gradient, d(dx)/dx is zero almost everywhere. Other backends keep tfjs's
 * formula.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from './wasm-util';
import { heapF32 } from './wasm-util';

export const LEAKY_RELU_GRAD = 'LatentroomLeakyReluGrad';

function leakyReluGradKernel(args: { inputs: { dy: TensorInfo; x: TensorInfo }; backend: BackendWasm; attrs: { alpha: number } }): TensorInfo {
  const { inputs: { dy, x }, backend, attrs: { alpha } } = args;
  const out = backend.makeOutput(x.shape, 'float32');
  const d = heapF32(backend, dy);
  const xs = heapF32(backend, x);
  const o = heapF32(backend, out);
  for (let i = 0; i < o.length; i++) o[i] = xs[i]! > 0 ? d[i]! : alpha * d[i]!;
  return out;
}

function leakyReluGrad(dy: tf.Tensor, x: tf.Tensor, alpha: number): tf.Tensor {
  if (tf.getBackend() === 'wasm' && dy.dtype === 'float32' && x.dtype === 'float32' && tf.util.arraysEqual(dy.shape, x.shape)) {
    return tf.engine().runKernel(LEAKY_RELU_GRAD, { dy, x }, { alpha } as unknown as NamedAttrMap) as tf.Tensor;
  }
  return tf.where(tf.greater(x, 0), dy, tf.mul(dy, alpha));
}

let registered = false;

export function registerLeakyReluGrad(): string[] {
  if (registered) return [LEAKY_RELU_GRAD];
  registered = true;
  tf.registerKernel({
    kernelName: LEAKY_RELU_GRAD,
    backendName: 'wasm',
    kernelFunc: leakyReluGradKernel as unknown as KernelConfig['kernelFunc'],
  });
  tf.registerGradient({
    kernelName: LEAKY_RELU_GRAD,
    inputsToSave: ['x'],
    gradFunc: (ddx, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const { alpha } = attrs as unknown as { alpha: number };
      return { dy: () => leakyReluGrad(ddx as tf.Tensor, x, alpha), x: () => tf.zerosLike(x) };
    },
  });
  // Replaces tfjs's LeakyRelu gradient (registerGradient overrides by kernel name).
  tf.registerGradient({
    kernelName: 'LeakyRelu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [tf.Tensor];
      const { alpha } = attrs as unknown as { alpha: number };
      return { x: () => leakyReluGrad(dy as tf.Tensor, x, alpha) };
    },
  });
  return [LEAKY_RELU_GRAD];
}
