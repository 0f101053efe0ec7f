/**
 * The service's handle on the directions worker (./worker.ts): one child process, started on
 * the first request (a server whose members never look for directions never pays for it), at
 * lower CPU priority than the realtime process and the engine worker (DIRECTIONS_NICENESS),
 * restarted on the next request after a crash. Requests carry ids; a crash rejects every
 * request in flight with the reason.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { setPriority } from 'node:os';
import type { FoundWithScores, RunJobRequest, SteerRequest, SteerResultMessage, WorkerMessage, WorkerOptions } from './worker-protocol';

const ENTRY = new URL('./worker-entry.mjs', import.meta.url);
/** Niceness of the worker: rendering frames comes first; jobs take what is left. */
export const DIRECTIONS_NICENESS = 5;
const START_TIMEOUT_MS = 120_000;

type Pending = { resolve(m: Extract<WorkerMessage, { type: 'result' }>): void; reject(e: Error): void; onProgress?: (done: number, total: number) => void };

export interface DirectionsWorker {
  run(req: Omit<RunJobRequest, 'id' | 'type'>, onProgress: (done: number, total: number) => void): Promise<FoundWithScores[]>;
  steer(req: Omit<SteerRequest, 'id' | 'type'>): Promise<SteerResultMessage>;
  /** The child's pid, if it runs (tests). */
  readonly pid: number | undefined;
  close(): Promise<void>;
}

export function createDirectionsWorker(options: WorkerOptions): DirectionsWorker {
  let child: ChildProcess | undefined;
  let ready: Promise<void> | undefined;
  let nextId = 1;
  let closed = false;
  const pending = new Map<number, Pending>();

  function start(): Promise<void> {
    const proc = fork(ENTRY, [JSON.stringify(options)], { execArgv: [], serialization: 'advanced', stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    child = proc;
    if (proc.pid !== undefined) {
      try {
        setPriority(proc.pid, DIRECTIONS_NICENESS);
      } catch {
        // Not permitted here: it runs at normal priority.
      }
    }
    let stderrTail = '';
    proc.stderr?.setEncoding('utf8').on('data', (s: string) => (stderrTail = (stderrTail + s).slice(-4000)));
    let settleStart: { resolve(): void; reject(e: Error): void } | undefined;
    proc.on('message', (m: WorkerMessage) => {
      if (m.type === 'ready') return settleStart?.resolve();
      const p = pending.get(m.id);
      if (!p) return;
      if (m.type === 'progress') return p.onProgress?.(m.done, m.total);
      pending.delete(m.id);
      p.resolve(m);
    });
    proc.on('exit', (code, signal) => {
      const line = stderrTail.trim().split('\n').filter((l) => /Error/.test(l)).pop()?.trim().slice(0, 300);
      const reason = `the directions worker exited (${signal ?? `code ${code}`})${line ? `: ${line}` : ''}`;
      if (child === proc) {
        child = undefined;
        ready = undefined;
      }
      settleStart?.reject(new Error(reason));
      for (const [id, p] of pending) {
        pending.delete(id);
        p.reject(new Error(reason));
      }
    });
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the directions worker did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      settleStart = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
    });
  }

  async function request(body: Omit<RunJobRequest, 'id'> | Omit<SteerRequest, 'id'>, onProgress?: Pending['onProgress']) {
    if (closed) throw new Error('the directions worker is closed');
    ready ??= start();
    await ready;
    const proc = child;
    if (!proc) throw new Error('the directions worker is not running');
    const id = nextId++;
    const result = new Promise<Extract<WorkerMessage, { type: 'result' }>>((resolve, reject) => pending.set(id, { resolve, reject, ...(onProgress ? { onProgress } : {}) }));
    proc.send({ ...body, id });
    const m = await result;
    if (!m.ok) throw new Error(m.error);
    return m;
  }

  return {
    async run(req, onProgress) {
      const m = await request({ ...req, type: 'run' }, onProgress);
      return m.ok ? (m.directions ?? []) : [];
    },
    async steer(req) {
      const m = await request({ ...req, type: 'steer' });
      if (!m.ok || !m.steer) throw new Error('the directions worker gave no steer result');
      return m.steer;
    },
    get pid() {
      return child?.pid;
    },
    async close() {
      closed = true;
      const proc = child;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
