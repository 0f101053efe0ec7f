/** Messages between a training job's child process (worker.ts) and its parent (training-client.ts). */
import type { BackendName } from '../../lib/env';
import type { TrainEvent } from './runner';

export interface WorkerStart {
  spec: unknown;
  jobDir: string;
  modelDir: string;
  backend: BackendName | undefined;
  fresh: boolean;
}

export type WorkerMessage = { type: 'engine'; backend: string } | { type: 'event'; event: TrainEvent };
