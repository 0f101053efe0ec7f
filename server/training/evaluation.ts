/**
 * Evaluation after training: every model a job produces is evaluated with `npm run eval`'s
 * protocol (models/eval/evaluate.ts) in its own child process, at low CPU priority (nice 10),
 * one model at a time, never on the realtime process's event loop. The child writes the figures
 * into the model's card.json; this side then hands the new card to `onEvaluated` (the service
 * stores it in the models row).
 *
 * An evaluation takes minutes (5,000 images per truncation setting, 100 importance samples per
 * held-out image for VAEs); the model is explorable meanwhile (the engine loads it when the job
 * ends, before evaluation). `close` kills a running evaluation (it writes nothing until it has
 * every figure, so a killed one leaves the card as it was; `npm run eval -- --model <id>` redoes
 * it) and drops the queue.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../../lib/env';
import { readCardSync, type ModelCard } from '../../models/common/checkpoint';
import type { Logger } from '../logger';

const ROOT_DIR = fileURLToPath(new URL('../..', import.meta.url));
const EVAL_CLI = fileURLToPath(new URL('../cli/eval.ts', import.meta.url));
/** Niceness of the evaluation process: training jobs and the inference worker come first. */
export const EVAL_NICENESS = 10;

export interface EvaluationQueue {
  /** Queues the model for evaluation (a model already queued is not queued twice). */
  enqueue(modelId: string): void;
  /** Resolves when the queue is empty and nothing runs. */
  idle(): Promise<void>;
  /** Kills the running evaluation, drops the queue. */
  close(): Promise<void>;
}

export interface EvaluationOptions {
  modelDir: string;
  /** Sample grids and reconstructions go to <dataDir>/eval/<model id>. */
  dataDir: string;
  backend: BackendName | undefined;
  logger: Logger;
  /** The model's card with its new metrics. */
  onEvaluated?(card: ModelCard): Promise<void> | void;
  /** More `npm run eval` flags (tests: a smaller protocol with --write). */
  extraArgs?: readonly string[];
}

export function createEvaluationQueue(opts: EvaluationOptions): EvaluationQueue {
  const queue: string[] = [];
  let running: { id: string; child: ChildProcess; done: Promise<void> } | undefined;
  let closed = false;
  let waiters: (() => void)[] = [];

  const settle = () => {
    if (running || queue.length > 0) return;
    const w = waiters;
    waiters = [];
    for (const resolve of w) resolve();
  };

  function next(): void {
    if (closed || running) return;
    const id = queue.shift();
    if (id === undefined) return settle();
    const args = ['--import', 'tsx', EVAL_CLI, '--model', id, '--model-dir', path.resolve(opts.modelDir), '--out', path.resolve(opts.dataDir, 'eval', id), '--json', ...(opts.backend ? ['--backend', opts.backend] : []), ...(opts.extraArgs ?? [])];
    const child = spawn(process.execPath, args, { cwd: ROOT_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, EVAL_NICENESS);
      } catch {
        // Not permitted on this host: it runs at normal priority.
      }
    }
    let stdoutTail = '';
    let stderrTail = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => (stdoutTail = (stdoutTail + s).slice(-200_000)));
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderrTail = (stderrTail + s).slice(-4000)));
    opts.logger.info(`evaluating model ${id} (pid ${child.pid ?? '?'})`);
    const done = new Promise<void>((resolve) => {
      child.on('error', (err) => opts.logger.warn(`evaluation of ${id} could not start`, err));
      child.on('close', (code, signal) => {
        void (async () => {
          if (code === 0) {
            try {
              const last = stdoutTail.trim().split('\n').pop() ?? '';
              const result = JSON.parse(last) as { written?: boolean; summary?: unknown; wallMs?: number };
              opts.logger.info(`model ${id} evaluated in ${Math.round((result.wallMs ?? 0) / 1000)} s`, result.summary);
              if (result.written) await opts.onEvaluated?.(readCardSync(path.join(opts.modelDir, id)));
            } catch (err) {
              opts.logger.warn(`evaluation of ${id}: could not record its figures`, err);
            }
          } else if (!closed) {
            const reason = stderrTail.trim().split('\n').pop() ?? '';
            opts.logger.warn(`evaluation of ${id} failed (${signal ?? `exit ${code}`}): ${reason}`);
          }
        })().finally(() => {
          running = undefined;
          resolve();
          next();
        });
      });
    });
    running = { id, child, done };
  }

  return {
    enqueue(id) {
      if (closed || queue.includes(id)) return;
      queue.push(id);
      next();
    },
    idle: () => (running || queue.length > 0 ? new Promise<void>((resolve) => waiters.push(resolve)) : Promise.resolve()),
    async close() {
      closed = true;
      queue.length = 0;
      const r = running;
      if (r) {
        r.child.kill('SIGTERM');
        await r.done;
      }
      settle();
    },
  };
}
