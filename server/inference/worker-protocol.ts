/**
 * The wire format between an EngineClient (engine-client.ts) and its engine host (worker.ts),
 * the same over worker_threads messages and over child-process IPC. Every request carries an id
 * that its one response repeats. Requests run one at a time, in arrival order, except decodes:
 * those wait in the host's dynamic batcher (./decode-batcher.ts) and may be answered after a
 * request that came later.
 *
 * Float32Array payloads are moved, not copied, between threads (transfer lists); between
 * processes they are serialised once by Node's 'advanced' (structured clone) IPC.
 */
import type { BackendName } from '../../lib/env';
import type { DecodeBatchOptions, DecodeBatchStats, DecodeJobResult } from './decode-batcher';
import type { EngineInfo, ModelSummary, PngFrame } from './engine-protocol';

/** Options the client hands to the host at start (workerData, or an env variable for a child). */
export interface EngineHostOptions {
  /** Backend the host must load, or undefined for the ladder. */
  backend: BackendName | undefined;
  /** Where trained checkpoints live (read by the registry once checkpoints exist). */
  modelDir: string;
  /** Enables the `crash` request, for tests of crash handling only. */
  testHooks: boolean;
  /** Dynamic batching of decode requests (max batch, max wait). */
  decodeBatch: DecodeBatchOptions;
}

/** Largest number of latents one decode request may carry. */
export const MAX_DECODE_COUNT = 1024;
/** Largest `steps` of one trainSteps request (keeps a single request bounded in time). */
export const MAX_TRAIN_STEPS = 10_000;

export interface TrainStepsParams {
  /** Only 'dcgan' (the torch_dcgan.py mirror) for now. */
  family: 'dcgan';
  steps: number;
  batchSize: number;
  /** Seeds the initial weights, the batch order and the latents. */
  seed: number;
}

export interface TrainStepsResult {
  backend: BackendName;
  dLoss: number[];
  gLoss: number[];
  /** Wall time of each step, ms (the first steps include warm-up). */
  stepMs: number[];
  /** tf.memory().numTensors before the models were built and after they were disposed. */
  numTensorsBefore: number;
  numTensorsAfter: number;
}

export type EngineRequest =
  | { id: number; op: 'info' }
  | { id: number; op: 'models' }
  | {
      id: number;
      op: 'decode';
      modelId: string;
      z: Float32Array;
      count: number;
      /** One class label per latent, for conditional models. */
      classes?: Int32Array;
    }
  | {
      id: number;
      op: 'decodePng';
      modelId: string;
      /** One latent. */
      z: Float32Array;
      classes?: Int32Array;
    }
  | { id: number; op: 'memory' }
  | { id: number; op: 'decodeStats' }
  | { id: number; op: 'reloadModels' }
  | { id: number; op: 'trainSteps'; params: TrainStepsParams }
  | { id: number; op: 'crash' };

/**
 * `pixels` [count, h, w, c]; `ms` the host's time for the decode call this request was part of
 * (excludes queueing and messaging); `batch` the latents decoded in that call.
 */
export type DecodeResult = DecodeJobResult;

/** Models a reload added (new folders, or retrained weights), and folders that failed to load. */
export interface ReloadResult {
  added: string[];
  failures: { dir: string; error: string }[];
}

export interface EngineResults {
  info: EngineInfo;
  models: ModelSummary[];
  decode: DecodeResult;
  decodePng: PngFrame;
  memory: { numTensors: number; numBytes: number };
  decodeStats: DecodeBatchStats;
  reloadModels: ReloadResult;
  trainSteps: TrainStepsResult;
  crash: never;
}

export type EngineOp = EngineRequest['op'];

export type EngineResponse =
  | { id: number; ok: true; result: EngineResults[EngineOp] }
  | { id: number; ok: false; error: string };

/** Messages from the host that answer no request. */
export type EngineHostEvent =
  | { type: 'ready'; info: EngineInfo }
  | { type: 'start-failed'; error: string };

export type HostMessage = EngineResponse | EngineHostEvent;

export function isHostEvent(m: HostMessage): m is EngineHostEvent {
  return 'type' in m;
}
