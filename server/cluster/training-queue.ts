/**
 * Training jobs run by training workers (./training-worker.ts) through a BullMQ queue, for
 * nodes with TRAINING_MODE=queue. The job manager (server/training/jobs.ts) keeps its rows, its
 * queue order and its events; only where a job runs changes: `startProcess` here adds a queue
 * job (id: the training job's id, so two nodes starting the same row add it once) and turns the
 * worker's progress reports back into the job's events.
 *
 * Events travel as BullMQ progress updates (the sample grids' PNGs as base64); the terminal
 * event is the queue job's return value. Cancel sets a key the worker polls between steps.
 */
import { basename } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import type { Logger } from '../logger';
import type { TrainEvent } from '../training/runner';
import type { TerminalEvent, TrainingProcess } from '../training/training-client';
import type { WorkerStart } from '../training/worker-protocol';
import { clusterKeys, connectRedis, lastQueueEventId } from './redis';

export const TRAINING_QUEUE = 'training';
/** A finished queue job is kept this long, so a late duplicate add of the same job is ignored. */
const KEEP_FINISHED_S = 3600;

/** A TrainEvent as JSON: the samples' PNG as base64. */
export type WireTrainEvent = Exclude<TrainEvent, { type: 'samples' }> | (Omit<Extract<TrainEvent, { type: 'samples' }>, 'png'> & { png: string });

export function toWireEvent(e: TrainEvent): WireTrainEvent {
  return e.type === 'samples' ? { ...e, png: Buffer.from(e.png).toString('base64') } : e;
}

export function fromWireEvent(e: WireTrainEvent): TrainEvent {
  return e.type === 'samples' ? { ...e, png: new Uint8Array(Buffer.from(e.png, 'base64')) } : e;
}

export const cancelKey = (prefix: string, jobId: string) => `${prefix}:training-cancel:${jobId}`;

export interface TrainingQueue {
  startProcess(start: WorkerStart, onEvent: (e: TrainEvent) => void): TrainingProcess;
  close(): Promise<void>;
}

export async function createTrainingQueue(opts: { redisUrl: string; prefix: string; nodeId: string; logger: Logger }): Promise<TrainingQueue> {
  const bullPrefix = clusterKeys(opts.prefix).bullPrefix;
  const connection = connectRedis(opts.redisUrl, `${opts.nodeId}:training`, opts.logger);
  const eventsConnection = connectRedis(opts.redisUrl, `${opts.nodeId}:training-events`, opts.logger);
  const queue = new Queue<WorkerStart, TerminalEvent>(TRAINING_QUEUE, { connection, prefix: bullPrefix });
  const lastEventId = await lastQueueEventId(connection, bullPrefix, TRAINING_QUEUE);
  const events = new QueueEvents(TRAINING_QUEUE, { connection: eventsConnection, prefix: bullPrefix, lastEventId });
  await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);

  const watchers = new Map<string, { onEvent(e: TrainEvent): void; finish(last: TerminalEvent & { crashed?: boolean }): void }>();
  events.on('progress', ({ jobId, data }) => watchers.get(jobId)?.onEvent(fromWireEvent(data as unknown as WireTrainEvent)));
  events.on('completed', ({ jobId, returnvalue }) => watchers.get(jobId)?.finish(returnvalue as unknown as TerminalEvent));
  events.on('failed', ({ jobId, failedReason }) =>
    watchers.get(jobId)?.finish({ type: 'failed', step: 0, error: `training worker: ${failedReason}`, lastGoodStep: null, crashed: true }),
  );

  return {
    startProcess(start, onEvent) {
      const jobId = basename(start.jobDir);
      let lastStep = 0;
      const finished = new Promise<TerminalEvent & { crashed?: boolean }>((resolve) => {
        watchers.set(jobId, {
          onEvent: (e) => {
            if ('step' in e) lastStep = e.step;
            onEvent(e);
          },
          finish: (last) => {
            watchers.delete(jobId);
            resolve(last.type === 'failed' && last.step === 0 ? { ...last, step: lastStep } : last);
          },
        });
      });
      void connection.del(cancelKey(opts.prefix, jobId)).then(() =>
        queue.add('train', start, { jobId, removeOnComplete: { age: KEEP_FINISHED_S }, removeOnFail: { age: KEEP_FINISHED_S } }).catch((err: unknown) => {
          opts.logger.error(`training job ${jobId}: could not queue it`, err);
          watchers.get(jobId)?.finish({ type: 'failed', step: 0, error: 'could not reach the training queue', lastGoodStep: null, crashed: true });
        }),
      );
      return {
        pid: undefined,
        cancel: () => void connection.set(cancelKey(opts.prefix, jobId), '1', 'EX', KEEP_FINISHED_S).catch(() => undefined),
        // A process on another host cannot be SIGKILLed from here; the closest is a cancel.
        kill: () => void connection.set(cancelKey(opts.prefix, jobId), '1', 'EX', KEEP_FINISHED_S).catch(() => undefined),
        finished,
      };
    },
    async close() {
      await events.close();
      await queue.close();
      connection.disconnect();
      eventsConnection.disconnect();
    },
  };
}
