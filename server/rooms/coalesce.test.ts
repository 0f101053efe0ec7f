/** SPEC F1: renders are coalesced, only the newest requested value runs after the one in flight. */
import { describe, expect, it } from 'vitest';
import { coalesce } from './coalesce';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('coalesce', () => {
  it('runs the first request at once, then only the latest of those made meanwhile', async () => {
    const ran: number[] = [];
    const gates: ReturnType<typeof deferred>[] = [];
    const c = coalesce(
      async (v: number) => {
        ran.push(v);
        const g = deferred();
        gates.push(g);
        await g.promise;
      },
      () => undefined,
    );
    c.request(1);
    for (let v = 2; v <= 10; v++) c.request(v);
    expect(ran).toEqual([1]);
    gates[0]!.resolve();
    await new Promise((r) => setImmediate(r));
    expect(ran).toEqual([1, 10]);
    gates[1]!.resolve();
    await c.idle();
    expect(ran).toEqual([1, 10]);
    c.request(11);
    expect(ran).toEqual([1, 10, 11]);
    gates[2]!.resolve();
    await c.idle();
    expect(ran).toEqual([1, 10, 11]);
  });

  it('reports a failing run and keeps going', async () => {
    const errors: unknown[] = [];
    const ran: number[] = [];
    const c = coalesce(
      async (v: number) => {
        ran.push(v);
        if (v === 1) throw new Error('boom');
      },
      (e) => errors.push(e),
    );
    c.request(1);
    c.request(2);
    await c.idle();
    expect(ran).toEqual([1, 2]);
    expect(errors).toHaveLength(1);
  });
});
