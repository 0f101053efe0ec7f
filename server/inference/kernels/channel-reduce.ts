/**
 * Sum and Mean over every axis but the last, on the wasm heap.
 *
 * Batch norm reduces [B, H, W, C] to [C] several times per training step (moments, and the
 * gradients of scale, offset, mean and variance). The stock wasm kernels reduce only innermost
 * axes, so they first transpose the whole tensor. This one-pass column reduction (accumulated in
 * float64, as the cpu backend does) handles that case; every other reduction goes to the original
 * kernel.
 */
import { getKernel, registerKernel, unregisterKernel, util, type KernelConfig, type TensorInfo } from '@tensorflow/tfjs-core';
import { heapF32, type BackendWasm } from './wasm-util';

/** True when `axis` names exactly the axes 0..rank-2 of a rank >= 2 tensor. */
function reducesAllButLast(shape: number[], axis: number | number[]): boolean {
  const rank = shape.length;
  if (rank < 2) return false;
  const axes = util.parseAxisParam(axis, shape).sort((a, b) => a - b);
  return axes.length === rank - 1 && axes.every((a, i) => a === i);
}

function wrapReduction(kernelName: 'Sum' | 'Mean'): string {
  const original = getKernel(kernelName, 'wasm') as KernelConfig | undefined;
  if (!original) throw new Error(`wasm kernel ${kernelName} is missing`);
  const originalFunc = original.kernelFunc;
  unregisterKernel(kernelName, 'wasm');
  registerKernel({
    ...original,
    kernelFunc: (args) => {
      const x = (args.inputs as { x: TensorInfo }).x;
      const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
      if (x.dtype !== 'float32' || !reducesAllButLast(x.shape, axis)) return originalFunc(args);
      const backend = args.backend as BackendWasm;
      const channels = x.shape[x.shape.length - 1]!;
      const rows = util.sizeFromShape(x.shape) / channels;
      const outShape = keepDims ? [...x.shape.slice(0, -1).map(() => 1), channels] : [channels];
      const out = backend.makeOutput(outShape, 'float32');
      const xs = heapF32(backend, x);
      const acc = new Float64Array(channels);
      for (let r = 0, i = 0; r < rows; r++) for (let c = 0; c < channels; c++, i++) acc[c]! += xs[i]!;
      const scale = kernelName === 'Mean' && rows > 0 ? 1 / rows : 1;
      const o = heapF32(backend, out);
      for (let c = 0; c < channels; c++) o[c] = acc[c]! * scale;
      return out;
    },
  });
  return kernelName;
}

export function registerChannelReductions(): string[] {
  return [wrapReduction('Sum'), wrapReduction('Mean')];
}
