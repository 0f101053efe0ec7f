/**
 * A training job's own child process (started by training-client.ts). One process per job: a
 * job that crashes, runs out of memory or is killed takes nothing else with it, and the native
 * tfjs-node backends (not safe in several threads) work the same as wasm.
 *
 * argv[2] is a JSON WorkerStart; events go back over IPC ('advanced' serialisation carries the
 * sample PNGs as bytes); a `{ type: 'cancel' }` message asks the job to stop after its step.
 */
import { initEngine } from '../inference/engine';
import { runTrainingJob } from './runner';
import type { WorkerMessage, WorkerStart } from './worker-protocol';

const send = process.send?.bind(process);
if (!send) throw new Error('server/training/worker.ts runs as a forked child process');
const post = (m: WorkerMessage) => send(m);

const start = JSON.parse(process.argv[2] ?? '{}') as WorkerStart;
let cancelled = false;
process.on('message', (m: { type?: string }) => {
  if (m?.type === 'cancel') cancelled = true;
});
// The parent went away: stop at the next step, leaving a checkpoint to resume from.
process.on('disconnect', () => {
  cancelled = true;
});

try {
  const info = await initEngine(start.backend);
  post({ type: 'engine', backend: info.backend });
  const last = await runTrainingJob(start.spec, {
    jobDir: start.jobDir,
    modelDir: start.modelDir,
    fresh: start.fresh,
    emit: (event) => {
      if (process.connected) post({ type: 'event', event });
    },
    shouldCancel: () => cancelled,
  });
  process.exitCode = last.type === 'failed' ? 1 : 0;
} catch (err) {
  post({ type: 'event', event: { type: 'failed', step: 0, error: err instanceof Error ? err.message : String(err), lastGoodStep: null } });
  process.exitCode = 1;
}
if (process.connected) process.disconnect();
