/**
 * Newest-only work: `request(v)` runs `work(v)` now if idle; while a run is in flight, further
 * requests only replace the value to run next, so at most one more run follows, with the latest
 * value. This is how a room renders only its newest version (SPEC F1).
 */
export interface Coalescer<T> {
  request(value: T): void;
  /** Resolves when no run is in flight and none is queued. */
  idle(): Promise<void>;
}

export function coalesce<T>(work: (value: T) => Promise<void>, onError: (err: unknown) => void): Coalescer<T> {
  let queued: { value: T } | undefined;
  let running: Promise<void> | undefined;

  async function loop(): Promise<void> {
    while (queued) {
      const { value } = queued;
      queued = undefined;
      try {
        await work(value);
      } catch (err) {
        onError(err);
      }
    }
    running = undefined;
  }

  return {
    request(value) {
      queued = { value };
      running ??= loop();
    },
    async idle() {
      while (running) await running;
    },
  };
}
