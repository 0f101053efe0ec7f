/**
 * Runs one import job (./job.ts) in its own child process with a wall-time and a memory limit.
 *
 *   - time: the parent kills the child (SIGKILL) at `timeMs`;
 *   - memory: on Linux the child starts under `ulimit -d` (RLIMIT_DATA: the heap, typed arrays
 *     and the wasm backend's memory; wasm's reserved-but-untouched address space does not count),
 *     and V8's old space is capped with --max-old-space-size. An allocation past the limit fails
 *     inside the job (reported as "needs more memory") or kills the child (reported as such).
 *
 * The realtime process only forwards bytes: it never parses, unzips or loads an upload.
 */
import { fork } from 'node:child_process';
import type { BackendName } from '../../lib/env';
import { formatBytes, ImportError, unusable, type ImportErrorStatus } from './errors';
import type { ImportJobInput } from './check';
import type { ImportJobOutput } from './job';
import { IMPORT_HEAP_LIMIT_MB, IMPORT_MEMORY_LIMIT_BYTES, IMPORT_TIME_LIMIT_MS } from './limits';

const ENTRY = new URL('./job-entry.mjs', import.meta.url);

export type ImportJobMessage = { type: 'done'; output: ImportJobOutput } | { type: 'failed'; status: ImportErrorStatus; error: string };

export interface ImportJobLimits {
  timeMs: number;
  memoryBytes: number;
  heapMb: number;
}

export const DEFAULT_IMPORT_JOB_LIMITS: ImportJobLimits = {
  timeMs: IMPORT_TIME_LIMIT_MS,
  memoryBytes: IMPORT_MEMORY_LIMIT_BYTES,
  heapMb: IMPORT_HEAP_LIMIT_MB,
};

export function runImportProcess(input: ImportJobInput, opts: { backend: BackendName | undefined; limits?: Partial<ImportJobLimits> }): Promise<ImportJobOutput> {
  const limits = { ...DEFAULT_IMPORT_JOB_LIMITS, ...opts.limits };
  const nodeArgs = [`--max-old-space-size=${limits.heapMb}`];
  const posix = process.platform !== 'win32';
  const child = fork(ENTRY, [JSON.stringify({ backend: opts.backend })], {
    // Through sh so that the limit is set in the child before Node starts: `exec` keeps the pid
    // and the IPC descriptor.
    ...(posix
      ? { execPath: '/bin/sh', execArgv: ['-c', `ulimit -d ${Math.ceil(limits.memoryBytes / 1024)}; exec "$0" "$@"`, process.execPath, ...nodeArgs] }
      : { execArgv: nodeArgs }),
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderrTail = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-4000);
  });

  return new Promise<ImportJobOutput>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      fn();
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      settle(() => reject(unusable(`the import took longer than ${Math.round(limits.timeMs / 100) / 10} s and was stopped (the time limit of an import)`)));
    }, limits.timeMs);
    child.on('message', (m: ImportJobMessage) => {
      if (m.type === 'done') settle(() => resolve(m.output));
      else settle(() => reject(new ImportError(m.status, m.error)));
    });
    child.on('error', (err) => settle(() => reject(unusable(`the import job could not run: ${err.message}`))));
    child.on('exit', (code, signal) => {
      const last = stderrTail
        .trim()
        .split('\n')
        .filter((l) => /error|memory|allocation/i.test(l))
        .pop()
        ?.trim()
        .slice(0, 300);
      settle(() =>
        reject(
          unusable(
            `the import job stopped (${signal ?? `exit code ${code}`}) before it finished: most likely the model needs more memory ` +
              `than an import may use (${formatBytes(limits.memoryBytes)})${last ? `; its last words: ${last}` : ''}`,
          ),
        ),
      );
    });
    child.send({ type: 'run', input }, (err) => {
      if (err) settle(() => reject(unusable(`the upload could not be handed to the import job: ${err.message}`)));
    });
  }).finally(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}
