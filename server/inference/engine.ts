/**
 * The TF.js engine: picks a backend by the ladder of ARCHITECTURE.md and makes it fit for
 * training.
 *
 *   tensorflow-gpu (@tensorflow/tfjs-node-gpu) → tensorflow (@tensorflow/tfjs-node) → wasm → cpu
 *
 * The first that loads wins; `TF_BACKEND` forces one (and fails loudly if it cannot load). The
 * native packages are optional dependencies that a GPU host installs itself (their install
 * script downloads libtensorflow), so they are imported dynamically and their absence is normal.
 *
 * On wasm the project registers its own kernels for what the stock backend lacks or runs slowly
 * (see ./kernels). On every backend the comparison ops get zero gradients so that gradients of
 * gradients (WGAN-GP) work, and fused ops skip gradients nobody asked for (unfused-gradients.ts).
 */
import { availableParallelism } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// tfjs-core's Node bundle registers no gradients; tfjs-layers' Node bundle registers them all
// (core's own `register_all_gradients` module is ESM-only with extensionless imports).
import '@tensorflow/tfjs-layers';
import type { BackendName } from '../../lib/env';
import { registerComparisonGradients } from './kernels/comparison-gradients';
import { registerWasmKernels } from './kernels/register';
import { installUnfusedGradients } from './kernels/unfused-gradients';
import { startBatchSplitHelper, stopBatchSplitHelper } from './kernels/batch-split';

export interface EngineInfo {
  /** Ladder name of the backend in use. */
  backend: BackendName;
  /** tf.getBackend() of that backend ('tensorflow', 'wasm' or 'cpu'). */
  tfBackend: string;
  /** Backends tried before this one and why each did not load. */
  skipped: { backend: BackendName; reason: string }[];
  /** Kernels the project registered on top of the stock backend. */
  customKernels: string[];
  tfjsVersion: string;
  /** Threads the engine computes on: 1, or 2 once useSecondCore() has started its helper. */
  threads: number;
}

const LADDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

let current: EngineInfo | undefined;

export { describeEngine } from './engine-protocol';

async function tryLoad(name: BackendName): Promise<void> {
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow': {
      // Optional native bindings: a variable keeps bundlers and tsc from resolving them.
      const pkg = name === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      await import(/* webpackIgnore: true */ pkg);
      if (!(await tf.setBackend('tensorflow'))) throw new Error(`${pkg} loaded but its backend did not initialise`);
      return;
    }
    case 'wasm':
    case 'cpu':
      if (!(await tf.setBackend(name))) throw new Error(`the ${name} backend did not initialise`);
      return;
  }
}

/**
 * Selects and initialises the backend once per thread. Later calls return the same info.
 * @param forced a backend name (from `TF_BACKEND`) that must load, or undefined for the ladder.
 */
export async function initEngine(forced?: BackendName): Promise<EngineInfo> {
  if (current && (!forced || forced === current.backend)) return current;
  // Production mode: no debug checks, and no "install tfjs-node" banner on every start.
  tf.enableProdMode();
  const order = forced ? [forced] : LADDER;
  const skipped: EngineInfo['skipped'] = [];
  for (const name of order) {
    try {
      await tryLoad(name);
      await tf.ready();
    } catch (err) {
      const reason = err instanceof Error ? err.message.split('\n')[0] ?? String(err) : String(err);
      if (forced) throw new Error(`TF_BACKEND=${forced} could not be loaded: ${reason}`);
      skipped.push({ backend: name, reason });
      continue;
    }
    const customKernels = name === 'wasm' ? registerWasmKernels() : [];
    registerComparisonGradients();
    installUnfusedGradients();
    current = { backend: name, tfBackend: tf.getBackend(), skipped, customKernels, tfjsVersion: tf.version_core, threads: 1 };
    return current;
  }
  throw new Error(`no TF.js backend could be loaded: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`);
}

/**
 * Lets large convolution kernels split their batch with a helper thread (wasm only; see
 * kernels/batch-split.ts). For training: the inference worker stays on one thread so the other
 * core stays with the realtime process. Returns the number of threads now in use.
 */
export async function useSecondCore(): Promise<number> {
  if (!current || current.backend !== 'wasm' || availableParallelism() < 2) return current?.threads ?? 1;
  await startBatchSplitHelper();
  current.threads = 2;
  return current.threads;
}

/** Stops the helper thread of useSecondCore(), if any. */
export async function releaseSecondCore(): Promise<void> {
  await stopBatchSplitHelper();
  if (current) current.threads = 1;
}

/** The engine of this thread, if initialised. */
export function engineInfo(): EngineInfo | undefined {
  return current;
}
