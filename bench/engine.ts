/**
 * npm run bench:engine [-- --json] [--backend wasm|cpu|tensorflow|tensorflow-gpu] [--steps N]
 *
 * Mirrors exactly the DCGAN of ../shared/bench/torch_dcgan.py (same layers, batch 64, z = 64,
 * Adam 2e-4 β1 0.5, one D step + one G step) on the selected TF.js backend, in this process, and
 * prints: training images/s, decode images/s at batch 64, single-latent decode latency (median,
 * p95), the GMAC/s of the training step beside the same backend's large-matMul GMAC/s, and, when
 * Debian's python3 can import torch, the peer's figures measured right after and each ratio.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { BACKEND_NAMES, env, type BackendName } from '../lib/env';
import { describeEngine, initEngine } from '../server/inference/engine';
import { buildDiscriminator, buildGenerator, decode, DCGAN_MNIST } from '../models/dcgan/model';
import { createDcganTrainer } from '../models/dcgan/train';
import { loadMnistSplit, MNIST_PIXELS } from '../models/datasets/mnist';
import { argValue, median, peerScript, quantile, report, round, runPeer, say, timeRuns, torchAvailable } from './lib/report';

const BATCH = 64;
const TRAIN_STEPS = Number(argValue('steps') ?? 20); // as the peer: 3 warm-up steps, then 20 timed
const DECODE_RUNS = 50;
const SINGLE_RUNS = 200;
const MATMUL_N = 512;

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

async function main(): Promise<void> {
  const requested = argValue('backend') ?? env().TF_BACKEND;
  if (requested && !(BACKEND_NAMES as readonly string[]).includes(requested)) {
    throw new Error(`unknown backend ${requested}; one of ${BACKEND_NAMES.join(', ')}`);
  }
  const info = await initEngine(requested as BackendName | undefined);
  say(describeEngine(info));

  const generator = buildGenerator(DCGAN_MNIST);
  const discriminator = buildDiscriminator(DCGAN_MNIST);
  const trainer = createDcganTrainer({ generator, discriminator });
  const { train } = loadMnistSplit({ range: 'symmetric' });
  const batches = Math.floor(train.count / BATCH);
  const realBatches = Array.from({ length: Math.min(batches, 8) }, (_, i) =>
    tf.tensor4d(train.images.subarray(i * BATCH * MNIST_PIXELS, (i + 1) * BATCH * MNIST_PIXELS), [BATCH, 28, 28, 1]),
  );
  let step = 0;
  const trainStep = () => {
    const z = tf.randomNormal([BATCH, DCGAN_MNIST.latentDim]) as tf.Tensor2D;
    trainer.step(realBatches[step++ % realBatches.length]!, z);
    z.dispose();
  };
  say(`training ${TRAIN_STEPS} steps of batch ${BATCH}...`);
  const stepTimes = timeRuns(trainStep, TRAIN_STEPS, 3);
  const trainSeconds = stepTimes.reduce((a, b) => a + b, 0) / 1000;
  const trainImagesPerS = (BATCH * TRAIN_STEPS) / trainSeconds;
  const stepMacs = trainStepMacsPerImage(generator, discriminator) * BATCH;

  const zBatch = tf.randomNormal([BATCH, DCGAN_MNIST.latentDim]) as tf.Tensor2D;
  const decodeOnce = (z: tf.Tensor2D) => () => {
    const images = decode(generator, z);
    images.dataSync();
    images.dispose();
  };
  const decodeTimes = timeRuns(decodeOnce(zBatch), DECODE_RUNS, 3);
  const decodeImagesPerS = (BATCH * DECODE_RUNS) / (decodeTimes.reduce((a, b) => a + b, 0) / 1000);
  const zOne = tf.randomNormal([1, DCGAN_MNIST.latentDim]) as tf.Tensor2D;
  const singleTimes = timeRuns(decodeOnce(zOne), SINGLE_RUNS, 10);

  const a = tf.randomNormal([MATMUL_N, MATMUL_N]);
  const b = tf.randomNormal([MATMUL_N, MATMUL_N]);
  // Not inside tf.tidy: tidy walks a returned typed array element by element looking for tensors.
  const matmulTimes = timeRuns(() => {
    const product = tf.matMul(a, b);
    product.dataSync();
    product.dispose();
  }, 20, 3);
  const matmulGmacs = MATMUL_N ** 3 / (median(matmulTimes) / 1000) / 1e9;
  const numTensorsAfter = tf.memory().numTensors;
  tf.dispose([zBatch, zOne, a, b, ...realBatches]);
  trainer.dispose();

  const figures: Record<string, unknown> = {
    backend: info.backend,
    tfjs: info.tfjsVersion,
    batch: BATCH,
    train_images_per_s: round(trainImagesPerS),
    train_step_ms_median: round(median(stepTimes)),
    decode_images_per_s_batch64: round(decodeImagesPerS),
    decode_single_ms_median: round(median(singleTimes), 3),
    decode_single_ms_p95: round(quantile(singleTimes, 0.95), 3),
    train_step_gmac: round(stepMacs / 1e9, 3),
    train_gmac_per_s: round(stepMacs / (trainSeconds / TRAIN_STEPS) / 1e9, 2),
    matmul_512_gmac_per_s: round(matmulGmacs, 2),
    train_share_of_matmul_peak: round(stepMacs / (trainSeconds / TRAIN_STEPS) / 1e9 / matmulGmacs, 3),
    tensors_after: numTensorsAfter,
  };

  const script = peerScript('torch_dcgan.py');
  if (!script) {
    figures.peer = 'not run: ../shared/bench/torch_dcgan.py not found';
  } else if (!torchAvailable()) {
    figures.peer = 'not run: /usr/bin/python3 cannot import torch (apt-get install -y python3-torch)';
  } else {
    say('running the PyTorch peer (1 thread)...');
    const peer = runPeer(script, ['1']);
    const ratio = (ours: number, theirs: unknown) => (typeof theirs === 'number' ? round(ours / theirs, 2) : null);
    figures.peer = peer;
    figures.ratio_train = ratio(trainImagesPerS, peer.train_images_per_s);
    figures.ratio_decode_batch64 = ratio(decodeImagesPerS, peer.decode_images_per_s_batch64);
    // Latency: the peer's over ours, so above 1 means faster than the peer.
    figures.ratio_single_latency = typeof peer.decode_single_ms === 'number'
      ? round(peer.decode_single_ms / median(singleTimes), 2) : null;
  }
  report(figures);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
