'use client';

/**
 * The controls every room has: random with a seed, undo (and redo where the protocol has it),
 * the truncation psi, and the class of a conditional model. Every control sends an op through
 * the store; the room changes when the server's state comes back.
 */
import { useEffect, useState } from 'react';
import { LatentOpSchema, PSI_MAX, PSI_MIN } from '@/lib/protocol/rooms';
import { useExplorer } from '@/components/providers/explorer-provider';
import { useThrottledOp } from './use-throttled-op';

const newSeed = () => Math.floor(Math.random() * 100_000);

/** Redo exists where the shared op schema has it (it comes with the durable history). */
const REDO = LatentOpSchema.safeParse({ kind: 'redo' });

export function BasicControls({ disabled, classNames }: { disabled: boolean; classNames: string[] | undefined }) {
  const steer = useExplorer((s) => s.steer);
  const psi = useExplorer((s) => s.room?.psi ?? 1);
  const classLabel = useExplorer((s) => s.room?.classLabel ?? null);
  const numClasses = useExplorer((s) => s.room?.numClasses ?? null);
  const [seed, setSeed] = useState(newSeed);
  const [lastSeed, setLastSeed] = useState<number | null>(null);
  const [psiDraft, setPsiDraft] = useState<number | null>(null);
  const sendPsi = useThrottledOp();

  // Ctrl/Cmd+Z undoes, Ctrl/Cmd+Shift+Z redoes (outside text fields, which keep their own undo).
  useEffect(() => {
    if (disabled) return;
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey) || e.key.toLowerCase() !== 'z') return;
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable) && (t as HTMLInputElement).type !== 'range') return;
      if (e.shiftKey && !REDO.success) return;
      e.preventDefault();
      void steer(e.shiftKey && REDO.success ? REDO.data : { kind: 'undo' });
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [disabled, steer]);

  return (
    <section className="card controls" aria-labelledby="controls-title">
      <h2 id="controls-title" className="card-title">
        Steer
      </h2>
      <div className="row wrap">
        <button
          type="button"
          className="btn btn-primary"
          disabled={disabled}
          onClick={() => {
            void steer({ kind: 'random', seed });
            // The same seed gives the same z (SPEC O6): the next click draws a new one; type a seed to return to it.
            setLastSeed(seed);
            setSeed(newSeed());
          }}
          data-testid="random"
        >
          Random
        </button>
        <label className="inline-field">
          <span>seed</span>
          <input
            type="number"
            min={0}
            max={4294967295}
            value={seed}
            disabled={disabled}
            onChange={(e) => setSeed(Math.max(0, Math.min(4294967295, Math.floor(Number(e.target.value) || 0))))}
            aria-label="random seed"
          />
        </label>
        <button type="button" className="btn" disabled={disabled} onClick={() => setSeed(newSeed())} aria-label="new seed">
          ↻
        </button>
        <span className="spacer" />
        <button type="button" className="btn" disabled={disabled} onClick={() => void steer({ kind: 'undo' })} aria-keyshortcuts="Control+Z" title="Undo (Ctrl+Z)">
          Undo
        </button>
        {REDO.success && (
          <button type="button" className="btn" disabled={disabled} onClick={() => void steer(REDO.data)} aria-keyshortcuts="Control+Shift+Z" title="Redo (Ctrl+Shift+Z)">
            Redo
          </button>
        )}
      </div>
      {lastSeed !== null && <span className="hint">last random: seed {lastSeed}</span>}
      <label className="slider-field">
        <span className="slider-label">
          Truncation psi <output>{(psiDraft ?? psi).toFixed(2)}</output>
        </span>
        <input
          type="range"
          min={PSI_MIN}
          max={PSI_MAX}
          step={0.01}
          value={psiDraft ?? psi}
          disabled={disabled}
          onChange={(e) => {
            const v = Number(e.target.value);
            setPsiDraft(v);
            sendPsi({ kind: 'psi', psi: v });
          }}
          // The shared value shows again once this member lets go.
          onPointerUp={() => setPsiDraft(null)}
          onKeyUp={() => setPsiDraft(null)}
          onBlur={() => setPsiDraft(null)}
          data-testid="psi"
        />
        <span className="hint">0: the mean image · 1: z as it is · above 1: exaggerated</span>
      </label>
      {numClasses !== null && (
        <label className="field">
          <span>Class</span>
          <select value={classLabel ?? 0} disabled={disabled} onChange={(e) => void steer({ kind: 'class', classLabel: Number(e.target.value) })}>
            {Array.from({ length: numClasses }, (_, i) => (
              <option key={i} value={i}>
                {classNames?.[i] ?? i}
              </option>
            ))}
          </select>
        </label>
      )}
    </section>
  );
}
