/**
 * The stock cpu backend's Conv2DBackpropFilter, re-indexed for speed, for the parity test only.
 *
 * The stock kernel reads every element through `TensorBuffer.get(...locs)` (a rest-argument call
 * per multiply-add): about a minute per DCGAN training step at batch 8 on these machines, which
 * would make a five-step cpu reference far too slow for a test. This is the same loop nest in the
 * same order with the same float64 accumulator and the same float32 store, reading the flat
 * arrays directly, so its results are bit-identical to the stock kernel's (the parity test checks
 * that on the DCGAN's own layer shapes before relying on it). NHWC only; anything else goes to
 * the stock kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';

type KernelConfig = NonNullable<ReturnType<typeof tf.getKernel>>;
type KernelFunc = KernelConfig['kernelFunc'];

function fastConv2DBackpropFilter(stock: KernelFunc): KernelFunc {
  return (args) => {
    const { inputs, backend, attrs } = args as unknown as {
      inputs: { x: tf.TensorInfo; dy: tf.TensorInfo };
      backend: MathBackendCPU;
      attrs: {
        strides: [number, number] | number;
        pad: 'valid' | 'same' | number;
        dataFormat: 'NHWC' | 'NCHW';
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
        filterShape: [number, number, number, number];
      };
    };
    const { x, dy } = inputs;
    if (attrs.dataFormat !== 'NHWC' || x.dtype !== 'float32' || dy.dtype !== 'float32') return stock(args);
    const info = tf.backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterShape,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    const { strideHeight, strideWidth, filterHeight, filterWidth, inHeight, inWidth, inChannels, outChannels } = info;
    const { outHeight, outWidth, batchSize } = info;
    const leftPad = info.padInfo.left;
    const topPad = info.padInfo.top;
    const xv = backend.data.get(x.dataId).values as Float32Array;
    const dyv = backend.data.get(dy.dataId).values as Float32Array;
    const dW = new Float32Array(filterHeight * filterWidth * inChannels * outChannels);
    // Strides of the flat NHWC arrays, as TensorBuffer computes them.
    const xs0 = inHeight * inWidth * inChannels;
    const xs1 = inWidth * inChannels;
    const ys0 = outHeight * outWidth * outChannels;
    const ys1 = outWidth * outChannels;
    for (let wR = 0; wR < filterHeight; ++wR) {
      const yRMin = Math.max(0, Math.ceil((topPad - wR) / strideHeight));
      const yRMax = Math.min(outHeight, (inHeight + topPad - wR) / strideHeight);
      for (let wC = 0; wC < filterWidth; ++wC) {
        const yCMin = Math.max(0, Math.ceil((leftPad - wC) / strideWidth));
        const yCMax = Math.min(outWidth, (inWidth + leftPad - wC) / strideWidth);
        for (let d1 = 0; d1 < inChannels; ++d1) {
          for (let d2 = 0; d2 < outChannels; ++d2) {
            let dotProd = 0;
            for (let b = 0; b < batchSize; ++b) {
              for (let yR = yRMin; yR < yRMax; ++yR) {
                const xR = wR + yR * strideHeight - topPad;
                for (let yC = yCMin; yC < yCMax; ++yC) {
                  const xC = wC + yC * strideWidth - leftPad;
                  dotProd += xv[b * xs0 + xR * xs1 + xC * inChannels + d1]! * dyv[b * ys0 + yR * ys1 + yC * outChannels + d2]!;
                }
              }
            }
            dW[((wR * filterWidth + wC) * inChannels + d1) * outChannels + d2] = dotProd;
          }
        }
      }
    }
    return backend.makeTensorInfo(attrs.filterShape, 'float32', dW);
  };
}

/**
 * Replaces the cpu Conv2DBackpropFilter with the re-indexed copy; returns a function restoring
 * the stock kernel.
 */
export function useFastCpuConv2DBackpropFilter(): () => void {
  const stock = tf.getKernel('Conv2DBackpropFilter', 'cpu');
  if (!stock) throw new Error('the cpu backend has no Conv2DBackpropFilter to replace');
  tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
  tf.registerKernel({ ...stock, kernelFunc: fastConv2DBackpropFilter(stock.kernelFunc) });
  return () => {
    tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
    tf.registerKernel(stock);
  };
}
