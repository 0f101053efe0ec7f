/** SPEC E7: the token bucket under a fake clock. */
import { describe, expect, it } from 'vitest';
import { createTokenBucket } from './rate-limit';

describe('createTokenBucket', () => {
  it('allows a burst of capacity, then refills at the given rate, never above capacity', () => {
    let t = 0;
    const bucket = createTokenBucket({ capacity: 3, refillPerSecond: 2, now: () => t });
    expect([1, 2, 3, 4].map(() => bucket.take())).toEqual([true, true, true, false]);
    t += 499;
    expect(bucket.take()).toBe(false); // 0.998 tokens
    t += 1;
    expect(bucket.take()).toBe(true);
    expect(bucket.take()).toBe(false);
    t += 60_000;
    expect([1, 2, 3, 4].map(() => bucket.take())).toEqual([true, true, true, false]);
  });
});
