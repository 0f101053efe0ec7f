/**
 * The engine host's dynamic batcher (SPEC F3) against a fake synchronous decode and a fake
 * engine queue whose other requests the test holds open by hand.
 */
import { describe, expect, it } from 'vitest';
import { createDecodeBatcher, type DecodeBatchOptions, type DecodeFn } from './decode-batcher';

/** 2 "pixels" per image: its latent's two values times 10, plus its class label if given. */
function fakeEngine(options: DecodeBatchOptions) {
  const calls: { modelId: string; count: number; classes: number[] | undefined }[] = [];
  let failNext = false;
  let queue: Promise<unknown> = Promise.resolve();
  const decode: DecodeFn = (modelId, z, count, classes) => {
    calls.push({ modelId, count, classes: classes && Array.from(classes) });
    if (failNext) {
      failNext = false;
      throw new Error('engine failed');
    }
    return {
      pixels: Float32Array.from({ length: count * 2 }, (_, i) => z[i]! * 10 + (classes?.[Math.floor(i / 2)] ?? 0)),
      imageShape: [1, 2, 1],
    };
  };
  const exclusive = (task: () => void) => {
    const run = queue.then(task);
    queue = run.catch(() => undefined);
    return run;
  };
  /** Occupies the engine until the returned function is called (a training request, say). */
  const hold = () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    void exclusive(() => held as unknown as void);
    return release;
  };
  const batcher = createDecodeBatcher({ decode, exclusive, options });
  return { batcher, calls, hold, failOnce: () => (failNext = true) };
}

const z = (a: number) => Float32Array.from([a, a + 0.5]);
const turn = () => new Promise((r) => setImmediate(r));

describe('decode batcher (engine host)', () => {
  it('decodes an idle request in the next turn, alone: no added wait at low load', async () => {
    const e = fakeEngine({ maxBatch: 8, maxWaitMs: 0 });
    const image = await e.batcher.submit({ modelId: 'm', z: z(1), count: 1 });
    expect(e.calls.map((c) => c.count)).toEqual([1]);
    expect(Array.from(image.pixels)).toEqual([10, 15]);
    expect(image).toMatchObject({ shape: [1, 1, 2, 1], batch: 1 });
  });

  it('gathers what arrives while the engine is busy into batches of at most maxBatch latents, each requester getting its own images', async () => {
    const e = fakeEngine({ maxBatch: 3, maxWaitMs: 0 });
    const release = e.hold();
    const jobs = [1, 2, 3, 4, 5].map((a) => e.batcher.submit({ modelId: 'm', z: z(a), count: 1 }));
    await turn();
    await turn();
    expect(e.calls).toEqual([]); // the engine is busy: they wait
    release();
    const images = await Promise.all(jobs);
    expect(e.calls.map((c) => c.count)).toEqual([3, 2]);
    expect(images.map((im) => Array.from(im.pixels))).toEqual([
      [10, 15],
      [20, 25],
      [30, 35],
      [40, 45],
      [50, 55],
    ]);
    expect(images.map((im) => im.batch)).toEqual([3, 3, 3, 2, 2]);
    // Each job owns its buffer (the host transfers it alone).
    expect(images[1]!.pixels.buffer).not.toBe(images[0]!.pixels.buffer);
    expect(e.batcher.stats()).toEqual({ batches: 2, jobs: 5, latents: 5 });
  });

  it('counts latents, not requests, and sends a job larger than maxBatch on its own', async () => {
    const e = fakeEngine({ maxBatch: 4, maxWaitMs: 0 });
    const release = e.hold();
    const big = e.batcher.submit({ modelId: 'm', z: Float32Array.from([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]), count: 6 });
    const a = e.batcher.submit({ modelId: 'm', z: Float32Array.from([7, 7, 8, 8]), count: 2 });
    const b = e.batcher.submit({ modelId: 'm', z: z(9), count: 1 });
    release();
    const [bigImages, aImages, bImages] = await Promise.all([big, a, b]);
    expect(e.calls.map((c) => c.count)).toEqual([6, 3]);
    expect(bigImages.shape).toEqual([6, 1, 2, 1]);
    expect(Array.from(aImages.pixels)).toEqual([70, 70, 80, 80]);
    expect(Array.from(bImages.pixels)).toEqual([90, 95]);
  });

  it('keeps models apart, and requests with class labels apart from those without', async () => {
    const e = fakeEngine({ maxBatch: 8, maxWaitMs: 0 });
    const release = e.hold();
    const jobs = [
      e.batcher.submit({ modelId: 'a', z: z(1), count: 1 }),
      e.batcher.submit({ modelId: 'b', z: z(2), count: 1 }),
      e.batcher.submit({ modelId: 'c', z: z(3), count: 1, classes: Int32Array.of(7) }),
      e.batcher.submit({ modelId: 'c', z: z(4), count: 1 }),
      e.batcher.submit({ modelId: 'c', z: z(5), count: 1, classes: Int32Array.of(2) }),
      e.batcher.submit({ modelId: 'a', z: z(6), count: 1 }),
    ];
    release();
    const images = await Promise.all(jobs);
    expect(e.calls.map((c) => [c.modelId, c.count, c.classes])).toEqual([
      ['a', 2, undefined],
      ['b', 1, undefined],
      ['c', 2, [7, 2]],
      ['c', 1, undefined],
    ]);
    expect(images.map((im) => Array.from(im.pixels))).toEqual([
      [10, 15],
      [20, 25],
      [37, 42],
      [40, 45],
      [52, 57],
      [60, 65],
    ]);
  });

  it('fails only the batch whose decode failed; the next batch of that model works', async () => {
    const e = fakeEngine({ maxBatch: 8, maxWaitMs: 0 });
    e.failOnce();
    const failed = [e.batcher.submit({ modelId: 'm', z: z(1), count: 1 }), e.batcher.submit({ modelId: 'm', z: z(2), count: 1 })];
    for (const f of failed) await expect(f).rejects.toThrow('engine failed');
    expect(Array.from((await e.batcher.submit({ modelId: 'm', z: z(3), count: 1 })).pixels)).toEqual([30, 35]);
    expect(e.calls.map((c) => c.count)).toEqual([2, 1]);
  });

  it('waits up to maxWaitMs on an idle engine to gather a batch, and not once the batch is full', async () => {
    const e = fakeEngine({ maxBatch: 3, maxWaitMs: 10_000 });
    const first = e.batcher.submit({ modelId: 'm', z: z(1), count: 1 });
    await new Promise((r) => setTimeout(r, 20));
    expect(e.calls).toEqual([]); // waiting for company
    const rest = [e.batcher.submit({ modelId: 'm', z: z(2), count: 1 }), e.batcher.submit({ modelId: 'm', z: z(3), count: 1 })];
    await Promise.all([first, ...rest]); // full: goes without waiting out the 10 s
    expect(e.calls.map((c) => c.count)).toEqual([3]);

    const short = fakeEngine({ maxBatch: 8, maxWaitMs: 30 });
    const reqs = [short.batcher.submit({ modelId: 'm', z: z(1), count: 1 })];
    await new Promise((r) => setTimeout(r, 5));
    reqs.push(short.batcher.submit({ modelId: 'm', z: z(2), count: 1 }));
    await Promise.all(reqs);
    expect(short.calls.map((c) => c.count)).toEqual([2]);
  });

  it('refuses a batch size below 1', () => {
    expect(() => fakeEngine({ maxBatch: 0, maxWaitMs: 0 })).toThrow(/maxBatch/);
  });
});
