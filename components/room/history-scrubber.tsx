'use client';

/**
 * The history scrubber: a range over the loaded versions (arrows, Page Up/Down, Home/End; Escape
 * goes back to live) and the image of the version under it, drawn by the server's latent image
 * route (/api/models/:id/image.png: the room's own render path) and marked as a preview, apart
 * from the live frame. Moving it changes nothing in the room.
 */
import { useEffect, useState } from 'react';
import { latentImageUrl } from '@/lib/protocol/models';
import type { HistoryEntry } from '@/lib/protocol/rooms';
import { describeOp } from '@/lib/stores/history';

/** How long the scrubber rests before its preview image is asked for (dragging asks once). */
const PREVIEW_DEBOUNCE_MS = 120;

function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return settled;
}

export interface HistoryScrubberProps {
  modelId: string;
  /** Newest and oldest loaded versions (the range). */
  newest: number;
  oldest: number;
  /** The room's version (the live end). */
  liveVersion: number;
  /** The version shown: a past one, or null for live. */
  preview: number | null;
  /** The entry of the previewed version, when it is loaded. */
  entry: HistoryEntry | undefined;
  author: string | undefined;
  onPreview(version: number | null): void;
}

export function HistoryScrubber({ modelId, newest, oldest, liveVersion, preview, entry, author, onPreview }: HistoryScrubberProps) {
  const value = preview ?? newest;
  const src = entry && preview !== null ? latentImageUrl(modelId, entry.z, entry.psi, entry.classLabel) : null;
  const shown = useDebounced(src, PREVIEW_DEBOUNCE_MS);
  const [failed, setFailed] = useState<string | null>(null);
  // The last image that finished loading: the one on screen stays (dimmed) until the next one is in.
  const [loaded, setLoaded] = useState<string | null>(null);
  const spoken = entry ? `version ${entry.version}: ${describeOp(entry.kind)}${author ? ` by ${author}` : ''}` : `version ${value}`;

  return (
    <div className="history-scrubber">
      {/* An explicit label: a wrapping one would name the <output>, the first labelable element in it. */}
      <div className="slider-field">
        <span className="slider-label">
          <label htmlFor="history-scrub">Scrub the history</label>
          <output htmlFor="history-scrub" data-testid="history-scrub-value">{preview === null ? `v${liveVersion} · live` : `v${preview}`}</output>
        </span>
        <input
          id="history-scrub"
          type="range"
          min={oldest}
          max={newest}
          step={1}
          value={value}
          disabled={newest <= oldest}
          aria-valuetext={preview === null ? `live, ${spoken}` : `preview of ${spoken}`}
          aria-describedby="history-scrub-hint"
          onChange={(e) => {
            const v = Number(e.target.value);
            onPreview(v >= liveVersion ? null : v);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Escape' && preview !== null) {
              e.preventDefault();
              onPreview(null);
            }
          }}
          data-testid="history-scrubber"
        />
        <span className="hint" id="history-scrub-hint">
          Shows a past version here only; the room changes only if an editor reverts to it. Esc: back to live.
        </span>
      </div>
      {preview !== null && (
        <figure className="history-preview" data-testid="history-preview" data-version={preview}>
          <div className="history-preview-frame">
            {shown ? (
              <img
                src={shown}
                alt={`preview of version ${preview}, not the live image`}
                className={loaded === src ? undefined : 'is-stale'}
                aria-busy={loaded !== src}
                onLoad={() => {
                  setLoaded(shown);
                  setFailed(null);
                }}
                onError={() => setFailed(shown)}
                data-loaded={loaded === src}
                data-testid="history-preview-image"
              />
            ) : (
              <span className="image-wait">{entry ? 'rendering…' : 'this version is not loaded'}</span>
            )}
            <span className="history-preview-badge" aria-hidden="true">
              preview · v{preview}
            </span>
          </div>
          <figcaption className="image-meta">
            <span>
              Preview of v{preview}, not live (the room is at v{liveVersion})
            </span>
            <button type="button" className="btn btn-small" onClick={() => onPreview(null)}>
              Back to live
            </button>
          </figcaption>
          {failed === src && (
            <p className="bad-text small" role="alert">
              The server could not render v{preview} just now (it may be busy): move the scrubber to try again.
            </p>
          )}
        </figure>
      )}
    </div>
  );
}
