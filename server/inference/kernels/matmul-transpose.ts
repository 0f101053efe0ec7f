/**
 * BatchMatMul and _FusedMatMul with transposeA / transposeB on the wasm backend.
 *
 * The stock wasm kernels fall off XNNPACK's fast path when either operand is transposed
 * (measured: [3136×1024]ᵀ·[3136×128] takes 1450 ms against 39 ms for an explicit transpose and
 * a plain matMul). Every Dense and conv gradient uses transposed matMuls, so these wrappers
 * transpose the operand explicitly with the wasm Transpose kernel and call the original kernel
 * untransposed. The original kernel's setupFunc is kept so a re-initialised backend still binds
 * its wasm function.
 *
 * The stock _FusedMatMul also applies its bias and activation wrongly when the batch dimension is
 * above 1 (measured against the cpu backend: errors of order 1 for [3,64,129]·[3,129,17] with a
 * bias of ones). For batched inputs the wrapper therefore runs the plain matMul and applies bias
 * and activation with their own kernels.
 */
import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import { dispose, replaceWasmKernel, wasmKernel, type BackendWasm } from './wasm-util';

function swapLastTwo(t: TensorInfo, backend: BackendWasm): TensorInfo {
  const rank = t.shape.length;
  const perm = [...Array(rank).keys()];
  perm[rank - 1] = rank - 2;
  perm[rank - 2] = rank - 1;
  return wasmKernel('Transpose')({ inputs: { x: t }, backend, attrs: { perm } });
}

/** Applies a fused activation with the standalone wasm kernels. */
function activate(
  backend: BackendWasm, x: TensorInfo, activation: string, alpha: number | undefined, preluWeights: TensorInfo | undefined,
): TensorInfo {
  switch (activation) {
    case 'linear': return x;
    case 'relu': return wasmKernel('Relu')({ inputs: { x }, backend });
    case 'relu6': return wasmKernel('Relu6')({ inputs: { x }, backend });
    case 'elu': return wasmKernel('Elu')({ inputs: { x }, backend });
    case 'sigmoid': return wasmKernel('Sigmoid')({ inputs: { x }, backend });
    case 'leakyrelu': return wasmKernel('LeakyRelu')({ inputs: { x }, backend, attrs: { alpha: alpha ?? 0.2 } });
    case 'prelu': return wasmKernel('Prelu')({ inputs: { x, alpha: preluWeights! }, backend });
    default: throw new Error(`_FusedMatMul: unknown activation ${activation}`);
  }
}

function batchSize(t: TensorInfo): number {
  return t.shape.slice(0, -2).reduce((a, b) => a * b, 1);
}

/** Batched _FusedMatMul as matMul, then bias, then activation (see the header). */
function unfusedBatchedMatMul(args: Parameters<KernelConfig['kernelFunc']>[0]): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, TensorInfo | undefined>;
  const attrs = args.attrs as { activation?: string; leakyreluAlpha?: number };
  const product = wasmKernel('BatchMatMul')({ inputs: { a: a!, b: b! }, backend, attrs: { transposeA: false, transposeB: false } });
  let out = product;
  if (bias) out = wasmKernel('Add')({ inputs: { a: product, b: bias }, backend });
  const activated = activate(backend, out, attrs.activation ?? 'linear', attrs.leakyreluAlpha, preluActivationWeights);
  if (activated !== out) dispose(backend, out);
  if (out !== product) dispose(backend, product);
  return activated;
}

function wrapTransposes(kernelName: string): string {
  return replaceWasmKernel(kernelName, ({ kernelFunc: originalFunc }) => (args) => {
    const attrs = args.attrs as { transposeA?: boolean; transposeB?: boolean };
    const backend = args.backend as BackendWasm;
    const inputs = { ...(args.inputs as Record<string, TensorInfo>) };
    const batched = kernelName === '_FusedMatMul' && Math.max(batchSize(inputs.a!), batchSize(inputs.b!)) > 1;
    const call = batched ? unfusedBatchedMatMul : originalFunc;
    if (!attrs.transposeA && !attrs.transposeB) return call(args);
    const temps: TensorInfo[] = [];
    if (attrs.transposeA) temps.push((inputs.a = swapLastTwo(inputs.a!, backend)));
    if (attrs.transposeB) temps.push((inputs.b = swapLastTwo(inputs.b!, backend)));
    try {
      return call({ ...args, inputs, attrs: { ...args.attrs, transposeA: false, transposeB: false } });
    } finally {
      dispose(backend, ...temps);
    }
  });
}

export function registerMatMulTransposes(): string[] {
  return [wrapTransposes('BatchMatMul'), wrapTransposes('_FusedMatMul')];
}
