/**
 * Starts a training job in its own child process (worker.ts) and relays its events. The parent
 * (the service's job manager, or a test) never runs a tensor op.
 */
import { fork } from 'node:child_process';
import { setPriority } from 'node:os';
import type { TrainEvent } from './runner';
import type { WorkerMessage, WorkerStart } from './worker-protocol';

const ENTRY = new URL('./worker-entry.mjs', import.meta.url);

/**
 * A training job is batch work on the cores the rooms share: at nice 10 it takes what the
 * realtime thread and the engine worker leave, so a training step never delays an op's ack or a
 * frame (the evaluation queue runs at the same niceness).
 */
export const TRAINING_NICENESS = 10;

export type TerminalEvent = Extract<TrainEvent, { type: 'done' | 'failed' | 'cancelled' }>;

export interface TrainingProcess {
  readonly pid: number | undefined;
  /** Asks the job to stop after its current step (it checkpoints first). */
  cancel(): void;
  /** SIGKILL, for crash tests: the job dies between or inside steps, as in a power cut. */
  kill(): void;
  /**
   * The job's last event; `failed` with the exit reason if the process died without one
   * (`crashed: true` then: the job can be resumed from its checkpoint).
   */
  readonly finished: Promise<TerminalEvent & { crashed?: boolean }>;
}

export function startTrainingProcess(start: WorkerStart, onEvent: (e: TrainEvent) => void): TrainingProcess {
  const child = fork(ENTRY, [JSON.stringify(start)], {
    execArgv: [],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  if (child.pid !== undefined) {
    try {
      setPriority(child.pid, TRAINING_NICENESS);
    } catch {
      // Not permitted on this host: it runs at normal priority.
    }
  }
  let stderrTail = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-4000);
  });
  let terminal: TerminalEvent | undefined;
  let lastStep = 0;
  child.on('message', (m: WorkerMessage) => {
    if (m.type !== 'event') return;
    const e = m.event;
    if ('step' in e) lastStep = e.step;
    if (e.type === 'done' || e.type === 'failed' || e.type === 'cancelled') terminal = e;
    onEvent(e);
  });
  const finished = new Promise<TerminalEvent & { crashed?: boolean }>((resolve) => {
    child.on('exit', (code, signal) => {
      if (terminal) return resolve(terminal);
      const line = stderrTail.trim().split('\n').filter((l) => /Error/.test(l)).pop()?.slice(0, 500);
      resolve({
        type: 'failed',
        step: lastStep,
        error: `training process exited (${signal ?? `code ${code}`}) without finishing` + (line ? `: ${line.trim()}` : ''),
        lastGoodStep: null,
        crashed: true,
      });
    });
  });
  return {
    pid: child.pid,
    cancel: () => {
      if (child.connected) child.send({ type: 'cancel' });
    },
    kill: () => {
      child.kill('SIGKILL');
    },
    finished,
  };
}
