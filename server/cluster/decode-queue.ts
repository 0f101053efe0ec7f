/**
 * Frames decoded by inference workers (./inference-worker.ts) through a BullMQ queue, for
 * cluster nodes with INFERENCE_MODE=queue: the owning node's `renderFrame` adds a decode job and
 * awaits its PNG, which comes back in the job's `completed` event (QueueEvents).
 *
 * A worker that dies holding a job never completes it. The node does not wait for BullMQ's stall
 * detection to notice: a decode not answered within DECODE_DEADLINE_MS is issued again as a new
 * job, which the surviving workers take at once (frames are newest-wins, so re-rendering a lost
 * frame is all recovery needs). The dead worker's job is failed by the stall check
 * (maxStalledCount 0) rather than decoded late. Jobs are removed when they finish.
 */
import { Queue, QueueEvents } from 'bullmq';
import { z } from 'zod';
import { truncate } from '../../lib/latent/vector';
import { MAX_CLASSES, MAX_LATENT_DIM } from '../../lib/protocol/rooms';
import type { Logger } from '../logger';
import type { RenderFrame } from '../rooms/room';
import { clusterKeys, connectRedis } from './redis';

export const DECODE_QUEUE = 'decode';
/** Issues of one decode before the render fails (the room renders again at its next op). */
const MAX_ATTEMPTS = 5;

/** A decode job: the latent already truncated (psi applied on the node, as in render-frame.ts). */
export const DecodeJobSchema = z.strictObject({
  modelId: z.string().min(1).max(100),
  z: z.array(z.number()).min(1).max(MAX_LATENT_DIM),
  classLabel: z.number().int().min(0).max(MAX_CLASSES - 1).nullable(),
});
export type DecodeJob = z.infer<typeof DecodeJobSchema>;

/** What a worker returns: the PNG (base64: job results are JSON) and who decoded it. */
export const DecodeResultSchema = z.strictObject({
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  channels: z.union([z.literal(1), z.literal(3)]),
  png: z.string().min(1),
  worker: z.string(),
});
export type DecodeResult = z.infer<typeof DecodeResultSchema>;

class DeadlineError extends Error {}

export interface DecodeQueue {
  renderFrame: RenderFrame;
  close(): Promise<void>;
}

export async function createDecodeQueue(opts: {
  redisUrl: string;
  prefix: string;
  nodeId: string;
  deadlineMs: number;
  logger: Logger;
}): Promise<DecodeQueue> {
  const bullPrefix = clusterKeys(opts.prefix).bullPrefix;
  const queueConnection = connectRedis(opts.redisUrl, `${opts.nodeId}:decode`, opts.logger);
  const eventsConnection = connectRedis(opts.redisUrl, `${opts.nodeId}:decode-events`, opts.logger);
  const queue = new Queue<DecodeJob, DecodeResult>(DECODE_QUEUE, { connection: queueConnection, prefix: bullPrefix });
  const events = new QueueEvents(DECODE_QUEUE, { connection: eventsConnection, prefix: bullPrefix });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);

  const waiting = new Map<string, { resolve(r: unknown): void; reject(e: Error): void }>();
  events.on('completed', ({ jobId, returnvalue }) => waiting.get(jobId)?.resolve(returnvalue));
  events.on('failed', ({ jobId, failedReason }) => waiting.get(jobId)?.reject(new Error(failedReason)));
  let seq = 0;

  async function decodeOnce(job: DecodeJob): Promise<DecodeResult> {
    const jobId = `${opts.nodeId}-${++seq}`;
    let timer: NodeJS.Timeout | undefined;
    // Listening before the job exists: a fast worker may finish before add() returns.
    const answer = new Promise<unknown>((resolve, reject) => {
      waiting.set(jobId, { resolve, reject });
      timer = setTimeout(() => reject(new DeadlineError(`decode ${jobId} not answered within ${opts.deadlineMs} ms`)), opts.deadlineMs);
    });
    try {
      await queue.add('decode', job, { jobId, removeOnComplete: true, removeOnFail: true });
      return DecodeResultSchema.parse(await answer);
    } finally {
      clearTimeout(timer);
      waiting.delete(jobId);
    }
  }

  const renderFrame: RenderFrame = async (modelId, z, psi, classLabel) => {
    const job: DecodeJob = { modelId, z: Array.from(truncate(z, undefined, psi)), classLabel };
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await decodeOnce(job);
        return { width: r.width, height: r.height, channels: r.channels, format: 'png', data: Buffer.from(r.png, 'base64') };
      } catch (err) {
        // A worker died holding it (deadline, or failed as stalled): issue it again.
        const retry = err instanceof DeadlineError || (err instanceof Error && /stalled/i.test(err.message));
        if (!retry || attempt >= MAX_ATTEMPTS) throw err;
        opts.logger.warn(`${err.message}; issuing it again`);
      }
    }
  };

  return {
    renderFrame,
    async close() {
      for (const [, w] of waiting) w.reject(new Error('decode queue closed'));
      await events.close();
      await queue.close();
      queueConnection.disconnect();
      eventsConnection.disconnect();
    },
  };
}
