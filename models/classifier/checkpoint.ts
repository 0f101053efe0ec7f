/**
 * A domain classifier on disk, in the weights format of models/common/checkpoint.ts (so its
 * loader, with the SHA-256 and shape checks, reads it) but under its own card file:
 *
 *   <dir>/classifier.json   ClassifierCard: data set, heads, the training command, wall time,
 *                           held-out accuracy (and factor errors), a SHA-256 of weights.bin
 *   <dir>/weights.json      manifest (role `classifier`), as a model checkpoint's
 *   <dir>/weights.bin       float16 values
 *
 * Not `card.json`: the engine's model registry loads every folder of MODEL_DIR that has one as a
 * generative model, and a classifier is not one (it would be logged as a failed model at every
 * start). Written to a temporary sibling and renamed, like a checkpoint.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as tfl from '@tensorflow/tfjs-layers';
import * as tf from '@tensorflow/tfjs-core';
import { fromHalf, loadWeightsSync, pack, replaceDirAtomically, toHalf, type ModelCard } from '../common/checkpoint';
import type { FamilyInstance, ImageShape } from '../common/family';
import type { FactorHead } from './model';

export const CLASSIFIER_CARD = 'classifier.json';
export const CLASSIFIER_FORMAT = 1;
const ROLE = 'classifier';
/** Largest classifier card read (a few kB). */
const MAX_CARD_BYTES = 1024 * 1024;

/** The shipped models' folder (classifiers ship there whatever MODEL_DIR says). */
export const SHIPPED_MODEL_DIR = fileURLToPath(new URL('../pretrained/', import.meta.url));

/** What the code running a classifier needs to know about it. */
export interface ClassifierInfo {
  id: string;
  dataset: string;
  imageShape: ImageShape;
  numClasses: number;
  classNames: string[];
  factors: FactorHead[];
  featureDim: number;
  seed: number;
}

export interface ClassifierCard extends ClassifierInfo {
  format: typeof CLASSIFIER_FORMAT;
  kind: 'domain-classifier';
  /** How it was trained: epochs, batch size, learning rates, augmentation, images per epoch. */
  training: Record<string, unknown>;
  steps: number;
  wallMs: number;
  backend: string;
  command: string;
  /** Measured on the data set's held-out images with the stored (float16) weights. */
  heldOut: ClassifierScores;
  /** The same on the training images (the gap says how much it memorised). */
  train: ClassifierScores;
  networks: [typeof ROLE];
  weightsDtype: 'float16';
  weightsHash: string;
  createdAt: string;
}

export interface ClassifierScores {
  count: number;
  accuracy: number;
  /** Per factor: RMSE of plain factors; mean absolute cyclic error (fraction of a period) of cyclic ones. */
  factors?: Record<string, number>;
}

/** Folder name of a data set's classifier. */
export function classifierId(dataset: string): string {
  return `classifier-${dataset.replace(/[^a-z0-9-]+/gi, '_')}`;
}

/**
 * Rounds every weight of `model` to the nearest float16 value, in place: the network then
 * computes what it will compute once saved and loaded, so its scores can be measured before
 * saving and written into the card.
 */
export function roundWeightsToHalf(model: tfl.LayersModel): void {
  tf.tidy(() => {
    for (const w of model.weights) {
      const values = Float32Array.from(w.read().dataSync() as Float32Array, (v) => fromHalf(toHalf(v)));
      w.write(tf.tensor(values, w.shape as number[], 'float32'));
    }
  });
}

/** Writes the classifier (float16) and its card to `dir`, atomically. Returns the full card. */
export async function saveClassifier(
  dir: string,
  model: tfl.LayersModel,
  card: Omit<ClassifierCard, 'format' | 'kind' | 'networks' | 'weightsDtype' | 'weightsHash'>,
): Promise<ClassifierCard> {
  const { manifest, bin } = pack(
    model.weights.map((w) => ({ role: ROLE, name: w.originalName, shape: [...w.shape] as number[], values: w.read().dataSync() as Float32Array })),
    'float16',
  );
  const full: ClassifierCard = {
    ...card,
    format: CLASSIFIER_FORMAT,
    kind: 'domain-classifier',
    networks: [ROLE],
    weightsDtype: 'float16',
    weightsHash: createHash('sha256').update(bin).digest('hex'),
  };
  await replaceDirAtomically(dir, async (tmp) => {
    await writeFile(path.join(tmp, 'weights.bin'), bin);
    await writeFile(path.join(tmp, 'weights.json'), JSON.stringify(manifest));
    await writeFile(path.join(tmp, CLASSIFIER_CARD), `${JSON.stringify(full, null, 2)}\n`);
  });
  return full;
}

/** Reads and checks a classifier card. */
export function readClassifierCard(dir: string): ClassifierCard {
  const file = path.join(dir, CLASSIFIER_CARD);
  const buf = readFileSync(file);
  if (buf.length > MAX_CARD_BYTES) throw new Error(`${file} is larger than ${MAX_CARD_BYTES} bytes`);
  const card = JSON.parse(buf.toString('utf8')) as ClassifierCard;
  if (card.format !== CLASSIFIER_FORMAT || card.kind !== 'domain-classifier') throw new Error(`${file}: not a domain classifier card`);
  for (const key of ['dataset', 'imageShape', 'numClasses', 'factors', 'weightsHash'] as const) {
    if (card[key] === undefined) throw new Error(`${file}: missing ${key}`);
  }
  return card;
}

/** Loads weights into a freshly built classifier (hash and every shape checked). */
export function loadClassifierWeights(dir: string, model: tfl.LayersModel, card: ClassifierCard): void {
  // The checkpoint loader only needs `networks` of the instance and `weightsHash`/`networks` of the card.
  const instance = { networks: { [ROLE]: model } } as unknown as FamilyInstance;
  loadWeightsSync(dir, instance, card as unknown as ModelCard);
}

/**
 * The folder of the classifier for `dataset`: `<dir>/classifier-<dataset>` in the first of
 * `searchDirs` (then the shipped models' folder) that has one; undefined when none does.
 */
export function findClassifierDir(dataset: string, searchDirs: readonly string[] = []): string | undefined {
  for (const base of [...searchDirs, SHIPPED_MODEL_DIR]) {
    const dir = path.join(base, classifierId(dataset));
    if (existsSync(path.join(dir, CLASSIFIER_CARD))) return dir;
  }
  return undefined;
}
