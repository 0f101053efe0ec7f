/**
 * The engine worker through its client, as the realtime process uses it: a real worker_threads
 * Worker running the wasm backend with the project's kernels.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngineClient, engineHostKind, type LocalEngineClient } from '../../server/inference/engine-client';
import { BUILTIN_RANDOM_DCGAN_ID } from '../../server/inference/model-registry';
import { mulberry32, randomNormal } from '../../models/common/random';
import { encodePng } from '../../server/rooms/encode-frame';

const MODEL = BUILTIN_RANDOM_DCGAN_ID;
const LATENT = 64;

let engine: LocalEngineClient;
const rand = mulberry32(42);
const latents = (count: number) => randomNormal(count * LATENT, rand);

beforeAll(async () => {
  engine = await createEngineClient({ backend: 'wasm' });
});

afterAll(async () => {
  await engine?.close();
});

describe('engine worker (wasm, worker thread)', () => {
  it('starts on the requested backend in a worker thread and lists the built-in model honestly', async () => {
    expect(engine.hostKind).toBe('thread');
    expect(engine.info.backend).toBe('wasm');
    const models = await engine.models();
    expect(models.find((m) => m.id === MODEL)).toEqual({ id: MODEL, family: 'dcgan', latentDim: 64, numClasses: null, trained: false, imageShape: [28, 28, 1] });
    // The shipped pretrained models (models/pretrained) load with the engine, as trained models.
    expect(models.map((m) => m.id).sort()).toEqual(['cgan-mnist', 'dcgan-mnist', MODEL, 'vae-gan-mnist', 'vae-mnist', 'vae-shapes32', 'wgan-gp-mnist', 'wgan-mnist']);
    expect(models.find((m) => m.id === 'cgan-mnist')).toMatchObject({ family: 'cgan', latentDim: 64, numClasses: 10, trained: true, imageShape: [28, 28, 1] });
    expect(models.find((m) => m.id === 'vae-shapes32')).toMatchObject({ family: 'vae', latentDim: 10, numClasses: null, trained: true, imageShape: [32, 32, 3] });
    for (const m of models.filter((x) => x.trained)) expect(m.weightsHash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('decodes to [count, 28, 28, 1] pixels in [0, 1], the same for the same z', async () => {
    const z = latents(5);
    const again = z.slice();
    const { pixels, shape } = await engine.decode(MODEL, z, 5);
    expect(shape).toEqual([5, 28, 28, 1]);
    expect(pixels).toBeInstanceOf(Float32Array);
    expect(pixels.length).toBe(5 * 28 * 28);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of pixels) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThanOrEqual(1);
    expect(hi - lo).toBeGreaterThan(0.05); // an image, not a constant
    const second = await engine.decode(MODEL, again, 5);
    expect(second.pixels).toEqual(pixels);
    // Different latents, different images.
    const other = await engine.decode(MODEL, latents(5), 5);
    expect(other.pixels).not.toEqual(pixels);
  });

  it('transfers buffers: z is detached once sent, the pixels arrive in a buffer of their own', async () => {
    const z = latents(2);
    expect(z.byteLength).toBe(2 * LATENT * 4);
    const pending = engine.decode(MODEL, z, 2);
    expect(z.byteLength).toBe(0); // moved to the worker, not copied
    expect(z.buffer.byteLength).toBe(0);
    const { pixels } = await pending;
    expect(pixels.byteOffset).toBe(0);
    expect(pixels.buffer.byteLength).toBe(pixels.byteLength);

    // A view into a larger buffer is copied instead: moving it would detach the caller's other data.
    const big = new Float32Array(3 * LATENT).fill(0.25);
    const view = big.subarray(LATENT, 2 * LATENT);
    await engine.decode(MODEL, view, 1);
    expect(big.byteLength).toBe(3 * LATENT * 4);
    expect(big[0]).toBe(0.25);
  });

  it('decodePng: the same decode, as an 8-bit PNG made in the worker; z transferred; bad requests fail clearly', async () => {
    const z = latents(1);
    const { pixels } = await engine.decode(MODEL, z.slice(), 1);
    const pending = engine.decodePng(MODEL, z);
    expect(z.byteLength).toBe(0);
    const frame = await pending;
    expect(frame).toMatchObject({ width: 28, height: 28, channels: 1 });
    expect(Buffer.from(frame.data).equals(encodePng(pixels, 28, 28, 1))).toBe(true);
    expect(frame.data.buffer.byteLength).toBe(frame.data.byteLength); // a buffer of its own (transferred)
    await expect(engine.decodePng('no-such-model', latents(1))).rejects.toThrow(/unknown model id "no-such-model"/);
    await expect(engine.decodePng(MODEL, latents(2))).rejects.toThrow(/z/);
    await expect(engine.decodePng('cgan-mnist', latents(1))).rejects.toThrow(/class/);
    const seven = await engine.decodePng('cgan-mnist', latents(1), Int32Array.of(7));
    expect(seven.width).toBe(28);
  });

  it('rejects an unknown model, a wrong-length z, a bad count and non-finite values with clear errors', async () => {
    await expect(engine.decode('no-such-model', latents(1), 1)).rejects.toThrow(
      /decode: unknown model id "no-such-model" \(loaded: .*dcgan-mnist-random/,
    );
    await expect(engine.decode(MODEL, new Float32Array(63), 1)).rejects.toThrow(
      /z has 63 values but 1 latent\(s\) of model "dcgan-mnist-random" need 1 × 64 = 64/,
    );
    await expect(engine.decode(MODEL, new Float32Array(128), 1)).rejects.toThrow(/z has 128 values/);
    await expect(engine.decode(MODEL, new Float32Array(0), 0)).rejects.toThrow(/count must be an integer in \[1, 1024\], got 0/);
    await expect(engine.decode(MODEL, latents(1), 1.5)).rejects.toThrow(/count must be an integer/);
    const nan = latents(1);
    nan[7] = Number.NaN;
    await expect(engine.decode(MODEL, nan, 1)).rejects.toThrow(/z\[7\] is not a finite number/);
    // A conditional model needs a class per latent, within its classes.
    await expect(engine.decode('cgan-mnist', latents(1), 1)).rejects.toThrow(/"cgan-mnist" is conditional: each latent needs a class in \[0, 10\)/);
    await expect(engine.decode('cgan-mnist', latents(1), 1, Int32Array.of(10))).rejects.toThrow(/classes\[0\] is 10, not a class of model "cgan-mnist" \(0 to 9\)/);
    const seven = await engine.decode('cgan-mnist', latents(1), 1, Int32Array.of(7));
    const one = await engine.decode('cgan-mnist', latents(1), 1, Int32Array.of(1));
    expect(seven.shape).toEqual([1, 28, 28, 1]);
    expect(seven.pixels).not.toEqual(one.pixels);
    // The worker is still fine.
    expect((await engine.decode(MODEL, latents(1), 1)).shape).toEqual([1, 28, 28, 1]);
  });

  it('keeps tf.memory().numTensors flat in the worker over 50 decodes', async () => {
    await engine.decode(MODEL, latents(8), 8);
    const before = await engine.memory();
    for (let i = 0; i < 50; i++) await engine.decode(MODEL, latents(8), 8);
    const after = await engine.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numBytes).toBe(before.numBytes);
  });

  it('runs DCGAN training steps on MNIST in the worker without leaking tensors', async () => {
    const r = await engine.trainSteps({ family: 'dcgan', steps: 3, batchSize: 8, seed: 5 });
    expect(r.backend).toBe('wasm');
    expect(r.dLoss).toHaveLength(3);
    expect([...r.dLoss, ...r.gLoss].every(Number.isFinite)).toBe(true);
    expect(r.numTensorsAfter).toBe(r.numTensorsBefore);
    await expect(engine.trainSteps({ family: 'dcgan', steps: 0, batchSize: 8, seed: 5 })).rejects.toThrow(/steps must be an integer/);
  });
});

describe('dynamic batching in the engine host (SPEC F3)', () => {
  it('decodes requests that wait together as one call, and each caller gets the images of its own latents', async () => {
    // A long idle wait makes the grouping certain: all requests below are posted in one turn.
    const batched = await createEngineClient({ backend: 'wasm', decodeBatch: { maxBatch: 5, maxWaitMs: 500 } });
    try {
      const zs = Array.from({ length: 8 }, () => latents(1));
      const singles: Float32Array[] = [];
      for (const z of zs) singles.push((await engine.decode(MODEL, z.slice(), 1)).pixels);
      const before = await batched.decodeStats();
      const results = await Promise.all(zs.map((z) => batched.decodeTimed(MODEL, z, 1)));
      expect(results.map((r) => r.batch)).toEqual([5, 5, 5, 5, 5, 3, 3, 3]);
      const after = await batched.decodeStats();
      expect(after.batches - before.batches).toBe(2);
      expect(after.latents - before.latents).toBe(8);
      // Batched, each image is the one its latent gives alone (bit for bit).
      results.forEach((r, i) => {
        expect(r.shape).toEqual([1, 28, 28, 1]);
        expect(r.pixels).toEqual(singles[i]);
      });
      // A bad request fails alone, on arrival, and does not hold up or break the others.
      const mixed = await Promise.allSettled([
        batched.decode(MODEL, latents(1), 1),
        batched.decode(MODEL, new Float32Array(63), 1),
        batched.decode(MODEL, latents(1), 1, Int32Array.of(1, 2)),
        batched.decode(MODEL, latents(1), 1),
      ]);
      expect(mixed.map((m) => m.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      expect(String((mixed[2] as PromiseRejectedResult).reason)).toMatch(/classes has 2 labels but count is 1/);
      // Batches leave no tensors behind.
      const settled = await batched.memory();
      await Promise.all(Array.from({ length: 12 }, () => batched.decode(MODEL, latents(1), 1)));
      expect((await batched.memory()).numTensors).toBe(settled.numTensors);
    } finally {
      await batched.close();
    }
  });
});

describe('engine child process (the native backends\' transport, here with wasm)', () => {
  it('decodes over IPC with the same contract: shape, range, z detached, clear errors, no leaks', async () => {
    const child = await createEngineClient({ backend: 'wasm', host: 'process' });
    try {
      expect(child.hostKind).toBe('process');
      expect(child.info.backend).toBe('wasm');
      const z = latents(3);
      const copy = z.slice();
      const pending = child.decode(MODEL, z, 3);
      expect(z.byteLength).toBe(0);
      const { pixels, shape } = await pending;
      expect(shape).toEqual([3, 28, 28, 1]);
      expect(pixels.every((v) => v >= 0 && v <= 1)).toBe(true);
      // The same model and weights as in a worker thread.
      expect((await engine.decode(MODEL, copy, 3)).pixels).toEqual(pixels);
      await expect(child.decode('nope', latents(1), 1)).rejects.toThrow(/unknown model id "nope"/);
      const zPng = latents(1);
      const expected = encodePng((await engine.decode(MODEL, zPng.slice(), 1)).pixels, 28, 28, 1);
      expect(Buffer.from((await child.decodePng(MODEL, zPng)).data).equals(expected)).toBe(true);
      const before = await child.memory();
      for (let i = 0; i < 10; i++) await child.decode(MODEL, latents(4), 4);
      expect((await child.memory()).numTensors).toBe(before.numTensors);
    } finally {
      await child.close();
    }
    await expect(child.models()).rejects.toThrow(/engine client closed/);
  });

  it('refuses to run a native backend in a thread', async () => {
    await expect(createEngineClient({ backend: 'tensorflow', host: 'thread' })).rejects.toThrow(/cannot run in a worker thread/);
  });
});

describe('engine host failures', () => {
  it('runs native backends in a child process and fails clearly when tfjs-node is not installed', async () => {
    expect(engineHostKind('tensorflow')).toBe('process');
    expect(engineHostKind('tensorflow-gpu')).toBe('process');
    expect(engineHostKind('wasm')).toBe('thread');
    expect(engineHostKind('cpu')).toBe('thread');
    await expect(createEngineClient({ backend: 'tensorflow' })).rejects.toThrow(
      /engine child process did not start: TF_BACKEND=tensorflow could not be loaded: Cannot find package '@tensorflow\/tfjs-node'.*unset TF_BACKEND or choose wasm/s,
    );
  });

  it.each([
    ['thread', /engine worker crashed: crash requested by a test/],
    ['process', /engine child process exited \(code 1\): Error: crash requested by a test/],
  ] as const)('rejects pending and later requests when the engine %s crashes', async (host, reason) => {
    const doomed = await createEngineClient({ backend: 'cpu', host, testHooks: true });
    const crash = doomed.crashForTest();
    const queued = doomed.memory(); // answered after the crash request, so never
    await expect(crash).rejects.toThrow(reason);
    await expect(queued).rejects.toThrow(reason);
    await expect(doomed.models()).rejects.toThrow(reason);
    await doomed.close();
  });

  it('refuses the crash hook without testHooks, and rejects requests after close', async () => {
    const c = await createEngineClient({ backend: 'cpu' });
    await expect(c.crashForTest()).rejects.toThrow(/crash is only available with test hooks/);
    await c.close();
    await expect(c.memory()).rejects.toThrow(/memory: engine client closed/);
  });
});
