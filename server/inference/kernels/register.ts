/**
 * Registers the project's wasm kernels over the stock backend (see each file's header for why).
 * Idempotent; returns the names of the kernels it provides. Call after the wasm backend is set.
 */
import { getKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
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

export function registerWasmKernels(): string[] {
  if (registered) return registered;
  const stockLeakyRelu = getKernel('LeakyRelu', 'wasm') as KernelConfig;
  unregisterStock('Conv2DBackpropFilter', 'Conv2DBackpropInput', 'UnsortedSegmentSum', 'Tile', 'LeakyRelu');
  registered = [...registerMatMulTransposes(), ...registerConv2DBackprop(), ...registerUnsortedSegmentSum(), ...registerTile(),
    ...registerChannelReductions(), ...registerLeakyRelu(stockLeakyRelu), ...registerLeakyReluGrad()];
  return registered;
}
