/** The cross-room decode batcher against a fake engine whose decodes the test completes by hand. */
import { describe, expect, it } from 'vitest';
import { createDecodeBatcher } from './decode-batcher';

function fakeEngine() {
  const calls: { modelId: string; count: number; finish(fail?: boolean): void }[] = [];
  return {
    calls,
    decode: (modelId: string, z: Float32Array, count: number) =>
      new Promise<{ pixels: Float32Array; shape: [number, number, number, number] }>((resolve, reject) => {
        calls.push({
          modelId,
          count,
          // 2 "pixels" per image: the first two values of its latent, times 10.
          finish: (fail) =>
            fail
              ? reject(new Error('engine crashed'))
              : resolve({
                  pixels: Float32Array.from({ length: count * 2 }, (_, i) => z[Math.floor(i / 2) * 2 + (i % 2)]! * 10),
                  shape: [count, 1, 2, 1],
                }),
        });
      }),
  };
}

const tick = () => new Promise((r) => setTimeout(r, 1));
const z = (a: number) => Float32Array.from([a, a + 0.5]);

describe('createDecodeBatcher', () => {
  it('sends an idle request at once, batches what arrives meanwhile, and routes each image to its requester', async () => {
    const engine = fakeEngine();
    const batcher = createDecodeBatcher(engine, { maxBatch: 3, maxWaitMs: 0 });
    const first = batcher.decode('m', z(1));
    await tick();
    expect(engine.calls.map((c) => c.count)).toEqual([1]);
    const more = [2, 3, 4, 5].map((a) => batcher.decode('m', z(a)));
    await tick();
    expect(engine.calls).toHaveLength(1); // the engine is busy: they wait
    engine.calls[0]!.finish();
    expect(Array.from((await first).pixels)).toEqual([10, 15]);
    await tick();
    expect(engine.calls.map((c) => c.count)).toEqual([1, 3]); // capped at maxBatch
    engine.calls[1]!.finish();
    await tick();
    engine.calls[2]!.finish();
    const images = await Promise.all(more);
    expect(images.map((im) => Array.from(im.pixels))).toEqual([
      [20, 25],
      [30, 35],
      [40, 45],
      [50, 55],
    ]);
    expect(images[0]!.shape).toEqual([1, 2, 1]);
    expect(batcher.batchSizes).toEqual([1, 3, 1]);
  });

  it('keeps models apart and fails only the batch the engine failed', async () => {
    const engine = fakeEngine();
    const batcher = createDecodeBatcher(engine, { maxBatch: 8, maxWaitMs: 0 });
    const a = batcher.decode('a', z(1));
    const b = batcher.decode('b', z(2));
    await tick();
    expect(engine.calls.map((c) => [c.modelId, c.count])).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
    engine.calls[0]!.finish(true);
    engine.calls[1]!.finish();
    await expect(a).rejects.toThrow('engine crashed');
    expect(Array.from((await b).pixels)).toEqual([20, 25]);
    // The failed model's queue still works.
    const again = batcher.decode('a', z(3));
    await tick();
    engine.calls[2]!.finish();
    expect(Array.from((await again).pixels)).toEqual([30, 35]);
  });

  it('waits up to maxWaitMs on an idle engine to gather a batch', async () => {
    const engine = fakeEngine();
    const batcher = createDecodeBatcher(engine, { maxBatch: 8, maxWaitMs: 30 });
    const reqs = [batcher.decode('m', z(1))];
    await tick();
    reqs.push(batcher.decode('m', z(2)));
    expect(engine.calls).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 50));
    expect(engine.calls.map((c) => c.count)).toEqual([2]);
    engine.calls[0]!.finish();
    await Promise.all(reqs);
  });
});
