/**
 * `npm run sample -- --model <id> --count N [--class k] [--psi x] [--seed s] --out <dir>`
 *
 * Writes N generated images as PNG files (0000.png, 0001.png, ...) and a manifest.json (model
 * id, weights hash, latents, classes, psi, seed), so anyone can inspect or score a model's
 * output with their own tools. Latents are drawn from N(0, I) with the seed (the project's
 * seeded generator), truncated toward the mean latent (0) by psi; conditional models get class
 * k, or classes 0, 1, 2, ... in turn without --class.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { env } from '../../lib/env';
import { seededNormal } from '../../lib/latent/random';
import { truncate } from '../../lib/latent/vector';
import { initEngine } from '../inference/engine';
import { createModelRegistry } from '../inference/model-registry';
import { encodePng } from '../rooms/encode-frame';
import { intFlag, numberFlag, parseFlags, runCli } from './args';

/** Most images one run writes. */
export const MAX_SAMPLE_COUNT = 100_000;
const CHUNK = 64;

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2), ['model', 'count', 'class', 'psi', 'seed', 'out', 'backend', 'model-dir']);
  if (typeof flags['model'] !== 'string') throw new Error('--model <id> is required');
  if (typeof flags['out'] !== 'string') throw new Error('--out <dir> is required');
  const count = intFlag(flags, 'count', 16)!;
  if (count < 1 || count > MAX_SAMPLE_COUNT) throw new Error(`--count must be in [1, ${MAX_SAMPLE_COUNT}]`);
  const psi = numberFlag(flags, 'psi', 1)!;
  if (psi < 0 || psi > 2) throw new Error('--psi must be in [0, 2]');
  const seed = intFlag(flags, 'seed', 0)!;
  if (seed < 0 || seed > 0xffffffff) throw new Error('--seed must be in [0, 2^32)');
  const cls = intFlag(flags, 'class');

  await initEngine(typeof flags['backend'] === 'string' ? (flags['backend'] as 'wasm') : env().TF_BACKEND);
  const modelDir = typeof flags['model-dir'] === 'string' ? flags['model-dir'] : env().MODEL_DIR;
  const registry = await createModelRegistry({ modelDir, log: (l) => console.error(l) });
  const model = registry.get(flags['model']);
  if (!model) {
    throw new Error(`unknown model ${JSON.stringify(flags['model'])}; loaded: ${registry.list().map((m) => m.id).join(', ')}`);
  }
  const { latentDim, imageShape, numClasses } = model.summary;
  if (cls !== undefined) {
    if (!numClasses) throw new Error(`--class: model ${model.summary.id} is not conditional`);
    if (cls < 0 || cls >= numClasses) throw new Error(`--class must be in [0, ${numClasses})`);
  }
  const [h, w, c] = imageShape;
  await mkdir(flags['out'], { recursive: true });
  const latents: number[][] = [];
  const classes: number[] = [];
  const files: string[] = [];
  const all = seededNormal(seed, count * latentDim);
  for (let start = 0; start < count; start += CHUNK) {
    const n = Math.min(CHUNK, count - start);
    const z = new Float32Array(n * latentDim);
    for (let i = 0; i < n; i++) {
      const zi = truncate(all.subarray((start + i) * latentDim, (start + i + 1) * latentDim), undefined, psi);
      z.set(zi, i * latentDim);
      latents.push(Array.from(zi));
      if (numClasses) classes.push(cls ?? (start + i) % numClasses);
    }
    const pixels = tf.tidy(() => {
      const k = numClasses ? tf.tensor1d(classes.slice(start, start + n), 'int32') : undefined;
      return model.decode(tf.tensor2d(z, [n, latentDim]), k).dataSync() as Float32Array;
    });
    const size = h * w * c;
    for (let i = 0; i < n; i++) {
      const name = `${String(start + i).padStart(4, '0')}.png`;
      files.push(name);
      await writeFile(path.join(flags['out'], name), encodePng(pixels.subarray(i * size, (i + 1) * size), w, h, c as 1 | 3));
    }
  }
  const manifest = {
    model: model.summary.id,
    family: model.summary.family,
    weightsHash: model.summary.weightsHash ?? null,
    trained: model.summary.trained,
    imageShape,
    count,
    seed,
    psi,
    truncation: 'z ← psi · z (interpolation toward the mean latent 0 of the N(0, I) prior)',
    classes: numClasses ? classes : null,
    files,
    latents,
  };
  await writeFile(path.join(flags['out'], 'manifest.json'), `${JSON.stringify(manifest)}\n`);
  console.log(`wrote ${count} images and manifest.json to ${flags['out']}`);
  registry.dispose();
  return 0;
}

runCli(main);
