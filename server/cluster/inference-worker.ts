/**
 * An inference worker process (`npm run worker:inference`): takes decode jobs from the BullMQ
 * queue (./decode-queue.ts) and answers each with its PNG. Run as many as the hosts have cores
 * or GPUs, on any host that reaches Redis and has the models (MODEL_DIR); a GPU host sets
 * TF_BACKEND=tensorflow-gpu with @tensorflow/tfjs-node-gpu installed.
 *
 * Tensor work runs in the engine worker (server/inference: a worker thread, or a child process
 * for the native backends), never on this process's event loop, so the BullMQ lock renewals keep
 * their time. The jobs taken at once (INFERENCE_CONCURRENCY) are decoded together by the
 * engine's batcher (DECODE_MAX_BATCH, DECODE_MAX_WAIT_MS), across rooms and nodes.
 */
import { Worker } from 'bullmq';
import { env } from '../../lib/env';
import { createEngineClient } from '../inference/engine-client';
import { describeEngine } from '../inference/engine-protocol';
import { createLogger } from '../logger';
import { defaultNodeId } from './config';
import { DECODE_QUEUE, DecodeJobSchema, type DecodeResult } from './decode-queue';
import { clusterKeys, connectRedis, waitForRedis } from './redis';
import { runMain, stopOnSignals } from '../process-lifecycle';

/**
 * A job's lock lasts this long and is renewed every half of it; a killed worker's jobs count as
 * stalled after it and are failed by the next stall check. Long on purpose: the node does not wait
 * for this (it re-issues a late decode as soon as it sees the holder's connections gone, see
 * decode-queue.ts), and a short lock on a busy machine fails jobs whose worker is merely slow to
 * renew (seen at 2 s on this 2-core machine under load: the re-issues then doubled the work).
 */
const LOCK_MS = 10_000;
const STALL_CHECK_MS = 5_000;

async function main(): Promise<void> {
  const config = env();
  if (!config.REDIS_URL) throw new Error('the inference worker needs REDIS_URL (its decode queue lives in Redis)');
  const logger = createLogger(config.LOG_LEVEL);
  const id = config.CLUSTER_NODE_ID || defaultNodeId();
  const engine = await createEngineClient({
    backend: config.TF_BACKEND,
    modelDir: config.MODEL_DIR,
    decodeBatch: { maxBatch: config.DECODE_MAX_BATCH, maxWaitMs: config.DECODE_MAX_WAIT_MS },
  });
  const connection = connectRedis(config.REDIS_URL, `${id}:inference`, logger);
  await waitForRedis(connection);
  let decoded = 0;
  const worker = new Worker(
    DECODE_QUEUE,
    async (job): Promise<DecodeResult> => {
      const { modelId, z, classLabel } = DecodeJobSchema.parse(job.data);
      const decode = () => engine.decodePng(modelId, Float32Array.from(z), classLabel === null ? undefined : Int32Array.of(classLabel));
      let frame;
      try {
        frame = await decode();
      } catch (err) {
        // A model trained or imported since this worker started: load the new folders once.
        if (!(await engine.models()).some((m) => m.id === modelId) && (await engine.reloadModels?.())?.added.includes(modelId)) frame = await decode();
        else throw err;
      }
      decoded += 1;
      return { width: frame.width, height: frame.height, channels: frame.channels, png: Buffer.from(frame.data).toString('base64'), worker: id };
    },
    {
      connection,
      // Recorded on each job it takes (job.processedBy): which worker holds what.
      name: id,
      prefix: clusterKeys(config.CLUSTER_PREFIX).bullPrefix,
      concurrency: config.INFERENCE_CONCURRENCY,
      lockDuration: LOCK_MS,
      stalledInterval: STALL_CHECK_MS,
      maxStalledCount: 0,
    },
  );
  worker.on('error', (err) => logger.error('inference worker: queue error', err));
  worker.on('failed', (job, err) => logger.warn(`decode ${job?.id ?? '?'} failed: ${err.message}`));
  await worker.waitUntilReady();
  console.log(describeEngine(engine.info));
  console.log(`Inference worker ${id} ready (queue ${DECODE_QUEUE}, concurrency ${config.INFERENCE_CONCURRENCY})`);

  stopOnSignals(
    logger,
    (signal) => `${signal}: inference worker ${id} stopping after ${decoded} decodes`,
    async () => {
      await worker.close();
      await engine.close();
      connection.disconnect();
    },
  );
}

runMain(main);
