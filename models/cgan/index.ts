/**
 * The `cgan` family: a conditional GAN (Mirza & Osindero 2014, "Conditional Generative
 * Adversarial Nets", arXiv:1411.1784) on the DCGAN networks. G sees z joined to the one-hot
 * class; D sees the image with the one-hot class broadcast to h×w planes joined to its channels.
 * Trained like the `dcgan` family (./../dcgan/bce-gan.ts: BCE, non-saturating G loss, Adam lr
 * 2e-4, β1 0.5) with the same config fields and defaults, on a labelled data set only.
 * decode(z, classes) requires classes.
 */
import type { Dataset, FamilyDefinition } from '../common/family';
import { parseGanConfig } from '../common/blocks';
import { type BceGanConfig, bceGanSchema, createBceGan } from '../dcgan/bce-gan';

export type CganFamilyConfig = BceGanConfig;

type DatasetShape = Pick<Dataset, 'name' | 'imageShape' | 'numClasses'>;

function classesOf(dataset: DatasetShape): number {
  const k = dataset.numClasses;
  if (k === undefined || k === null) {
    throw new Error(`cgan: data set ${dataset.name} has no class labels; a conditional GAN needs a labelled data set (e.g. mnist)`);
  }
  if (!(Number.isInteger(k) && k >= 2)) throw new Error(`cgan: data set ${dataset.name} has ${k} classes; a conditional GAN needs 2 or more`);
  return k;
}

export const cganFamily: FamilyDefinition<CganFamilyConfig> = {
  name: 'cgan',
  conditional: true,
  hasEncoder: false,
  lossNames: ['d', 'g'],
  parseConfig: (raw: unknown, dataset: DatasetShape) => {
    classesOf(dataset);
    return parseGanConfig('cgan', bceGanSchema, raw, dataset);
  },
  create: (config: CganFamilyConfig, dataset: DatasetShape) => createBceGan('cgan', config, dataset, classesOf(dataset)),
};
