/**
 * The second core for training: large convolution kernels split their batch with a helper
 * thread that runs its own wasm backend.
 *
 * The wasm backend runs on one thread (its multi-threaded build does not start under Node), so
 * a 2-core machine trains on half of itself. Every convolution kernel of a training step is
 * independent across the batch: Conv2D and Conv2DBackpropInput compute each image alone, and
 * Conv2DBackpropFilter is a sum over images. Here the caller keeps the first half of the batch,
 * copies the second half (and the filter) into shared memory for the helper, computes its half
 * while the helper computes the other, waits for it (Atomics.wait: kernels are synchronous),
 * then joins the halves (concatenated, or summed for the filter gradient).
 *
 * Only kernels of at least SPLIT_MIN_MACS multiply-adds are split: below that the copies and the
 * hand-over cost more than they save. Inference keeps one thread (the engine worker leaves the
 * other core to the realtime process); training and the engine benchmark ask for two.
 */
import { Worker } from 'node:worker_threads';
import { backend_util, util, type KernelConfig, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { dispose, heapF32, type BackendWasm } from './wasm-util';

/** Below this many multiply-adds a kernel runs on the calling thread alone. */
const SPLIT_MIN_MACS = 40e6;
/** Shared memory for one job: inputs and output of the helper's half. */
const SHARED_BYTES = 64 << 20;
/** A helper that does not answer within this time is taken for dead. */
const HELPER_TIMEOUT_MS = 30_000;

/** The one control word shared with the helper: where a job stands. */
export const CTRL_STATE = 0;
export const SPLIT_STATE = { idle: 0, busy: 1, done: 2, failed: 3 } as const;
const STATE_BUSY = SPLIT_STATE.busy;
const STATE_FAILED = SPLIT_STATE.failed;

export interface SplitJob {
  kernel: string;
  attrs: NamedAttrMap;
  /** Inputs by name: shape and float offset into the shared data. */
  inputs: Record<string, { shape: number[]; offset: number }>;
  output: { offset: number; size: number };
}

interface Helper {
  worker: Worker;
  ctrl: Int32Array;
  data: Float32Array;
}

let helper: Helper | undefined;
/** True while this thread computes its half: kernels called inside do not split again. */
let splitting = false;

/** Starts the helper thread (idempotent). Resolves once its wasm backend and kernels are ready. */
export async function startBatchSplitHelper(): Promise<void> {
  if (helper) return;
  const ctrl = new Int32Array(new SharedArrayBuffer(16));
  const data = new Float32Array(new SharedArrayBuffer(SHARED_BYTES));
  const worker = new Worker(new URL('./batch-split-entry.mjs', import.meta.url), {
    workerData: { ctrl: ctrl.buffer, data: data.buffer },
    stdout: false,
    stderr: false,
  });
  worker.unref();
  await new Promise<void>((resolve, reject) => {
    worker.once('message', (m: { ready?: boolean; error?: string }) =>
      m.ready ? resolve() : reject(new Error(`batch-split helper failed to start: ${m.error}`)));
    worker.once('error', reject);
  });
  worker.on('error', () => (helper = undefined));
  worker.on('exit', () => (helper = undefined));
  helper = { worker, ctrl, data };
}

export async function stopBatchSplitHelper(): Promise<void> {
  const h = helper;
  helper = undefined;
  if (h) await h.worker.terminate();
}

export function batchSplitActive(): boolean {
  return helper !== undefined;
}

/** Copies a contiguous range of a heap tensor into a new heap tensor of the given shape. */
function sliceRows(backend: BackendWasm, t: TensorInfo, start: number, count: number): TensorInfo {
  const row = util.sizeFromShape(t.shape.slice(1));
  const out = backend.makeOutput([count, ...t.shape.slice(1)], 'float32');
  heapF32(backend, out).set(heapF32(backend, t).subarray(start * row, (start + count) * row));
  return out;
}

type Join = 'concat' | 'sum';

/**
 * Runs `kernel` with the batch (axis 0 of every `split` input) divided between this thread and
 * the helper. `local` runs the kernel here on the given inputs.
 */
function runSplit(
  backend: BackendWasm,
  kernel: string,
  inputs: Record<string, TensorInfo>,
  split: string[],
  attrs: NamedAttrMap,
  outShape: (batch: number) => number[],
  join: Join,
  local: (inputs: Record<string, TensorInfo>, attrs: NamedAttrMap) => TensorInfo,
  localAttrs: (batch: number) => NamedAttrMap,
): TensorInfo {
  const h = helper!;
  const batch = inputs[split[0]!]!.shape[0]!;
  const mine = Math.ceil(batch / 2);
  const theirs = batch - mine;

  // The helper's inputs into shared memory.
  const job: SplitJob = { kernel, attrs: localAttrs(theirs), inputs: {}, output: { offset: 0, size: 0 } };
  let offset = 0;
  for (const [name, t] of Object.entries(inputs)) {
    const src = heapF32(backend, t);
    if (split.includes(name)) {
      const row = util.sizeFromShape(t.shape.slice(1));
      h.data.set(src.subarray(mine * row, batch * row), offset);
      job.inputs[name] = { shape: [theirs, ...t.shape.slice(1)], offset };
      offset += theirs * row;
    } else {
      h.data.set(src, offset);
      job.inputs[name] = { shape: t.shape, offset };
      offset += src.length;
    }
  }
  const theirShape = outShape(theirs);
  job.output = { offset, size: util.sizeFromShape(theirShape) };
  Atomics.store(h.ctrl, CTRL_STATE, STATE_BUSY);
  h.worker.postMessage(job);

  // My half, meanwhile.
  const mineInputs: Record<string, TensorInfo> = { ...inputs };
  const temps: TensorInfo[] = [];
  for (const name of split) temps.push((mineInputs[name] = sliceRows(backend, inputs[name]!, 0, mine)));
  let myOut: TensorInfo;
  splitting = true;
  try {
    myOut = local(mineInputs, localAttrs(mine));
  } finally {
    splitting = false;
    dispose(backend, ...temps);
  }

  // Wait for theirs.
  const deadline = Date.now() + HELPER_TIMEOUT_MS;
  let state = Atomics.load(h.ctrl, CTRL_STATE);
  while (state === STATE_BUSY) {
    if (Atomics.wait(h.ctrl, CTRL_STATE, STATE_BUSY, Math.max(1, deadline - Date.now())) === 'timed-out') {
      void stopBatchSplitHelper();
      dispose(backend, myOut);
      throw new Error(`batch-split helper did not answer ${kernel} within ${HELPER_TIMEOUT_MS} ms`);
    }
    state = Atomics.load(h.ctrl, CTRL_STATE);
  }
  if (state === STATE_FAILED) {
    dispose(backend, myOut);
    throw new Error(`batch-split helper failed on ${kernel}`);
  }
  const theirOut = h.data.subarray(job.output.offset, job.output.offset + job.output.size);
  if (join === 'sum') {
    const o = heapF32(backend, myOut);
    for (let i = 0; i < o.length; i++) o[i]! += theirOut[i]!;
    return myOut;
  }
  const out = backend.makeOutput(outShape(batch), 'float32');
  const o = heapF32(backend, out);
  const mineData = heapF32(backend, myOut);
  o.set(mineData, 0);
  o.set(theirOut, mineData.length);
  dispose(backend, myOut);
  return out;
}

type KernelFn = KernelConfig['kernelFunc'];

/**
 * Wraps a convolution kernel so that, while the helper runs, large calls split their batch.
 * `macs` tells the work of a call; `plan` names the inputs split along the batch, the output
 * shape for a batch size, how halves join, and the attrs for a batch size.
 */
export function withBatchSplit(
  kernel: string,
  func: KernelFn,
  plan: (inputs: Record<string, TensorInfo>, attrs: NamedAttrMap) => {
    macs: number;
    split: string[];
    outShape: (batch: number) => number[];
    join: Join;
    attrsFor: (batch: number) => NamedAttrMap;
  } | null,
): KernelFn {
  return (args) => {
    if (!helper || splitting) return func(args);
    const inputs = args.inputs as Record<string, TensorInfo>;
    const attrs = (args.attrs ?? {}) as NamedAttrMap;
    const p = plan(inputs, attrs);
    const batch = p ? inputs[p.split[0]!]!.shape[0]! : 0;
    if (!p || p.macs < SPLIT_MIN_MACS || batch < 2 || Object.values(inputs).some((t) => t.dtype !== 'float32')) {
      return func(args);
    }
    const backend = args.backend as BackendWasm;
    const needed = Object.values(inputs).reduce((n, t) => n + util.sizeFromShape(t.shape), 0)
      + util.sizeFromShape(p.outShape(batch));
    if (needed * 4 > SHARED_BYTES) return func(args);
    return runSplit(backend, kernel, inputs, p.split, attrs, p.outShape, p.join,
      (ins, at) => func({ ...args, inputs: ins, attrs: at }) as TensorInfo, p.attrsFor);
  };
}

/** MACs of a conv2d given its input and filter shapes (used by the plans). */
export function conv2dMacs(
  xShape: number[], filterShape: number[], strides: number | [number, number], pad: NamedAttrMap['pad'],
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): number {
  const c = backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], filterShape as [number, number, number, number],
    strides, 1, pad as 'same' | 'valid' | number, dimRoundingMode,
  );
  return c.batchSize * c.outHeight * c.outWidth * c.filterHeight * c.filterWidth * c.inChannels * c.outChannels;
}
