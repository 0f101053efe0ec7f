import { describe, expect, it } from 'vitest';
import { keyedLock } from './keyed-lock';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('keyedLock', () => {
  it('runs the sections of one key one at a time, in call order, even when one throws', async () => {
    const run = keyedLock();
    const log: string[] = [];
    const section = (name: string, fail = false) =>
      run('room', async () => {
        log.push(`${name} start`);
        await tick();
        log.push(`${name} end`);
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([section('a'), section('b', true), section('c')]);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('settles once every holder and waiter has finished', async () => {
    const run = keyedLock();
    let done = 0;
    for (const key of ['a', 'a', 'b']) void run(key, async () => { await tick(); done += 1; });
    await run.settle();
    expect(done).toBe(3);
  });

  it('lets different keys run side by side', async () => {
    const run = keyedLock();
    const log: string[] = [];
    const section = (key: string) =>
      run(key, async () => {
        log.push(`${key} start`);
        await tick();
        log.push(`${key} end`);
      });
    await Promise.all([section('x'), section('y')]);
    expect(log.slice(0, 2)).toEqual(['x start', 'y start']);
  });
});
