/**
 * UMAP of the point cloud's latents, off the main thread (umap-js), seeded so the same cloud
 * gives the same picture. Posts `{ progress }` while it runs, then `{ embedding }` (count × 3,
 * transferred) or `{ error }`.
 */
import { UMAP } from 'umap-js';
import { mulberry32 } from '@/lib/latent/random';

interface Request {
  latents: Float32Array;
  count: number;
  dim: number;
  seed: number;
}

/** Epochs of the layout optimisation (umap-js's default for large sets is 200). */
const EPOCHS = 200;

self.onmessage = (e: MessageEvent<Request>) => {
  const { latents, count, dim, seed } = e.data;
  try {
    const data: number[][] = new Array(count);
    for (let i = 0; i < count; i++) data[i] = Array.from(latents.subarray(i * dim, (i + 1) * dim));
    const umap = new UMAP({ nComponents: 3, nNeighbors: 15, minDist: 0.1, nEpochs: EPOCHS, random: mulberry32(seed) });
    postMessage({ progress: 0.05 });
    const epochs = umap.initializeFit(data);
    for (let i = 0; i < epochs; i++) {
      umap.step();
      if (i % 10 === 0) postMessage({ progress: 0.1 + (0.9 * i) / epochs });
    }
    const out = new Float32Array(count * 3);
    umap.getEmbedding().forEach((row, i) => out.set(row.slice(0, 3), i * 3));
    postMessage({ embedding: out }, { transfer: [out.buffer] });
  } catch (err) {
    postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
};
