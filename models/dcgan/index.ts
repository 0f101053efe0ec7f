/**
 * The `dcgan` family: DCGAN (Radford, Metz & Chintala 2015, arXiv:1511.06434) trained with BCE
 * and the non-saturating generator loss, Adam lr 2e-4, β1 0.5. With the default config on MNIST
 * it is the torch mirror of ./model.ts and ./train.ts (same layers, weights and step); the
 * options of ../common/blocks.ts (batch norm, LeakyReLU slopes, resize-convolution, minibatch
 * discrimination, one-sided label smoothing, feature matching) switch on the variants. The step
 * itself is in ./bce-gan.ts, shared with the conditional GAN.
 *
 * Config fields and defaults (`dcganFamily.parseConfig({})`):
 *   latentDim 64, filters 64, seed 0,
 *   generatorBatchNorm true, generatorLeak 0.3, upsampling 'transposed',
 *   discriminatorBatchNorm false, discriminatorLeak 0.2, minibatchDiscrimination null,
 *   labelSmoothing 0, featureMatching false, lr 2e-4, beta1 0.5, beta2 0.999,
 *   auxClassifier 0 (cgan only: AC-GAN's class loss weight), semiSupervised 0 (dcgan only: the
 *   class head trained on real labels, CatGAN terms on fakes) with semiSupervisedClasses (the
 *   data set's class count), ema null (models/common/ema.ts).
 */
import type { Dataset, FamilyDefinition } from '../common/family';
import { parseGanConfig } from '../common/blocks';
import { withSemiSupervisedClasses } from '../common/class-head';
import { type BceGanConfig, bceGanSchema, createBceGan } from './bce-gan';

export type DcganFamilyConfig = BceGanConfig;

type DatasetShape = Pick<Dataset, 'name' | 'imageShape' | 'numClasses'>;

export const dcganFamily: FamilyDefinition<DcganFamilyConfig> = {
  name: 'dcgan',
  conditional: false,
  hasEncoder: false,
  lossNames: ['d', 'g'],
  parseConfig: (raw: unknown, dataset: DatasetShape) => withSemiSupervisedClasses(parseGanConfig('dcgan', bceGanSchema, raw, dataset), 'dcgan', dataset),
  create: (config: DcganFamilyConfig, dataset: DatasetShape) => createBceGan('dcgan', config, dataset, null),
};
