/**
 * Registers the project's wasm kernels over the stock backend (see each file's header for why).
 * Idempotent; returns the names of the kernels it provides. Call after the wasm backend is set.
 */
import { backend_util, getKernel, unregisterKernel, type Conv2DAttrs } from '@tensorflow/tfjs-core';
import { replaceWasmKernel } from './wasm-util';
import { conv2dMacs, withBatchSplit } from './batch-split';
import { registerChannelReductions } from './channel-reduce';
import { registerConv2DBackprop } from './conv2d-backprop';
import { registerLeakyRelu } from './leaky-relu';
import { registerLeakyReluGrad } from './leaky-relu-grad';
import { registerMatMulTransposes } from './matmul-transpose';
import { registerTile } from './tile';
import { registerUnsortedSegmentSum } from './unsorted-segment-sum';

let registered: string[] | undefined;

/** Removes a stock kernel that the project replaces, so the registry does not warn. */
function unregisterStock(...names: string[]): void {
  for (const name of names) if (getKernel(name, 'wasm')) unregisterKernel(name, 'wasm');
}

/** The stock Conv2D, splitting large batches with the helper thread when it runs (batch-split.ts). */
function registerConv2DBatchSplit(): void {
  replaceWasmKernel('Conv2D', (stock) =>
    withBatchSplit('Conv2D', stock.kernelFunc, (inputs, attrs) => {
      const a = attrs as unknown as Conv2DAttrs;
      const dilated = Array.isArray(a.dilations) ? a.dilations.some((d) => d !== 1) : (a.dilations ?? 1) !== 1;
      if (dilated || a.dataFormat === 'NCHW') return null;
      const macs = conv2dMacs(inputs.x!.shape, inputs.filter!.shape, a.strides, a.pad, a.dimRoundingMode);
      const out = (batch: number) => {
        const c = getConvOut(inputs.x!.shape, inputs.filter!.shape, a);
        return [batch, c[0], c[1], inputs.filter!.shape[3]!];
      };
      return { macs, split: ['x'], outShape: out, join: 'concat', attrsFor: () => attrs };
    }));
}

function getConvOut(xShape: number[], filterShape: number[], a: Conv2DAttrs): [number, number] {
  const c = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    a.strides, 1, a.pad, a.dimRoundingMode,
  );
  return [c.outHeight, c.outWidth];
}

export function registerWasmKernels(): string[] {
  if (registered) return registered;
  registerConv2DBatchSplit();
  unregisterStock('Conv2DBackpropFilter', 'Conv2DBackpropInput', 'UnsortedSegmentSum', 'Tile');
  registered = [...registerMatMulTransposes(), ...registerConv2DBackprop(), ...registerUnsortedSegmentSum(), ...registerTile(),
    ...registerChannelReductions(), ...registerLeakyRelu(), ...registerLeakyReluGrad()];
  return registered;
}
