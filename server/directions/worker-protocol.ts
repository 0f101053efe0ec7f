/**
 * Messages between the directions service (./worker-client.ts, in the realtime process) and its
 * worker, a child process (./worker.ts) that holds the models and classifiers and does every
 * tensor op of discovery jobs and steers. Requests carry ids; a job reports progress events
 * with its request's id before its one response.
 */
import type { BackendName } from '../../lib/env';
import type { DirectionScores, DirectionSpec, Scoring } from '../../lib/protocol/directions';

export interface WorkerOptions {
  backend: BackendName | undefined;
  modelDir: string;
}

/** A discovery job, its stored inputs resolved by the service. */
export interface RunJobRequest {
  id: number;
  type: 'run';
  modelId: string;
  spec: DirectionSpec;
  scoring: Scoring;
  /** centroid-difference: bookmark latents; conditional: the stored directions' vectors. */
  positive?: number[][];
  negative?: number[][];
  primary?: number[];
  conditions?: number[][];
}

export interface SteerRequest {
  id: number;
  type: 'steer';
  modelId: string;
  z: number[];
  classLabel: number | null;
  attribute: string;
  steps: number;
  stepSize: number;
  sign: 1 | -1;
}

export type WorkerRequest = RunJobRequest | SteerRequest;

/** A direction a job found, with its scores. */
export interface FoundWithScores {
  suffix?: string;
  vector: number[];
  scores: DirectionScores;
}

export interface SteerResultMessage {
  z: number[];
  steps: number;
  value: number;
  reached: boolean;
}

export type WorkerMessage =
  | { type: 'ready'; backend: string }
  | { type: 'progress'; id: number; done: number; total: number }
  | { type: 'result'; id: number; ok: true; directions?: FoundWithScores[]; steer?: SteerResultMessage }
  | { type: 'result'; id: number; ok: false; error: string };
