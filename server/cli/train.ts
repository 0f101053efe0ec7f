/**
 * `npm run train -- --family dcgan --dataset mnist --steps 3000 --id dcgan-mnist [options]`
 *
 * Trains a model in this process (a command-line process has no realtime loop to stall) with the
 * same runner the service's training worker uses, prints progress in step order, writes sample
 * grids to <job>/samples/, a resumable checkpoint to DATA_DIR/jobs/cli-<id>/, and the finished
 * model (float16, with its model card and a samples.png) to <out>/<id>.
 *
 * Interrupt it (Ctrl-C) or let it crash: running the same command again resumes from the last
 * checkpoint (same batches, same latents, same optimiser state). --fresh starts over.
 *
 * Options: --batch-size N (64) --seed N (0) --name "..." --out DIR (MODEL_DIR) --backend wasm|cpu|...
 *          --set key=value (family config, repeatable) --config '{"json": "object"}'
 *          --sample-every N (200) --checkpoint-every N (500) --progress-every N (10)
 *          --init-from <model id> (vae-gan: start from a trained VAE) --threads 2 (wasm: split
 *          large convolutions over a second core) --fresh
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BACKEND_NAMES, env, type BackendName } from '../../lib/env';
import { initEngine, useSecondCore } from '../inference/engine';
import { runTrainingJob, type TrainEvent } from '../training/runner';
import { intFlag, parseFlags, setFlags, runCli } from './args';

const KNOWN = [
  'family', 'dataset', 'steps', 'id', 'name', 'batch-size', 'seed', 'out', 'backend', 'set', 'config',
  'sample-every', 'checkpoint-every', 'progress-every', 'init-from', 'threads',
];

function fmt(losses: Record<string, number>): string {
  return Object.entries(losses).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ');
}

function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2), KNOWN, ['fresh', 'help']);
  if (flags['help']) {
    console.log('usage: npm run train -- --family <vae|dcgan|wgan|wgan-gp|cgan|vae-gan> --dataset <mnist|shapes32|shapes64|folder:PATH> --steps N --id <model-id> [options]\nsee the header of server/cli/train.ts for every option');
    return 0;
  }
  for (const required of ['family', 'dataset', 'steps', 'id']) {
    if (typeof flags[required] !== 'string') throw new Error(`--${required} is required (try --help)`);
  }
  const backend = flags['backend'];
  if (backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(String(backend))) {
    throw new Error(`--backend must be one of ${BACKEND_NAMES.join(', ')}`);
  }
  const config = { ...(typeof flags['config'] === 'string' ? (JSON.parse(flags['config']) as Record<string, unknown>) : {}), ...setFlags(flags) };
  const id = flags['id'] as string;
  const outDir = typeof flags['out'] === 'string' ? flags['out'] : env().MODEL_DIR;
  const command = `npm run train -- ${process.argv.slice(2).filter((a) => a !== '--fresh').map((a) => (/^[\w.:/=,-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ')}`;
  const spec = {
    family: flags['family'],
    dataset: flags['dataset'],
    modelId: id,
    ...(typeof flags['name'] === 'string' ? { name: flags['name'] } : {}),
    config,
    steps: intFlag(flags, 'steps'),
    batchSize: intFlag(flags, 'batch-size', 64),
    seed: intFlag(flags, 'seed', 0),
    progressEvery: intFlag(flags, 'progress-every', 10),
    sampleEvery: intFlag(flags, 'sample-every', 200),
    checkpointEvery: intFlag(flags, 'checkpoint-every', 500),
    ...(typeof flags['init-from'] === 'string' ? { initFrom: flags['init-from'] } : {}),
    command,
  };

  const info = await initEngine((backend as BackendName | undefined) ?? env().TF_BACKEND);
  if (intFlag(flags, 'threads', 1)! > 1) await useSecondCore();
  console.log(`engine: ${info.backend}${intFlag(flags, 'threads', 1)! > 1 ? ' (2 threads)' : ''}`);
  const jobDir = path.join(env().DATA_DIR, 'jobs', `cli-${id}`);
  const samplesDir = path.join(jobDir, 'samples');
  await mkdir(samplesDir, { recursive: true });

  let cancel = false;
  process.on('SIGINT', () => {
    if (cancel) process.exit(130);
    cancel = true;
    console.log('\nstopping after this step (a checkpoint is written; run the same command to resume; Ctrl-C again to quit now)');
  });
  let lastPng: Uint8Array | undefined;
  const pendingWrites: Promise<void>[] = [];
  const last: TrainEvent = await runTrainingJob(spec, {
    jobDir,
    modelDir: outDir,
    fresh: flags['fresh'] === true,
    shouldCancel: () => cancel,
    emit: (e) => {
      switch (e.type) {
        case 'started':
          console.log(`${e.resumed ? `resuming at step ${e.step}` : 'starting'} of ${e.totalSteps} (${spec.family} on ${spec.dataset}, batch ${spec.batchSize}, seed ${spec.seed}); checkpoints in ${jobDir}`);
          break;
        case 'progress':
          console.log(`step ${e.step}/${e.totalSteps}  ${fmt(e.losses)}  ${e.imagesPerSec.toFixed(0)} img/s  eta ${duration(e.etaMs)}  elapsed ${duration(e.elapsedMs)}`);
          break;
        case 'samples':
          lastPng = e.png;
          pendingWrites.push(writeFile(path.join(samplesDir, `step-${String(e.step).padStart(7, '0')}.png`), e.png));
          break;
        case 'checkpoint':
          console.log(`checkpoint at step ${e.step}`);
          break;
        case 'done':
          console.log(`done: ${e.modelId} (${e.step} steps, ${duration(e.card.wallMs)}) written to ${path.join(outDir, e.modelId)}`);
          break;
        case 'failed':
          console.error(`failed at step ${e.step}: ${e.error}`);
          break;
        case 'cancelled':
          console.log(`stopped at step ${e.step}; run the same command to resume`);
          break;
      }
    },
  });
  await Promise.all(pendingWrites);
  if (last.type === 'done' && lastPng) await writeFile(path.join(outDir, last.modelId, 'samples.png'), lastPng);
  return last.type === 'done' ? 0 : last.type === 'cancelled' ? 130 : 1;
}

runCli(main);
