/**
 * The training side of the service, wired: the job manager, the fan-out of its events to the
 * HTTP event streams, and the engine told to load each model a job produces (so that rooms can
 * explore it at once, without a restart).
 */
import type { BackendName } from '../../lib/env';
import type { Database } from '../db/open-database';
import { createTrainingEvents, type TrainingEvents } from '../http/training';
import type { EngineClient } from '../inference/engine-protocol';
import type { Logger } from '../logger';
import { createJobManager, type JobManager } from './jobs';

export interface TrainingService {
  jobs: JobManager;
  events: TrainingEvents;
  close(): Promise<void>;
}

export async function startTrainingService(opts: {
  database: Database;
  engine: Pick<EngineClient, 'reloadModels'>;
  dataDir: string;
  modelDir: string;
  backend: BackendName | undefined;
  logger: Logger;
}): Promise<TrainingService> {
  const events = createTrainingEvents();
  const jobs = createJobManager({
    database: opts.database,
    dataDir: opts.dataDir,
    modelDir: opts.modelDir,
    backend: opts.backend,
    logger: opts.logger,
    onEvent: (id, e) => events.publish(id, e),
    onModel: async (card) => {
      const result = await opts.engine.reloadModels?.();
      if (result && !result.added.includes(card.id)) {
        opts.logger.warn(`training produced ${card.id} but the engine did not load it`, result.failures);
      }
    },
  });
  await jobs.start();
  return { jobs, events, close: () => jobs.close() };
}
