'use client';

/**
 * Interpolation between two bookmarks: a strip of steps (each image decoded by the server's
 * image endpoint, cached by the browser), a click on a step (or the slider) sends `lerp` or
 * `slerp` at that t (SPEC O4). The path is drawn in the 3D view while the panel is set up.
 */
import { useEffect, useState } from 'react';
import { lerp, slerp } from '@/lib/latent/vector';
import { latentImageUrl } from '@/lib/protocol/models';
import { useExplorer, useExplorerStore } from '@/components/providers/explorer-provider';
import { useThrottledOp } from './use-throttled-op';

/** Images in the strip. */
const STRIP_STEPS = 7;

/** One end of the interpolation: a bookmark of the room, by id ('' while none is chosen). */
function BookmarkSelect(props: { label: 'From' | 'To'; value: string; onChange(id: string): void; bookmarks: readonly { id: string; name: string }[] }) {
  return (
    <label className="field grow">
      <span>{props.label}</span>
      <select value={props.value} onChange={(e) => props.onChange(e.target.value)} aria-label={`${props.label.toLowerCase()} bookmark`}>
        <option value="">choose…</option>
        {props.bookmarks.map((b) => (
          <option key={b.id} value={b.id}>
            {b.name}
          </option>
        ))}
      </select>
    </label>
  );
}

export function InterpolationPanel({ disabled, modelId }: { disabled: boolean; modelId: string }) {
  const store = useExplorerStore();
  const bookmarks = useExplorer((s) => s.room?.bookmarks ?? []);
  const psi = useExplorer((s) => s.room?.psi ?? 1);
  const classLabel = useExplorer((s) => s.room?.classLabel ?? null);
  const [fromId, setFromId] = useState('');
  const [toId, setToId] = useState('');
  const [mode, setMode] = useState<'lerp' | 'slerp'>('slerp');
  const [t, setT] = useState(0.5);
  const send = useThrottledOp();
  const from = bookmarks.find((b) => b.id === fromId);
  const to = bookmarks.find((b) => b.id === toId);

  useEffect(() => {
    store.getState().setPathPreview(from && to ? { from: from.z, to: to.z, mode } : null);
  }, [from, to, mode, store]);
  useEffect(() => () => store.getState().setPathPreview(null), [store]);

  if (bookmarks.length < 2) {
    return <p className="muted small">Save two bookmarks to interpolate between them.</p>;
  }
  const go = (at: number) => {
    if (!from || !to) return;
    setT(at);
    send({ kind: mode, from: { bookmark: from.id }, to: { bookmark: to.id }, t: at });
  };
  return (
    <div className="stack">
      <div className="row wrap">
        <BookmarkSelect label="From" value={fromId} onChange={setFromId} bookmarks={bookmarks} />
        <BookmarkSelect label="To" value={toId} onChange={setToId} bookmarks={bookmarks} />
        <fieldset className="segmented">
          <legend className="visually-hidden">interpolation</legend>
          {(['slerp', 'lerp'] as const).map((m) => (
            <label key={m} className={mode === m ? 'on' : ''}>
              <input type="radio" name="interp-mode" value={m} checked={mode === m} onChange={() => setMode(m)} />
              {m}
            </label>
          ))}
        </fieldset>
      </div>
      {from && to && (
        <>
          <ol className="strip" aria-label="interpolation steps">
            {Array.from({ length: STRIP_STEPS }, (_, i) => {
              const at = i / (STRIP_STEPS - 1);
              const z = mode === 'slerp' ? slerp(from.z, to.z, at) : lerp(from.z, to.z, at);
              return (
                <li key={i}>
                  <button type="button" className="strip-step" disabled={disabled} onClick={() => go(at)} aria-label={`go to t = ${at.toFixed(2)}`}>
                    <img src={latentImageUrl(modelId, z, psi, classLabel)} alt="" width={56} height={56} loading="lazy" />
                    <span>{at.toFixed(2)}</span>
                  </button>
                </li>
              );
            })}
          </ol>
          <label className="slider-field">
            <span className="slider-label">
              t <output>{t.toFixed(2)}</output>
            </span>
            <input type="range" min={0} max={1} step={0.01} value={t} disabled={disabled} onChange={(e) => go(Number(e.target.value))} />
          </label>
        </>
      )}
    </div>
  );
}
