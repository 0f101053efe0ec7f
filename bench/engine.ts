/**
 * npm run bench:engine [-- --json] [--backend wasm|cpu|tensorflow|tensorflow-gpu] [--steps N] [--rounds N]
 *
 * Mirrors exactly the DCGAN of ../shared/bench/torch_dcgan.py (same layers, batch 64, z = 64,
 * Adam 2e-4 β1 0.5, one D step + one G step) on the selected TF.js backend, in this process, and
 * prints: training images/s on one thread and, on wasm with two cores, with the large conv
 * kernels split over two threads (useSecondCore), decode images/s at batch 64, single-latent decode latency (median,
 * p95), the GMAC/s of the training step beside the same backend's large-matMul GMAC/s, and, when
 * Debian's python3 can import torch, the peer's figures and each ratio. Ours and the peer
 * alternate for several rounds (the machine's load drifts; a round's two sides see the same
 * load) and the figures are medians over the rounds.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { BACKEND_NAMES, env, type BackendName } from '../lib/env';
import { describeEngine, initEngine, releaseSecondCore, useSecondCore } from '../server/inference/engine';
import { buildDiscriminator, buildGenerator, decode, DCGAN_MNIST } from '../models/dcgan/model';
import { createDcganTrainer } from '../models/dcgan/train';
import { loadMnistSplit, MNIST_PIXELS } from '../models/datasets/mnist';
import { argValue, median, peerMissingReason, peerScript, quantile, report, round, runPeer, say, timeRuns } from './lib/report';

const BATCH = 64;
const TRAIN_STEPS = Number(argValue('steps') ?? 20); // as the peer: 3 warm-up steps, then 20 timed
const DECODE_RUNS = 50;
const SINGLE_RUNS = 200;
const MATMUL_N = 512;
/** Rounds of ours-then-peer; figures are medians over rounds (`--rounds N`). */
const ROUNDS = 3;

/** Multiply-accumulates of one forward pass per image, per layer with weights (Dense and conv). */
export function layerMacs(model: tfl.LayersModel): { name: string; macs: number }[] {
  const out: { name: string; macs: number }[] = [];
  for (const layer of model.layers) {
    const kernel = layer.getWeights()[0];
    if (!kernel) continue;
    const cls = layer.getClassName();
    const inShape = (layer.input as tfl.SymbolicTensor).shape;
    const outShape = (layer.output as tfl.SymbolicTensor).shape;
    const k = kernel.shape;
    if (cls === 'Dense') out.push({ name: layer.name, macs: k[0]! * k[1]! });
    else if (cls === 'Conv2D') out.push({ name: layer.name, macs: outShape[1]! * outShape[2]! * k[0]! * k[1]! * k[2]! * k[3]! });
    // Transposed conv: every input pixel scatters a kh·kw·cout patch per input channel.
    else if (cls === 'Conv2DTranspose') out.push({ name: layer.name, macs: inShape[1]! * inShape[2]! * k[0]! * k[1]! * k[2]! * k[3]! });
  }
  return out;
}

/**
 * MACs of one training step per image: D step = G forward (detached) + D forward on real and fake
 * + their backward (filter gradients of every layer, input gradients of all but the first);
 * G step = G forward + D forward + D input gradients + G filter and input gradients (all but the
 * first layer's input). Only Dense and conv layers are counted (the rest is elementwise).
 */
export function trainStepMacsPerImage(g: tfl.LayersModel, d: tfl.LayersModel): number {
  const sum = (xs: { macs: number }[]) => xs.reduce((a, b) => a + b.macs, 0);
  const gl = layerMacs(g);
  const dl = layerMacs(d);
  const gF = sum(gl);
  const dF = sum(dl);
  const dInputGrads = dF - (dl[0]?.macs ?? 0);
  const gInputGrads = gF - (gl[0]?.macs ?? 0);
  const dStep = gF + 2 * dF + 2 * (dF + dInputGrads);
  const gStep = gF + dF + dInputGrads + gF + gInputGrads;
  return dStep + gStep;
}

interface OurRound {
  trainImagesPerS: number;
  stepMs: number[];
  /** Training with large conv kernels split over two threads (useSecondCore), if the machine has two cores. */
  trainImagesPerS2: number | null;
  decodeImagesPerS: number;
  singleMs: number[];
  matmulGmacs: number;
}

async function main(): Promise<void> {
  const requested = argValue('backend') ?? env().TF_BACKEND;
  if (requested && !(BACKEND_NAMES as readonly string[]).includes(requested)) {
    throw new Error(`unknown backend ${requested}; one of ${BACKEND_NAMES.join(', ')}`);
  }
  const rounds = Number(argValue('rounds') ?? ROUNDS);
  const info = await initEngine(requested as BackendName | undefined);
  say(describeEngine(info));

  const generator = buildGenerator(DCGAN_MNIST);
  const discriminator = buildDiscriminator(DCGAN_MNIST);
  const trainer = createDcganTrainer({ generator, discriminator });
  const { train } = loadMnistSplit({ range: 'symmetric' });
  const realBatches = Array.from({ length: 8 }, (_, i) =>
    tf.tensor4d(train.images.subarray(i * BATCH * MNIST_PIXELS, (i + 1) * BATCH * MNIST_PIXELS), [BATCH, 28, 28, 1]),
  );
  let step = 0;
  const trainStep = () => {
    const z = tf.randomNormal([BATCH, DCGAN_MNIST.latentDim]) as tf.Tensor2D;
    trainer.step(realBatches[step++ % realBatches.length]!, z);
    z.dispose();
  };
  const zBatch = tf.randomNormal([BATCH, DCGAN_MNIST.latentDim]) as tf.Tensor2D;
  const zOne = tf.randomNormal([1, DCGAN_MNIST.latentDim]) as tf.Tensor2D;
  const decodeOnce = (z: tf.Tensor2D) => () => {
    const images = decode(generator, z);
    images.dataSync();
    images.dispose();
  };
  const a = tf.randomNormal([MATMUL_N, MATMUL_N]);
  const b = tf.randomNormal([MATMUL_N, MATMUL_N]);
  // Not inside tf.tidy: tidy walks a returned typed array element by element looking for tensors.
  const matmulOnce = () => {
    const product = tf.matMul(a, b);
    product.dataSync();
    product.dispose();
  };

  const measureOurs = async (): Promise<OurRound> => {
    const stepMs = timeRuns(trainStep, TRAIN_STEPS, 3);
    let trainImagesPerS2: number | null = null;
    if ((await useSecondCore()) === 2) {
      const stepMs2 = timeRuns(trainStep, TRAIN_STEPS, 2);
      trainImagesPerS2 = (BATCH * TRAIN_STEPS) / (stepMs2.reduce((x, y) => x + y, 0) / 1000);
      await releaseSecondCore();
    }
    const decodeTimes = timeRuns(decodeOnce(zBatch), DECODE_RUNS, 3);
    const singleMs = timeRuns(decodeOnce(zOne), SINGLE_RUNS, 10);
    const matmulTimes = timeRuns(matmulOnce, 20, 3);
    const total = (xs: number[]) => xs.reduce((x, y) => x + y, 0) / 1000;
    return {
      trainImagesPerS: (BATCH * TRAIN_STEPS) / total(stepMs),
      stepMs,
      trainImagesPerS2,
      decodeImagesPerS: (BATCH * DECODE_RUNS) / total(decodeTimes),
      singleMs,
      matmulGmacs: MATMUL_N ** 3 / (median(matmulTimes) / 1000) / 1e9,
    };
  };

  const script = peerScript('torch_dcgan.py');
  const peerMissing = peerMissingReason(script);

  // Ours and the peer alternate, so that both see the same machine; medians over the rounds.
  const ours: OurRound[] = [];
  const peers: Record<string, number>[] = [];
  for (let r = 0; r < rounds; r++) {
    say(`round ${r + 1}/${rounds}: TF.js (${TRAIN_STEPS} training steps of batch ${BATCH}, decodes)...`);
    ours.push(await measureOurs());
    if (!peerMissing) {
      say(`round ${r + 1}/${rounds}: PyTorch peer (1 thread)...`);
      peers.push(runPeer(script!, ['1']) as Record<string, number>);
    }
  }
  const numTensorsAfter = tf.memory().numTensors;
  tf.dispose([zBatch, zOne, a, b, ...realBatches]);
  trainer.dispose();

  const med = (f: (r: OurRound) => number) => median(ours.map(f));
  const trainImagesPerS = med((r) => r.trainImagesPerS);
  const singleMedian = med((r) => median(r.singleMs));
  const matmulGmacs = med((r) => r.matmulGmacs);
  const stepMacs = trainStepMacsPerImage(generator, discriminator) * BATCH;
  const trainGmacs = (stepMacs / 1e9) * (trainImagesPerS / BATCH);

  const figures: Record<string, unknown> = {
    backend: info.backend,
    tfjs: info.tfjsVersion,
    batch: BATCH,
    rounds,
    train_images_per_s: round(trainImagesPerS),
    train_step_ms_median: round(median(ours.flatMap((r) => r.stepMs))),
    train_images_per_s_2threads: ours[0]?.trainImagesPerS2 == null ? null : round(med((r) => r.trainImagesPerS2!)),
    decode_images_per_s_batch64: round(med((r) => r.decodeImagesPerS)),
    decode_single_ms_median: round(singleMedian, 3),
    decode_single_ms_p95: round(quantile(ours.flatMap((r) => r.singleMs), 0.95), 3),
    train_step_gmac: round(stepMacs / 1e9, 3),
    train_gmac_per_s: round(trainGmacs, 2),
    matmul_512_gmac_per_s: round(matmulGmacs, 2),
    train_share_of_matmul_peak: round(trainGmacs / matmulGmacs, 3),
    tensors_after: numTensorsAfter,
  };
  if (peerMissing) {
    figures.peer = peerMissing;
  } else {
    const peerMedian = (k: string) => median(peers.map((p) => p[k]!));
    figures.peer = {
      version: peers[0]?.peer,
      threads: 1,
      train_images_per_s: round(peerMedian('train_images_per_s')),
      decode_images_per_s_batch64: round(peerMedian('decode_images_per_s_batch64')),
      decode_single_ms: round(peerMedian('decode_single_ms'), 3),
    };
    // Each round's ratio, then their median: both sides of a round ran on the same machine state.
    const ratio = (f: (o: OurRound, p: Record<string, number>) => number) => round(median(ours.map((o, i) => f(o, peers[i]!))), 2);
    figures.ratio_train = ratio((o, p) => o.trainImagesPerS / p.train_images_per_s!);
    figures.ratio_train_2threads = ours[0]?.trainImagesPerS2 == null
      ? null : ratio((o, p) => o.trainImagesPerS2! / p.train_images_per_s!);
    figures.ratio_decode_batch64 = ratio((o, p) => o.decodeImagesPerS / p.decode_images_per_s_batch64!);
    // Latency: the peer's over ours, so above 1 means faster than the peer.
    figures.ratio_single_latency = ratio((o, p) => p.decode_single_ms! / median(o.singleMs));
  }
  report(figures);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
