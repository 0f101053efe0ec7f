/**
 * Where latents go in the scene. PCA (the server's basis, lib/points/format.ts) projects any
 * latent exactly and back-projects a drag; UMAP (computed in a worker from the cloud's latents)
 * has no inverse and no projection of new points, so a latent is placed at the weighted mean of
 * its nearest cloud points' embedding positions.
 */
import { backProject, projectLatent, type PointCloud } from '@/lib/points/format';

/** Neighbours averaged to place a latent in a UMAP embedding. */
const UMAP_NEIGHBOURS = 8;

export interface Projector {
  readonly kind: 'pca' | 'umap';
  /** Scene coordinates of every cloud point (count × 3). */
  readonly positions: Float32Array;
  /** Scene coordinates of a latent, written into `out[0..2]`. */
  project(z: ArrayLike<number>, out: Float32Array): void;
  /** The latent whose scene position is `target` starting from `z` (PCA only). */
  backProject?(z: ArrayLike<number>, target: ArrayLike<number>): number[];
  /** Scene units per latent unit along the components (PCA), for the truncation shell. */
  readonly scale: number;
  /** Scene position of the latent origin (the prior's mean). */
  readonly origin: Float32Array;
}

/** Rescales coordinates (count × 3) to unit RMS radius around their centre; returns the factor and centre. */
function normalise(raw: Float32Array, count: number, centre: boolean): { scale: number; centre: Float64Array } {
  const c = new Float64Array(3);
  if (centre && count > 0) {
    for (let i = 0; i < count; i++) for (let k = 0; k < 3; k++) c[k]! += raw[i * 3 + k]!;
    for (let k = 0; k < 3; k++) c[k]! /= count;
  }
  let ss = 0;
  for (let i = 0; i < count; i++) for (let k = 0; k < 3; k++) ss += (raw[i * 3 + k]! - c[k]!) ** 2;
  const rms = Math.sqrt(ss / Math.max(1, count));
  return { scale: rms > 0 ? 1 / rms : 1, centre: c };
}

export function pcaProjector(cloud: PointCloud): Projector {
  const { count } = cloud.header;
  const { scale } = normalise(cloud.positions, count, false);
  const positions = new Float32Array(count * 3);
  for (let i = 0; i < count * 3; i++) positions[i] = cloud.positions[i]! * scale;
  const p = new Float32Array(3);
  const origin = new Float32Array(3);
  projectLatent(new Float32Array(cloud.header.latentDim), cloud.mean, cloud.components, origin);
  for (let k = 0; k < 3; k++) origin[k]! *= scale;
  return {
    kind: 'pca',
    positions,
    scale,
    origin,
    project(z, out) {
      projectLatent(z, cloud.mean, cloud.components, p);
      out[0] = p[0]! * scale;
      out[1] = p[1]! * scale;
      out[2] = p[2]! * scale;
    },
    backProject(z, target) {
      return backProject(z, [target[0]! / scale, target[1]! / scale, target[2]! / scale], cloud.mean, cloud.components);
    },
  };
}

export function umapProjector(cloud: PointCloud, embedding: Float32Array): Projector {
  const { count, latentDim: dim } = cloud.header;
  const { scale, centre } = normalise(embedding, count, true);
  const positions = new Float32Array(count * 3);
  for (let i = 0; i < count; i++) for (let k = 0; k < 3; k++) positions[i * 3 + k] = (embedding[i * 3 + k]! - centre[k]!) * scale;
  const bestD = new Float64Array(UMAP_NEIGHBOURS);
  const bestI = new Int32Array(UMAP_NEIGHBOURS);
  const projector: Projector = {
    kind: 'umap',
    positions,
    scale: 0,
    origin: new Float32Array(3),
    project(z, out) {
      bestD.fill(Infinity);
      bestI.fill(-1);
      for (let i = 0; i < count; i++) {
        let d = 0;
        const row = i * dim;
        for (let j = 0; j < dim; j++) {
          const diff = cloud.latents[row + j]! - (z[j] ?? 0);
          d += diff * diff;
          if (d > bestD[UMAP_NEIGHBOURS - 1]!) break;
        }
        if (d >= bestD[UMAP_NEIGHBOURS - 1]!) continue;
        let k = UMAP_NEIGHBOURS - 1;
        while (k > 0 && bestD[k - 1]! > d) {
          bestD[k] = bestD[k - 1]!;
          bestI[k] = bestI[k - 1]!;
          k--;
        }
        bestD[k] = d;
        bestI[k] = i;
      }
      let w = 0;
      out[0] = out[1] = out[2] = 0;
      for (let k = 0; k < UMAP_NEIGHBOURS; k++) {
        const i = bestI[k]!;
        if (i < 0) continue;
        const wk = 1 / (Math.sqrt(bestD[k]!) + 1e-6);
        w += wk;
        for (let c = 0; c < 3; c++) out[c]! += wk * positions[i * 3 + c]!;
      }
      if (w > 0) for (let c = 0; c < 3; c++) out[c]! /= w;
    },
  };
  return projector;
}
