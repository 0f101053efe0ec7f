/**
 * Tile for the wasm backend, as block copies on the heap.
 *
 * The stock kernel copies element by element through index arithmetic (measured: ~45 ms to tile
 * [1,1,1,64] to [64,14,14,64], which the batch-norm gradient does on every training step). Here
 * each output row (the last axis) is the input row repeated, written with `copyWithin`/`set`;
 * outer axes repeat whole blocks already written.
 */
import { registerKernel, util, type KernelConfig, type TensorInfo, type TileAttrs } from '@tensorflow/tfjs-core';
import type { BackendWasm } from './wasm-util';

type Typed = Float32Array | Int32Array | Uint8Array;

function tile(args: { inputs: { x: TensorInfo }; backend: BackendWasm; attrs: TileAttrs }): TensorInfo {
  const { inputs: { x }, backend, attrs: { reps } } = args;
  if (x.dtype === 'string' || x.dtype === 'complex64') throw new Error(`Tile: unsupported dtype ${x.dtype}`);
  const inShape = x.shape.length ? x.shape : [1];
  const r = inShape.length;
  if (reps.length !== r) throw new Error(`Tile: reps ${reps} do not match rank ${r}`);
  const outShape = inShape.map((d, i) => d * reps[i]!);
  const out = backend.makeOutput(x.shape.length ? outShape : [], x.dtype);
  const src = backend.typedArrayFromHeap(x) as Typed;
  const dst = backend.typedArrayFromHeap(out) as Typed;
  if (util.sizeFromShape(outShape) === 0) return out;

  // blockIn[k]/blockOut[k]: elements of one input/output block spanning axes k..r-1.
  const blockOut = new Array<number>(r + 1);
  blockOut[r] = 1;
  for (let k = r - 1; k >= 0; k--) blockOut[k] = blockOut[k + 1]! * outShape[k]!;
  const blockIn = new Array<number>(r + 1);
  blockIn[r] = 1;
  for (let k = r - 1; k >= 0; k--) blockIn[k] = blockIn[k + 1]! * inShape[k]!;

  // Fill the output block of axes k..r-1 that starts at dstOff from the input block at srcOff.
  const fill = (k: number, srcOff: number, dstOff: number): void => {
    if (k === r - 1) {
      const n = inShape[k]!;
      dst.set(src.subarray(srcOff, srcOff + n), dstOff);
      for (let j = 1; j < reps[k]!; j++) dst.copyWithin(dstOff + j * n, dstOff, dstOff + n);
      return;
    }
    const n = inShape[k]!;
    const innerOut = blockOut[k + 1]!;
    for (let i = 0; i < n; i++) fill(k + 1, srcOff + i * blockIn[k + 1]!, dstOff + i * innerOut);
    const once = n * innerOut;
    for (let j = 1; j < reps[k]!; j++) dst.copyWithin(dstOff + j * once, dstOff, dstOff + once);
  };
  fill(0, 0, 0);
  return out;
}

export const tileConfig: KernelConfig = {
  kernelName: 'Tile',
  backendName: 'wasm',
  kernelFunc: tile as unknown as KernelConfig['kernelFunc'],
};

export function registerTile(): string[] {
  registerKernel(tileConfig);
  return ['Tile'];
}
