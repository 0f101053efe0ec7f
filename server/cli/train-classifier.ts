/**
 * `npm run train:classifier -- --dataset mnist|shapes32|shapes64|folder:PATH [options]`
 *
 * Trains the domain classifier of a data set (models/classifier: the feature extractor of
 * `npm run eval`), measures it on the data set's held-out images with the weights as stored
 * (float16), prints the figures and writes <out>/classifier-<data set>/ with its card (the
 * exact command, seed, wall time, accuracy).
 *
 * What each data set trains on:
 *   mnist        the 9,000 training digits, a random affine warp per image and epoch
 *   shapes<N>    fresh procedural images every epoch (CLASSIFIER_SHAPES_SEED + epoch, a stream
 *                disjoint from the project's shapes split), so the classifier has seen neither
 *                the training nor the held-out images the evaluation compares
 *   folder:...   the folder's training images (class = subfolder), no augmentation
 *
 * Options: --epochs N --batch-size N (64) --lr x (1e-3) --lr-final x (2e-5) --seed N (0)
 *          --factor-weight x (10) --out DIR (MODEL_DIR) --backend wasm|cpu|... --threads 2
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { BACKEND_NAMES, env, type BackendName } from '../../lib/env';
import { classifierId, domainClassifier, loadClassifier, roundWeightsToHalf, saveClassifier, type ClassifierInfo, type FactorHead } from '../../models/classifier/index';
import { buildClassifier, CLASSIFIER_FEATURE_DIM } from '../../models/classifier/model';
import { scoreClassifier, trainClassifier, type ClassifierTrainConfig } from '../../models/classifier/train';
import type { Dataset } from '../../models/common/family';
import { loadDataset } from '../../models/datasets/index';
import { SHAPE_CLASS_NAMES, SHAPES_FACTOR_NAMES, generateShapes, type ShapesSize } from '../../models/datasets/shapes';
import { initEngine, useSecondCore } from '../inference/engine';
import { intFlag, numberFlag, parseFlags, runCli } from './args';

/** Seed of the shapes the classifier trains on (epoch e draws from this + e); not SHAPES_SEED. */
export const CLASSIFIER_SHAPES_SEED = 0x4c52_c000;
const KNOWN = ['dataset', 'epochs', 'batch-size', 'lr', 'lr-final', 'seed', 'factor-weight', 'out', 'backend', 'threads', 'images-per-epoch'];

function shellQuote(args: readonly string[]): string {
  return args.map((a) => (/^[\w.:/=,-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ');
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2), KNOWN, ['help']);
  if (flags['help'] || typeof flags['dataset'] !== 'string') {
    console.log('usage: npm run train:classifier -- --dataset <mnist|shapes32|shapes64|folder:PATH> [--epochs N] [--seed N] [--out DIR]\nsee the header of server/cli/train-classifier.ts');
    return flags['help'] ? 0 : 2;
  }
  const backend = flags['backend'];
  if (backend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(String(backend))) {
    throw new Error(`--backend must be one of ${BACKEND_NAMES.join(', ')}`);
  }
  const spec = flags['dataset'];
  const { train, heldOut } = await loadDataset(spec);
  if (!train.labels || !train.numClasses) throw new Error(`data set ${spec} has no class labels: a classifier needs them`);
  const shapesSize = /^shapes(32|64)$/.exec(spec)?.[1];
  const factors: FactorHead[] = shapesSize
    ? SHAPES_FACTOR_NAMES.map((name) =>
        name === 'rotation' ? { name, cyclic: true, skipClass: SHAPE_CLASS_NAMES.indexOf('circle') } : { name, cyclic: false },
      )
    : [];
  const config: ClassifierTrainConfig = {
    epochs: intFlag(flags, 'epochs', shapesSize ? 12 : 15)!,
    batchSize: intFlag(flags, 'batch-size', 64)!,
    lr: numberFlag(flags, 'lr', 1e-3)!,
    lrFinal: numberFlag(flags, 'lr-final', 2e-5)!,
    factorWeight: numberFlag(flags, 'factor-weight', 10)!,
    seed: intFlag(flags, 'seed', 0)!,
    augment: spec === 'mnist',
  };
  if (config.epochs < 1 || config.batchSize < 1 || !(config.lr > 0) || !(config.lrFinal > 0)) throw new Error('--epochs, --batch-size, --lr and --lr-final must be positive');
  const perEpoch = intFlag(flags, 'images-per-epoch', train.count)!;
  const epochData = (epoch: number): Dataset =>
    shapesSize ? generateShapes({ size: Number(shapesSize) as ShapesSize, count: perEpoch, seed: CLASSIFIER_SHAPES_SEED + epoch }) : train;

  const engine = await initEngine((backend as BackendName | undefined) ?? env().TF_BACKEND);
  if (intFlag(flags, 'threads', 1)! > 1) await useSecondCore();
  console.log(`engine: ${engine.backend}; data set ${train.name}: ${train.count} training, ${heldOut.count} held-out images`);
  const arch = { imageShape: train.imageShape, numClasses: train.numClasses, factors, seed: config.seed };
  const network = buildClassifier(arch);
  const params = network.countParams();
  console.log(`classifier: ${params} parameters (${Math.round((2 * params) / 1024)} KiB as float16), ${config.epochs} epochs of ${shapesSize ? `${perEpoch} fresh` : train.count} images`);
  const t0 = Date.now();
  const { steps } = trainClassifier(network, arch, config, epochData, {
    onProgress: (p) => console.log(`epoch ${p.epoch + 1}/${config.epochs}  step ${p.step}/${p.totalSteps}  loss ${p.loss.toFixed(4)}  ${p.imagesPerSec.toFixed(0)} images/s`),
  });
  const wallMs = Date.now() - t0;

  const id = classifierId(train.name);
  const outDir = path.join(typeof flags['out'] === 'string' ? flags['out'] : env().MODEL_DIR, id);
  const command = `npm run train:classifier -- ${shellQuote(process.argv.slice(2))}`;
  const info: ClassifierInfo = {
    id,
    dataset: train.name,
    imageShape: train.imageShape,
    numClasses: train.numClasses,
    classNames: train.classNames ?? Array.from({ length: train.numClasses }, (_, i) => String(i)),
    factors,
    featureDim: CLASSIFIER_FEATURE_DIM,
    seed: config.seed,
  };
  const live = domainClassifier(network, info);
  const heldOut32 = scoreClassifier(live, heldOut);
  // What is stored (float16) is what evaluation runs, so that is what the card's figures measure.
  roundWeightsToHalf(network);
  const heldOut16 = scoreClassifier(live, heldOut);
  const train16 = scoreClassifier(live, train);
  await saveClassifier(outDir, network, {
    ...info,
    training: { ...config, imagesPerEpoch: shapesSize ? perEpoch : train.count, data: shapesSize ? `fresh shapes from seed ${CLASSIFIER_SHAPES_SEED} + epoch` : `${train.name} training split` },
    steps,
    wallMs,
    backend: tf.getBackend(),
    command,
    heldOut: heldOut16,
    train: train16,
    createdAt: new Date().toISOString(),
  });
  network.dispose();
  const reloaded = loadClassifier(outDir);
  const check = scoreClassifier(reloaded, heldOut);
  reloaded.dispose();
  if (check.accuracy !== heldOut16.accuracy) throw new Error(`the saved classifier scores ${check.accuracy} on held-out images, not ${heldOut16.accuracy}: the file does not hold what was trained`);

  console.log(`trained in ${(wallMs / 1000).toFixed(0)} s (${steps} steps)`);
  console.log(`held-out accuracy ${pct(heldOut16.accuracy)} (${heldOut16.count} images; ${pct(heldOut32.accuracy)} before rounding to float16), training accuracy ${pct(train16.accuracy)}`);
  for (const [name, err] of Object.entries(heldOut16.factors ?? {})) {
    const head = factors.find((f) => f.name === name);
    console.log(`  ${name}: ${head?.cyclic ? 'mean cyclic error (fraction of a period)' : 'RMSE'} ${err.toFixed(4)} held-out, ${(train16.factors?.[name] ?? NaN).toFixed(4)} training`);
  }
  console.log(`wrote ${outDir}`);
  return 0;
}

runCli(main);
