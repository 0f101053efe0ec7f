/**
 * applyOp as a property: any sequence of ops, valid or not, leaves a history whose version counts
 * the applied ops, whose z is finite float32 of the model's length, and which the op log's
 * replay (`advance` over the stored results) reproduces exactly (SPEC O1, O8, O9, R2).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isFiniteVector } from '../../lib/latent/vector';
import type { LatentOp } from '../../lib/protocol/rooms';
import { RequestError } from '../realtime/ack';
import { advance, applyOp, initialHistory, type LatentHistory, type OpContext } from './room-state';

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
  fc.constant({ kind: 'undo' as const }),
);

const ctx: OpContext = {
  latentDim: DIM,
  bookmark: (id) => (id === 'b1' ? Float32Array.from([1, 2, 3, 4, 5, 6]) : undefined),
  direction: (id) => (id === 'd1' ? Float32Array.from([0, 0, 1, 0, 0, 0]) : undefined),
};

describe('applyOp', () => {
  it('refused ops change nothing; applied ops bump the version by one; replaying results rebuilds the same history', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const start = initialHistory({ z: new Float32Array(DIM).fill(0.5), psi: 1, classLabel: null });
        let h: LatentHistory = start;
        let replay: LatentHistory = start;
        for (const o of ops) {
          let next: LatentHistory;
          try {
            next = applyOp(h, o, ctx);
          } catch (err) {
            expect(err).toBeInstanceOf(RequestError);
            continue; // h is untouched: histories are immutable values
          }
          expect(next.version).toBe(h.version + 1);
          expect(next.current.z).toHaveLength(DIM);
          expect(isFiniteVector(next.current.z)).toBe(true);
          expect(Float32Array.from(Array.from(next.current.z))).toEqual(next.current.z);
          if (o.kind === 'undo') expect(next.current).toEqual(h.undo[h.undo.length - 1]);
          else expect(next.undo[next.undo.length - 1]).toEqual(h.current);
          // What the op log stores (kind and resulting state, through JSON) replays to the same history.
          const stored = JSON.parse(JSON.stringify({ z: Array.from(next.current.z), psi: next.current.psi, classLabel: next.current.classLabel }));
          replay = advance(replay, o.kind, { ...stored, z: Float32Array.from(stored.z) });
          h = next;
        }
        expect(replay).toEqual(h);
      }),
    );
  });
});
