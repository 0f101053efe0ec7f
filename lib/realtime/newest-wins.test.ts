/** SPEC F2: never paint a frame older than one painted. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createVersionGate } from './newest-wins';

describe('createVersionGate (F2)', () => {
  it('accepts exactly the versions above every earlier accepted one, in any arrival order', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(50), { maxLength: 40 }), (arrivals) => {
        const gate = createVersionGate();
        const painted: number[] = [];
        let max = -1;
        for (const v of arrivals) {
          const expected = v > max;
          expect(gate.accept(v)).toBe(expected);
          if (expected) {
            painted.push(v);
            max = v;
          }
        }
        // What gets painted is strictly increasing and ends at the newest version seen.
        expect(painted).toEqual([...new Set(painted)].sort((a, b) => a - b));
        expect(gate.latest).toBe(arrivals.length ? Math.max(...arrivals) : -1);
      }),
    );
  });

  it('refuses a duplicate (a replayed frame) and non-integers; reset starts over', () => {
    const gate = createVersionGate();
    expect(gate.accept(3)).toBe(true);
    expect(gate.accept(3)).toBe(false);
    expect(gate.accept(2)).toBe(false);
    expect(gate.accept(Number.NaN)).toBe(false);
    expect(gate.accept(4.5)).toBe(false);
    gate.reset();
    expect(gate.accept(0)).toBe(true);
  });
});
