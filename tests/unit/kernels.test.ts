/**
 * Numerical parity of the project's wasm kernels against the cpu backend (the reference).
 *
 * Random shapes as the engine issue sets them: batch 1-64, channels 1-128, kernel 1-5, stride 1-2,
 * same and valid padding, odd sizes. Sizes are drawn so each case stays small enough for the
 * naive cpu kernels. Every comparison is norm-relative: max |wasm - cpu| / max |cpu| <= 1e-4.
 */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initEngine, releaseSecondCore, useSecondCore } from '../../server/inference/engine';
import { mulberry32 as rng } from '../../lib/latent/random';

const REL_TOL = 1e-4;

function randomArray(rand: () => number, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rand() * 2 - 1;
  return a;
}

/** Runs `f` on wasm and on cpu with the same inputs; returns the norm-relative difference. */
async function compare(f: () => tf.Tensor | tf.Tensor[]): Promise<number> {
  const run = async (backend: string) => {
    await tf.setBackend(backend);
    const out = tf.tidy(f);
    const list = Array.isArray(out) ? out : [out];
    const values = list.map((t) => t.dataSync().slice() as Float32Array);
    tf.dispose(list);
    return values;
  };
  const wasm = await run('wasm');
  const cpu = await run('cpu');
  await tf.setBackend('wasm');
  let worst = 0;
  cpu.forEach((ref, k) => {
    const got = wasm[k]!;
    expect(got.length).toBe(ref.length);
    let maxDiff = 0;
    let maxRef = 1e-12;
    for (let i = 0; i < ref.length; i++) {
      if (!Number.isFinite(got[i]!)) return (worst = Infinity);
      maxDiff = Math.max(maxDiff, Math.abs(got[i]! - ref[i]!));
      maxRef = Math.max(maxRef, Math.abs(ref[i]!));
    }
    worst = Math.max(worst, maxDiff / maxRef);
  });
  return worst;
}

interface ConvCase {
  batch: number; h: number; w: number; ci: number; co: number; k: number; stride: number; pad: 'same' | 'valid';
}

/** Random conv cases; the product of sizes is capped so the cpu reference stays quick. */
function convCases(seed: number, count: number): ConvCase[] {
  const rand = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const cases: ConvCase[] = [];
  while (cases.length < count) {
    const c: ConvCase = {
      batch: int(1, 64), h: int(1, 17), w: int(1, 17), ci: int(1, 128), co: int(1, 128),
      k: int(1, 5), stride: int(1, 2), pad: rand() < 0.5 ? 'same' : 'valid',
    };
    if (c.pad === 'valid' && (c.h < c.k || c.w < c.k)) continue;
    const work = c.batch * c.h * c.w * c.ci * c.co * c.k * c.k;
    if (work > 1e7) continue;
    cases.push(c);
  }
  // The layer shapes of the DCGAN the engine benchmark mirrors (at a smaller batch, for the cpu
  // reference's sake), and extremes of each range.
  cases.push({ batch: 4, h: 14, w: 14, ci: 64, co: 128, k: 4, stride: 2, pad: 'same' });
  cases.push({ batch: 64, h: 28, w: 28, ci: 1, co: 64, k: 4, stride: 2, pad: 'same' });
  cases.push({ batch: 1, h: 5, w: 3, ci: 128, co: 1, k: 5, stride: 1, pad: 'same' });
  cases.push({ batch: 3, h: 9, w: 11, ci: 7, co: 5, k: 1, stride: 1, pad: 'valid' });
  // Valid padding whose sizes do not divide by the stride: the im2col / col2im fallback paths.
  cases.push({ batch: 3, h: 10, w: 10, ci: 5, co: 6, k: 3, stride: 2, pad: 'valid' });
  cases.push({ batch: 2, h: 9, w: 12, ci: 4, co: 3, k: 2, stride: 2, pad: 'valid' });
  return cases;
}

const describeCase = (c: ConvCase) =>
  `x[${c.batch},${c.h},${c.w},${c.ci}] k${c.k} s${c.stride} ${c.pad} -> ${c.co}`;

beforeAll(async () => {
  const info = await initEngine('wasm');
  expect(info.customKernels).toEqual(
    expect.arrayContaining(['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'UnsortedSegmentSum', 'BatchMatMul']),
  );
});

describe('wasm conv2d gradient kernels match the cpu backend', () => {
  const cases = convCases(20261122, 30);
  for (const c of cases) {
    it(`Conv2DBackpropFilter and Conv2DBackpropInput, ${describeCase(c)}`, async () => {
      const rand = rng(c.batch * 1000 + c.ci * 7 + c.co);
      const xShape: [number, number, number, number] = [c.batch, c.h, c.w, c.ci];
      const wShape: [number, number, number, number] = [c.k, c.k, c.ci, c.co];
      const xData = randomArray(rand, xShape.reduce((a, b) => a * b));
      const wData = randomArray(rand, wShape.reduce((a, b) => a * b));
      const yShape = tf.tidy(() => tf.conv2d(tf.zeros(xShape) as tf.Tensor4D, tf.zeros(wShape) as tf.Tensor4D, c.stride, c.pad).shape);
      const dyData = randomArray(rand, yShape.reduce((a, b) => a * b));
      const diff = await compare(() => {
        const x = tf.tensor4d(xData, xShape);
        const w = tf.tensor4d(wData, wShape);
        const dy = tf.tensor4d(dyData, yShape as [number, number, number, number]);
        return [
          tf.conv2d(x, w, c.stride, c.pad),
          // The kernels themselves, called as the conv2d gradient and conv2dTranspose call them.
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
            strides: [c.stride, c.stride], pad: c.pad, dataFormat: 'NHWC', filterShape: wShape,
          }) as tf.Tensor,
          tf.conv2dTranspose(dy, w, xShape, c.stride, c.pad),
        ];
      });
      expect(diff).toBeLessThanOrEqual(REL_TOL);
    });
  }
});

describe('wasm UnsortedSegmentSum matches the cpu backend', () => {
  it('random segment ids (some out of range, which are dropped), float rows', async () => {
    const rand = rng(7);
    for (const [rows, inner, segments] of [[1, 1, 1], [50, 3, 7], [300, 17, 40], [64, 128, 10]] as const) {
      const x = randomArray(rand, rows * inner);
      const ids = Int32Array.from({ length: rows }, () => Math.floor(rand() * (segments + 2)) - 1);
      const diff = await compare(() => tf.unsortedSegmentSum(tf.tensor2d(x, [rows, inner]), tf.tensor1d(ids, 'int32'), segments));
      expect(diff).toBeLessThanOrEqual(REL_TOL);
    }
  });

  it('is the gradient of gather (embedding lookups)', async () => {
    const rand = rng(8);
    const table = randomArray(rand, 10 * 6);
    const idx = Int32Array.from({ length: 25 }, () => Math.floor(rand() * 10));
    const diff = await compare(() =>
      tf.grad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, tf.tensor1d(idx, 'int32')))))(tf.tensor2d(table, [10, 6])),
    );
    expect(diff).toBeLessThanOrEqual(REL_TOL);
  });
});

describe('wasm matMul with transposed operands matches the cpu backend', () => {
  it('all four transpose combinations, batched and broadcast, fused with bias and activation', async () => {
    const rand = rng(9);
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      for (const [batch, m, k, n] of [[1, 1, 1, 1], [1, 37, 19, 23], [3, 64, 129, 17], [2, 5, 300, 7]] as const) {
        const a = randomArray(rand, batch * m * k);
        const b = randomArray(rand, batch * k * n);
        const bias = randomArray(rand, n);
        const aShape = ta ? [batch, k, m] : [batch, m, k];
        const bShape = tb ? [batch, n, k] : [batch, k, n];
        const diff = await compare(() => {
          const A = tf.tensor3d(a, aShape as [number, number, number]);
          const B = tf.tensor3d(b, bShape as [number, number, number]);
          return [
            tf.matMul(A, B, ta, tb),
            tf.fused.matMul({ a: A, b: B, transposeA: ta, transposeB: tb, bias: tf.tensor1d(bias), activation: 'relu' }),
          ];
        });
        expect(diff, `ta=${ta} tb=${tb} [${batch},${m},${k},${n}]`).toBeLessThanOrEqual(REL_TOL);
      }
    }
  });
});

describe('whole-model gradients of a small conv net match the cpu backend', () => {
  it('conv → leakyRelu → transposed conv → dense, gradients w.r.t. every weight and the input', async () => {
    const rand = rng(10);
    const x = randomArray(rand, 8 * 12 * 12 * 3);
    const w1 = randomArray(rand, 3 * 3 * 3 * 16);
    const w2 = randomArray(rand, 4 * 4 * 8 * 16);
    const w3 = randomArray(rand, 12 * 12 * 8 * 4);
    const b3 = randomArray(rand, 4);
    const diff = await compare(() => {
      const vars = [
        tf.tensor4d(x, [8, 12, 12, 3]),
        tf.tensor4d(w1, [3, 3, 3, 16]),
        tf.tensor4d(w2, [4, 4, 8, 16]),
        tf.tensor2d(w3, [12 * 12 * 8, 4]),
        tf.tensor1d(b3),
      ];
      const loss = (...[xi, k1, k2, k3, bias]: tf.Tensor[]) => {
        const h1 = tf.leakyRelu(tf.conv2d(xi as tf.Tensor4D, k1 as tf.Tensor4D, 2, 'same'), 0.2); // [8,6,6,16]
        const h2 = tf.tanh(tf.conv2dTranspose(h1, k2 as tf.Tensor4D, [8, 12, 12, 8], 2, 'same'));
        const logits = tf.add(tf.matMul(tf.reshape(h2, [8, -1]), k3 as tf.Tensor2D), bias!);
        return tf.mean(tf.square(logits)) as tf.Scalar;
      };
      return tf.grads(loss)(vars);
    });
    expect(diff).toBeLessThanOrEqual(REL_TOL);
  });
});

describe('wasm Tile, channel reductions and the LeakyReLU gradient match the cpu backend', () => {
  it('Tile over ranks 1-4, float32, int32 and bool', async () => {
    const rand = rng(11);
    for (const [shape, reps] of [[[5], [3]], [[1, 1, 1, 64], [8, 5, 5, 1]], [[2, 3], [4, 1]], [[3, 1, 2], [1, 7, 2]], [[1, 300], [9, 1]]] as const) {
      const n = (shape as readonly number[]).reduce((a, b) => a * b, 1);
      const data = randomArray(rand, n);
      const diff = await compare(() => {
        const x = tf.tensor(data, [...shape]);
        return [tf.tile(x, [...reps]), tf.cast(tf.tile(tf.cast(tf.mul(x, 10), 'int32'), [...reps]), 'float32'),
          tf.cast(tf.tile(tf.greater(x, 0), [...reps]), 'float32')];
      });
      expect(diff, `${shape} x ${reps}`).toBeLessThanOrEqual(REL_TOL);
    }
  });

  it('Sum and Mean over every axis but the last, with and without keepDims, and other axes', async () => {
    const rand = rng(12);
    const data = randomArray(rand, 6 * 5 * 7 * 9);
    const diff = await compare(() => {
      const x = tf.tensor4d(data, [6, 5, 7, 9]);
      return [tf.sum(x, [0, 1, 2]), tf.mean(x, [0, 1, 2], true), tf.sum(tf.reshape(x, [210, 9]), 0),
        tf.mean(x, [2, 1, 0]), tf.sum(x, [1, 2]), tf.mean(x, -1), tf.sum(x)];
    });
    expect(diff).toBeLessThanOrEqual(REL_TOL);
  });

  it('LeakyReLU forward (PReLU on wasm) for several slopes and ranks', async () => {
    const rand = rng(15);
    const data = randomArray(rand, 4 * 7 * 7 * 12);
    const diff = await compare(() => {
      const x = tf.tensor4d(data, [4, 7, 7, 12]);
      return [tf.leakyRelu(x, 0.2), tf.leakyRelu(x, 0.3), tf.leakyRelu(tf.reshape(x, [196, 12]), 0.01),
        tf.leakyRelu(tf.reshape(x, [-1]), 1.5), tf.leakyRelu(x, -0.5), tf.leakyRelu(tf.scalar(-2), 0.2)];
    });
    expect(diff).toBeLessThanOrEqual(REL_TOL);
  });

  it('the LeakyReLU gradient the engine registers equals where(x > 0, dy, alpha·dy)', async () => {
    // The replacement gradient is global (both backends use it), so check it against the formula.
    const rand = rng(16);
    const xData = randomArray(rand, 500);
    const dyData = randomArray(rand, 500);
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      const [got, want] = tf.tidy(() => {
        const x = tf.tensor1d(xData);
        const dy = tf.tensor1d(dyData);
        const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.leakyRelu(v, 0.3), dy)))(x);
        return [g.dataSync().slice(), tf.where(tf.greater(x, 0), dy, tf.mul(dy, 0.3)).dataSync().slice()];
      });
      expect(Array.from(got!)).toEqual(Array.from(want!));
    }
    await tf.setBackend('wasm');
  });

  it('LeakyReLU gradient, and the gradient of that gradient (the WGAN-GP penalty path)', async () => {
    const rand = rng(13);
    const xData = randomArray(rand, 4 * 6 * 6 * 3);
    const wData = randomArray(rand, 3 * 3 * 3 * 5);
    const diff = await compare(() => {
      const w = tf.tensor4d(wData, [3, 3, 3, 5]);
      const critic = (x: tf.Tensor) => tf.sum(tf.leakyRelu(tf.conv2d(x as tf.Tensor4D, w, 1, 'same'), 0.2));
      const x = tf.tensor4d(xData, [4, 6, 6, 3]);
      const gradX = tf.grad(critic);
      // d/dw of the squared norm of d critic / d x: a gradient of a gradient.
      const penaltyGradW = tf.grad((wv: tf.Tensor) => {
        const g = tf.grad((xv: tf.Tensor) => tf.sum(tf.leakyRelu(tf.conv2d(xv as tf.Tensor4D, wv as tf.Tensor4D, 1, 'same'), 0.2)))(x);
        return tf.sum(tf.square(g));
      })(w);
      return [gradX(x), penaltyGradW];
    });
    expect(diff).toBeLessThanOrEqual(REL_TOL);
  });

  it('fused conv2d and matMul (as tfjs-layers calls them) give the same gradients as on cpu', async () => {
    const rand = rng(14);
    const xData = randomArray(rand, 3 * 8 * 8 * 2);
    const wData = randomArray(rand, 3 * 3 * 2 * 4);
    const bData = randomArray(rand, 4);
    const dData = randomArray(rand, 4 * 4 * 4 * 3);
    const diff = await compare(() =>
      tf.grads((...[x, w, b, d]: tf.Tensor[]) => {
        const h = tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 2, pad: 'same', bias: b, activation: 'relu' });
        const y = tf.fused.matMul({ a: tf.reshape(h, [3, 64]), b: d as tf.Tensor2D, bias: tf.ones([3]), activation: 'leakyrelu', leakyreluAlpha: 0.1 });
        return tf.sum(tf.square(y));
      })([tf.tensor4d(xData, [3, 8, 8, 2]), tf.tensor4d(wData, [3, 3, 2, 4]), tf.tensor1d(bData), tf.tensor2d(dData, [64, 3])]),
    );
    expect(diff).toBeLessThanOrEqual(REL_TOL);
  });

  it('kernels leak no tensors and no backend buffers', async () => {
    await tf.setBackend('wasm');
    const x = tf.randomNormal([4, 9, 9, 8]) as tf.Tensor4D;
    const w = tf.randomNormal([4, 4, 8, 6]) as tf.Tensor4D;
    const step = () => tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.leakyRelu(tf.conv2dTranspose(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'), b as tf.Tensor4D, [4, 9, 9, 8], 2, 'same'), 0.2)))([x, w]));
    tf.dispose(step());
    const before = tf.memory();
    const buffersBefore = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    for (let i = 0; i < 20; i++) tf.dispose(step());
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(buffersBefore);
    tf.dispose([x, w]);
  });
});

describe('batch split across two threads (useSecondCore) gives the one-thread results', () => {
  it('Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter on the DCGAN layer, even and odd batches', async () => {
    await tf.setBackend('wasm');
    const rand = rng(17);
    for (const batch of [64, 63]) {
      const xData = randomArray(rand, batch * 14 * 14 * 64);
      const dyData = randomArray(rand, batch * 7 * 7 * 128);
      const wData = randomArray(rand, 4 * 4 * 64 * 128);
      const run = () => tf.tidy(() => {
        const x = tf.tensor4d(xData, [batch, 14, 14, 64]);
        const dy = tf.tensor4d(dyData, [batch, 7, 7, 128]);
        const w = tf.tensor4d(wData, [4, 4, 64, 128]);
        return [
          tf.conv2d(x, w, 2, 'same'),
          tf.conv2dTranspose(dy, w, [batch, 14, 14, 64], 2, 'same'),
          tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
            strides: [2, 2], pad: 'same', dataFormat: 'NHWC', filterShape: [4, 4, 64, 128],
          }) as tf.Tensor,
        ].map((t) => t.dataSync().slice() as Float32Array);
      });
      const one = run();
      expect(await useSecondCore()).toBe(2);
      const tensorsBefore = tf.memory().numTensors;
      const two = run();
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      await releaseSecondCore();
      // Per-image kernels are bit-identical; the filter gradient sums two halves in another order.
      expect(Array.from(two[0]!)).toEqual(Array.from(one[0]!));
      expect(Array.from(two[1]!)).toEqual(Array.from(one[1]!));
      let maxDiff = 0;
      let maxRef = 0;
      one[2]!.forEach((v, i) => {
        maxDiff = Math.max(maxDiff, Math.abs(v - two[2]![i]!));
        maxRef = Math.max(maxRef, Math.abs(v));
      });
      expect(maxDiff / maxRef).toBeLessThanOrEqual(REL_TOL);
    }
  });
});
