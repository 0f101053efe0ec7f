/**
 * Messages between the realtime process and the engine worker (worker_threads for wasm/cpu, a
 * child process for the native tfjs-node backends). Tensors cross as Float32Array buffers that
 * are transferred, not copied.
 */
import type { EngineInfo } from './engine';

export type { EngineInfo };

/**
 * One line for the start-up log. Here, not in engine.ts, so that the realtime process can print
 * it without loading TF.js.
 */
export function describeEngine(info: EngineInfo): string {
  const skipped = info.skipped.map((s) => `${s.backend} (${s.reason})`).join(', ');
  const threads = info.threads > 1 ? ` (${info.threads} threads)` : '';
  return `TF.js ${info.tfjsVersion} engine: ${info.backend}${threads}` + (skipped ? `; skipped ${skipped}` : '');
}

/** A model the engine has loaded. */
export interface ModelSummary {
  id: string;
  family: string;
  latentDim: number;
  /** False for a built-in randomly initialised model (decodes, but shows no digits). */
  trained?: boolean;
  /** Shape of one decoded image, [height, width, channels]. */
  imageShape?: [number, number, number];
  /** Display name (trained models). */
  name?: string;
  /** Data set it was trained on, e.g. `mnist`. */
  dataset?: string;
  /** Number of classes of a conditional model (decode needs a class per latent); null otherwise. */
  numClasses?: number | null;
  classNames?: string[];
  /** SHA-256 of the weights file (trained models): what a bookmark records to reproduce a frame. */
  weightsHash?: string;
  /** Training steps (trained models). */
  steps?: number;
}

/** One decoded image as an 8-bit PNG (server/rooms/encode-frame.ts), encoded in the engine's thread. */
export interface PngFrame {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/** What the realtime process (and tests, benches) can ask of the engine, wherever it runs. */
export interface EngineClient {
  /** Backend chosen by the worker, with the reasons it skipped the others. */
  readonly info: EngineInfo;
  /** Ids and metadata of the models the worker has loaded. */
  models(): Promise<ModelSummary[]>;
  /**
   * Decodes `count` latents of `latentDim` values each (row-major in `z`, which is transferred
   * and unusable afterwards) with the given model; `classes` holds one label per latent for
   * conditional models. Returns pixels in [0, 1], NHWC. Concurrent requests for one model are
   * batched in the engine (dynamic batching); each caller gets its own images.
   */
  decode(
    modelId: string,
    z: Float32Array,
    count: number,
    classes?: Int32Array,
  ): Promise<{ pixels: Float32Array; shape: [number, number, number, number] }>;
  /**
   * Decodes one latent (transferred, as in `decode`) in the same batches as `decode` and
   * returns it as an 8-bit PNG encoded in the engine's thread: what a room's frame carries.
   */
  decodePng(modelId: string, z: Float32Array, classes?: Int32Array): Promise<PngFrame>;
  /**
   * Loads models added to the model directory since start (a training job just wrote one, or
   * retrained one). Optional: engines that load nothing from disk need not offer it.
   */
  reloadModels?(): Promise<{ added: string[]; failures: { dir: string; error: string }[] }>;
  /** tf.memory() of the worker, for leak checks. */
  memory(): Promise<{ numTensors: number; numBytes: number }>;
  close(): Promise<void>;
}
