/** Property tests of the latent maths the room ops are built from. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededNormal } from './random';
import { addScaled, dot, hasLength, isFiniteVector, lerp, norm, normalize, slerp, truncate, weightedSum } from './vector';

const DIM = 8;
const value = fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true });
const vec = (n = DIM) => fc.array(value, { minLength: n, maxLength: n });
const unit = fc.double({ min: 0, max: 1, noNaN: true });

/** |a - b| within an absolute-plus-relative tolerance, entrywise. */
function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-4): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Math.abs(x - y) > tol * (1 + Math.abs(x) + Math.abs(y))) return false;
  }
  return true;
}

describe('finite and length checks', () => {
  it('a NaN or ±Infinity anywhere makes a vector non-finite; finite vectors pass', () => {
    fc.assert(
      fc.property(vec(), fc.nat(DIM - 1), fc.constantFrom(NaN, Infinity, -Infinity), (v, at, bad) => {
        expect(isFiniteVector(v)).toBe(true);
        const broken = v.slice();
        broken[at] = bad;
        expect(isFiniteVector(broken)).toBe(false);
        expect(isFiniteVector(Float32Array.from(broken))).toBe(false);
      }),
    );
  });

  it('hasLength is exact', () => {
    fc.assert(
      fc.property(fc.array(value, { maxLength: 20 }), fc.nat(20), (v, n) => {
        expect(hasLength(v, n)).toBe(v.length === n);
      }),
    );
  });
});

describe('lerp', () => {
  it('gives a at t = 0 and b at t = 1, and lerp(a, b, t) = lerp(b, a, 1 - t)', () => {
    fc.assert(
      fc.property(vec(), vec(), unit, (a, b, t) => {
        expect(close(lerp(a, b, 0), a, 0)).toBe(true);
        expect(close(lerp(a, b, 1), b)).toBe(true);
        expect(close(lerp(a, b, t), lerp(b, a, 1 - t))).toBe(true);
      }),
    );
  });

  it('throws on vectors of different lengths', () => {
    expect(() => lerp([1, 2], [1], 0.5)).toThrow(RangeError);
  });
});

describe('slerp', () => {
  const nonZero = vec().filter((v) => norm(v) > 1e-3);

  it('starts at a and ends at b', () => {
    fc.assert(
      fc.property(nonZero, nonZero, (a, b) => {
        expect(close(slerp(a, b, 0), a, 1e-3)).toBe(true);
        expect(close(slerp(a, b, 1), b, 1e-3)).toBe(true);
      }),
    );
  });

  it('keeps unit vectors on the unit sphere for every t, unlike lerp between them', () => {
    fc.assert(
      fc.property(nonZero, nonZero, unit, (a, b, t) => {
        const ua = normalize(a)!;
        const ub = normalize(b)!;
        if (Math.abs(dot(ua, ub)) > 0.9999) return; // (anti)parallel: falls back to lerp by design
        expect(norm(slerp(ua, ub, t))).toBeCloseTo(1, 3);
      }),
    );
    // The case slerp exists for: between orthogonal unit vectors lerp's midpoint has norm √½.
    expect(norm(lerp([1, 0], [0, 1], 0.5))).toBeCloseTo(Math.SQRT1_2, 6);
    expect(norm(slerp([1, 0], [0, 1], 0.5))).toBeCloseTo(1, 6);
  });

  it('equals lerp for parallel vectors and for the zero vector (no unique great circle)', () => {
    fc.assert(
      fc.property(nonZero, unit, (a, t) => {
        const zero = new Array<number>(DIM).fill(0);
        expect(slerp(a, a, t)).toEqual(lerp(a, a, t));
        expect(slerp(zero, a, t)).toEqual(lerp(zero, a, t));
      }),
    );
  });
});

describe('weightedSum and addScaled', () => {
  it('a - b + c matches the entrywise expression, a - a is zero, a single weight-1 term is a', () => {
    fc.assert(
      fc.property(vec(), vec(), vec(), (a, b, c) => {
        const sum = weightedSum(
          [
            { vector: a, weight: 1 },
            { vector: b, weight: -1 },
            { vector: c, weight: 1 },
          ],
          DIM,
        );
        expect(close(sum, a.map((x, i) => x - b[i]! + c[i]!))).toBe(true);
        expect(Array.from(weightedSum([{ vector: a, weight: 1 }, { vector: a, weight: -1 }], DIM)).every((x) => x === 0)).toBe(true);
        expect(close(weightedSum([{ vector: a, weight: 1 }], DIM), a, 0)).toBe(true);
      }),
    );
  });

  it('rejects a term of the wrong length', () => {
    expect(() => weightedSum([{ vector: [1, 2, 3], weight: 1 }], 2)).toThrow(RangeError);
  });

  it('addScaled moves along a unit direction by exactly the amount', () => {
    fc.assert(
      fc.property(vec(), vec().filter((v) => norm(v) > 1e-3), fc.double({ min: -5, max: 5, noNaN: true }), (z, d, amount) => {
        const u = normalize(d)!;
        const moved = addScaled(z, u, amount);
        const delta = moved.map((x, i) => x - z[i]!);
        expect(norm(delta)).toBeCloseTo(Math.abs(amount), 2);
      }),
    );
  });
});

describe('normalize', () => {
  it('gives a unit vector, or undefined for the zero vector', () => {
    fc.assert(
      fc.property(vec(), (v) => {
        const u = normalize(v);
        if (norm(v) === 0) expect(u).toBeUndefined();
        else expect(norm(u!)).toBeCloseTo(1, 5);
      }),
    );
  });
});

describe('truncate', () => {
  it('psi = 1 is the identity, psi = 0 is the mean, distance to the mean scales by |psi|', () => {
    fc.assert(
      fc.property(vec(), vec(), fc.double({ min: -2, max: 2, noNaN: true }), (z, mean, psi) => {
        expect(close(truncate(z, mean, 1), z)).toBe(true);
        expect(close(truncate(z, mean, 0), mean)).toBe(true);
        const d0 = norm(z.map((x, i) => x - mean[i]!));
        const t = truncate(z, mean, psi);
        const d1 = norm(Array.from(t, (x, i) => x - mean[i]!));
        expect(Math.abs(d1 - Math.abs(psi) * d0)).toBeLessThan(1e-3 * (1 + d0));
      }),
    );
  });

  it('without a mean truncates toward the origin (standard normal prior)', () => {
    expect(truncate([2, -4], undefined, 0.5)).toEqual(Float32Array.from([1, -2]));
  });
});

describe('seededNormal', () => {
  it('is a function of the seed: same seed, same bits; different seeds, different vectors', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), (s, t) => {
        expect(seededNormal(s, 65)).toEqual(seededNormal(s, 65));
        if (s !== t) expect(seededNormal(s, 64)).not.toEqual(seededNormal(t, 64));
        expect(isFiniteVector(seededNormal(s, 65))).toBe(true);
      }),
    );
  });

  it('draws standard normal values (mean ≈ 0, variance ≈ 1 over 100k samples)', () => {
    const xs = seededNormal(7, 100_000);
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(variance - 1)).toBeLessThan(0.02);
  });
});
