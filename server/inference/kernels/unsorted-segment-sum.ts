/**
 * UnsortedSegmentSum for the wasm backend (missing from the stock backend; the gradient of
 * gather, hence of every embedding lookup, needs it).
 *
 * out[s, ...] = Σ x[i..., ...] over the leading indices i whose segmentIds[i...] = s; ids outside
 * [0, numSegments) are dropped, as on the cpu backend. One pass over x on the wasm heap.
 */
import { registerKernel, util, type KernelConfig, type TensorInfo, type UnsortedSegmentSumAttrs } from '@tensorflow/tfjs-core';
import { heapI32, type BackendWasm } from './wasm-util';

function unsortedSegmentSum(args: { inputs: { x: TensorInfo; segmentIds: TensorInfo }; backend: BackendWasm; attrs: UnsortedSegmentSumAttrs }): TensorInfo {
  const { inputs: { x, segmentIds }, backend, attrs: { numSegments } } = args;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') throw new Error(`UnsortedSegmentSum: unsupported dtype ${x.dtype}`);
  const idsRank = segmentIds.shape.length;
  for (let i = 0; i < idsRank; i++) {
    if (segmentIds.shape[i] !== x.shape[i]) {
      throw new Error(`UnsortedSegmentSum: segmentIds shape ${segmentIds.shape} is not a prefix of x shape ${x.shape}`);
    }
  }
  const inner = util.sizeFromShape(x.shape.slice(idsRank));
  const out = backend.makeOutput([numSegments, ...x.shape.slice(idsRank)], x.dtype);
  // Views after the allocation: it may have grown the heap.
  const xs = backend.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const ids = heapI32(backend, segmentIds);
  const o = backend.typedArrayFromHeap(out) as Float32Array | Int32Array;
  o.fill(0);
  for (let i = 0; i < ids.length; i++) {
    const s = ids[i]!;
    if (s < 0 || s >= numSegments) continue;
    let src = i * inner;
    let dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst++]! += xs[src++]!;
  }
  return out;
}

export const unsortedSegmentSumConfig: KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: unsortedSegmentSum as unknown as KernelConfig['kernelFunc'],
};

export function registerUnsortedSegmentSum(): string[] {
  registerKernel(unsortedSegmentSumConfig);
  return ['UnsortedSegmentSum'];
}
