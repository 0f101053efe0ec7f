/**
 * Per-socket token buckets (SPEC E7): a socket may burst up to `capacity` requests, then
 * `refillPerSecond` on average. Requests over the limit are refused with `rate-limited` (acked
 * requests) or dropped (pointers) before their payload is even parsed.
 */

export interface TokenBucket {
  /** Takes one token if there is one. */
  take(): boolean;
}

export function createTokenBucket(opts: { capacity: number; refillPerSecond: number; now?: () => number }): TokenBucket {
  const now = opts.now ?? (() => performance.now());
  let tokens = opts.capacity;
  let last = now();
  return {
    take() {
      const t = now();
      tokens = Math.min(opts.capacity, tokens + ((t - last) / 1000) * opts.refillPerSecond);
      last = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}

/** Limits per socket, by traffic class (the request budget is configurable: RATE_LIMIT_OPS_*). */
export const RATE_LIMITS = {
  /** Acked requests (ops, joins, bookmarks), defaults: the benchmark's 30 ops/s per member fits twice over. */
  request: { capacity: 120, refillPerSecond: 60 },
  /** Room creation writes three rows and mints tokens: a few, then one per 10 s. */
  create: { capacity: 5, refillPerSecond: 0.1 },
  /** Pointers beyond what the 30 Hz relay could use are dropped. */
  pointer: { capacity: 60, refillPerSecond: 60 },
} as const;
