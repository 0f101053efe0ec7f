/**
 * Point clouds of models (`GET /api/models/:id/points`): computed once per model and weights, in
 * a child process at low priority (./worker.ts: it decodes, encodes and classifies thousands of
 * images, which must stall neither the realtime loop nor the engine worker that renders rooms),
 * cached under DATA_DIR/points, then served from the file.
 *
 * One computation at a time (they load a model and a classifier each; two cores); concurrent
 * requests for one model share its computation.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { setPriority } from 'node:os';
import path from 'node:path';
import type { BackendName } from '../../lib/env';
import type { EngineClient } from '../inference/engine-protocol';
import type { Logger } from '../logger';

const ENTRY = new URL('./worker-entry.mjs', import.meta.url);
/** Latents sampled for a model without an encoder: the 3D view's target size. */
export const POINTS_SAMPLED = 10_000;
/** Niceness of the computation: rooms' renders and training come first. */
export const POINTS_NICENESS = 10;
/** A computation that takes longer than this is killed (and reported). */
export const POINTS_TIMEOUT_MS = 10 * 60_000;
/** Cache files carry this, so a change of what is computed invalidates them. */
const CACHE_VERSION = 1;

export interface PointsJob {
  modelId: string;
  modelDir: string;
  outFile: string;
  count: number;
  backend: BackendName | undefined;
}

export class UnknownModelError extends Error {}

export interface PointsService {
  /** The encoded cloud of a model the engine has loaded; UnknownModelError otherwise. */
  get(modelId: string): Promise<Buffer>;
}

export function createPointsService(opts: {
  engine: Pick<EngineClient, 'models'>;
  modelDir: string;
  dataDir: string;
  backend: BackendName | undefined;
  logger: Logger;
  /** Latents per sampled cloud (tests use fewer). */
  count?: number;
}): PointsService {
  const dir = path.resolve(opts.dataDir, 'points');
  const inFlight = new Map<string, Promise<Buffer>>();
  let queue: Promise<unknown> = Promise.resolve();

  function run(job: PointsJob): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const child = fork(ENTRY, [JSON.stringify(job)], { execArgv: [], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
      if (child.pid !== undefined) {
        try {
          setPriority(child.pid, POINTS_NICENESS);
        } catch {
          // Not permitted here: it runs at normal priority.
        }
      }
      let stderrTail = '';
      child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderrTail = (stderrTail + s).slice(-4000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), POINTS_TIMEOUT_MS);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`point cloud of ${job.modelId} failed (${signal ?? `exit ${code}`}): ${stderrTail.trim().split('\n').pop() ?? ''}`));
      });
    });
  }

  async function compute(modelId: string, file: string): Promise<Buffer> {
    await mkdir(dir, { recursive: true });
    const started = performance.now();
    await run({ modelId, modelDir: path.resolve(opts.modelDir), outFile: file, count: opts.count ?? POINTS_SAMPLED, backend: opts.backend });
    opts.logger.info(`point cloud of ${modelId} computed in ${Math.round(performance.now() - started)} ms`);
    return readFile(file);
  }

  return {
    async get(modelId) {
      const model = (await opts.engine.models()).find((m) => m.id === modelId);
      if (!model) throw new UnknownModelError(`no model ${modelId}`);
      const hash = (model.weightsHash ?? 'builtin').slice(0, 16);
      const file = path.join(dir, `${modelId}-${hash}-v${CACHE_VERSION}.bin`);
      if (existsSync(file)) return readFile(file);
      const key = file;
      let p = inFlight.get(key);
      if (!p) {
        const turn = queue.then(() => (existsSync(file) ? readFile(file) : compute(modelId, file)));
        queue = turn.catch(() => undefined);
        p = turn.finally(() => inFlight.delete(key));
        inFlight.set(key, p);
      }
      return p;
    },
  };
}
