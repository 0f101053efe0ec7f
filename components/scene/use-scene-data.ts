'use client';

/**
 * Loads what the 3D view shows besides the room: the model's point cloud (computed once on the
 * server), the UMAP embedding when asked for (a web worker), and direction vectors where the
 * server exports them (the directions API; absent on servers without it: no arrows then).
 */
import { useEffect, useRef } from 'react';
import { z } from 'zod';
import { decodePoints } from '@/lib/points/format';
import { useExplorer, useExplorerStore } from '@/components/providers/explorer-provider';

/** The seed of the UMAP layout: the same cloud gives the same picture. */
const UMAP_SEED = 42;

export function usePointCloud(modelId: string | undefined): void {
  const store = useExplorerStore();
  useEffect(() => {
    if (!modelId) return;
    const abort = new AbortController();
    store.getState().pointsLoading();
    void (async () => {
      try {
        const res = await fetch(`/api/models/${encodeURIComponent(modelId)}/points`, { signal: abort.signal });
        if (!res.ok) {
          const body = (await res.json().catch(() => ({}))) as { error?: string };
          throw new Error(body.error ?? `HTTP ${res.status}`);
        }
        store.getState().pointsLoaded(decodePoints(await res.arrayBuffer()));
      } catch (err) {
        if (!abort.signal.aborted) store.getState().pointsFailed(err instanceof Error ? err.message : String(err));
      }
    })();
    return () => abort.abort();
  }, [modelId, store]);
}

/** Starts the UMAP worker the first time UMAP is chosen for a cloud. */
export function useUmap(): void {
  const store = useExplorerStore();
  const projection = useExplorer((s) => s.projection);
  const cloud = useExplorer((s) => s.points.cloud);
  const worker = useRef<Worker | null>(null);
  // A run lives as long as its cloud (switching back to PCA meanwhile lets it finish).
  useEffect(
    () => () => {
      worker.current?.terminate();
      worker.current = null;
    },
    [cloud],
  );
  useEffect(() => {
    // Once per cloud: the status leaves 'idle' as soon as a run starts (a new cloud resets it).
    if (projection !== 'umap' || !cloud || store.getState().umap.status !== 'idle') return;
    const w = new Worker(new URL('./umap.worker.ts', import.meta.url), { type: 'module' });
    worker.current = w;
    store.getState().umapProgress(0);
    w.onmessage = (e: MessageEvent<{ progress?: number; embedding?: Float32Array; error?: string }>) => {
      if (e.data.embedding) {
        store.getState().umapDone(e.data.embedding);
        w.terminate();
      } else if (e.data.error) {
        store.getState().umapFailed(e.data.error);
        w.terminate();
      } else if (e.data.progress !== undefined) store.getState().umapProgress(e.data.progress);
    };
    w.onerror = (e) => {
      store.getState().umapFailed(e.message || 'the UMAP worker failed');
      w.terminate();
    };
    const latents = cloud.latents.slice();
    w.postMessage({ latents, count: cloud.header.count, dim: cloud.header.latentDim, seed: UMAP_SEED }, [latents.buffer]);
  }, [projection, cloud, store]);
}

const DirectionExportSchema = z.object({
  directions: z.array(z.object({ id: z.string(), vector: z.array(z.number()) }).loose()),
});

/** Direction vectors for the arrows, refetched when the room's list of directions changes. */
export function useDirectionVectors(modelId: string | undefined): void {
  const store = useExplorerStore();
  const key = useExplorer((s) => s.room?.directions.map((d) => d.id).join(',') ?? '');
  useEffect(() => {
    if (!modelId || key === '') return;
    const abort = new AbortController();
    void fetch(`/api/models/${encodeURIComponent(modelId)}/directions/export`, { signal: abort.signal })
      .then(async (res) => {
        if (!res.ok) return;
        const parsed = DirectionExportSchema.safeParse(await res.json());
        if (parsed.success) store.getState().setDirectionVectors(Object.fromEntries(parsed.data.directions.map((d) => [d.id, d.vector])));
      })
      .catch(() => undefined);
    return () => abort.abort();
  }, [modelId, key, store]);
}
