/**
 * One-at-a-time sections per key (a room id): `run(key, fn)` starts `fn` after every earlier
 * holder of the same key has finished, whether it resolved or threw; different keys never wait
 * for each other. The map holds only keys with a holder or a waiter; `run.settle()` resolves once
 * there are none (shutdown).
 */
export function keyedLock() {
  const locks = new Map<string, Promise<void>>();
  async function run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = locks.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = previous.then(() => new Promise<void>((r) => (release = r)));
    locks.set(key, mine);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (locks.get(key) === mine) locks.delete(key);
    }
  }
  run.settle = async (): Promise<void> => {
    while (locks.size > 0) await Promise.all([...locks.values()]);
  };
  return run;
}
