/**
 * The convolutional VAE's networks and maths (Kingma & Welling 2014, "Auto-Encoding Variational
 * Bayes", arXiv:1312.6114; Rezende, Mohamed & Wierstra 2014, arXiv:1401.4082), shared by the
 * `vae` family (./index.ts) and the `vae-gan` family (../vae-gan/), whose encoder and decoder
 * are these very builders: same layer names, same weight shapes, so a VAE checkpoint's
 * `encoder` and `decoder` load into a VAE-GAN as they are.
 *
 * Sizes. An image side S is halved while it stays even and the half is at least 4: the rest is
 * the base b and the number of halvings the number of stages n (28 → 7, n = 2; 32 → 4, n = 3;
 * 64 → 4, n = 4). Square images, 1 or 3 channels, n ≥ 2, S ≤ 128 (vaeShapeProblem says why
 * not otherwise). With F filters, stage i has F·2^(i−1) of them (W = F·2^(n−1) the widest):
 *
 *   encoder q(z|x) = N(μ(x), diag exp(ℓ(x))), x ∈ [0, 1]^(S×S×C):
 *     n × [Conv(F·2^(i−1), 4×4, stride 2, same) → LeakyReLU(encoderLeak)]      b×b×W
 *     → Flatten → Dense(latentDim) = μ,  Dense(latentDim) = ℓ = log σ²         two outputs
 *   decoder p(x|z), z ∈ R^latentDim:
 *     Dense(b²·W) → LeakyReLU(decoderLeak) → reshape b×b×W
 *     → (n − 1) × [up ×2 to W/2^i filters → LeakyReLU(decoderLeak)]
 *     → up ×2 to C channels = logits λ; the pixel mean is μ_x = sigmoid(λ) ∈ [0, 1]
 *   "up ×2" is a transposed convolution (4×4, stride 2) or a resize-convolution (nearest ×2,
 *   then 3×3 stride 1: no checkerboard artifacts; Odena, Dumoulin & Olah 2016, Distill).
 *
 * No batch norm: an encoder's posterior then depends on its image alone (not on the batch it
 * came in), so the ELBO and the importance-weighted bound below are per image, and training
 * and inference modes are the same function.
 *
 * Likelihoods, per image, in nats (D = S·S·C pixel values x_d ∈ [0, 1]):
 *   'bce': −log p(x|z) = Σ_d −[x_d log μ_d + (1 − x_d) log(1 − μ_d)], the Bernoulli log-mass
 *          applied to grey levels (computed from the logits, stably). It is a normalised
 *          likelihood only for binary pixels; on grey MNIST it is the usual "BCE nats" figure,
 *          not a density of the grey image (that would be the continuous Bernoulli, Loaiza-Ganem
 *          & Cunningham 2019), so compare it with other grey-level BCE figures only.
 *   'mse': −log p(x|z) = Σ_d (x_d − μ_d)² + (D/2)·log π: a Gaussian N(μ, σ²I) with σ² = ½ fixed,
 *          a true density on R^D, so the loss is the summed squared error plus a constant.
 *   KL(q(z|x) ‖ N(0, I)) = −½ Σ_j (1 + ℓ_j − μ_j² − e^(ℓ_j))  (closed form).
 *   ELBO(x) = E_q[log p(x|z)] − KL ≤ log p(x); estimated with one (or `samples`) draws of
 *   z = μ + e^(ℓ/2)·ε, ε ~ N(0, I) (the reparameterisation trick) and the closed-form KL.
 *   Importance-weighted bound (Burda, Grosse & Salakhutdinov 2016, "Importance Weighted
 *   Autoencoders", arXiv:1509.00519): log p̂_k(x) = log (1/k) Σ_i p(x|z_i)·p(z_i)/q(z_i|x),
 *   z_i ~ q(z|x); E log p̂_1 = ELBO ≤ E log p̂_k ≤ E log p̂_(k+1) → log p(x) as k → ∞.
 *   The NLL estimate is −log p̂_k(x).
 *
 * Initialisation is PyTorch's default (as models/dcgan/model.ts): weights U(±1/√fan_in)
 * (varianceScaling 1/3, fan-in, uniform), biases U(±1/√fan_in), each layer seeded from the
 * config's seed, so that the same config gives the same weights on every backend (TF.js draws
 * seeded initial values in JS).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { torchInit } from '../common/init';
import type { ImageShape } from '../common/family';
import { mulberry32, randomNormal } from '../common/random';

// ---------------------------------------------------------------------------------------------
// Sizes (the same rule as the GAN builders of ../common/blocks.ts, kept here so that the VAE's
// architecture — which checkpoints and the VAE-GAN depend on — cannot change under it)

/** Largest image side the builders accept. */
export const VAE_MAX_IMAGE_SIDE = 128;
const MIN_BASE = 4;
const MIN_STAGES = 2;

export interface VaePlan {
  /** Side of the innermost feature map. */
  base: number;
  /** Number of ×2 stages between the base and the image. */
  stages: number;
}

function halve(side: number): VaePlan {
  let base = side;
  let stages = 0;
  while (base % 2 === 0 && base / 2 >= MIN_BASE) {
    base /= 2;
    stages++;
  }
  return { base, stages };
}

/** Why the builders cannot make networks for this image shape, or null when they can. */
export function vaeShapeProblem(shape: readonly number[]): string | null {
  const [h, w, c] = shape;
  if (shape.length !== 3 || ![h, w, c].every((v) => Number.isInteger(v) && v! > 0)) {
    return `image shape [${shape.join(', ')}] is not three positive integers [height, width, channels]`;
  }
  if (h !== w) return `images are ${h}×${w}: the VAE builders need square images`;
  if (c !== 1 && c !== 3) return `images have ${c} channels: the VAE builders do 1 (grey) or 3 (RGB)`;
  if (h! > VAE_MAX_IMAGE_SIDE) return `images are ${h}×${w}: the VAE builders go up to ${VAE_MAX_IMAGE_SIDE}×${VAE_MAX_IMAGE_SIDE}`;
  const { base, stages } = halve(h!);
  if (stages < MIN_STAGES) {
    return `images are ${h}×${w}: the side must be a base of ${MIN_BASE} or more times 2^n with n ≥ ${MIN_STAGES} ` +
      `(e.g. 28 = 7·4, 32 = 4·8, 64 = 4·16); ${h} gives base ${base} after ${stages} halvings`;
  }
  return null;
}

/** Base and stages for an image shape; throws when vaeShapeProblem does. */
export function vaePlan(shape: ImageShape): VaePlan {
  const problem = vaeShapeProblem(shape);
  if (problem) throw new Error(problem);
  return halve(shape[0]);
}

// ---------------------------------------------------------------------------------------------
// Builders

export type Upsampling = 'transposed' | 'resize';
export type Reconstruction = 'bce' | 'mse';

/** What fixes the encoder's and decoder's architecture and initial weights. */
export interface VaeArchitecture {
  imageShape: ImageShape;
  latentDim: number;
  /** Filters of the outermost stage; each stage inwards doubles them. */
  filters: number;
  /** LeakyReLU slope in the encoder (0: ReLU). */
  encoderLeak: number;
  /** LeakyReLU slope in the decoder (0: ReLU). */
  decoderLeak: number;
  upsampling: Upsampling;
  seed: number;
}



/**
 * Per-layer seeds: network k (0 encoder, 1 decoder, 2 the VAE-GAN's discriminator), layer i.
 * Distinct for every layer of every network of one config.
 */
export function layerSeed(seed: number, network: number, layer: number): number {
  return seed * 1000 + network * 300 + 10 * layer;
}

/** q(z|x): images [B, S, S, C] in [0, 1] → [μ, log σ²], each [B, latentDim]. */
export function buildEncoder(arch: VaeArchitecture): tfl.LayersModel {
  const { imageShape, latentDim, filters, encoderLeak, seed } = arch;
  const { base, stages } = vaePlan(imageShape);
  const s = (i: number) => layerSeed(seed, 0, i);
  const input = tfl.input({ name: 'enc_input', shape: [...imageShape] });
  let x = input;
  let channels = imageShape[2];
  for (let i = 1; i <= stages; i++) {
    const out = filters * 2 ** (i - 1);
    x = tfl.layers.conv2d({
      name: `enc_conv${i}`, filters: out, kernelSize: 4, strides: 2, padding: 'same', ...torchInit(channels * 16, s(i)),
    }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.leakyReLU({ name: `enc_act${i}`, alpha: encoderLeak }).apply(x) as tfl.SymbolicTensor;
    channels = out;
  }
  const flat = tfl.layers.flatten({ name: 'enc_flatten' }).apply(x) as tfl.SymbolicTensor;
  const fanIn = base * base * channels;
  const mean = tfl.layers.dense({ name: 'enc_mean', units: latentDim, ...torchInit(fanIn, s(stages + 1)) }).apply(flat) as tfl.SymbolicTensor;
  const logVar = tfl.layers.dense({ name: 'enc_logvar', units: latentDim, ...torchInit(fanIn, s(stages + 2)) }).apply(flat) as tfl.SymbolicTensor;
  return tfl.model({ name: 'vae_encoder', inputs: input, outputs: [mean, logVar] });
}

/** p(x|z): z [B, latentDim] → pixel logits [B, S, S, C] (the mean is their sigmoid). */
export function buildDecoder(arch: VaeArchitecture): tfl.Sequential {
  const { imageShape, latentDim, filters, decoderLeak, upsampling, seed } = arch;
  const { base, stages } = vaePlan(imageShape);
  const channels = imageShape[2];
  const s = (i: number) => layerSeed(seed, 1, i);
  const widest = filters * 2 ** (stages - 1);
  const layers: tfl.layers.Layer[] = [
    tfl.layers.dense({ name: 'dec_dense', inputShape: [latentDim], units: base * base * widest, ...torchInit(latentDim, s(0)) }),
    tfl.layers.leakyReLU({ name: 'dec_act0', alpha: decoderLeak }),
    tfl.layers.reshape({ name: 'dec_reshape', targetShape: [base, base, widest] }),
  ];
  let inChannels = widest;
  for (let i = 1; i <= stages; i++) {
    const last = i === stages;
    const out = last ? channels : widest / 2 ** i;
    if (upsampling === 'transposed') {
      // fan_in of a transposed convolution counts its output channels (PyTorch and TF.js alike).
      layers.push(tfl.layers.conv2dTranspose({
        name: `dec_convt${i}`, filters: out, kernelSize: 4, strides: 2, padding: 'same', ...torchInit(out * 16, s(i)),
      }));
    } else {
      layers.push(tfl.layers.upSampling2d({ name: `dec_up${i}`, size: [2, 2], interpolation: 'nearest' }));
      layers.push(tfl.layers.conv2d({
        name: `dec_conv${i}`, filters: out, kernelSize: 3, strides: 1, padding: 'same', ...torchInit(inChannels * 9, s(i)),
      }));
    }
    if (!last) layers.push(tfl.layers.leakyReLU({ name: `dec_act${i}`, alpha: decoderLeak }));
    inChannels = out;
  }
  return tfl.sequential({ name: 'vae_decoder', layers });
}

// ---------------------------------------------------------------------------------------------
// Maths (every function tidy; per-image values are [B] tensors)

/** The two networks the likelihood functions need. */
export interface VaeNetworks {
  encoder: tfl.LayersModel;
  decoder: tfl.LayersModel;
}

/** μ and log σ² of q(z|x) for images [B, S, S, C] in [0, 1]. */
export function encodeMoments(encoder: tfl.LayersModel, x: tf.Tensor4D, training = false): { mean: tf.Tensor2D; logVar: tf.Tensor2D } {
  const [mean, logVar] = encoder.apply(x, { training }) as tf.Tensor2D[];
  return { mean: mean!, logVar: logVar! };
}

/** z = μ + e^(ℓ/2)·ε. */
export function reparameterize(mean: tf.Tensor2D, logVar: tf.Tensor2D, eps: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.add(mean, tf.mul(tf.exp(tf.mul(logVar, 0.5)), eps)));
}

/** KL(N(μ, diag e^ℓ) ‖ N(0, I)) per row: −½ Σ_j (1 + ℓ_j − μ_j² − e^(ℓ_j)), [B]. */
export function klDivergence(mean: tf.Tensor2D, logVar: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.mul(tf.sum(tf.sub(tf.sub(tf.add(1, logVar), tf.square(mean)), tf.exp(logVar)), 1), -0.5));
}

/** −log p(x|z) per image (nats) from the decoder's logits; see the file header. */
export function reconstructionNll(logits: tf.Tensor4D, x: tf.Tensor4D, reconstruction: Reconstruction): tf.Tensor1D {
  return tf.tidy(() => {
    const d = x.shape[1] * x.shape[2] * x.shape[3];
    if (reconstruction === 'bce') {
      // max(λ, 0) − λ·x + log(1 + e^(−|λ|)) = −[x log σ(λ) + (1 − x) log(1 − σ(λ))]
      const perPixel = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, x)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
      return tf.sum(perPixel, [1, 2, 3]);
    }
    const sq = tf.sum(tf.squaredDifference(tf.sigmoid(logits), x), [1, 2, 3]);
    return tf.add(sq, (d / 2) * Math.log(Math.PI));
  });
}

/** ε ~ N(0, I), [rows, dim], from a uniform source (the project's one seeded RNG). */
export function standardNormal(rand: () => number, rows: number, dim: number): tf.Tensor2D {
  return tf.tensor2d(randomNormal(rows * dim, rand), [rows, dim]);
}

/** ε for a training step: [B, latentDim] drawn from the step's seed. */
export function stepNoise(seed: number, batch: number, latentDim: number): tf.Tensor2D {
  return standardNormal(mulberry32(seed), batch, latentDim);
}

export interface VaeLossTerms {
  /** recon + β·kl, mean over the batch (what the optimiser minimises). */
  loss: tf.Scalar;
  /** Mean −log p(x|z) per image, nats. */
  recon: tf.Scalar;
  /** Mean KL per image, nats. */
  kl: tf.Scalar;
}

/** The β-VAE loss on a batch with the given ε (training mode; differentiable). */
export function vaeLossTerms(
  nets: VaeNetworks,
  x: tf.Tensor4D,
  eps: tf.Tensor2D,
  opts: { reconstruction: Reconstruction; beta: number; training?: boolean },
): VaeLossTerms {
  return tf.tidy(() => {
    const training = opts.training ?? true;
    const { mean, logVar } = encodeMoments(nets.encoder, x, training);
    const z = reparameterize(mean, logVar, eps);
    const logits = nets.decoder.apply(z, { training }) as tf.Tensor4D;
    const recon = tf.mean(reconstructionNll(logits, x, opts.reconstruction)) as tf.Scalar;
    const kl = tf.mean(klDivergence(mean, logVar)) as tf.Scalar;
    return { loss: tf.add(recon, tf.mul(kl, opts.beta)) as tf.Scalar, recon, kl };
  });
}

// ---------------------------------------------------------------------------------------------
// Likelihood estimates for evaluation (pure functions of the networks; per image, nats)

/**
 * Where the networks come from: `{ encoder, decoder }`, or a family instance (anything with
 * `networks.encoder` and `networks.decoder`, e.g. a `vae` or `vae-gan` FamilyInstance). When the
 * source carries a `config.reconstruction` it is the default likelihood.
 */
export type VaeSource =
  | VaeNetworks
  | { networks: Record<string, tfl.LayersModel>; config?: { reconstruction?: Reconstruction } };

export interface LikelihoodOptions {
  /** The likelihood p(x|z); default: the source's config, else 'bce'. */
  reconstruction?: Reconstruction;
  /** Seed of every ε drawn (one stream, in image order). Default 0. */
  seed?: number;
  /** Images per forward pass. */
  batchSize?: number;
}

function resolve(source: VaeSource, opts: LikelihoodOptions): { nets: VaeNetworks; reconstruction: Reconstruction } {
  let nets: Partial<VaeNetworks>;
  let fromConfig: Reconstruction | undefined;
  if ('networks' in source) {
    nets = { encoder: source.networks.encoder, decoder: source.networks.decoder };
    fromConfig = source.config?.reconstruction;
  } else {
    nets = source;
  }
  if (!nets.encoder || !nets.decoder) throw new Error('a VAE likelihood needs an `encoder` and a `decoder` network');
  return { nets: nets as VaeNetworks, reconstruction: opts.reconstruction ?? fromConfig ?? 'bce' };
}

function checkImages(nets: VaeNetworks, images: tf.Tensor4D): void {
  const want = nets.encoder.inputs[0]!.shape.slice(1);
  const got = images.shape.slice(1);
  if (images.rank !== 4 || want.some((v, i) => v !== got[i])) {
    throw new Error(`images are [${images.shape.join(', ')}], the encoder takes [B, ${want.join(', ')}]`);
  }
}

function latentDimOf(nets: VaeNetworks): number {
  return nets.decoder.inputs[0]!.shape[1]!;
}

/** The ELBO terms per image (nats): recon = −log p(x|z) (averaged over draws), kl, elbo = −recon − kl. */
export function elboTerms(
  source: VaeSource,
  images: tf.Tensor4D,
  opts: LikelihoodOptions & { samples?: number } = {},
): { elbo: Float32Array; recon: Float32Array; kl: Float32Array } {
  const { nets, reconstruction } = resolve(source, opts);
  checkImages(nets, images);
  const samples = opts.samples ?? 1;
  if (!(Number.isInteger(samples) && samples >= 1)) throw new Error(`samples must be a positive integer, got ${samples}`);
  const n = images.shape[0];
  const dim = latentDimOf(nets);
  const chunk = opts.batchSize ?? 256;
  const rand = mulberry32(opts.seed ?? 0);
  const recon = new Float32Array(n);
  const kl = new Float32Array(n);
  for (let start = 0; start < n; start += chunk) {
    const size = Math.min(chunk, n - start);
    const eps = standardNormal(rand, size * samples, dim); // image-major: image b's draws are rows b·samples…
    const [r, k] = tf.tidy(() => {
      const x = tf.slice(images, [start, 0, 0, 0], [size, -1, -1, -1]);
      const { mean, logVar } = encodeMoments(nets.encoder, x);
      const rep = (t: tf.Tensor2D) => tf.reshape(tf.tile(tf.expandDims(t, 1), [1, samples, 1]), [size * samples, dim]) as tf.Tensor2D;
      const z = reparameterize(rep(mean), rep(logVar), eps);
      const logits = nets.decoder.apply(z, { training: false }) as tf.Tensor4D;
      const xRep = tf.reshape(tf.tile(tf.expandDims(x, 1), [1, samples, 1, 1, 1]), [size * samples, x.shape[1], x.shape[2], x.shape[3]]) as tf.Tensor4D;
      const nll = tf.mean(tf.reshape(reconstructionNll(logits, xRep, reconstruction), [size, samples]), 1);
      return [nll, klDivergence(mean, logVar)];
    });
    recon.set(r!.dataSync(), start);
    kl.set(k!.dataSync(), start);
    tf.dispose([eps, r!, k!]);
  }
  const elbo = new Float32Array(n);
  for (let i = 0; i < n; i++) elbo[i] = -recon[i]! - kl[i]!;
  return { elbo, recon, kl };
}

/**
 * ELBO per image (nats; higher is better): E_q[log p(x|z)] − KL(q(z|x) ‖ p(z)), with one draw
 * of z per image (or `samples`) and the closed-form KL. See the file header for the likelihood.
 */
export function elbo(source: VaeSource, images: tf.Tensor4D, opts: LikelihoodOptions & { samples?: number } = {}): Float32Array {
  return elboTerms(source, images, opts).elbo;
}

/**
 * Importance-weighted estimate of −log p(x) per image (nats; lower is better), with k samples
 * from q(z|x) (Burda et al. 2016): −log (1/k) Σ_i p(x|z_i)·p(z_i)/q(z_i|x). k = 1 is an unbiased
 * estimate of −ELBO; as k grows the estimate decreases towards −log p(x) in expectation.
 *
 * Batched as images × k rows: `batchSize` images at a time (default ⌈1024 / k⌉), each encoded
 * once, its k latents decoded in one pass; the log-mean-exp is taken in the graph.
 */
export function importanceWeightedNll(source: VaeSource, images: tf.Tensor4D, opts: LikelihoodOptions & { k: number }): Float32Array {
  const { nets, reconstruction } = resolve(source, opts);
  checkImages(nets, images);
  const { k } = opts;
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`k must be a positive integer, got ${k}`);
  const n = images.shape[0];
  const dim = latentDimOf(nets);
  const chunk = opts.batchSize ?? Math.max(1, Math.ceil(1024 / k));
  const rand = mulberry32(opts.seed ?? 0);
  const out = new Float32Array(n);
  for (let start = 0; start < n; start += chunk) {
    const size = Math.min(chunk, n - start);
    const eps = standardNormal(rand, size * k, dim);
    const nll = tf.tidy(() => {
      const x = tf.slice(images, [start, 0, 0, 0], [size, -1, -1, -1]);
      const { mean, logVar } = encodeMoments(nets.encoder, x);
      const rep = (t: tf.Tensor2D) => tf.reshape(tf.tile(tf.expandDims(t, 1), [1, k, 1]), [size * k, dim]) as tf.Tensor2D;
      const lv = rep(logVar);
      const z = reparameterize(rep(mean), lv, eps);
      const logits = nets.decoder.apply(z, { training: false }) as tf.Tensor4D;
      const xRep = tf.reshape(tf.tile(tf.expandDims(x, 1), [1, k, 1, 1, 1]), [size * k, x.shape[1], x.shape[2], x.shape[3]]) as tf.Tensor4D;
      const logPxz = tf.neg(reconstructionNll(logits, xRep, reconstruction));
      // log p(z) − log q(z|x) = −½ Σ z² + ½ Σ (ε² + ℓ)   (the 2π terms cancel)
      const logRatio = tf.mul(tf.sum(tf.sub(tf.add(tf.square(eps), lv), tf.square(z)), 1), 0.5);
      const logW = tf.reshape(tf.add(logPxz, logRatio), [size, k]);
      return tf.neg(tf.sub(tf.logSumExp(logW, 1), Math.log(k)));
    });
    out.set(nll.dataSync(), start);
    tf.dispose([eps, nll]);
  }
  return out;
}
