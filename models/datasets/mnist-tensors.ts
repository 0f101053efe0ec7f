/**
 * Tensors from MNIST arrays (kept apart so that ./mnist has no TF.js dependency).
 */
import * as tf from '@tensorflow/tfjs-core';
import { MNIST_CHANNELS, MNIST_CLASSES, MNIST_IMAGE_SIZE, MNIST_PIXELS } from './mnist';

/** `[count, 28, 28, 1]` float32 tensor over `images` (count × 784 values, NHWC). */
export function mnistImagesTensor(images: Float32Array, count = images.length / MNIST_PIXELS): tf.Tensor4D {
  if (!Number.isInteger(count) || images.length !== count * MNIST_PIXELS) {
    throw new RangeError(`expected ${count} × ${MNIST_PIXELS} values, got ${images.length}`);
  }
  return tf.tensor4d(images, [count, MNIST_IMAGE_SIZE, MNIST_IMAGE_SIZE, MNIST_CHANNELS], 'float32');
}

/** `[count, 10]` one-hot float32 tensor of digit labels. */
export function mnistOneHotTensor(labels: Uint8Array): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), MNIST_CLASSES), 'float32') as tf.Tensor2D);
}
