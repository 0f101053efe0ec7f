/**
 * A generative model seen by the direction methods (./types.ts DirectionGenerator): its decode
 * (differentiable in z), its encoder's means where it has one, and its first dense layer where
 * it has one. Every family of models/ starts its generator (or decoder) with a Dense layer from
 * [z, one-hot class] (models/common/blocks.ts `g_dense`, models/dcgan `g_dense`, models/vae
 * `dec_dense`), followed by an optional batch norm and a (leaky) ReLU: that block is the "first
 * layer" of GANSpace and SeFa here. An imported model's graph is unknown: it has no first layer,
 * and the methods that need one say so.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { GenerativeModel } from '../common/family';
import { EMA_ROLE } from '../common/ema';
import type { DirectionGenerator, FirstLayer } from './types';

/** Layers that end the first block (its nonlinearity). */
const ACTIVATIONS = new Set(['LeakyReLU', 'ReLU', 'Activation', 'ELU', 'PReLU', 'ThresholdedReLU', 'Softmax']);
/** Layers that may sit between the dense layer and its nonlinearity. */
const NORMALISATIONS = new Set(['BatchNormalization', 'LayerNormalization']);

/**
 * The first dense block of `network` (input [B, latentDim + numClasses]), or undefined when the
 * network does not start with a Dense layer taking that input.
 */
export function firstDenseBlock(network: tfl.LayersModel, latentDim: number, numClasses: number | null): FirstLayer | undefined {
  const layers = network.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const dense = layers[0];
  if (!dense || dense.getClassName() !== 'Dense') return undefined;
  const [kernelVar] = dense.getWeights();
  if (!kernelVar || kernelVar.shape.length !== 2) return undefined;
  const [inputDim, units] = kernelVar.shape as [number, number];
  if (inputDim !== latentDim + (numClasses ?? 0)) return undefined;
  const block: tfl.layers.Layer[] = [dense];
  const denseActivation = (dense.getConfig() as { activation?: string }).activation;
  if (!denseActivation || denseActivation === 'linear') {
    for (const l of layers.slice(1)) {
      const kind = l.getClassName();
      if (NORMALISATIONS.has(kind)) block.push(l);
      else {
        if (ACTIVATIONS.has(kind)) block.push(l);
        break;
      }
    }
  }
  // The rows of K that multiply z (a conditional model's one-hot rows follow them).
  const kernel = (kernelVar.dataSync() as Float32Array).slice(0, latentDim * units);
  return {
    name: dense.name,
    kernel,
    units,
    activations(z, classes) {
      return tf.tidy(() => {
        let x: tf.Tensor = z;
        if (numClasses) {
          if (!classes) throw new Error('a conditional model needs a class per latent');
          x = tf.concat([z, tf.cast(tf.oneHot(tf.cast(classes, 'int32') as tf.Tensor1D, numClasses), 'float32')], 1);
        }
        for (const l of block) x = l.apply(x, { training: false }) as tf.Tensor;
        return x as tf.Tensor2D;
      });
    },
  };
}

/**
 * The DirectionGenerator of a loaded model. `networks` (a checkpoint instance's, by role) give
 * the first layer: the averaged generator's (models/common/ema.ts), else the `generator`'s, else
 * the `decoder`'s.
 */
export function directionGenerator(id: string, model: GenerativeModel, networks?: Record<string, tfl.LayersModel>): DirectionGenerator {
  const network = networks?.[EMA_ROLE] ?? networks?.['generator'] ?? networks?.['decoder'];
  const firstLayer = network ? firstDenseBlock(network, model.latentDim, model.numClasses) : undefined;
  const encode = model.encode?.bind(model);
  return {
    id,
    latentDim: model.latentDim,
    numClasses: model.numClasses,
    imageShape: model.imageShape,
    decode: (z, classes) => model.decode(z, classes),
    ...(encode
      ? {
          encodeMean: (x: tf.Tensor4D) =>
            tf.tidy(() => {
              const { mean, logVar } = encode(x);
              logVar.dispose();
              return mean;
            }),
        }
      : {}),
    ...(firstLayer ? { firstLayer } : {}),
  };
}
