/**
 * Fused conv2d and matMul without wasted gradient work.
 *
 * tfjs-core 4.22 records `tf.fused.conv2d` and `tf.fused.matMul` (which tfjs-layers uses for every
 * Conv2D and Dense layer) with a custom gradient that computes the gradients of ALL inputs, used
 * or not. Training a GAN then pays for input gradients of the discriminator in its own step and
 * for its filter gradients in the generator's step: on the DCGAN of the engine benchmark that is
 * two extra Conv2DBackpropInput and one extra Conv2DBackpropFilter of the largest layer per step.
 *
 * While a gradient is being recorded, these wrappers run the same maths unfused (the op, then the
 * bias add, then the activation: the path tfjs itself takes for non-linear activations under a
 * gradient), whose per-op gradients are computed only for the inputs on the path. Outside a
 * gradient (inference) the fused kernels run as before.
 */
import * as tf from '@tensorflow/tfjs-core';

type Activation = 'linear' | 'relu' | 'prelu' | 'elu' | 'relu6' | 'leakyrelu' | 'sigmoid';

function applyActivation(x: tf.Tensor, activation: Activation | undefined, prelu?: tf.Tensor, alpha?: number): tf.Tensor {
  switch (activation ?? 'linear') {
    case 'linear': return x;
    case 'relu': return tf.relu(x);
    case 'relu6': return tf.relu6(x);
    case 'elu': return tf.elu(x);
    case 'sigmoid': return tf.sigmoid(x);
    case 'leakyrelu': return tf.leakyRelu(x, alpha ?? 0.2);
    case 'prelu': return tf.prelu(x, prelu!);
    default: throw new Error(`unknown fused activation ${activation}`);
  }
}

const recording = () => (tf.engine().state as unknown as { gradientDepth: number }).gradientDepth > 0;

let installed = false;

export function installUnfusedGradients(): void {
  if (installed) return;
  installed = true;
  const fused = tf.fused as { conv2d: typeof tf.fused.conv2d; matMul: typeof tf.fused.matMul };
  const fusedConv2d = fused.conv2d;
  const fusedMatMul = fused.matMul;

  fused.conv2d = ((args: Parameters<typeof tf.fused.conv2d>[0]) => {
    if (!recording()) return fusedConv2d(args);
    const { x, filter, strides, pad, dataFormat, dilations, dimRoundingMode, bias, activation, preluActivationWeights, leakyreluAlpha } = args;
    let y: tf.Tensor = tf.conv2d(x as tf.Tensor4D, filter as tf.Tensor4D, strides, pad, dataFormat, dilations, dimRoundingMode);
    if (bias != null) y = tf.add(y, bias);
    return applyActivation(y, activation, preluActivationWeights as tf.Tensor | undefined, leakyreluAlpha);
  }) as typeof tf.fused.conv2d;

  fused.matMul = ((args: Parameters<typeof tf.fused.matMul>[0]) => {
    if (!recording()) return fusedMatMul(args);
    const { a, b, transposeA, transposeB, bias, activation, preluActivationWeights, leakyreluAlpha } = args;
    let y: tf.Tensor = tf.matMul(a, b, transposeA, transposeB);
    if (bias != null) y = tf.add(y, bias);
    return applyActivation(y, activation, preluActivationWeights as tf.Tensor | undefined, leakyreluAlpha);
  }) as typeof tf.fused.matMul;
}
