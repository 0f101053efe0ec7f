/**
 * Property tests of lib/latent's projections, truncation and expressions (the vector maths of
 * ./vector.ts has its own file): the laws the rooms and the direction methods rely on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { centroidDifference, mean, orthogonalize, orthonormalBasis, projectOnto, projectOut } from './basis';
import { evaluate, ExpressionError, linearTerms } from './expression';
import { mulberry32, seededNormal } from './random';
import { resampleBeyond, truncatedNormal } from './truncation';
import { dot, lerp, norm, normalize, slerp, weightedSum } from './vector';

const DIM = 6;
const value = fc.double({ min: -10, max: 10, noNaN: true, noDefaultInfinity: true });
const vec = (n = DIM) => fc.array(value, { minLength: n, maxLength: n });
const nonZero = vec().filter((v) => norm(v) > 1e-2);
const dirs = fc.array(nonZero, { minLength: 1, maxLength: 4 });

/** Entrywise |a - b| within an absolute-plus-relative tolerance. */
function close(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-4): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (Math.abs(a[i]! - b[i]!) > tol * (1 + Math.abs(a[i]!) + Math.abs(b[i]!))) return false;
  }
  return true;
}

describe('lerp and slerp (the laws the issue names)', () => {
  it('lerp gives its endpoints; slerp keeps unit vectors on the unit sphere', () => {
    fc.assert(
      fc.property(nonZero, nonZero, fc.double({ min: 0, max: 1, noNaN: true }), (a, b, t) => {
        expect(close(lerp(a, b, 0), a, 1e-6)).toBe(true);
        expect(close(lerp(a, b, 1), b, 1e-6)).toBe(true);
        const ua = normalize(a)!;
        const ub = normalize(b)!;
        if (Math.abs(dot(ua, ub)) < 0.9999) expect(norm(slerp(ua, ub, t))).toBeCloseTo(1, 3);
      }),
    );
  });
});

describe('orthonormalBasis (Gram-Schmidt)', () => {
  it('gives orthonormal vectors spanning the input: every input is its own projection', () => {
    fc.assert(
      fc.property(dirs, (ds) => {
        const basis = orthonormalBasis(ds);
        expect(basis.length).toBeGreaterThan(0);
        expect(basis.length).toBeLessThanOrEqual(Math.min(ds.length, DIM));
        for (let i = 0; i < basis.length; i++) {
          for (let j = 0; j < basis.length; j++) expect(dot(basis[i]!, basis[j]!)).toBeCloseTo(i === j ? 1 : 0, 6);
        }
        for (const d of ds) expect(close(projectOnto(d, ds), d, 1e-3)).toBe(true);
      }),
    );
  });

  it('drops a dependent vector (a combination of earlier ones) and zero vectors', () => {
    const a = [1, 2, 0, 0, 0, 0];
    const b = [0, 1, 1, 0, 0, 0];
    const c = weightedSum([{ vector: a, weight: 2 }, { vector: b, weight: -3 }], DIM);
    expect(orthonormalBasis([a, b, c, new Array<number>(DIM).fill(0)])).toHaveLength(2);
  });
});

describe('projectOnto and projectOut', () => {
  it('projection is idempotent, and onto + out of = identity', () => {
    fc.assert(
      fc.property(vec(), dirs, (v, ds) => {
        const p = projectOnto(v, ds);
        expect(close(projectOnto(p, ds), p, 1e-3)).toBe(true);
        const o = projectOut(v, ds);
        expect(close(Array.from(p, (x, i) => x + o[i]!), v, 1e-4)).toBe(true);
        // What is projected out has no component along any direction of the set.
        for (const d of ds) expect(Math.abs(dot(o, d))).toBeLessThan(1e-3 * (1 + norm(v)) * norm(d));
        expect(close(projectOut(o, ds), o, 1e-3)).toBe(true);
      }),
    );
  });

  it('onto an empty set is zero; out of an empty set is the vector itself', () => {
    expect(Array.from(projectOnto([1, 2, 3], []))).toEqual([0, 0, 0]);
    expect(Array.from(projectOut([1, 2, 3], []))).toEqual([1, 2, 3]);
  });

  it('refuses directions of another length', () => {
    expect(() => projectOnto([1, 2, 3], [[1, 2]])).toThrow(RangeError);
  });
});

describe('orthogonalize (conditional manipulation)', () => {
  it('gives a unit direction with zero dot product with every other, and as close to d as that allows', () => {
    fc.assert(
      fc.property(nonZero, fc.array(nonZero, { minLength: 1, maxLength: 3 }), (d, others) => {
        const o = orthogonalize(d, others);
        if (!o) {
          // Only when d lies in the others' span.
          expect(norm(projectOut(d, others))).toBeLessThan(1e-4 * norm(d) + 1e-6);
          return;
        }
        expect(norm(o)).toBeCloseTo(1, 5);
        for (const x of others) expect(Math.abs(dot(o, x))).toBeLessThan(1e-5 * norm(x));
        // It is d's residual, normalised: positive along d.
        expect(dot(o, d)).toBeGreaterThanOrEqual(0);
        expect(close(o, normalize(projectOut(d, others))!, 1e-3)).toBe(true);
      }),
    );
  });

  it('leaves a direction already orthogonal to the others unchanged (up to its length)', () => {
    expect(Array.from(orthogonalize([0, 3, 0], [[1, 0, 0], [0, 0, 2]])!)).toEqual([0, 1, 0]);
    expect(orthogonalize([1, 1, 0], [[1, 0, 0], [0, 1, 0]])).toBeUndefined();
  });
});

describe('mean and centroidDifference', () => {
  it('the centroid difference of {a} and {b} is a - b; adding it to b gives a', () => {
    fc.assert(
      fc.property(vec(), vec(), (a, b) => {
        const d = centroidDifference([a], [b]);
        expect(close(d, a.map((x, i) => x - b[i]!))).toBe(true);
        expect(close(Array.from(d, (x, i) => x + b[i]!), a, 1e-3)).toBe(true);
      }),
    );
  });

  it('the mean of copies of a vector is that vector; the mean of nothing throws', () => {
    fc.assert(
      fc.property(vec(), fc.integer({ min: 1, max: 5 }), (v, k) => {
        expect(close(mean(Array.from({ length: k }, () => v)), v)).toBe(true);
      }),
    );
    expect(() => mean([])).toThrow(RangeError);
  });
});

describe('truncation by radius (resampling beyond d)', () => {
  it('leaves every component within [-d, d], keeps those already within, and is a function of the seed', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), fc.double({ min: 0.3, max: 4, noNaN: true }), (seed, d) => {
        const base = seededNormal(seed, 64);
        const z = truncatedNormal(seed, 64, d);
        for (let i = 0; i < z.length; i++) {
          expect(Math.abs(z[i]!)).toBeLessThanOrEqual(d);
          if (Math.abs(base[i]!) <= d) expect(z[i]).toBe(base[i]);
        }
        expect(truncatedNormal(seed, 64, d)).toEqual(z);
      }),
    );
  });

  it('refuses a radius that is not positive', () => {
    expect(() => resampleBeyond([1], 0, mulberry32(1))).toThrow(RangeError);
    expect(() => resampleBeyond([1], NaN, mulberry32(1))).toThrow(RangeError);
  });
});

describe('expressions over named vectors', () => {
  const names = ['a', 'b', 'smile', 'x.y'];
  const named = fc.tuple(vec(), vec(), vec(), vec());

  it('"smiling woman" - "neutral woman" + "neutral man" is the weighted sum 1, -1, 1', () => {
    expect(linearTerms('"smiling woman" - "neutral woman" + "neutral man"')).toEqual([
      { name: 'smiling woman', weight: 1 },
      { name: 'neutral woman', weight: -1 },
      { name: 'neutral man', weight: 1 },
    ]);
  });

  it('evaluates a random linear expression to the same vector as its terms, term by term', () => {
    // Random expressions: a weighted sum written out with scalings, divisions and parentheses.
    const weight = fc.integer({ min: -8, max: 8 }).filter((w) => w !== 0);
    const terms = fc.array(fc.tuple(fc.constantFrom(...names), weight, fc.boolean()), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(named, terms, (vs, ts) => {
        const lookup = new Map(names.map((n, i) => [n, vs[i]!]));
        const source = ts.map(([n, w, divide], i) => `${i === 0 ? '' : ' + '}(${divide ? `${n} / ${1 / w}` : `${w} * ${n}`})`).join('');
        const expected = weightedSum(ts.map(([n, w]) => ({ vector: lookup.get(n)!, weight: w })), DIM);
        expect(close(evaluate(source, (n) => lookup.get(n), DIM), expected, 1e-4)).toBe(true);
        // Merged: each name once, with the sum of its weights.
        const merged = linearTerms(source);
        expect(new Set(merged.map((t) => t.name)).size).toBe(merged.length);
      }),
    );
  });

  it('follows precedence and unary minus: -(a - 2*b)/2 = -a/2 + b', () => {
    expect(linearTerms('-(a - 2*b)/2')).toEqual([
      { name: 'a', weight: -0.5 },
      { name: 'b', weight: 1 },
    ]);
    expect(linearTerms('a - a + b')).toEqual([{ name: 'b', weight: 1 }]);
  });

  it('refuses what is not a linear combination of vectors, saying where', () => {
    for (const [source, message] of [
      ['a * b', 'cannot multiply two vectors'],
      ['a + 1', 'cannot add a number to a vector'],
      ['2 / a', 'cannot divide by a vector'],
      ['a / 0', 'division by zero'],
      ['2 * 3', 'is a number'],
      ['(a + b', 'expected )'],
      ['a +', 'unexpected end'],
      ['"a', 'unclosed quote'],
      ['a # b', 'unexpected character'],
      ['', 'unexpected end'],
    ] as const) {
      expect(() => linearTerms(source), source).toThrow(ExpressionError);
      expect(() => linearTerms(source), source).toThrow(message);
    }
    expect(() => evaluate('a + c', (n) => (n === 'a' ? [1, 2] : undefined), 2)).toThrow('unknown name "c"');
    expect(() => evaluate('a', () => [1, 2, 3], 2)).toThrow('has 3 values');
    expect(() => evaluate('1e38 * a + 1e38 * a', () => [1e38], 1)).toThrow('not finite');
  });
});
