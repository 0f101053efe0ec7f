/**
 * Weights as plain arrays: to copy a model between backends (parity tests), between threads
 * (transferable buffers) or into a checkpoint. Every weight is included, trainable or not (batch
 * norm running statistics too), in the model's `weights` order.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

export interface WeightData {
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Copies of every weight's values (fresh arrays, safe to keep or transfer). */
export function readWeights(model: tfl.LayersModel): WeightData[] {
  return model.weights.map((w) => {
    const v = w.read();
    return { name: w.originalName, shape: [...v.shape], values: Float32Array.from(v.dataSync() as Float32Array) };
  });
}

/** Sets every weight from `data` (same order, names and shapes as readWeights gave). */
export function writeWeights(model: tfl.LayersModel, data: readonly WeightData[]): void {
  const weights = model.weights;
  if (weights.length !== data.length) throw new Error(`model has ${weights.length} weights, got ${data.length}`);
  tf.tidy(() => {
    weights.forEach((w, i) => {
      const d = data[i]!;
      if (d.name !== w.originalName) throw new Error(`weight ${i} is ${w.originalName}, got ${d.name}`);
      w.write(tf.tensor(d.values, d.shape, 'float32'));
    });
  });
}
