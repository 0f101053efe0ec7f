/**
 * What the directions worker (and bench:directions) loads for a model: its generator as the
 * methods see it, the domain classifier of its data set, the data set's images where a method
 * needs them, and a probe of real images with known factors (shapes) for the encoder read-back.
 * Tensor code: runs in the worker's child process, never in the realtime process.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadDomainClassifier, type DomainClassifier } from '../../models/classifier/index';
import { readCardSync } from '../../models/common/checkpoint';
import { loadDataset } from '../../models/datasets/index';
import { generateShapes } from '../../models/datasets/shapes';
import { attributeScorer, directionGenerator, type AttributeScorer, type DirectionGenerator, type FactorProbe } from '../../models/directions/index';
import { loadCheckpointInstance } from '../../models/families';
import { isImportedCard, loadImportedModel } from '../import/store';
import { BUILTIN_RANDOM_DCGAN_ID, builtinRandomDcgan } from '../inference/model-registry';

export interface DirectionModel {
  gen: DirectionGenerator;
  dataset: string | undefined;
  weightsHash: string | undefined;
  dispose(): void;
}

/** Images of the probe (shapes' held-out style: a seed of its own, never trained on). */
export const PROBE_COUNT = 500;
export const PROBE_SEED = 0x4c52_0d1e;

/** The built-in random DCGAN (server/inference/model-registry.ts), rebuilt from its seed. */
function builtinRandom(): DirectionModel {
  const { generator, model } = builtinRandomDcgan();
  return { gen: directionGenerator(BUILTIN_RANDOM_DCGAN_ID, model, { generator }), dataset: undefined, weightsHash: undefined, dispose: () => generator.dispose() };
}

/** Loads model `id` from `modelDir` (a checkpoint, an imported model, or the built-in one). */
export async function loadDirectionModel(modelDir: string, id: string): Promise<DirectionModel> {
  if (id === BUILTIN_RANDOM_DCGAN_ID) return builtinRandom();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(id)) throw new Error(`invalid model id ${JSON.stringify(id)}`);
  const dir = path.join(modelDir, id);
  if (!existsSync(path.join(dir, 'card.json'))) throw new Error(`no model ${id} in ${modelDir}`);
  const card = readCardSync(dir);
  if (isImportedCard(card)) {
    const { card: imported, model } = await loadImportedModel(dir);
    return { gen: directionGenerator(id, model), dataset: imported.dataset, weightsHash: imported.weightsHash, dispose: () => model.dispose() };
  }
  const instance = loadCheckpointInstance(dir, card);
  return {
    gen: directionGenerator(id, instance.generative(), instance.networks),
    dataset: card.dataset,
    weightsHash: card.weightsHash,
    dispose: () => instance.dispose(),
  };
}

/** The data set's classifier as an attribute scorer, if it has one that reads this model's images. */
export function loadScorer(dataset: string | undefined, modelDir: string, gen: DirectionGenerator): { scorer: AttributeScorer; classifier: DomainClassifier } | undefined {
  if (!dataset) return undefined;
  const classifier = loadDomainClassifier(dataset, [modelDir]);
  if (!classifier) return undefined;
  if (classifier.card.imageShape.join('×') !== gen.imageShape.join('×')) {
    classifier.dispose();
    return undefined;
  }
  return { scorer: attributeScorer(classifier), classifier };
}

/** Real images with known factors for models of a data set that has them (shapes32/64). */
export function factorProbe(dataset: string | undefined, scorer: AttributeScorer | undefined): FactorProbe | undefined {
  const m = dataset ? /^shapes(32|64)$/.exec(dataset) : null;
  if (!m) return undefined;
  const ds = generateShapes({ size: Number(m[1]) as 32 | 64, count: PROBE_COUNT, seed: PROBE_SEED });
  const heads = scorer
    ? scorer.attributes.filter((a) => a.kind === 'factor').map((a) => ({ name: a.name, cyclic: a.cyclic, ...(a.skipClass !== undefined ? { skipClass: a.skipClass } : {}) }))
    : [
        { name: 'scale', cyclic: false },
        { name: 'rotation', cyclic: true, skipClass: 1 },
        { name: 'x', cyclic: false },
        { name: 'y', cyclic: false },
        { name: 'hue', cyclic: false },
      ];
  return { images: ds.images, count: ds.count, factors: ds.factors!, labels: ds.labels!, heads };
}

/** The first `count` training images of the model's data set (PCA of encoded images). */
export async function datasetImages(dataset: string | undefined, count: number, imageShape: readonly number[]): Promise<{ data: Float32Array; count: number }> {
  if (!dataset || dataset === 'unknown') throw new Error('the model names no data set to encode');
  const { train } = await loadDataset(dataset);
  if (train.imageShape.join('×') !== imageShape.join('×')) throw new Error(`data set ${dataset} has ${train.imageShape.join('×')} images, the model ${imageShape.join('×')}`);
  const n = Math.min(count, train.count);
  const px = train.imageShape.reduce((a, b) => a * b, 1);
  return { data: train.images.slice(0, n * px), count: n };
}

/** tf.memory().numTensors, for the worker's leak checks. */
export function liveTensors(): number {
  return tf.memory().numTensors;
}
