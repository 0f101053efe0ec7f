/**
 * Small helpers for kernels that run on the wasm backend and work directly on its heap.
 *
 * A kernel receives `TensorInfo`s whose data live in the wasm heap. Views of the heap must be
 * taken after the last allocation (a heap growth detaches earlier views), so every helper here
 * returns a fresh view and callers take views only once their outputs are allocated.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm/dist/backend_wasm';

export type { BackendWasm };

type KernelFn = (args: { inputs: Record<string, TensorInfo>; backend: BackendWasm; attrs?: NamedAttrMap }) => TensorInfo;

/** The currently registered wasm kernel of that name, callable with TensorInfos. */
export function wasmKernel(name: string): KernelFn {
  const config = getKernel(name, 'wasm') as KernelConfig | undefined;
  if (!config) throw new Error(`wasm kernel ${name} is not registered`);
  return config.kernelFunc as unknown as KernelFn;
}

/** A Float32Array view of a float32 tensor's data on the wasm heap. */
export function heapF32(backend: BackendWasm, t: TensorInfo): Float32Array {
  if (t.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${t.dtype}`);
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/** An Int32Array view of an int32 tensor's data on the wasm heap. */
export function heapI32(backend: BackendWasm, t: TensorInfo): Int32Array {
  if (t.dtype !== 'int32') throw new Error(`expected an int32 tensor, got ${t.dtype}`);
  return backend.typedArrayFromHeap(t) as Int32Array;
}

/** The same data seen with another shape (no copy, no reference taken: do not dispose it). */
export function view(t: TensorInfo, shape: number[]): TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

/** Plain (untransposed) 2-D matMul of heap tensors through the wasm XNNPACK kernel. */
export function matMul2d(backend: BackendWasm, a: TensorInfo, b: TensorInfo): TensorInfo {
  return wasmKernel('BatchMatMul')({
    inputs: { a: view(a, [1, ...a.shape]), b: view(b, [1, ...b.shape]) },
    backend,
    attrs: { transposeA: false, transposeB: false },
  });
}

/** 2-D transpose on the heap through the wasm Transpose kernel. */
export function transpose2d(backend: BackendWasm, t: TensorInfo): TensorInfo {
  return wasmKernel('Transpose')({ inputs: { x: t }, backend, attrs: { perm: [1, 0] } });
}

export function dispose(backend: BackendWasm, ...ts: TensorInfo[]): void {
  for (const t of ts) backend.disposeData(t.dataId);
}

/**
 * Replaces the registered wasm kernel `name` with `make(original)`. The original's setupFunc is
 * kept, so a re-initialised backend still binds the wasm function the original calls.
 */
export function replaceWasmKernel(name: string, make: (original: KernelConfig) => KernelConfig['kernelFunc']): string {
  const original = getKernel(name, 'wasm') as KernelConfig | undefined;
  if (!original) throw new Error(`wasm kernel ${name} is missing`);
  unregisterKernel(name, 'wasm');
  registerKernel({ ...original, kernelFunc: make(original) });
  return name;
}
