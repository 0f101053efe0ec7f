/**
 * The engine side of an EngineClient, independent of the transport: starts the TF.js engine,
 * loads the model registry, and answers requests one at a time, in arrival order, except
 * decodes, which are checked on arrival and then batched across callers (./decode-batcher.ts:
 * requests for one model that wait together become one decode call). worker.ts wires it to a
 * worker_threads port or to child-process IPC.
 *
 * Errors become `{ ok: false, error }` responses with a message meant for the caller (the
 * realtime process decides what, if anything, reaches a user).
 */
import * as tf from '@tensorflow/tfjs-core';
import { encodePng } from '../rooms/encode-frame';
import { initEngine } from './engine';
import { createDecodeBatcher, DEFAULT_DECODE_BATCH, type DecodeJob } from './decode-batcher';
import { createModelRegistry, type ModelRegistry } from './model-registry';
import {
  MAX_DECODE_COUNT,
  MAX_TRAIN_STEPS,
  type EngineHostOptions,
  type EngineRequest,
  type EngineResponse,
  type TrainStepsParams,
  type TrainStepsResult,
} from './worker-protocol';
import type { EngineInfo } from './engine-protocol';
import { DCGAN_MNIST, buildDiscriminator, buildGenerator } from '../../models/dcgan/model';
import { createDcganTrainer } from '../../models/dcgan/train';
import { loadMnistSplit, mnistBatches, type MnistSet } from '../../models/datasets/mnist';
import { mnistImagesTensor } from '../../models/datasets/mnist-tensors';
import { mulberry32, randomNormal } from '../../models/common/random';

export interface EngineHost {
  readonly info: EngineInfo;
  /** Answers one request; `transfer` lists the buffers the response may move instead of copy. */
  handle(req: EngineRequest): Promise<{ response: EngineResponse; transfer: ArrayBuffer[] }>;
  dispose(): void;
}

class RequestError extends Error {}

function assertInteger(name: string, v: unknown, min: number, max: number): asserts v is number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new RequestError(`${name} must be an integer in [${min}, ${max}], got ${String(v)}`);
  }
}

export async function startEngineHost(opts: EngineHostOptions): Promise<EngineHost> {
  const info = await initEngine(opts.backend);
  const registry: ModelRegistry = await createModelRegistry({ modelDir: opts.modelDir, log: (line) => console.error(line) });
  let mnistTrain: MnistSet | undefined;
  // One request at a time: a decode never interleaves with another request's tensors.
  let queue: Promise<unknown> = Promise.resolve();
  function exclusive<T>(task: () => T | Promise<T>): Promise<T> {
    const run = queue.then(task);
    queue = run.catch(() => undefined);
    return run;
  }

  const batcher = createDecodeBatcher({
    options: opts.decodeBatch ?? DEFAULT_DECODE_BATCH,
    exclusive,
    decode: (modelId, z, count, classes) => {
      const model = registry.get(modelId)!;
      const { latentDim, imageShape } = model.summary;
      const out = tf.tidy(() =>
        model.decode(tf.tensor2d(z, [count, latentDim]), classes ? tf.tensor1d(classes, 'int32') : undefined),
      );
      try {
        return { pixels: out.dataSync() as Float32Array, imageShape };
      } finally {
        out.dispose();
      }
    },
  });

  /** Checks a decode request on arrival, so a bad one fails alone and never joins a batch. */
  function decodeJob(modelId: unknown, z: unknown, count: unknown, classes: unknown): DecodeJob {
    if (typeof modelId !== 'string') throw new RequestError('modelId must be a string');
    const model = registry.get(modelId);
    if (!model) {
      const known = registry.list().map((m) => m.id).join(', ');
      throw new RequestError(`unknown model id "${modelId}" (loaded: ${known || 'none'})`);
    }
    if (!(z instanceof Float32Array)) throw new RequestError('z must be a Float32Array');
    assertInteger('count', count, 1, MAX_DECODE_COUNT);
    const { latentDim } = model.summary;
    if (z.length !== count * latentDim) {
      throw new RequestError(
        `z has ${z.length} values but ${count} latent(s) of model "${modelId}" need ${count} × ${latentDim} = ${count * latentDim}`,
      );
    }
    for (let i = 0; i < z.length; i++) {
      if (!Number.isFinite(z[i])) throw new RequestError(`z[${i}] is not a finite number`);
    }
    const numClasses = model.summary.numClasses ?? null;
    if (classes !== undefined) {
      if (!(classes instanceof Int32Array)) throw new RequestError('classes must be an Int32Array');
      if (classes.length !== count) throw new RequestError(`classes has ${classes.length} labels but count is ${count}`);
      for (let i = 0; i < classes.length; i++) {
        const c = classes[i]!;
        if (c < 0 || (numClasses !== null && c >= numClasses)) {
          throw new RequestError(`classes[${i}] is ${c}, not a class of model "${modelId}"${numClasses === null ? '' : ` (0 to ${numClasses - 1})`}`);
        }
      }
    }
    // An unconditional model: labels play no part.
    if (numClasses === null) return { modelId, z, count };
    if (classes === undefined) throw new RequestError(`model "${modelId}" is conditional: each latent needs a class in [0, ${numClasses})`);
    return { modelId, z, count, classes };
  }

  function trainSteps(p: TrainStepsParams): TrainStepsResult {
    if (p.family !== 'dcgan') throw new RequestError(`trainSteps: unknown family "${String(p.family)}" (known: dcgan)`);
    assertInteger('steps', p.steps, 1, MAX_TRAIN_STEPS);
    assertInteger('batchSize', p.batchSize, 1, 1024);
    assertInteger('seed', p.seed, 0, 2 ** 31 - 1);
    mnistTrain ??= loadMnistSplit().train;
    const numTensorsBefore = tf.memory().numTensors;
    const config = { ...DCGAN_MNIST, seed: p.seed };
    const generator = buildGenerator(config);
    const discriminator = buildDiscriminator(config);
    const trainer = createDcganTrainer({ generator, discriminator });
    const rand = mulberry32(p.seed ^ 0x5eed);
    const batches = mnistBatches(mnistTrain, { batchSize: p.batchSize, seed: p.seed });
    const result: TrainStepsResult = {
      backend: info.backend,
      dLoss: [],
      gLoss: [],
      stepMs: [],
      numTensorsBefore,
      numTensorsAfter: 0,
    };
    try {
      for (let i = 0; i < p.steps; i++) {
        const batch = batches.next().value!;
        const t0 = performance.now();
        const real = mnistImagesTensor(batch.images, batch.count);
        const z = tf.tensor2d(randomNormal(p.batchSize * config.latentDim, rand), [p.batchSize, config.latentDim]);
        try {
          const { dLoss, gLoss } = trainer.step(real, z);
          result.dLoss.push(dLoss);
          result.gLoss.push(gLoss);
        } finally {
          tf.dispose([real, z]);
        }
        result.stepMs.push(performance.now() - t0);
      }
    } finally {
      trainer.dispose();
      generator.dispose();
      discriminator.dispose();
    }
    result.numTensorsAfter = tf.memory().numTensors;
    return result;
  }

  async function answer(req: EngineRequest): Promise<{ response: EngineResponse; transfer: ArrayBuffer[] }> {
    const { id } = req;
    try {
      switch (req.op) {
        case 'info':
          return { response: { id, ok: true, result: info }, transfer: [] };
        case 'models':
          return { response: { id, ok: true, result: registry.list() }, transfer: [] };
        case 'memory': {
          const { numTensors, numBytes } = tf.memory();
          return { response: { id, ok: true, result: { numTensors, numBytes } }, transfer: [] };
        }
        case 'decode': {
          const result = await batcher.submit(decodeJob(req.modelId, req.z, req.count, req.classes));
          return { response: { id, ok: true, result }, transfer: [result.pixels.buffer as ArrayBuffer] };
        }
        case 'decodePng': {
          // Decoded in the batch like any decode; the PNG is made here, off the realtime thread.
          const { pixels, shape } = await batcher.submit(decodeJob(req.modelId, req.z, 1, req.classes));
          const [, height, width, channels] = shape;
          if (channels !== 1 && channels !== 3) throw new RequestError(`decodePng: cannot encode ${channels} channels`);
          const data = new Uint8Array(encodePng(pixels, width, height, channels)); // its own buffer, to transfer
          return { response: { id, ok: true, result: { width, height, channels, data } }, transfer: [data.buffer] };
        }
        case 'decodeStats':
          return { response: { id, ok: true, result: batcher.stats() }, transfer: [] };
        case 'reloadModels': {
          const added = await registry.reload();
          return { response: { id, ok: true, result: { added, failures: [...registry.failures] } }, transfer: [] };
        }
        case 'trainSteps':
          return { response: { id, ok: true, result: trainSteps(req.params) }, transfer: [] };
        case 'crash':
          if (!opts.testHooks) throw new RequestError('crash is only available with test hooks');
          // Let the request land, then die like a real crash would (an uncaught exception).
          setImmediate(() => {
            throw new Error('crash requested by a test');
          });
          return await new Promise<never>(() => {});
        default: {
          const op: string = (req as { op?: unknown }).op as string;
          throw new RequestError(`unknown request "${op}"`);
        }
      }
    } catch (err) {
      const message = err instanceof RequestError ? err.message : `${(req as { op?: unknown }).op as string} failed: ${err instanceof Error ? err.message : String(err)}`;
      return { response: { id, ok: false, error: message }, transfer: [] };
    }
  }

  return {
    info,
    handle(req) {
      // Decodes queue in the batcher, which takes its own turn on the engine; the rest take one each.
      return req.op === 'decode' || req.op === 'decodePng' || req.op === 'decodeStats' ? answer(req) : exclusive(() => answer(req));
    },
    dispose() {
      registry.dispose();
    },
  };
}
