'use client';

/**
 * The room's image: the newest frame only (the store takes a frame only if it is newer than the
 * one on screen, SPEC F2), drawn into a canvas at the next animation frame, scaled without
 * smoothing so 28-pixel digits stay crisp. Shows the version on screen and the measured
 * op-to-frame latency of this member's last op.
 */
import { useEffect, useRef } from 'react';
import { useExplorer, useExplorerStore } from '@/components/providers/explorer-provider';

export function ImagePanel() {
  const store = useExplorerStore();
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const version = useExplorer((s) => s.frame?.version ?? null);
  const roomVersion = useExplorer((s) => s.room?.version ?? null);
  const latency = useExplorer((s) => s.latency.lastMs);
  const waiting = useExplorer((s) => s.latency.pending.length > 0);

  useEffect(() => {
    let raf = 0;
    let painted = -1;
    const paint = () => {
      raf = requestAnimationFrame(paint);
      const frame = store.getState().frame;
      const canvas = canvasRef.current;
      if (!frame || !canvas || frame.version === painted) return;
      const ctx = canvas.getContext('2d');
      if (!ctx) return;
      if (canvas.width !== frame.width || canvas.height !== frame.height) {
        canvas.width = frame.width;
        canvas.height = frame.height;
      }
      ctx.drawImage(frame.image as CanvasImageSource, 0, 0);
      painted = frame.version;
      canvas.dataset['version'] = String(frame.version);
    };
    raf = requestAnimationFrame(paint);
    return () => cancelAnimationFrame(raf);
  }, [store]);

  return (
    <figure className="image-panel">
      <div className="image-frame">
        <canvas ref={canvasRef} className="frame-canvas" role="img" aria-label={version === null ? 'waiting for the first image' : `the room's image, version ${version}`} data-testid="frame" />
        {version === null && <span className="image-wait">waiting for the first image…</span>}
      </div>
      <figcaption className="image-meta">
        <span data-testid="frame-version">
          image v{version ?? '–'}
          {roomVersion !== null && version !== null && roomVersion > version && <span className="muted"> (state v{roomVersion}, rendering…)</span>}
        </span>
        <span title="time from your last op to the first image showing it" data-testid="latency">
          {latency === null ? (waiting ? 'measuring…' : 'op→frame: –') : `op→frame ${Math.round(latency)} ms`}
        </span>
      </figcaption>
    </figure>
  );
}
