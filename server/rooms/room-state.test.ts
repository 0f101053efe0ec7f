/**
 * applyOp as a property: any sequence of ops, valid or not, leaves a history whose version counts
 * the applied ops, whose z is finite float32 of the model's length, and which the op log's
 * replay (`advance` over the stored results) reproduces exactly (SPEC O1, O8, O9, O12, O13, R2).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFiniteVector } from '../../lib/latent/vector';
import type { LatentOp } from '../../lib/protocol/rooms';
import { RequestError } from '../realtime/ack';
import { advance, applyOp, initialHistory, type LatentHistory, type LatentSnapshot, type OpContext } from './room-state';
import { fromStored, toStored, type StoredState } from './room-store';

const DIM = 6;
const num = fc.double({ min: -1e3, max: 1e3, noNaN: true });
const vec = fc.oneof(fc.array(num, { minLength: DIM, maxLength: DIM }), fc.array(num, { minLength: 1, maxLength: DIM + 2 }));
const ref = fc.oneof(
  fc.record({ vector: vec }),
  fc.record({ bookmark: fc.constantFrom('b1', 'missing') }),
  fc.record({ direction: fc.constantFrom('d1', 'missing') }),
  fc.constant({ current: true as const }),
);
const op: fc.Arbitrary<LatentOp> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), z: vec }),
  fc.record({ kind: fc.constant('nudge' as const), direction: ref, amount: fc.double({ min: -100, max: 100, noNaN: true }) }),
  fc.record({ kind: fc.constantFrom('lerp' as const, 'slerp' as const), from: ref, to: ref, t: fc.double({ min: 0, max: 1, noNaN: true }) }),
  fc.record({ kind: fc.constant('sum' as const), terms: fc.array(fc.record({ ref, weight: fc.double({ min: -100, max: 100, noNaN: true }) }), { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('random' as const), seed: fc.nat({ max: 0xffffffff }) }),
  fc.record({ kind: fc.constant('psi' as const), psi: fc.double({ min: 0, max: 2, noNaN: true }) }),
  fc.record({ kind: fc.constant('class' as const), classLabel: fc.nat({ max: 4 }) }),
  fc.record({ kind: fc.constant('weight' as const), direction: fc.constantFrom('d1', 'd2', 'missing'), weight: fc.double({ min: -100, max: 100, noNaN: true }) }),
  fc.constant({ kind: 'undo' as const }),
  fc.constant({ kind: 'redo' as const }),
  fc.record({ kind: fc.constant('revert' as const), version: fc.nat({ max: 45 }) }),
);

const DIRECTIONS: Record<string, Float32Array> = { d1: Float32Array.from([0, 0, 1, 0, 0, 0]), d2: Float32Array.from([3, 0, 0, 4, 0, 0]) };
const ctx: OpContext = {
  latentDim: DIM,
  numClasses: 3,
  bookmark: (id) => (id === 'b1' ? Float32Array.from([1, 2, 3, 4, 5, 6]) : undefined),
  direction: (id) => DIRECTIONS[id],
  stateAt: () => undefined,
};
/** `ctx` whose past states are `states` (by version), as the room's op log would answer. */
const withPast = (states: readonly LatentSnapshot[]): OpContext => ({ ...ctx, stateAt: (v) => states[v] });
const start = () => initialHistory({ z: new Float32Array(DIM).fill(0.5), psi: 1, classLabel: 0, weights: {} });

describe('applyOp', () => {
  it('refused ops change nothing; applied ops bump the version by one; replaying results rebuilds the same history', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        let h: LatentHistory = start();
        let replay: LatentHistory = h;
        const states: LatentSnapshot[] = [h.current];
        for (const o of ops) {
          let next: LatentHistory;
          try {
            next = applyOp(h, o, withPast(states));
          } catch (err) {
            expect(err).toBeInstanceOf(RequestError);
            continue; // h is untouched: histories are immutable values
          }
          expect(next.version).toBe(h.version + 1);
          expect(next.current.z).toHaveLength(DIM);
          expect(isFiniteVector(next.current.z)).toBe(true);
          expect(Float32Array.from(Array.from(next.current.z))).toEqual(next.current.z);
          if (o.kind === 'undo') {
            expect(next.current).toEqual(h.undo[h.undo.length - 1]);
            expect(next.redo[next.redo.length - 1]).toEqual(h.current);
          } else expect(next.undo[next.undo.length - 1]).toEqual(h.current);
          if (o.kind === 'redo') expect(next.current).toEqual(h.redo[h.redo.length - 1]);
          else if (o.kind !== 'undo') expect(next.redo).toEqual([]);
          if (o.kind === 'revert') expect(next.current).toEqual(states[o.version]);
          states.push(next.current);
          // What the op log stores (kind and resulting state, through JSON) replays to the same history.
          replay = advance(replay, o.kind, fromStored(JSON.parse(JSON.stringify(toStored(next.current))) as StoredState));
          expect(next.current.classLabel === null || next.current.classLabel < 3).toBe(true);
          for (const w of Object.values(next.current.weights)) expect(w === Math.fround(w) && w !== 0).toBe(true);
          h = next;
        }
        expect(replay).toEqual(h);
      }),
    );
  });
});

describe('redo and revert (SPEC O12, O13)', () => {
  const seq = (h: LatentHistory, ops: LatentOp[], c: OpContext = ctx) => ops.reduce((x, o) => applyOp(x, o, c), h);

  it('O12: redo walks forward through what undo walked back; a new op empties the redo stack', () => {
    const ops: LatentOp[] = [{ kind: 'random', seed: 1 }, { kind: 'psi', psi: 0.5 }, { kind: 'weight', direction: 'd1', weight: 2 }];
    const top = seq(start(), ops);
    const down = seq(top, [{ kind: 'undo' }, { kind: 'undo' }, { kind: 'undo' }]);
    expect(down.current).toEqual(start().current);
    expect(() => applyOp(top, { kind: 'redo' }, ctx)).toThrow('nothing to redo');
    const up = seq(down, [{ kind: 'redo' }, { kind: 'redo' }, { kind: 'redo' }]);
    expect(up.current).toEqual(top.current);
    expect(up.version).toBe(top.version + 6);
    // After one undo and a new op, there is nothing to redo, and undo goes back through the new op.
    const branched = seq(top, [{ kind: 'undo' }, { kind: 'class', classLabel: 1 }]);
    expect(() => applyOp(branched, { kind: 'redo' }, ctx)).toThrow(RequestError);
    expect(applyOp(branched, { kind: 'undo' }, ctx).current).toEqual(seq(top, [{ kind: 'undo' }]).current);
  });

  it('O13: revert sets the whole state of a past version as a new version, and undo takes it back', () => {
    const states: LatentSnapshot[] = [];
    let h = start();
    states.push(h.current);
    for (const o of [{ kind: 'weight', direction: 'd2', weight: 1 }, { kind: 'psi', psi: 0.25 }, { kind: 'class', classLabel: 2 }, { kind: 'random', seed: 9 }] as LatentOp[]) {
      h = applyOp(h, o, ctx);
      states.push(h.current);
    }
    const reverted = applyOp(h, { kind: 'revert', version: 2 }, withPast(states));
    expect(reverted.version).toBe(5);
    expect(reverted.current).toEqual(states[2]);
    expect(reverted.current).toMatchObject({ psi: 0.25, classLabel: 0, weights: { d2: 1 } });
    expect(applyOp(reverted, { kind: 'undo' }, ctx).current).toEqual(h.current);
    expect(() => applyOp(h, { kind: 'revert', version: 5 }, withPast(states))).toThrow(/no version 5/);
    expect(() => applyOp(h, { kind: 'revert', version: 3 }, ctx)).toThrow(/not in the op log/);
  });
});

describe('direction weights and class (SPEC O10, O11)', () => {
  const apply = (h: LatentHistory, o: LatentOp) => applyOp(h, o, ctx);

  it('weight sets a slider: z moves by the change of weight along the unit direction; nudge on a stored direction moves the slider too', () => {
    let h = apply(start(), { kind: 'weight', direction: 'd2', weight: 2 });
    // d2 / |d2| = (0.6, 0, 0, 0.8, 0, 0)
    expect(Array.from(h.current.z)).toEqual([0.5 + 1.2, 0.5, 0.5, 0.5 + 1.6, 0.5, 0.5].map(Math.fround));
    expect(h.current.weights).toEqual({ d2: 2 });
    h = apply(h, { kind: 'weight', direction: 'd2', weight: 2 }); // the same position: z stays
    expect(Array.from(h.current.z)).toEqual([0.5 + 1.2, 0.5, 0.5, 0.5 + 1.6, 0.5, 0.5].map(Math.fround));
    h = apply(h, { kind: 'nudge', direction: { direction: 'd1' }, amount: 0.25 });
    h = apply(h, { kind: 'nudge', direction: { direction: 'd1' }, amount: 0.25 });
    expect(h.current.weights).toEqual({ d2: 2, d1: 0.5 });
    expect(h.current.z[2]).toBe(1);
    h = apply(h, { kind: 'nudge', direction: { vector: [1, 0, 0, 0, 0, 0] }, amount: 1 }); // not a stored direction
    expect(h.current.weights).toEqual({ d2: 2, d1: 0.5 });
    h = apply(h, { kind: 'weight', direction: 'd1', weight: 0 }); // back to 0: z[2] back, the entry gone
    expect(h.current.z[2]).toBe(0.5);
    expect(h.current.weights).toEqual({ d2: 2 });
  });

  it('ops that replace z start the weights afresh; psi and class keep them; undo restores them', () => {
    const w = apply(start(), { kind: 'weight', direction: 'd1', weight: -1.5 });
    for (const o of [{ kind: 'set', z: [1, 1, 1, 1, 1, 1] }, { kind: 'random', seed: 4 }, { kind: 'lerp', from: { current: true }, to: { bookmark: 'b1' }, t: 0.5 }] as LatentOp[]) {
      expect(apply(w, o).current.weights).toEqual({});
    }
    expect(apply(w, { kind: 'psi', psi: 0.7 }).current.weights).toEqual({ d1: -1.5 });
    const c = apply(w, { kind: 'class', classLabel: 2 });
    expect(c.current).toMatchObject({ classLabel: 2, weights: { d1: -1.5 }, z: w.current.z });
    const undone = apply(apply(c, { kind: 'set', z: [0, 0, 0, 0, 0, 0] }), { kind: 'undo' });
    expect(undone.current).toEqual(c.current);
  });

  it('refuses a class beyond the model, a class for an unconditional model, and an unknown direction', () => {
    expect(() => apply(start(), { kind: 'class', classLabel: 3 })).toThrow(/class must be in 0…2/);
    expect(() => applyOp(start(), { kind: 'class', classLabel: 0 }, { ...ctx, numClasses: null })).toThrow(/not conditional/);
    expect(() => apply(start(), { kind: 'weight', direction: 'missing', weight: 1 })).toThrow(RequestError);
  });
});
