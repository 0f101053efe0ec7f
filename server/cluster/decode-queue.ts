/**
 * Frames decoded by inference workers (./inference-worker.ts) through a BullMQ queue, for
 * cluster nodes with INFERENCE_MODE=queue: the owning node's `renderFrame` adds a decode job and
 * awaits its PNG, which comes back in the job's `completed` event (QueueEvents).
 *
 * A worker that dies holding a job never completes it. The node does not wait for BullMQ's stall
 * detection to notice: when a decode is not answered within DECODE_DEADLINE_MS, the node looks at
 * its job, and if the worker holding it is no longer connected to Redis (a killed process's
 * connections close at once), issues it again as a new job, which the surviving workers take at
 * once (frames are newest-wins, so re-rendering a lost frame is all recovery needs). A job still
 * in line, or held by a live worker, is waited for: issuing it again under load would only add
 * work. The dead worker's job is failed by the stall check (maxStalledCount 0) rather than
 * decoded late. Jobs are removed when they finish.
 */
import { Queue, QueueEvents } from 'bullmq';
import { z } from 'zod';
import { truncate } from '../../lib/latent/vector';
import { MAX_CLASSES, MAX_LATENT_DIM } from '../../lib/protocol/rooms';
import type { Logger } from '../logger';
import type { RenderFrame } from '../rooms/room';
import { clusterKeys, connectRedis, lastQueueEventId } from './redis';

export const DECODE_QUEUE = 'decode';
/** Issues of one decode before the render fails (the room renders again at its next op). */
const MAX_ISSUES = 5;
/** Deadlines one issue may wait through while its job is queued or held by a live worker. */
const MAX_WAITS = 30;
const DEADLINE = Symbol('deadline');

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
  const lastEventId = await lastQueueEventId(queueConnection, bullPrefix, DECODE_QUEUE);
  const events = new QueueEvents(DECODE_QUEUE, { connection: eventsConnection, prefix: bullPrefix, lastEventId });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);

  const waiting = new Map<string, { resolve(r: unknown): void; reject(e: Error): void }>();
  events.on('completed', ({ jobId, returnvalue }) => waiting.get(jobId)?.resolve(returnvalue));
  events.on('failed', ({ jobId, failedReason }) => waiting.get(jobId)?.reject(new Error(failedReason)));
  let seq = 0;

  /**
   * The worker that holds a job which missed its deadline, if that worker is no longer connected
   * to Redis (killed: Redis dropped its connections). Otherwise undefined: the job waits in line
   * (a new job would wait behind it), a live worker decodes it, or it has finished and its event
   * is on the way, and waiting is all that helps.
   */
  async function holderGone(jobId: string): Promise<string | undefined> {
    const job = await queue.getJob(jobId);
    // Finished and removed: its completed (or failed) event is on its way in the events stream.
    if (!job) return undefined;
    const state = await job.getState();
    if (state !== 'active' || !job.processedBy) return undefined;
    const workers = await queue.getWorkers();
    const alive = workers.some((w) => String(w['rawname'] ?? '').endsWith(`:w:${job.processedBy}`));
    return alive ? undefined : job.processedBy;
  }

  async function decode(job: DecodeJob): Promise<DecodeResult> {
    for (let issue = 1; ; issue++) {
      const jobId = `${opts.nodeId}-${++seq}`;
      let gone: string | undefined;
      // Listening before the job exists: a fast worker may finish before add() returns.
      const answer = new Promise<unknown>((resolve, reject) => waiting.set(jobId, { resolve, reject }));
      answer.catch(() => undefined);
      try {
        await queue.add('decode', job, { jobId, removeOnComplete: true, removeOnFail: true });
        for (let waited = 1; ; waited++) {
          let timer: NodeJS.Timeout | undefined;
          const deadline = new Promise<typeof DEADLINE>((resolve) => (timer = setTimeout(() => resolve(DEADLINE), opts.deadlineMs)));
          const outcome = await Promise.race([answer, deadline]).finally(() => clearTimeout(timer));
          if (outcome !== DEADLINE) return DecodeResultSchema.parse(outcome);
          if (waited >= MAX_WAITS) throw new Error(`decode ${jobId}: no answer after ${waited} deadlines`);
          gone = await holderGone(jobId);
          if (gone) break;
        }
      } catch (err) {
        // Failed as stalled (its worker died and the stall check noticed first): issue it again.
        if (!(err instanceof Error && /stalled/i.test(err.message)) || issue >= MAX_ISSUES) throw err;
      } finally {
        waiting.delete(jobId);
      }
      if (issue >= MAX_ISSUES) throw new Error(`decode: ${issue} issues, none answered`);
      opts.logger.warn(`decode ${jobId}: ${gone ? `worker ${gone}` : 'its worker'} is gone; issuing it again`);
    }
  }

  const renderFrame: RenderFrame = async (modelId, z, psi, classLabel) => {
    const r = await decode({ modelId, z: Array.from(truncate(z, undefined, psi)), classLabel });
    return { width: r.width, height: r.height, channels: r.channels, format: 'png', data: Buffer.from(r.png, 'base64') };
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
