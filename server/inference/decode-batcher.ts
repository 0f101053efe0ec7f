/**
 * Dynamic batching of decode requests inside the engine host (ARCHITECTURE.md: "dynamic batcher
 * across rooms" in the inference worker). The realtime process sends one request per room render
 * (one latent, the room's newest version); here requests for the same model that wait together
 * go out as one decode of up to `maxBatch` latents, and each requester gets its own images back.
 *
 * When requests wait:
 *   - while the engine is busy (a decode batch, a training request, a model listing): everything
 *     that arrives meanwhile joins the next batch; the engine is the bottleneck, so no wait is
 *     added;
 *   - when the engine is idle: at most `maxWaitMs` for company (0: only the requests that arrive
 *     in the same event-loop turn; the batch starts in the next check phase, after the host's
 *     pending messages have been delivered). A queue that reaches `maxBatch` goes at once. So at
 *     low load batching adds no latency, and under load it raises throughput.
 *
 * Nothing here touches TF.js: `decode` is injected (engine-host.ts gives the model's tidy decode),
 * and `exclusive` serialises the batch with the host's other requests.
 */

export interface DecodeBatchOptions {
  /** Most latents in one decode call (1: no batching). */
  maxBatch: number;
  /** Longest an idle engine waits for more requests before decoding, in ms (0: same turn only). */
  maxWaitMs: number;
}

export const DEFAULT_DECODE_BATCH: DecodeBatchOptions = { maxBatch: 32, maxWaitMs: 0 };

/** One caller's request: `count` latents (row-major in `z`), with class labels for conditional models. */
export interface DecodeJob {
  modelId: string;
  z: Float32Array;
  count: number;
  classes?: Int32Array;
}

/** The images of one job: pixels [count, h, w, c] in a buffer of their own (it can be transferred). */
export interface DecodeJobResult {
  pixels: Float32Array;
  shape: [number, number, number, number];
  /** Time of the decode call this job was part of, ms (excludes queueing and messaging). */
  ms: number;
  /** Latents decoded in that call (this job's and others'). */
  batch: number;
}

/** Decodes `count` latents of one model in one call; pixels [count, ...imageShape]. Synchronous. */
export type DecodeFn = (
  modelId: string,
  z: Float32Array,
  count: number,
  classes: Int32Array | undefined,
) => { pixels: Float32Array; imageShape: [number, number, number] };

export interface DecodeBatchStats {
  /** Decode calls made. */
  batches: number;
  /** Jobs answered (successfully or not). */
  jobs: number;
  /** Latents decoded. */
  latents: number;
}

export interface DecodeBatcher {
  submit(job: DecodeJob): Promise<DecodeJobResult>;
  stats(): DecodeBatchStats;
}

interface Waiting {
  job: DecodeJob;
  resolve(r: DecodeJobResult): void;
  reject(err: unknown): void;
}

interface Queue {
  modelId: string;
  waiting: Waiting[];
  /** Latents waiting (sum of counts). */
  latents: number;
  /** A dispatch is scheduled or waiting for the engine. */
  scheduled: boolean;
  timer: NodeJS.Timeout | undefined;
  immediate: NodeJS.Immediate | undefined;
}

export function createDecodeBatcher(deps: {
  decode: DecodeFn;
  /** Runs `task` when the engine is free, one task at a time (the host's request queue). */
  exclusive: (task: () => void) => Promise<void>;
  options?: DecodeBatchOptions;
}): DecodeBatcher {
  const opts = deps.options ?? DEFAULT_DECODE_BATCH;
  if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${opts.maxBatch}`);
  if (!(opts.maxWaitMs >= 0)) throw new RangeError(`maxWaitMs must be >= 0, got ${opts.maxWaitMs}`);
  // Requests with and without class labels are decoded apart (a batch has labels for all or none).
  const queues = new Map<string, Queue>();
  const stats: DecodeBatchStats = { batches: 0, jobs: 0, latents: 0 };

  function dispatch(q: Queue): void {
    clearTimeout(q.timer);
    clearImmediate(q.immediate);
    q.timer = q.immediate = undefined;
    void deps.exclusive(() => runBatch(q));
  }

  function schedule(q: Queue, wait: boolean): void {
    if (q.latents >= opts.maxBatch && q.timer) {
      // A full batch does not wait out the timer.
      clearTimeout(q.timer);
      q.timer = undefined;
      q.immediate = setImmediate(() => dispatch(q));
      return;
    }
    if (q.scheduled) return;
    q.scheduled = true;
    if (wait && opts.maxWaitMs > 0 && q.latents < opts.maxBatch) q.timer = setTimeout(() => dispatch(q), opts.maxWaitMs);
    else q.immediate = setImmediate(() => dispatch(q));
  }

  /** Takes jobs in arrival order up to maxBatch latents (a larger job goes alone). */
  function take(q: Queue): Waiting[] {
    const batch: Waiting[] = [];
    let latents = 0;
    while (q.waiting.length > 0) {
      const next = q.waiting[0]!;
      if (batch.length > 0 && latents + next.job.count > opts.maxBatch) break;
      batch.push(q.waiting.shift()!);
      latents += next.job.count;
    }
    q.latents -= latents;
    return batch;
  }

  function runBatch(q: Queue): void {
    q.scheduled = false;
    const batch = take(q);
    if (batch.length > 0) decodeBatch(q.modelId, batch);
    if (q.waiting.length > 0) {
      // These waited for the engine already: the next batch goes as soon as the engine is free
      // (after this turn, so requests that arrived during the decode join it).
      schedule(q, false);
    } else {
      for (const [key, other] of queues) if (other === q) queues.delete(key);
    }
  }

  function decodeBatch(modelId: string, batch: Waiting[]): void {
    stats.batches += 1;
    stats.jobs += batch.length;
    try {
      const count = batch.reduce((n, w) => n + w.job.count, 0);
      const dim = batch[0]!.job.z.length / batch[0]!.job.count;
      let z: Float32Array;
      let classes: Int32Array | undefined;
      if (batch.length === 1) {
        ({ z, classes } = batch[0]!.job);
      } else {
        z = new Float32Array(count * dim);
        const withClasses = batch[0]!.job.classes !== undefined;
        classes = withClasses ? new Int32Array(count) : undefined;
        let row = 0;
        for (const { job } of batch) {
          if (job.z.length !== job.count * dim) throw new RangeError('latents of one model differ in length');
          z.set(job.z, row * dim);
          if (classes && job.classes) classes.set(job.classes, row);
          row += job.count;
        }
      }
      const t0 = performance.now();
      const { pixels, imageShape } = deps.decode(modelId, z, count, classes);
      const ms = performance.now() - t0;
      stats.latents += count;
      const [h, w, c] = imageShape;
      const size = h * w * c;
      let row = 0;
      for (const { job, resolve } of batch) {
        // A buffer per job, so each response can be transferred on its own.
        const own = pixels.slice(row * size, (row + job.count) * size);
        row += job.count;
        resolve({ pixels: own, shape: [job.count, h, w, c], ms, batch: count });
      }
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }

  return {
    stats: () => ({ ...stats }),
    submit(job) {
      const key = job.classes ? `${job.modelId}\u0000classes` : job.modelId;
      let q = queues.get(key);
      if (!q) {
        q = { modelId: job.modelId, waiting: [], latents: 0, scheduled: false, timer: undefined, immediate: undefined };
        queues.set(key, q);
      }
      const queue = q;
      const done = new Promise<DecodeJobResult>((resolve, reject) => queue.waiting.push({ job, resolve, reject }));
      queue.latents += job.count;
      schedule(queue, true);
      return done;
    },
  };
}
