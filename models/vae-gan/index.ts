/**
 * The `vae-gan` family (Larsen et al. 2016, arXiv:1512.09300; losses and update rule in
 * ./model.ts): the `vae` family's encoder and decoder plus a discriminator whose l-th layer is
 * the reconstruction metric. Its generator is meant to start from a trained VAE decoder:
 * `initFromVae(instance, vaeInstance.networks)` copies the VAE's `encoder` and `decoder`
 * (identical architecture for the same latentDim, filters, leaks, upsampling and image shape);
 * the discriminator starts fresh.
 *
 * Networks and optimisers by role: `encoder`, `decoder`, `discriminator`, each with its own Adam
 * (lr 2e-4, β1 0.5, β2 0.999, ε 1e-8: the DCGAN settings, as the decoder is a GAN generator).
 * trainStep returns, before its updates: `encoder` (β·kl + llike), `decoder` (γ·llike + gan),
 * `discriminator` (L_GAN(D)), `kl`, `llike` (½‖Dis_l(x) − Dis_l(x̃)‖², per image), `gan`
 * (L_GAN(G)) and `recon` (the pixel BCE −log p(x|z) of the reconstruction, the VAE's `recon`,
 * for monitoring: nothing minimises it here).
 *
 * Config fields and defaults (`vaeGanFamily.parseConfig({}, dataset)`):
 *   latentDim 16, filters 32, encoderLeak 0.2, decoderLeak 0, upsampling 'transposed', seed 0
 *   (the `vae` family's architecture fields and defaults), beta 1, gamma 0.01,
 *   discriminatorFilters 32, discriminatorLeak 0.2, featureLayer null (the last stage),
 *   lr 2e-4, beta1 0.5, beta2 0.999.
 *
 * Measured (MNIST, wasm, batch 64, from a 2-epoch VAE with a held-out pixel ELBO of −129 nats):
 * 300 steps at γ = 0.01 and 200 at γ = 0.1 both give sharper strokes than the VAE, but with
 * speckle and grid artifacts in samples and reconstructions, and the pixel BCE of reconstructions
 * rising from ~135 to ~210 nats. γ is not tuned yet: these short runs do not tell the two apart.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { z } from 'zod';
import type { FamilyDefinition, FamilyInstance, ImageShape, StepLosses, TrainBatch } from '../common/family';
import { betaField, type DatasetInfo, parseFamilyConfig, vaeArchitectureFields } from '../vae/config';
import {
  ADAM_EPSILON,
  architectureOf,
  checkBatch,
  encoderDecoderModel,
  readScalars,
  trainableVariables,
} from '../vae/index';
import { buildDecoder, buildEncoder, vaePlan } from '../vae/model';
import { buildDiscriminator, vaeGanGradients } from './model';

export { buildDiscriminator, featureReconstruction, vaeGanGradients } from './model';

export const vaeGanSchema = z.strictObject({
  ...vaeArchitectureFields,
  beta: betaField,
  /** γ: weight of the feature-space reconstruction in the decoder's loss, against L_GAN(G). */
  gamma: z.number().min(0).max(1000).default(0.01),
  discriminatorFilters: z.number().int().min(1).max(512).default(32),
  discriminatorLeak: z.number().min(0).lt(1).default(0.2),
  /** The stage (1…n) of Dis whose activations are the reconstruction metric; null: the last. */
  featureLayer: z.number().int().min(1).nullable().default(null),
  lr: z.number().positive().max(1).default(2e-4),
  beta1: z.number().min(0).lt(1).default(0.5),
  beta2: z.number().min(0).lt(1).default(0.999),
});

/** The `vae-gan` family's config (every field has a default; featureLayer resolved to a stage). */
export type VaeGanConfig = Omit<z.output<typeof vaeGanSchema>, 'featureLayer'> & { featureLayer: number };

/** Network roles of a VAE-GAN; the first two are a VAE's. */
export const VAE_GAN_ROLES = ['encoder', 'decoder', 'discriminator'] as const;

export interface VaeGanInstance extends FamilyInstance {
  readonly config: VaeGanConfig;
  readonly networks: { encoder: tfl.LayersModel; decoder: tfl.LayersModel; discriminator: tfl.LayersModel };
  /**
   * The losses trainStep(batch, seed) would report, at the current weights, without updating
   * anything (for tests and for monitoring a fixed batch).
   */
  losses(batch: TrainBatch, seed: number): StepLosses;
}

function parseVaeGanConfig(raw: unknown, dataset: DatasetInfo): VaeGanConfig {
  const parsed = parseFamilyConfig('vae-gan', vaeGanSchema, raw, dataset);
  const { stages } = vaePlan(dataset.imageShape);
  if (parsed.featureLayer !== null && parsed.featureLayer > stages) {
    throw new Error(`vae-gan config: featureLayer: ${dataset.imageShape.join('×')} images give a discriminator of ${stages} stages, got ${parsed.featureLayer}`);
  }
  return { ...parsed, featureLayer: parsed.featureLayer ?? stages };
}

export function createVaeGan(config: VaeGanConfig, dataset: DatasetInfo): VaeGanInstance {
  const imageShape: ImageShape = [...dataset.imageShape];
  const arch = architectureOf(config, imageShape);
  const encoder = buildEncoder(arch);
  const decoder = buildDecoder(arch);
  const discriminator = buildDiscriminator({
    imageShape, filters: config.discriminatorFilters, leak: config.discriminatorLeak, featureLayer: config.featureLayer, seed: config.seed,
  });
  const adam = () => tf.train.adam(config.lr, config.beta1, config.beta2, ADAM_EPSILON);
  const optimizers = { encoder: adam(), decoder: adam(), discriminator: adam() };
  const nets = { encoder, decoder, discriminator };
  // Variables are read when the step runs: initFromVae writes new values into the same variables.
  const vars = () => ({
    encoder: trainableVariables(encoder),
    decoder: trainableVariables(decoder),
    discriminator: trainableVariables(discriminator.model),
  });
  const weights = { beta: config.beta, gamma: config.gamma };

  /** Gradients and losses at the current weights; `apply` updates the three networks. */
  function step(batch: TrainBatch, seed: number, apply: boolean): StepLosses {
    checkBatch('vae-gan', batch, imageShape);
    const g = vaeGanGradients(nets, vars(), batch.images, seed, weights);
    try {
      if (apply) {
        const named = (m: tf.NamedTensorMap) => Object.entries(m).map(([name, tensor]) => ({ name, tensor }));
        optimizers.encoder.applyGradients(named(g.encoder));
        optimizers.decoder.applyGradients(named(g.decoder));
        optimizers.discriminator.applyGradients(named(g.discriminator));
      }
      const l = g.losses;
      return readScalars({
        encoder: l.encoder, decoder: l.decoder, discriminator: l.discriminator, kl: l.kl, llike: l.llike, gan: l.ganG, recon: l.recon,
      });
    } finally {
      tf.dispose([...Object.values(g.encoder), ...Object.values(g.decoder), ...Object.values(g.discriminator), ...Object.values(g.losses)]);
    }
  }

  const model = encoderDecoderModel('vae-gan', { encoder, decoder }, config.latentDim, imageShape);
  return {
    config,
    networks: { encoder, decoder, discriminator: discriminator.model },
    optimizers,
    trainStep: (batch: TrainBatch, seed: number) => step(batch, seed, true),
    losses: (batch: TrainBatch, seed: number) => step(batch, seed, false),
    generative: () => model,
    dispose() {
      encoder.dispose();
      decoder.dispose();
      discriminator.model.dispose();
      for (const o of Object.values(optimizers)) o.dispose();
    },
  };
}

function describeWeights(model: tfl.LayersModel): string {
  return model.weights.map((w) => `${w.originalName} [${w.shape.join(', ')}]`).join(', ');
}

/**
 * Starts a VAE-GAN from a trained VAE: copies every network of `vaeNetworks` whose role the
 * instance also has (a VAE's `encoder` and `decoder`), weight by weight, after checking that
 * every weight's name and shape match. Throws, copying nothing, when `vaeNetworks` lacks an
 * encoder or a decoder, or when any weight differs (the message names the role and the weight;
 * usually a different latentDim, filters, upsampling or image shape in the two configs). The
 * discriminator and the optimisers are left as they are.
 */
export function initFromVae(instance: FamilyInstance, vaeNetworks: Record<string, tfl.LayersModel>): void {
  const roles = Object.keys(vaeNetworks).filter((role) => role in instance.networks);
  for (const required of ['encoder', 'decoder']) {
    if (!vaeNetworks[required]) throw new Error(`initFromVae: the VAE has no ${required} network (it has ${Object.keys(vaeNetworks).join(', ') || 'none'})`);
    if (!instance.networks[required]) throw new Error(`initFromVae: the instance has no ${required} network`);
  }
  // Check everything before writing anything.
  for (const role of roles) {
    const from = vaeNetworks[role]!.weights;
    const to = instance.networks[role]!.weights;
    if (from.length !== to.length) {
      throw new Error(`initFromVae: ${role}: the VAE's has ${from.length} weights, this model's ${to.length} ` +
        `(VAE: ${describeWeights(vaeNetworks[role]!)}; this model: ${describeWeights(instance.networks[role]!)})`);
    }
    to.forEach((w, i) => {
      const f = from[i]!;
      if (f.originalName !== w.originalName || f.shape.join() !== w.shape.join()) {
        throw new Error(`initFromVae: ${role}: weight ${i} is ${f.originalName} [${f.shape.join(', ')}] in the VAE ` +
          `but ${w.originalName} [${w.shape.join(', ')}] here (same latentDim, filters, upsampling and image shape needed)`);
      }
    });
  }
  tf.tidy(() => {
    for (const role of roles) {
      const from = vaeNetworks[role]!.weights;
      instance.networks[role]!.weights.forEach((w, i) => w.write(tf.clone(from[i]!.read())));
    }
  });
}

export const vaeGanFamily: FamilyDefinition<VaeGanConfig> = {
  name: 'vae-gan',
  conditional: false,
  hasEncoder: true,
  lossNames: ['encoder', 'decoder', 'discriminator', 'kl', 'llike', 'gan', 'recon'],
  parseConfig: parseVaeGanConfig,
  create: createVaeGan,
};
