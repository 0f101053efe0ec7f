/**
 * Shared by every family's builders and configs: PyTorch's default initialisation (so that our
 * models start from the distribution the PyTorch peer does) and the one way a config error reads.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import type { z } from 'zod';
import type { ImageShape } from './family';

type Initializer = ReturnType<typeof tfl.initializers.varianceScaling>;

/**
 * PyTorch's default initialisers for a layer whose weight has this fan-in: weights U(±1/√fan_in)
 * (kaiming_uniform with a = √5, which is variance scaling 1/3, fan-in, uniform) and biases
 * U(±1/√fan_in), seeded (the bias with seed + 1).
 */
export function torchInit(fanIn: number, seed: number): { kernelInitializer: Initializer; biasInitializer: Initializer } {
  const bound = 1 / Math.sqrt(fanIn);
  return {
    kernelInitializer: tfl.initializers.varianceScaling({ scale: 1 / 3, mode: 'fanIn', distribution: 'uniform', seed }),
    biasInitializer: tfl.initializers.randomUniform({ minval: -bound, maxval: bound, seed: seed + 1 }),
  };
}

/**
 * Parses a family config with `schema` after checking the data set's image shape with
 * `shapeProblem`; throws one Error naming every bad field (`unknown field x`, `lr: ...`).
 */
export function parseConfigWith<S extends z.ZodType>(
  family: string,
  schema: S,
  raw: unknown,
  dataset: { name: string; imageShape: ImageShape },
  shapeProblem: (shape: ImageShape) => string | undefined | null,
): z.output<S> {
  const problem = shapeProblem(dataset.imageShape);
  if (problem) throw new Error(`${family}: data set ${dataset.name}: ${problem}`);
  const result = schema.safeParse(raw ?? {});
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const path = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `${path ? `${path}.` : ''}${k}`).join(', ')}`;
      }
      return `${path || '(config)'}: ${issue.message}`;
    });
    throw new Error(`${family} config: ${lines.join('; ')}`);
  }
  return result.data;
}
