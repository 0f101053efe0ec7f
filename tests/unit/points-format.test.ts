/**
 * The point-cloud wire format (lib/points/format.ts): a round trip keeps every value, a damaged
 * buffer is refused with a reason, and the PCA back-projection lands exactly where it was asked
 * to while keeping the part of z off the three components (what a drag in the 3D view sends).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backProject, decodePoints, encodePoints, projectLatent, POINTS_FORMAT, type PointCloud } from '../../lib/points/format';
import { pca } from '../../server/points/compute';

function cloudOf(count: number, dim: number, labelled: boolean): PointCloud {
  const latents = Float32Array.from({ length: count * dim }, (_, i) => Math.sin(i * 1.7) * 2 + (i % dim === 0 ? (i / dim) * 0.3 : 0));
  const { mean, components, explained, positions } = pca(latents, count, dim);
  return {
    header: {
      format: POINTS_FORMAT,
      modelId: 'm',
      weightsHash: 'h',
      count,
      latentDim: dim,
      source: 'sampled',
      seed: 1,
      labels: labelled ? { from: 'classifier', names: ['a', 'b'] } : null,
      scores: [{ name: 'confidence', description: 'c' }],
      explained,
      meanNorm: 1,
      description: 'test',
    },
    latents,
    positions,
    mean,
    components,
    labels: labelled ? Int32Array.from({ length: count }, (_, i) => i % 2) : undefined,
    scores: Float32Array.from({ length: count }, (_, i) => i / count),
  };
}

describe('point cloud format', () => {
  it('round-trips every section', () => {
    for (const labelled of [true, false]) {
      const cloud = cloudOf(37, 5, labelled);
      const bytes = encodePoints(cloud);
      const back = decodePoints(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
      expect(back.header).toEqual(cloud.header);
      expect(back.latents).toEqual(cloud.latents);
      expect(back.positions).toEqual(cloud.positions);
      expect(back.mean).toEqual(cloud.mean);
      expect(back.components).toEqual(cloud.components);
      expect(back.labels).toEqual(cloud.labels);
      expect(back.scores).toEqual(cloud.scores);
    }
  });

  it('refuses truncated, padded or foreign buffers', () => {
    const bytes = encodePoints(cloudOf(10, 4, true));
    const buf = (b: Uint8Array) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    expect(() => decodePoints(buf(bytes.subarray(0, bytes.length - 4)))).toThrow(/bytes, expected/);
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    expect(() => decodePoints(buf(longer))).toThrow(/bytes, expected/);
    const foreign = bytes.slice();
    foreign[0] = 0x58;
    expect(() => decodePoints(buf(foreign))).toThrow(/magic/);
    expect(() => decodePoints(new ArrayBuffer(3))).toThrow(/too short/);
  });

  it('PCA components are orthonormal and the positions are P(z − mean)', () => {
    const cloud = cloudOf(60, 6, false);
    const { components: P, mean } = cloud;
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        let d = 0;
        for (let i = 0; i < 6; i++) d += P[a * 6 + i]! * P[b * 6 + i]!;
        expect(d).toBeCloseTo(a === b ? 1 : 0, 5);
      }
    }
    const p = [0, 0, 0];
    projectLatent(cloud.latents.subarray(12, 18), mean, P, p);
    for (let k = 0; k < 3; k++) expect(p[k]).toBeCloseTo(cloud.positions[2 * 3 + k]!, 4);
    // Variance fractions are sorted and sum to at most 1.
    const e = cloud.header.explained;
    expect(e[0]).toBeGreaterThanOrEqual(e[1]!);
    expect(e[1]).toBeGreaterThanOrEqual(e[2]!);
    expect(e[0]! + e[1]! + e[2]!).toBeLessThanOrEqual(1 + 1e-9);
  });

  it('back-projection reaches the target and keeps the residual off the components', () => {
    const { mean, components } = cloudOf(50, 8, false);
    const vec = fc.array(fc.float({ min: -3, max: 3, noNaN: true }), { minLength: 8, maxLength: 8 });
    const target = fc.array(fc.float({ min: -3, max: 3, noNaN: true }), { minLength: 3, maxLength: 3 });
    fc.assert(
      fc.property(vec, target, (z, t) => {
        const moved = backProject(z, t, mean, components);
        expect(moved.every((v) => Number.isFinite(v) && Math.fround(v) === v)).toBe(true);
        const p = [0, 0, 0];
        projectLatent(moved, mean, components, p);
        for (let k = 0; k < 3; k++) expect(p[k]).toBeCloseTo(t[k]!, 3);
        // z' − z lies in the span of the components: removing that span leaves the same residual.
        const residual = (v: number[]) => {
          const q = [0, 0, 0];
          projectLatent(v, new Float32Array(8), components, q);
          return v.map((x, i) => x - (q[0]! * components[i]! + q[1]! * components[8 + i]! + q[2]! * components[16 + i]!));
        };
        const r0 = residual(z);
        const r1 = residual(moved);
        r0.forEach((x, i) => expect(r1[i]).toBeCloseTo(x, 3));
      }),
    );
  });
});
