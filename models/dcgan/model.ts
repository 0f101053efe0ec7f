/**
 * DCGAN for 28×28 single-channel images (MNIST), the mirror of the PyTorch peer in
 * ../shared/bench/torch_dcgan.py so that the engine benchmark compares the same work.
 *
 * Deep convolutional GAN (Radford, Metz, Chintala 2015, "Unsupervised Representation Learning
 * with Deep Convolutional Generative Adversarial Networks", arXiv:1511.06434): strided
 * (transposed) convolutions instead of pooling, batch norm in the generator, LeakyReLU in the
 * discriminator, tanh output.
 *
 *   G(z), z ∈ R^64 ~ N(0, I):
 *     Dense(64 → 7·7·128, no bias) → BN → LeakyReLU(0.3) → reshape 7×7×128
 *     → ConvT(64, 4×4, stride 2, same, no bias) → BN → LeakyReLU(0.3)          14×14×64
 *     → ConvT(1, 4×4, stride 2, same, bias) → tanh                             28×28×1 in [-1, 1]
 *   D(x), x ∈ [-1, 1]^(28×28×1):
 *     Conv(64, 4×4, s2, same) → LeakyReLU(0.2) → Conv(128, 4×4, s2, same) → LeakyReLU(0.2)
 *     → Flatten → Dense(1)                                                     a logit
 *
 * 'same' with a 4×4 kernel and stride 2 pads one pixel on each side here (28↔14↔7), which is
 * PyTorch's padding=1. Layout is NHWC (TF.js); PyTorch is NCHW, so the Dense-to-reshape and
 * Flatten-to-Dense weights are the same maps with permuted units — the same work, not the same
 * tensors (importing PyTorch weights would need that permutation).
 *
 * Also mirrored from PyTorch's defaults, so that the two start from the same distribution:
 *   - initialisation: weights U(±1/√fan_in) (kaiming_uniform with a = √5, which is variance
 *     scaling 1/3, fan-in, uniform; fan_in of a transposed convolution counts its *output*
 *     channels in both libraries), biases U(±1/√fan_in), BN γ = 1, β = 0;
 *   - batch norm: ε = 1e-5, running statistics updated with weight 0.1 (Keras momentum 0.9).
 *     (PyTorch keeps the unbiased batch variance in its running variance, TF.js the biased one:
 *     a factor B/(B−1) in inference mode only.)
 *
 * Builders are pure functions of a config: the same config (seed included) gives the same
 * weights on every backend, because TF.js draws seeded initial values in JS.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { torchInit } from '../common/init';

export interface DcganConfig {
  /** Size of z. */
  latentDim: number;
  /** Filters of the 14×14 stage; the 7×7 stage has twice as many. */
  filters: number;
  /** Seed of the initial weights (each layer derives its own from it). */
  seed: number;
}

/** The peer's configuration. */
export const DCGAN_MNIST: DcganConfig = { latentDim: 64, filters: 64, seed: 0 };

export const DCGAN_IMAGE_SIZE = 28;
export const DCGAN_CHANNELS = 1;
const BASE = DCGAN_IMAGE_SIZE / 4; // 7

const G_LEAK = 0.3;
const D_LEAK = 0.2;
const BN_MOMENTUM = 0.9; // PyTorch momentum 0.1
const BN_EPSILON = 1e-5;



function batchNorm(name: string): tfl.layers.Layer {
  return tfl.layers.batchNormalization({ name, axis: -1, momentum: BN_MOMENTUM, epsilon: BN_EPSILON });
}

/** G: z [B, latentDim] → images [B, 28, 28, 1] in [-1, 1]. */
export function buildGenerator(config: DcganConfig = DCGAN_MNIST): tfl.Sequential {
  const { latentDim, filters, seed } = config;
  const wide = filters * 2;
  const s = (i: number) => seed * 100 + 10 * i;
  return tfl.sequential({
    name: 'dcgan_generator',
    layers: [
      tfl.layers.dense({
        name: 'g_dense',
        inputShape: [latentDim],
        units: BASE * BASE * wide,
        useBias: false,
        ...torchInit(latentDim, s(1)),
      }),
      batchNorm('g_bn1'),
      tfl.layers.leakyReLU({ name: 'g_leaky1', alpha: G_LEAK }),
      tfl.layers.reshape({ name: 'g_reshape', targetShape: [BASE, BASE, wide] }),
      tfl.layers.conv2dTranspose({
        name: 'g_convt1',
        filters,
        kernelSize: 4,
        strides: 2,
        padding: 'same',
        useBias: false,
        ...torchInit(filters * 16, s(2)),
      }),
      batchNorm('g_bn2'),
      tfl.layers.leakyReLU({ name: 'g_leaky2', alpha: G_LEAK }),
      tfl.layers.conv2dTranspose({
        name: 'g_convt2',
        filters: DCGAN_CHANNELS,
        kernelSize: 4,
        strides: 2,
        padding: 'same',
        useBias: true,
        ...torchInit(DCGAN_CHANNELS * 16, s(3)),
      }),
      tfl.layers.activation({ name: 'g_tanh', activation: 'tanh' }),
    ],
  });
}

/** D: images [B, 28, 28, 1] → logits [B, 1] (no sigmoid: the loss takes logits). */
export function buildDiscriminator(config: DcganConfig = DCGAN_MNIST): tfl.Sequential {
  const { filters, seed } = config;
  const wide = filters * 2;
  const s = (i: number) => seed * 100 + 50 + 10 * i;
  return tfl.sequential({
    name: 'dcgan_discriminator',
    layers: [
      tfl.layers.conv2d({
        name: 'd_conv1',
        inputShape: [DCGAN_IMAGE_SIZE, DCGAN_IMAGE_SIZE, DCGAN_CHANNELS],
        filters,
        kernelSize: 4,
        strides: 2,
        padding: 'same',
        ...torchInit(DCGAN_CHANNELS * 16, s(1)),
      }),
      tfl.layers.leakyReLU({ name: 'd_leaky1', alpha: D_LEAK }),
      tfl.layers.conv2d({
        name: 'd_conv2',
        filters: wide,
        kernelSize: 4,
        strides: 2,
        padding: 'same',
        ...torchInit(filters * 16, s(2)),
      }),
      tfl.layers.leakyReLU({ name: 'd_leaky2', alpha: D_LEAK }),
      tfl.layers.flatten({ name: 'd_flatten' }),
      tfl.layers.dense({ name: 'd_logit', units: 1, ...torchInit(BASE * BASE * wide, s(3)) }),
    ],
  });
}

/**
 * Images for latents, in inference mode (batch norm uses its running statistics), as pixels in
 * [0, 1], NHWC [B, 28, 28, 1]. Tidy: only the returned tensor survives.
 */
export function decode(generator: tfl.LayersModel, z: tf.Tensor2D): tf.Tensor4D {
  return tf.tidy(() => {
    const x = generator.apply(z, { training: false }) as tf.Tensor4D;
    return tf.mul(tf.add(x, 1), 0.5);
  });
}
