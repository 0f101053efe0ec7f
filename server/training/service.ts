/**
 * The training side of the service, wired: the job manager, the fan-out of its events to the
 * HTTP event streams, and the engine told to load each model a job produces (so that rooms can
 * explore it at once, without a restart).
 */
import { eq } from 'drizzle-orm';
import type { BackendName } from '../../lib/env';
import type { Database } from '../db/open-database';
import * as schema from '../db/schema';
import { createTrainingEvents, type TrainingEvents } from '../http/training';
import type { EngineClient } from '../inference/engine-protocol';
import type { Logger } from '../logger';
import { createEvaluationQueue, type EvaluationQueue } from './evaluation';
import { createJobManager, type JobManager, type JobManagerOptions } from './jobs';

export interface TrainingService {
  jobs: JobManager;
  events: TrainingEvents;
  /** Models evaluated after their job (./evaluation.ts); undefined when turned off. */
  evaluations: EvaluationQueue | undefined;
  close(): Promise<void>;
}

export async function startTrainingService(opts: {
  database: Database;
  engine: Pick<EngineClient, 'reloadModels'>;
  dataDir: string;
  modelDir: string;
  backend: BackendName | undefined;
  logger: Logger;
  /** Evaluate every model a job produces (default true); extra `npm run eval` flags for tests. */
  evaluate?: boolean | { extraArgs: string[] };
  /** Where jobs run (JobManagerOptions.startProcess); default: child processes of this one. */
  startProcess?: JobManagerOptions['startProcess'];
}): Promise<TrainingService> {
  const events = createTrainingEvents();
  const evaluations =
    opts.evaluate === false
      ? undefined
      : createEvaluationQueue({
          modelDir: opts.modelDir,
          dataDir: opts.dataDir,
          backend: opts.backend,
          logger: opts.logger,
          ...(typeof opts.evaluate === 'object' ? { extraArgs: opts.evaluate.extraArgs } : {}),
          // The card (with its metrics) into the model's row, for the API and the UI.
          onEvaluated: async (card) => {
            await opts.database.db.update(schema.models).set({ card: card as unknown as Record<string, unknown> }).where(eq(schema.models.id, card.id));
          },
        });
  const jobs = createJobManager({
    database: opts.database,
    dataDir: opts.dataDir,
    modelDir: opts.modelDir,
    backend: opts.backend,
    logger: opts.logger,
    onEvent: (id, e) => events.publish(id, e),
    ...(opts.startProcess ? { startProcess: opts.startProcess } : {}),
    onModel: async (card) => {
      const result = await opts.engine.reloadModels?.();
      if (result && !result.added.includes(card.id)) {
        opts.logger.warn(`training produced ${card.id} but the engine did not load it`, result.failures);
      }
      evaluations?.enqueue(card.id);
    },
  });
  await jobs.start();
  return {
    jobs,
    events,
    evaluations,
    close: async () => {
      await jobs.close();
      await evaluations?.close();
    },
  };
}
