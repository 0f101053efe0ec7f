/**
 * A point-cloud computation in its own child process (started by ./service.ts at low priority):
 * loads one model and, where it needs them, its data set and classifier, computes the cloud
 * (./compute.ts) and writes it to `outFile` (a temporary file renamed into place, so a reader
 * never sees half a file). argv[2] is a JSON PointsJob; the exit code says whether it worked and
 * stderr's last line why not.
 */
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encodePoints } from '../../lib/points/format';
import { loadModelDir } from '../../models/eval/model-dir';
import { readCardSync } from '../../models/common/checkpoint';
import { initEngine } from '../inference/engine';
import { BUILTIN_RANDOM_DCGAN_ID, builtinRandomDcgan } from '../inference/model-registry';
import { isImportedCard, loadImportedForEval } from '../import/registry-hook';
import { computePoints, type PointsSource } from './compute';
import type { PointsJob } from './service';

const job = JSON.parse(process.argv[2] ?? '{}') as PointsJob;
// The server went away: nobody will read the result.
let finished = false;
process.on('disconnect', () => {
  if (!finished) process.exit(1);
});

async function source(): Promise<{ src: PointsSource; dispose(): void }> {
  if (job.modelId === BUILTIN_RANDOM_DCGAN_ID) {
    const { model } = builtinRandomDcgan();
    return { src: { id: job.modelId, weightsHash: '', dataset: 'mnist', model }, dispose: () => model.dispose() };
  }
  const dir = path.join(job.modelDir, job.modelId);
  const card = readCardSync(dir);
  const loaded = isImportedCard(card) ? await loadImportedForEval(dir) : loadModelDir(dir);
  return {
    src: { id: job.modelId, weightsHash: loaded.card.weightsHash, dataset: loaded.card.dataset, model: loaded.model },
    dispose: () => loaded.dispose(),
  };
}

try {
  await initEngine(job.backend);
  const { src, dispose } = await source();
  const cloud = await computePoints(src, { count: job.count, classifierDirs: [job.modelDir], log: (l) => console.error(l) });
  dispose();
  const tmp = `${job.outFile}.tmp-${process.pid}`;
  await writeFile(tmp, encodePoints(cloud));
  await rename(tmp, job.outFile);
  finished = true;
} catch (err) {
  console.error(`points failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
  finished = true;
}
// The listener above keeps the IPC channel (and so this process) alive: let go of it.
if (process.connected) process.disconnect();
