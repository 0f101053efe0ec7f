'use client';

/**
 * Vector arithmetic over the room's bookmarks, its directions and its current z: a list of
 * signed, weighted terms sent as one `sum` op (SPEC O5), e.g. "smiling − neutral + other".
 */
import { useState } from 'react';
import { MAX_STEP, MAX_SUM_TERMS, type VectorRef } from '@/lib/protocol/rooms';
import { useExplorer } from '@/components/providers/explorer-provider';

interface Term {
  key: number;
  ref: string;
  weight: number;
}

function parseRef(ref: string): VectorRef | undefined {
  if (ref === 'current') return { current: true };
  const [kind, id] = [ref.slice(0, 2), ref.slice(2)];
  if (kind === 'b:' && id) return { bookmark: id };
  if (kind === 'd:' && id) return { direction: id };
  return undefined;
}

let nextKey = 1;

export function ArithmeticBuilder({ disabled }: { disabled: boolean }) {
  const bookmarks = useExplorer((s) => s.room?.bookmarks ?? []);
  const directions = useExplorer((s) => s.room?.directions ?? []);
  const steer = useExplorer((s) => s.steer);
  const [terms, setTerms] = useState<Term[]>([{ key: 0, ref: 'current', weight: 1 }]);
  const valid = terms.filter((t) => parseRef(t.ref) && Number.isFinite(t.weight));
  const update = (key: number, patch: Partial<Term>) => setTerms((ts) => ts.map((t) => (t.key === key ? { ...t, ...patch } : t)));
  const label = (ref: string) =>
    ref === 'current' ? 'z (current)' : (bookmarks.find((b) => `b:${b.id}` === ref)?.name ?? directions.find((d) => `d:${d.id}` === ref)?.name ?? '?');

  return (
    <form
      className="stack"
      onSubmit={(e) => {
        e.preventDefault();
        if (valid.length === 0) return;
        void steer({ kind: 'sum', terms: valid.map((t) => ({ ref: parseRef(t.ref)!, weight: t.weight })) });
      }}
    >
      <ol className="terms">
        {terms.map((t, i) => (
          <li key={t.key} className="term">
            <label className="visually-hidden" htmlFor={`term-sign-${t.key}`}>
              sign of term {i + 1}
            </label>
            <select id={`term-sign-${t.key}`} value={t.weight < 0 ? '-' : '+'} disabled={disabled} onChange={(e) => update(t.key, { weight: (e.target.value === '-' ? -1 : 1) * Math.abs(t.weight) })}>
              <option value="+">+</option>
              <option value="-">−</option>
            </select>
            <label className="visually-hidden" htmlFor={`term-weight-${t.key}`}>
              weight of term {i + 1}
            </label>
            <input
              id={`term-weight-${t.key}`}
              type="number"
              step={0.1}
              min={0}
              max={MAX_STEP}
              value={Math.abs(t.weight)}
              disabled={disabled}
              onChange={(e) => update(t.key, { weight: Math.sign(t.weight || 1) * Math.min(MAX_STEP, Math.abs(Number(e.target.value) || 0)) })}
              className="num"
            />
            <label className="visually-hidden" htmlFor={`term-ref-${t.key}`}>
              vector of term {i + 1}
            </label>
            <select id={`term-ref-${t.key}`} value={t.ref} disabled={disabled} onChange={(e) => update(t.key, { ref: e.target.value })}>
              <option value="current">z (current)</option>
              {bookmarks.length > 0 && (
                <optgroup label="Bookmarks">
                  {bookmarks.map((b) => (
                    <option key={b.id} value={`b:${b.id}`}>
                      {b.name}
                    </option>
                  ))}
                </optgroup>
              )}
              {directions.length > 0 && (
                <optgroup label="Directions">
                  {directions.map((d) => (
                    <option key={d.id} value={`d:${d.id}`}>
                      {d.name}
                    </option>
                  ))}
                </optgroup>
              )}
            </select>
            <button type="button" className="btn btn-small" aria-label={`remove term ${i + 1}`} disabled={disabled || terms.length === 1} onClick={() => setTerms((ts) => ts.filter((x) => x.key !== t.key))}>
              ×
            </button>
          </li>
        ))}
      </ol>
      <p className="formula mono small" aria-live="polite">
        z ← {valid.map((t, i) => `${i === 0 ? (t.weight < 0 ? '−' : '') : t.weight < 0 ? ' − ' : ' + '}${Math.abs(t.weight) === 1 ? '' : `${Math.abs(t.weight)}·`}${label(t.ref)}`).join('')}
      </p>
      <div className="row">
        <button type="button" className="btn" disabled={disabled || terms.length >= MAX_SUM_TERMS} onClick={() => setTerms((ts) => [...ts, { key: nextKey++, ref: bookmarks[0] ? `b:${bookmarks[0].id}` : 'current', weight: 1 }])}>
          Add term
        </button>
        <button type="submit" className="btn btn-primary" disabled={disabled || valid.length === 0}>
          Apply
        </button>
      </div>
    </form>
  );
}
