/**
 * VAE-GAN (Larsen, Sønderby, Larochelle & Winther 2016, "Autoencoding beyond pixels using a
 * learned similarity metric", ICML, arXiv:1512.09300): a VAE whose decoder is also a GAN's
 * generator, and whose reconstruction error is measured in the discriminator's features.
 *
 * Networks: the encoder and decoder of ../vae/model.ts (identical architecture and names, so a
 * trained VAE starts them), and a discriminator Dis:
 *   Dis(x), x ∈ [−1, 1]^(S×S×C) (pixels in [0, 1] mapped by 2x − 1):
 *     n × [Conv(F_d·2^(i−1), 4×4, stride 2, same) → LeakyReLU(discriminatorLeak)] → Flatten
 *     → Dense(1), a logit.     Dis_l(x): the output of stage l (featureLayer), flattened.
 *
 * Losses (per image, averaged over the batch), with ℓ(y, t) the BCE of logit y against target t:
 *   L_prior = KL(q(z|x) ‖ N(0, I))                                          (closed form, nats)
 *   L_llike = ½ ‖Dis_l(x) − Dis_l(x̃)‖²,  x̃ = Dec(z), z = μ + σ·ε         (a Gaussian with
 *             identity covariance in Dis_l's feature space, up to its constant: the paper's eq. 7)
 *   L_GAN(D) = ℓ(Dis(x), 1) + ℓ(Dis(x̃), 0) + ℓ(Dis(x_p), 0),  x_p = Dec(z_p), z_p ~ N(0, I)
 *   L_GAN(G) = ℓ(Dis(x̃), 1) + ℓ(Dis(x_p), 1)                               (non-saturating)
 * and the paper's Algorithm 1, each network with its own optimiser, all gradients taken at the
 * same weights and then applied together:
 *   θ_Enc ← ∇(β·L_prior + L_llike)
 *   θ_Dec ← ∇(γ·L_llike + L_GAN(G))         γ weighs reconstruction against fooling Dis
 *   θ_Dis ← ∇ L_GAN(D)
 * L_GAN does not reach the encoder and L_llike does not reach the discriminator (the paper's
 * §2.2, "limiting error signals to relevant networks": Dis would otherwise collapse its features
 * to make L_llike vanish). The paper uses log(1 − Dis(·)) for the decoder; the non-saturating
 * form, standard since Goodfellow et al. 2014, has the same fixed point and useful gradients
 * while Dis wins.
 *
 * ε and z_p come from the step's seed (one mulberry32 stream: ε first, then z_p).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { torchInit } from '../common/init';
import type { ImageShape } from '../common/family';
import { mulberry32 } from '../common/random';
import { encodeMoments, klDivergence, layerSeed, reconstructionNll, reparameterize, standardNormal, vaePlan } from '../vae/model';

export interface DiscriminatorOptions {
  imageShape: ImageShape;
  /** Filters of the first stage; each further stage doubles them. */
  filters: number;
  leak: number;
  /** Stage (1…n) whose activations are Dis_l. */
  featureLayer: number;
  seed: number;
}

export interface VaeGanDiscriminator {
  /** [B, S, S, C] in [−1, 1] → [B, 1] logits (the network a checkpoint stores). */
  model: tfl.LayersModel;
  /** The same layers, two outputs: [logits, Dis_l features [B, h_l, w_l, c_l]]. */
  withFeatures: tfl.LayersModel;
}



export function buildDiscriminator(opts: DiscriminatorOptions): VaeGanDiscriminator {
  const { imageShape, filters, leak, featureLayer, seed } = opts;
  const { base, stages } = vaePlan(imageShape);
  if (!(Number.isInteger(featureLayer) && featureLayer >= 1 && featureLayer <= stages)) {
    throw new Error(`featureLayer must be a stage in 1…${stages} for ${imageShape.join('×')} images, got ${featureLayer}`);
  }
  const s = (i: number) => layerSeed(seed, 2, i);
  const input = tfl.input({ name: 'd_input', shape: [...imageShape] });
  let x = input;
  let features: tfl.SymbolicTensor | null = null;
  let channels = imageShape[2];
  for (let i = 1; i <= stages; i++) {
    const out = filters * 2 ** (i - 1);
    x = tfl.layers.conv2d({
      name: `d_conv${i}`, filters: out, kernelSize: 4, strides: 2, padding: 'same', ...torchInit(channels * 16, s(i)),
    }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.leakyReLU({ name: `d_act${i}`, alpha: leak }).apply(x) as tfl.SymbolicTensor;
    if (i === featureLayer) features = x;
    channels = out;
  }
  const flat = tfl.layers.flatten({ name: 'd_flatten' }).apply(x) as tfl.SymbolicTensor;
  const logit = tfl.layers.dense({ name: 'd_logit', units: 1, ...torchInit(base * base * channels, s(stages + 1)) }).apply(flat) as tfl.SymbolicTensor;
  return {
    model: tfl.model({ name: 'vae_gan_discriminator', inputs: input, outputs: logit }),
    withFeatures: tfl.model({ name: 'vae_gan_discriminator_features', inputs: input, outputs: [logit, features!] }),
  };
}

/** Mean over the batch of the BCE of logits against a constant target. */
export function bceWithLogits(logits: tf.Tensor, target: number): tf.Scalar {
  return tf.tidy(() => tf.losses.sigmoidCrossEntropy(tf.fill(logits.shape, target), logits) as tf.Scalar);
}

/** L_llike per image: ½ Σ (a − b)² over every feature of Dis_l, [B]. */
export function featureReconstruction(real: tf.Tensor, fake: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const b = real.shape[0]!;
    return tf.mul(tf.sum(tf.reshape(tf.squaredDifference(real, fake), [b, -1]), 1), 0.5) as tf.Tensor1D;
  });
}

export interface VaeGanNetworks {
  encoder: tfl.LayersModel;
  decoder: tfl.LayersModel;
  discriminator: VaeGanDiscriminator;
}

export interface VaeGanWeights {
  /** β: weight of L_prior in the encoder's loss. */
  beta: number;
  /** γ: weight of L_llike in the decoder's loss. */
  gamma: number;
}

export interface VaeGanGradients {
  encoder: tf.NamedTensorMap;
  decoder: tf.NamedTensorMap;
  discriminator: tf.NamedTensorMap;
  /** Scalars (nats or BCE), each averaged over the batch, before any update. */
  losses: { encoder: tf.Scalar; decoder: tf.Scalar; discriminator: tf.Scalar; kl: tf.Scalar; llike: tf.Scalar; ganG: tf.Scalar; recon: tf.Scalar };
}

const toSymmetric = (x: tf.Tensor4D) => tf.sub(tf.mul(x, 2), 1) as tf.Tensor4D;
const pixels = (logits: tf.Tensor4D) => toSymmetric(tf.sigmoid(logits));

/**
 * The three networks' gradients for one batch (Algorithm 1, all at the current weights). The
 * caller applies them and disposes everything returned. `recon` is the pixel-space BCE
 * −log p(x|z) of the reconstruction (for monitoring only: nothing minimises it).
 */
export function vaeGanGradients(
  nets: VaeGanNetworks,
  vars: { encoder: tf.Variable[]; decoder: tf.Variable[]; discriminator: tf.Variable[] },
  images: tf.Tensor4D,
  seed: number,
  weights: VaeGanWeights,
): VaeGanGradients {
  const b = images.shape[0];
  const latentDim = nets.decoder.inputs[0]!.shape[1]!;
  const rand = mulberry32(seed);
  const eps = standardNormal(rand, b, latentDim);
  const zPrior = standardNormal(rand, b, latentDim);
  const dis = nets.discriminator.withFeatures;
  const disApply = (x: tf.Tensor4D) => {
    const [logit, feat] = dis.apply(x, { training: true }) as tf.Tensor[];
    return { logit: logit!, feat: feat! };
  };
  // Constants of the step: the real images' Dis output, z, and the decoder's two image batches.
  const c = tf.tidy(() => {
    const real = toSymmetric(images);
    const { mean, logVar } = encodeMoments(nets.encoder, images, true);
    const z = reparameterize(mean, logVar, eps);
    const reconLogits = nets.decoder.apply(z, { training: true }) as tf.Tensor4D;
    return {
      real,
      realOut: disApply(real),
      z,
      recon: pixels(reconLogits),
      prior: pixels(nets.decoder.apply(zPrior, { training: true }) as tf.Tensor4D),
      pixelNll: tf.mean(reconstructionNll(reconLogits, images, 'bce')) as tf.Scalar,
    };
  });
  const kept: tf.Scalar[] = [];
  const keep = (t: tf.Scalar) => {
    kept.push(tf.keep(t));
    return t;
  };
  try {
    const enc = tf.variableGrads(() => {
      const { mean, logVar } = encodeMoments(nets.encoder, images, true);
      const z = reparameterize(mean, logVar, eps);
      const fake = disApply(pixels(nets.decoder.apply(z, { training: true }) as tf.Tensor4D));
      const kl = keep(tf.mean(klDivergence(mean, logVar)) as tf.Scalar);
      const llike = keep(tf.mean(featureReconstruction(c.realOut.feat, fake.feat)) as tf.Scalar);
      return tf.add(tf.mul(kl, weights.beta), llike) as tf.Scalar;
    }, vars.encoder);
    const dec = tf.variableGrads(() => {
      const fake = disApply(pixels(nets.decoder.apply(c.z, { training: true }) as tf.Tensor4D));
      const prior = disApply(pixels(nets.decoder.apply(zPrior, { training: true }) as tf.Tensor4D));
      const llike = tf.mean(featureReconstruction(c.realOut.feat, fake.feat));
      const ganG = keep(tf.add(bceWithLogits(fake.logit, 1), bceWithLogits(prior.logit, 1)) as tf.Scalar);
      return tf.add(tf.mul(llike, weights.gamma), ganG) as tf.Scalar;
    }, vars.decoder);
    const disc = tf.variableGrads(() => {
      const real = disApply(c.real).logit;
      const fake = disApply(c.recon).logit;
      const prior = disApply(c.prior).logit;
      return tf.addN([bceWithLogits(real, 1), bceWithLogits(fake, 0), bceWithLogits(prior, 0)]) as tf.Scalar;
    }, vars.discriminator);
    const [kl, llike, ganG] = kept as [tf.Scalar, tf.Scalar, tf.Scalar];
    return {
      encoder: enc.grads,
      decoder: dec.grads,
      discriminator: disc.grads,
      losses: { encoder: enc.value, decoder: dec.value, discriminator: disc.value, kl, llike, ganG, recon: c.pixelNll },
    };
  } catch (err) {
    tf.dispose([...kept, c.pixelNll]);
    throw err;
  } finally {
    tf.dispose([eps, zPrior, c.real, c.realOut.logit, c.realOut.feat, c.z, c.recon, c.prior]);
  }
}
