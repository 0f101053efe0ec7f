/**
 * A training worker process (`npm run worker:training`): takes training jobs from the BullMQ
 * queue (./training-queue.ts) and runs each with the existing runner in its own child process
 * (server/training/training-client.ts: a crash or out-of-memory takes only that job), relaying
 * its events back as progress updates. A GPU host runs it with TF_BACKEND=tensorflow-gpu.
 *
 * It writes checkpoints under DATA_DIR/jobs/<id> and the finished model under MODEL_DIR/<id>:
 * MODEL_DIR must be the directory the nodes and inference workers read (a shared volume), so
 * that they can load the model it produced.
 */
import path from 'node:path';
import { Worker } from 'bullmq';
import { env } from '../../lib/env';
import { createLogger } from '../logger';
import { startTrainingProcess, type TerminalEvent, type TrainingProcess } from '../training/training-client';
import type { WorkerStart } from '../training/worker-protocol';
import { defaultNodeId } from './config';
import { clusterKeys, connectRedis, waitForRedis } from './redis';
import { cancelKey, toWireEvent, TRAINING_QUEUE } from './training-queue';
import { runMain, stopOnSignals } from '../process-lifecycle';

/** A training step can hold a job for a while; its lock is renewed from this process, not the job's. */
const LOCK_MS = 30_000;
const CANCEL_POLL_MS = 500;

async function main(): Promise<void> {
  const config = env();
  if (!config.REDIS_URL) throw new Error('the training worker needs REDIS_URL (its queue lives in Redis)');
  const logger = createLogger(config.LOG_LEVEL);
  const id = config.CLUSTER_NODE_ID || defaultNodeId();
  const connection = connectRedis(config.REDIS_URL, `${id}:training-worker`, logger);
  await waitForRedis(connection);

  const running = new Set<TrainingProcess>();
  const worker = new Worker<WorkerStart, TerminalEvent>(
    TRAINING_QUEUE,
    async (job) => {
      const jobId = job.id ?? 'unknown';
      // Paths are this host's: the node's DATA_DIR and MODEL_DIR need not exist here.
      const start: WorkerStart = { ...job.data, jobDir: path.join(config.DATA_DIR, 'jobs', jobId), modelDir: config.MODEL_DIR, backend: config.TF_BACKEND };
      logger.info(`training job ${jobId} started`);
      const proc = startTrainingProcess(start, (event) => {
        void job.updateProgress(toWireEvent(event)).catch((err: unknown) => logger.warn(`training job ${jobId}: event not relayed`, err));
      });
      running.add(proc);
      const poll = setInterval(() => {
        void connection.get(cancelKey(config.CLUSTER_PREFIX, jobId)).then((v) => {
          if (v) proc.cancel();
        });
      }, CANCEL_POLL_MS);
      try {
        const { crashed: _crashed, ...last } = await proc.finished;
        logger.info(`training job ${jobId} ended: ${last.type}`);
        return last;
      } finally {
        clearInterval(poll);
        running.delete(proc);
      }
    },
    { connection, name: id, prefix: clusterKeys(config.CLUSTER_PREFIX).bullPrefix, concurrency: 1, lockDuration: LOCK_MS },
  );
  worker.on('error', (err) => logger.error('training worker: queue error', err));
  await worker.waitUntilReady();
  console.log(`Training worker ${id} ready (queue ${TRAINING_QUEUE})`);

  stopOnSignals(
    logger,
    (signal) => `${signal}: training worker ${id} stopping (a running job is cancelled after its step and checkpoints)`,
    async () => {
      // The running job stops after its step with a checkpoint; it stays active in the queue
      // and another worker takes it once its lock lapses.
      for (const proc of running) proc.cancel();
      await worker.close();
      connection.disconnect();
    },
  );
}

runMain(main);
