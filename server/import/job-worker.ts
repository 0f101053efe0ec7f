/**
 * An import job's own process (started by ./job-client.ts under a time and memory limit): one
 * upload in over IPC, one answer out, then exit. A model that makes TF.js run out of memory, hang
 * or crash takes only this process down; the realtime process and the engine never load an
 * upload that has not passed here.
 */
import type { BackendName } from '../../lib/env';
import { checkUpload, type ImportJobInput } from './check';
import { ImportError, isMemoryError } from './errors';
import type { ImportJobMessage } from './job-client';

const send = process.send?.bind(process);
if (!send) throw new Error('server/import/job-worker.ts runs as a forked child process');
const post = (m: ImportJobMessage) =>
  new Promise<void>((resolve, reject) => send(m, undefined, {}, (err) => (err ? reject(err) : resolve())));

const { backend } = JSON.parse(process.argv[2] ?? '{}') as { backend?: BackendName };

process.once('message', (m: { type: 'run'; input: ImportJobInput }) => {
  void (async () => {
    try {
      const checked = await checkUpload(m.input);
      // TF.js only for uploads that passed the checks above.
      const [{ initEngine }, { runImportJob }] = await Promise.all([import('../inference/engine'), import('./job')]);
      const info = await initEngine(backend);
      const output = await runImportJob(checked, info.backend);
      await post({ type: 'done', output });
    } catch (err) {
      const status = err instanceof ImportError ? err.status : 422;
      const error = err instanceof Error ? err.message : String(err);
      const said = err instanceof ImportError ? error : isMemoryError(error) ? `the model needs more memory than an import may use (${error})` : `the import failed: ${error}`;
      await post({ type: 'failed', status, error: said });
    }
    process.disconnect();
  })();
});
