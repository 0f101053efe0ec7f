/**
 * `npm run bench:train [-- --steps 20 --rounds 3 --families dcgan,vae --json]`
 *
 * Training speed of every family on MNIST (batch 64, each family's default config) on the
 * selected backend (TF_BACKEND or the ladder), one thread, beside the PyTorch peer's DCGAN
 * figure from ../shared/bench/torch_dcgan.py measured in the same run (our DCGAN and the peer
 * alternate round by round; the ratio is the median of the per-round ratios).
 *
 * Printed per family: steps/s and images/s, where a step is the family's trainStep (WGANs: 5
 * critic updates and one generator update) and images/s counts the real images a step consumes
 * (one batch of 64). tensors_after_minus_before must be 0 (no leak over the run).
 */
import * as tf from '@tensorflow/tfjs-core';
import { env } from '../lib/env';
import type { FamilyName } from '../models/common/family';
import { FAMILY_NAMES } from '../models/common/family';
import { familyDefinition } from '../models/families';
import { loadDataset } from '../models/datasets/index';
import { initEngine } from '../server/inference/engine';
import { createBatchSource, stepSeed } from '../server/training/runner';
import { argValue, median, peerMissingReason, peerScript, report, round, runPeer, say } from './lib/report';

const BATCH = 64;

async function main(): Promise<void> {
  const steps = Number(argValue('steps') ?? 20);
  const rounds = Number(argValue('rounds') ?? 3);
  const families = (argValue('families')?.split(',') ?? [...FAMILY_NAMES]) as FamilyName[];
  const info = await initEngine(env().TF_BACKEND);
  const { train } = await loadDataset('mnist');
  const source = createBatchSource(train, BATCH, 1);
  const before = tf.memory().numTensors;

  const script = peerScript('torch_dcgan.py');
  const peerMissing = peerMissingReason(script);

  const perFamily: Record<string, number[]> = {};
  const peer: number[] = [];
  const dcganRounds: number[] = [];
  for (const name of families) {
    const family = familyDefinition(name);
    const config = family.parseConfig({ seed: 1 }, train);
    const inst = family.create(config, train);
    const run = (n: number, from: number) => {
      const t0 = performance.now();
      for (let s = from; s < from + n; s++) {
        const b = source.batch(s);
        inst.trainStep(b, stepSeed(1, s));
        b.images.dispose();
        b.labels?.dispose();
      }
      return performance.now() - t0;
    };
    say(`${name}: warm-up...`);
    run(3, 0);
    perFamily[name] = [];
    for (let r = 0; r < rounds; r++) {
      const ms = run(steps, 3 + r * steps);
      const imgs = (BATCH * steps) / (ms / 1000);
      perFamily[name].push(imgs);
      say(`${name} round ${r + 1}/${rounds}: ${imgs.toFixed(1)} img/s`);
      if (name === 'dcgan') {
        dcganRounds.push(imgs);
        if (!peerMissing) {
          const p = runPeer(script!, ['1']);
          peer.push(p['train_images_per_s'] as number);
          say(`peer round ${r + 1}/${rounds}: ${(p['train_images_per_s'] as number).toFixed(1)} img/s`);
        }
      }
    }
    inst.dispose();
  }
  const figures: Record<string, unknown> = { backend: info.backend, batch: BATCH, steps_per_round: steps, rounds };
  for (const [name, xs] of Object.entries(perFamily)) {
    figures[`${name}_images_per_s`] = round(median(xs));
    figures[`${name}_steps_per_s`] = round(median(xs) / BATCH, 2);
  }
  if (peerMissing) figures['peer'] = peerMissing;
  else if (peer.length > 0) {
    figures['peer_dcgan_images_per_s'] = round(median(peer));
    figures['ratio_dcgan_vs_peer'] = round(median(dcganRounds.map((o, i) => o / peer[i]!)), 2);
  }
  figures['tensors_after_minus_before'] = tf.memory().numTensors - before;
  report(figures);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
