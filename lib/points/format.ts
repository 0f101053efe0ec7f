/**
 * The point cloud of a model (`GET /api/models/:id/points`): latents to show in the 3D view,
 * their labels or scores, and the PCA basis computed on the server, so that the browser projects
 * any latent (the room's z, members' probes, bookmarks) with the same three components and
 * back-projects a drag (z' = z + Pᵀ Δp: the residual of z off the components is kept).
 *
 * Binary, little-endian, so 10,000 latents of 64 floats cost 2.5 MB and no parsing:
 *
 *   'LRPC' · uint32 header bytes · header JSON (UTF-8, space-padded to 4 bytes) · sections
 *
 * Sections follow in this order, each 4-byte aligned: latents f32[count·dim], positions
 * f32[count·3] (PCA coordinates), mean f32[dim], components f32[3·dim] (row-major, unit
 * vectors), labels i32[count] (when `labels` is set), scores f32[count·scores.length]
 * (point-major). Server (server/points) and browser (components/scene) both use this module.
 */
import { z } from 'zod';

export const POINTS_MAGIC = 'LRPC';
export const POINTS_FORMAT = 1;

export const PointsHeaderSchema = z.object({
  format: z.literal(POINTS_FORMAT),
  modelId: z.string(),
  /** SHA-256 of the weights the points were computed with (empty for the built-in model). */
  weightsHash: z.string(),
  count: z.number().int().min(0).max(100_000),
  latentDim: z.number().int().min(1).max(4096),
  /** `encoded-held-out`: posterior means of the data set's held-out images (VAEs); `sampled`: seeded N(0, I) latents (GANs). */
  source: z.enum(['encoded-held-out', 'sampled']),
  /** Seed of the sampled latents. */
  seed: z.number().int().nullable(),
  /** What `labels` hold: the data set's own labels (`dataset`) or the classifier's argmax (`classifier`). */
  labels: z.object({ from: z.enum(['dataset', 'classifier']), names: z.array(z.string()) }).nullable(),
  /** Per-point scores in [0, 1] (classifier confidence, shapes factors...), by name. */
  scores: z.array(z.object({ name: z.string(), description: z.string() })),
  /** Fraction of the latents' variance along each of the three components. */
  explained: z.array(z.number()).length(3),
  /** Mean |z| of the latents (the truncation shell's unit radius: E|z| at psi = 1). */
  meanNorm: z.number(),
  /** How the points were made, for the UI's caption. */
  description: z.string(),
});
export type PointsHeader = z.infer<typeof PointsHeaderSchema>;

export interface PointCloud {
  header: PointsHeader;
  /** [count × latentDim] */
  latents: Float32Array;
  /** [count × 3] PCA coordinates. */
  positions: Float32Array;
  /** [latentDim] */
  mean: Float32Array;
  /** [3 × latentDim], row-major. */
  components: Float32Array;
  /** [count], or undefined without labels. */
  labels: Int32Array | undefined;
  /** [count × scores.length] */
  scores: Float32Array;
}

function sectionSizes(h: PointsHeader): number[] {
  return [
    h.count * h.latentDim,
    h.count * 3,
    h.latentDim,
    3 * h.latentDim,
    h.labels ? h.count : 0,
    h.count * h.scores.length,
  ];
}

export function encodePoints(cloud: PointCloud): Uint8Array {
  const h = PointsHeaderSchema.parse(cloud.header);
  let json = JSON.stringify(h);
  const headerBytes = new TextEncoder().encode(json);
  const pad = (4 - (headerBytes.length % 4)) % 4;
  json += ' '.repeat(pad);
  const header = new TextEncoder().encode(json);
  const sizes = sectionSizes(h);
  const arrays: (Float32Array | Int32Array)[] = [cloud.latents, cloud.positions, cloud.mean, cloud.components, cloud.labels ?? new Int32Array(0), cloud.scores];
  arrays.forEach((a, i) => {
    if (a.length !== sizes[i]) throw new Error(`points section ${i} has ${a.length} values, expected ${sizes[i]}`);
  });
  const total = 8 + header.length + sizes.reduce((s, n) => s + n * 4, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(POINTS_MAGIC), 0);
  view.setUint32(4, header.length, true);
  out.set(header, 8);
  let offset = 8 + header.length;
  for (const a of arrays) {
    // Little-endian on every platform this runs on; DataView would be slower for megabytes.
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), offset);
    offset += a.byteLength;
  }
  return out;
}

/** Parses a point cloud; throws with the reason for anything malformed. */
export function decodePoints(buffer: ArrayBuffer): PointCloud {
  if (buffer.byteLength < 8) throw new Error('point cloud: too short');
  const bytes = new Uint8Array(buffer);
  if (new TextDecoder().decode(bytes.subarray(0, 4)) !== POINTS_MAGIC) throw new Error('point cloud: bad magic');
  const headerLength = new DataView(buffer).getUint32(4, true);
  if (headerLength % 4 !== 0 || 8 + headerLength > buffer.byteLength) throw new Error('point cloud: bad header length');
  const header = PointsHeaderSchema.parse(JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength))));
  const sizes = sectionSizes(header);
  const expected = 8 + headerLength + sizes.reduce((s, n) => s + n * 4, 0);
  if (buffer.byteLength !== expected) throw new Error(`point cloud: ${buffer.byteLength} bytes, expected ${expected}`);
  let offset = 8 + headerLength;
  const take = <T extends Float32Array | Int32Array>(n: number, Ctor: new (b: ArrayBuffer, o: number, l: number) => T): T => {
    const a = new Ctor(buffer, offset, n);
    offset += n * 4;
    return a;
  };
  const latents = take(sizes[0]!, Float32Array);
  const positions = take(sizes[1]!, Float32Array);
  const mean = take(sizes[2]!, Float32Array);
  const components = take(sizes[3]!, Float32Array);
  const labels = header.labels ? take(sizes[4]!, Int32Array) : undefined;
  const scores = take(sizes[5]!, Float32Array);
  return { header, latents, positions, mean, components, labels, scores };
}

/** PCA coordinates of a latent: P (z − mean), written into `out` (length 3). */
export function projectLatent(z: ArrayLike<number>, mean: Float32Array, components: Float32Array, out: Float32Array | number[]): void {
  const dim = mean.length;
  for (let k = 0; k < 3; k++) {
    let s = 0;
    const row = k * dim;
    for (let i = 0; i < dim; i++) s += components[row + i]! * ((z[i] ?? 0) - mean[i]!);
    out[k] = s;
  }
}

/**
 * The latent a drag lands on: z moved by Pᵀ (target − P(z − mean)), so its PCA coordinates
 * become `target` and the part of z off the three components is kept.
 */
export function backProject(z: ArrayLike<number>, target: ArrayLike<number>, mean: Float32Array, components: Float32Array): number[] {
  const dim = mean.length;
  const p = [0, 0, 0];
  projectLatent(z, mean, components, p);
  const out = new Array<number>(dim);
  for (let i = 0; i < dim; i++) {
    let v = z[i] ?? 0;
    for (let k = 0; k < 3; k++) v += components[k * dim + i]! * ((target[k] ?? 0) - p[k]!);
    // float32, as every latent on the wire (SPEC O9).
    out[i] = Math.fround(v);
  }
  return out;
}
