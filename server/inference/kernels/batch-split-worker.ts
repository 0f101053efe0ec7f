/**
 * The batch-split helper thread (see batch-split.ts): its own wasm backend with the project's
 * kernels, computing the second half of a kernel's batch from shared memory.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { initEngine } from '../engine';
import { CTRL_STATE, SPLIT_STATE, type SplitJob } from './batch-split';

const ctrl = new Int32Array(workerData.ctrl as SharedArrayBuffer);
const data = new Float32Array(workerData.data as SharedArrayBuffer);
const port = parentPort!;

function finish(state: number): void {
  Atomics.store(ctrl, CTRL_STATE, state);
  Atomics.notify(ctrl, CTRL_STATE);
}

port.on('message', (job: SplitJob) => {
  const inputs: Record<string, tf.Tensor> = {};
  try {
    for (const [name, { shape, offset }] of Object.entries(job.inputs)) {
      inputs[name] = tf.tensor(data.slice(offset, offset + tf.util.sizeFromShape(shape)), shape);
    }
    const out = tf.engine().runKernel(job.kernel, inputs, job.attrs) as tf.Tensor;
    data.set(out.dataSync() as Float32Array, job.output.offset);
    out.dispose();
    finish(SPLIT_STATE.done);
  } catch (err) {
    console.error('batch-split helper:', err);
    finish(SPLIT_STATE.failed);
  } finally {
    tf.dispose(Object.values(inputs));
  }
});

try {
  await initEngine('wasm');
  port.postMessage({ ready: true });
} catch (err) {
  port.postMessage({ error: err instanceof Error ? err.message : String(err) });
}
