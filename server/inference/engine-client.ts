/**
 * The realtime process's handle on the TF.js engine, which runs elsewhere so that no tensor op
 * ever blocks the event loop:
 *   - wasm / cpu: a worker_threads Worker; Float32Array buffers are transferred both ways
 *     (the caller's `z` is detached after decode, the returned pixels were never copied);
 *   - tensorflow / tensorflow-gpu (tfjs-node, not safe in several threads at once): a child
 *     process over IPC with 'advanced' (structured clone) serialization; buffers are copied once
 *     by the serializer and the caller's `z` is detached all the same, so callers see one contract.
 * With no backend forced, a child process is used when a tfjs-node package is installed (the
 * ladder would pick it), a worker thread otherwise.
 *
 * Requests carry ids; decodes are batched across callers in the host (./decode-batcher.ts), so
 * answers may come out of order. A failed request rejects with the host's message; a crashed or
 * exited host rejects every pending request, and every later one.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { env, type BackendName } from '../../lib/env';
import type { DecodeBatchOptions, DecodeBatchStats } from './decode-batcher';
import type { EngineClient, EngineInfo, ModelSummary, PngFrame } from './engine-protocol';
import {
  isHostEvent,
  type DecodeResult,
  type EngineHostOptions,
  type EngineOp,
  type EngineRequest,
  type EngineResults,
  type HostMessage,
  type TrainStepsParams,
  type TrainStepsResult,
} from './worker-protocol';

export interface EngineClientOptions {
  /** Backend the engine must load; default TF_BACKEND, else the ladder. */
  backend?: BackendName;
  /** Checkpoint directory; default MODEL_DIR. */
  modelDir?: string;
  /** How long the engine may take to start (load the backend and the models). Default 60 s. */
  startTimeoutMs?: number;
  /**
   * Where to run the engine; default by backend (engineHostKind). A child process for wasm or
   * cpu works too (tests use it to prove the IPC path without tfjs-node); a thread for a native
   * backend is refused, since tfjs-node is not safe in several threads.
   */
  host?: EngineHostKind;
  /** Enables `crashForTest()`. Tests only. */
  testHooks?: boolean;
  /** Dynamic batching of decodes in the host; default DECODE_MAX_BATCH and DECODE_MAX_WAIT_MS. */
  decodeBatch?: DecodeBatchOptions;
}

/** Where an engine runs. */
export type EngineHostKind = 'thread' | 'process';

/** EngineClient plus what benches and tests use. */
export interface LocalEngineClient extends EngineClient {
  readonly hostKind: EngineHostKind;
  /** Same as `decode`, with the host's own time for the decode call (ms, without messaging) and its batch size. */
  decodeTimed(modelId: string, z: Float32Array, count: number, classes?: Int32Array): Promise<DecodeResult>;
  /** Decode calls, jobs and latents the host's batcher has run so far. */
  decodeStats(): Promise<DecodeBatchStats>;
  /** Trains a fresh, seeded model for `steps` steps on MNIST in the engine; losses and timings. */
  trainSteps(params: TrainStepsParams): Promise<TrainStepsResult>;
  /** Makes the host die with an uncaught exception (only with `testHooks`). */
  crashForTest(): Promise<never>;
}

const NATIVE_BACKENDS: readonly BackendName[] = ['tensorflow', 'tensorflow-gpu'];
const ENTRY = new URL('./worker-entry.mjs', import.meta.url);

function nativePackageInstalled(): boolean {
  const require = createRequire(import.meta.url);
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(pkg);
      return true;
    } catch {
      // not installed: the normal case on these machines
    }
  }
  return false;
}

/** Thread for wasm/cpu, process for the native backends (and for the ladder when one is installed). */
export function engineHostKind(backend: BackendName | undefined): EngineHostKind {
  if (backend) return NATIVE_BACKENDS.includes(backend) ? 'process' : 'thread';
  return nativePackageInstalled() ? 'process' : 'thread';
}

/** A worker or a child process seen the same way. */
interface HostChannel {
  post(req: EngineRequest, transfer: ArrayBuffer[]): void;
  onMessage(fn: (m: HostMessage) => void): void;
  /** Called once when the host is gone (crash, exit, or after close). */
  onGone(fn: (reason: string) => void): void;
  stop(): Promise<void>;
}

function threadChannel(options: EngineHostOptions): HostChannel {
  const worker = new Worker(ENTRY, { workerData: options, execArgv: [], stdout: false, stderr: false });
  let gone: ((reason: string) => void) | undefined;
  let lastError: string | undefined;
  worker.on('error', (err) => {
    lastError = err instanceof Error ? err.message : String(err);
  });
  worker.on('messageerror', (err) => {
    lastError = `undeliverable message: ${err.message}`;
  });
  worker.on('exit', (code) => gone?.(lastError ? `engine worker crashed: ${lastError}` : `engine worker exited with code ${code}`));
  return {
    post: (req, transfer) => worker.postMessage(req, transfer),
    onMessage: (fn) => worker.on('message', fn),
    onGone: (fn) => {
      gone = fn;
    },
    stop: async () => {
      await worker.terminate();
    },
  };
}

function processChannel(options: EngineHostOptions): HostChannel {
  const child: ChildProcess = fork(ENTRY, [JSON.stringify(options)], {
    execArgv: [],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  let gone: ((reason: string) => void) | undefined;
  let stderrTail = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    process.stderr.write(chunk);
    stderrTail = (stderrTail + chunk).slice(-2000);
  });
  child.on('exit', (code, signal) => {
    const lastLine = stderrTail.trim().split('\n').filter((l) => /Error/.test(l)).pop();
    gone?.(
      `engine child process exited (${signal ?? `code ${code}`})` + (lastLine && code !== 0 ? `: ${lastLine.trim()}` : ''),
    );
  });
  child.on('error', (err) => gone?.(`engine child process failed: ${err.message}`));
  return {
    post: (req) => {
      child.send(req);
    },
    onMessage: (fn) => child.on('message', (m) => fn(m as HostMessage)),
    onGone: (fn) => {
      gone = fn;
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Detaches `buf` (as a transfer would) so callers cannot rely on z after decode in any mode. */
function detach(buf: ArrayBuffer): void {
  structuredClone(buf, { transfer: [buf] });
}

/** The whole of `z`'s buffer can move only if `z` covers all of it. */
function ownsWholeBuffer(z: Float32Array): boolean {
  return z.buffer instanceof ArrayBuffer && z.byteOffset === 0 && z.byteLength === z.buffer.byteLength;
}

/**
 * Starts an engine host and resolves once its backend and models are loaded.
 *
 * @example
 * const engine = await createEngineClient({ backend: 'wasm' });
 * const z = new Float32Array(64).fill(0.5);
 * const { pixels, shape } = await engine.decode('dcgan-mnist-random', z, 1); // shape [1, 28, 28, 1]
 * await engine.close();
 */
export async function createEngineClient(opts: EngineClientOptions = {}): Promise<LocalEngineClient> {
  const backend = opts.backend ?? env().TF_BACKEND;
  const options: EngineHostOptions = {
    backend,
    modelDir: opts.modelDir ?? env().MODEL_DIR,
    testHooks: opts.testHooks ?? false,
    decodeBatch: opts.decodeBatch ?? { maxBatch: env().DECODE_MAX_BATCH, maxWaitMs: env().DECODE_MAX_WAIT_MS },
  };
  const hostKind = opts.host ?? engineHostKind(backend);
  if (hostKind === 'thread' && backend && NATIVE_BACKENDS.includes(backend)) {
    throw new Error(`the ${backend} backend (tfjs-node) cannot run in a worker thread; use a child process`);
  }
  const channel = hostKind === 'thread' ? threadChannel(options) : processChannel(options);
  const where = hostKind === 'thread' ? 'engine worker thread' : 'engine child process';

  // What to do about a native backend that does not load, said once, where the error surfaces.
  const hint =
    backend && NATIVE_BACKENDS.includes(backend)
      ? ` (the ${backend} backend needs @tensorflow/tfjs-node${backend === 'tensorflow-gpu' ? '-gpu' : ''} installed on this host, ` +
        'which downloads libtensorflow at install; without it, unset TF_BACKEND or choose wasm)'
      : '';

  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; op: EngineOp }>();
  let nextId = 1;
  let goneReason: string | undefined;
  let closing = false;
  let settleStart: { resolve: (info: EngineInfo) => void; reject: (e: Error) => void } | undefined;

  channel.onGone((reason) => {
    goneReason = closing ? 'engine client closed' : reason;
    settleStart?.reject(new Error(`${where} did not start: ${reason}${hint}`));
    for (const [id, p] of pending) {
      pending.delete(id);
      p.reject(new Error(`${p.op}: ${goneReason}`));
    }
  });

  channel.onMessage((m) => {
    if (isHostEvent(m)) {
      if (m.type === 'ready') settleStart?.resolve(m.info);
      else settleStart?.reject(new Error(`${where} did not start: ${m.error}${hint}`));
      return;
    }
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(`${p.op}: ${m.error}`));
  });

  const startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  let info: EngineInfo;
  try {
    info = await new Promise<EngineInfo>((resolve, reject) => {
      settleStart = { resolve, reject };
      timer = setTimeout(() => reject(new Error(`${where} did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
    });
  } catch (err) {
    closing = true;
    await channel.stop();
    throw err;
  } finally {
    clearTimeout(timer);
    settleStart = undefined;
  }

  function request<O extends EngineOp>(
    op: O,
    body: Omit<Extract<EngineRequest, { op: O }>, 'id' | 'op'>,
    transfer: ArrayBuffer[] = [],
  ): Promise<EngineResults[O]> {
    if (goneReason) return Promise.reject(new Error(`${op}: ${goneReason}`));
    const id = nextId++;
    const req = { id, op, ...body } as EngineRequest;
    return new Promise<EngineResults[O]>((resolve, reject) => {
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject, op });
      try {
        channel.post(req, transfer);
      } catch (err) {
        pending.delete(id);
        reject(new Error(`${op}: could not send the request: ${err instanceof Error ? err.message : String(err)}`));
      }
    });
  }

  /** Sends a decode-kind request; the caller's z is transferred (or detached) either way. */
  function sendLatents<Op extends 'decode' | 'decodePng'>(
    op: Op,
    params: { modelId: string; z: Float32Array; count?: number },
    classes: Int32Array | undefined,
  ): Promise<EngineResults[Op]> {
    const { z } = params;
    if (!(z instanceof Float32Array)) return Promise.reject(new TypeError(`${op}: z must be a Float32Array`));
    if (classes !== undefined && !(classes instanceof Int32Array)) {
      return Promise.reject(new TypeError(`${op}: classes must be an Int32Array`));
    }
    // Labels are a few bytes: copied, the caller keeps them.
    const labels = classes === undefined ? {} : { classes: classes.slice() };
    if (hostKind === 'thread') {
      // Move the caller's buffer when it is all z; a view into a larger buffer is copied (moving
      // it would detach the caller's other data).
      const moved = ownsWholeBuffer(z) ? z : z.slice();
      return request(op, { ...params, z: moved, ...labels } as never, [moved.buffer as ArrayBuffer]);
    }
    const sent = request(op, { ...params, ...labels } as never);
    if (ownsWholeBuffer(z)) detach(z.buffer as ArrayBuffer); // the IPC message is already serialised
    return sent;
  }

  const decodeTimed = (modelId: string, z: Float32Array, count: number, classes?: Int32Array): Promise<DecodeResult> =>
    sendLatents('decode', { modelId, z, count }, classes);

  return {
    info,
    hostKind,
    models: () => request('models', {}) as Promise<ModelSummary[]>,
    decodeTimed,
    decode: async (modelId, z, count, classes) => {
      const { pixels, shape } = await decodeTimed(modelId, z, count, classes);
      return { pixels, shape };
    },
    decodePng: (modelId: string, z: Float32Array, classes?: Int32Array): Promise<PngFrame> => sendLatents('decodePng', { modelId, z }, classes),
    decodeStats: () => request('decodeStats', {}),
    reloadModels: () => request('reloadModels', {}),
    memory: () => request('memory', {}),
    trainSteps: (params) => request('trainSteps', { params }),
    crashForTest: () => request('crash', {}),
    close: async () => {
      if (closing) return;
      closing = true;
      await channel.stop();
      goneReason ??= 'engine client closed';
    },
  };
}
