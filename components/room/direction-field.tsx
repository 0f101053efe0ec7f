'use client';

/**
 * One labelled field of the direction forms (./direction-forms.ts FieldSpec): a number, a choice,
 * an attribute, one stored direction, or a checkbox list of bookmarks or directions. Its hint
 * and its error are tied to the control (aria-describedby), and a refused value is aria-invalid.
 */
import type { FieldSpec } from './direction-forms';

export interface Choice {
  id: string;
  label: string;
}

export interface DirectionFieldProps {
  field: FieldSpec;
  /** Prefix of the element ids (two forms can show the same field). */
  idPrefix: string;
  value: string | string[];
  error: string | undefined;
  onChange(value: string | string[]): void;
  attributes: readonly string[];
  bookmarks: readonly Choice[];
  directions: readonly Choice[];
}

export function DirectionField({ field, idPrefix, value, error, onChange, attributes, bookmarks, directions }: DirectionFieldProps) {
  const id = `${idPrefix}-${field.key.replace(/\./g, '-')}`;
  const described = `${id}-hint${error ? ` ${id}-error` : ''}`;
  const hint = (
    <span className="hint" id={`${id}-hint`}>
      {field.hint}
      {field.kind === 'integer' || field.kind === 'number' ? bounds(field) : ''}
    </span>
  );
  const errorLine = error && (
    <span className="field-error" id={`${id}-error`}>
      {error}
    </span>
  );

  if (field.kind === 'bookmarks' || field.kind === 'directions') {
    const choices = field.kind === 'bookmarks' ? bookmarks : directions;
    const picked = Array.isArray(value) ? value : [];
    return (
      <fieldset className="field check-field" aria-describedby={described} aria-invalid={error ? true : undefined} data-testid={id}>
        <legend>{field.label}</legend>
        {choices.length === 0 ? (
          <span className="muted small">{field.kind === 'bookmarks' ? 'No bookmarks in this room yet.' : 'No stored directions yet.'}</span>
        ) : (
          <ul className="check-list">
            {choices.map((c) => (
              <li key={c.id}>
                <label className="inline-field">
                  <input
                    type="checkbox"
                    checked={picked.includes(c.id)}
                    disabled={!picked.includes(c.id) && field.maxItems !== undefined && picked.length >= field.maxItems}
                    onChange={(e) => onChange(e.target.checked ? [...picked, c.id] : picked.filter((x) => x !== c.id))}
                  />
                  <span>{c.label}</span>
                </label>
              </li>
            ))}
          </ul>
        )}
        {hint}
        {errorLine}
      </fieldset>
    );
  }

  const text = typeof value === 'string' ? value : '';
  const common = { id, 'aria-describedby': described, 'aria-invalid': error ? true : undefined } as const;
  let control;
  if (field.kind === 'choice' || field.kind === 'attribute' || field.kind === 'direction') {
    const options: Choice[] =
      field.kind === 'choice' ? (field.options ?? []).map((o) => ({ id: o, label: o })) : field.kind === 'attribute' ? attributes.map((a) => ({ id: a, label: a })) : [...directions];
    control = (
      <select {...common} value={text} onChange={(e) => onChange(e.target.value)}>
        {(field.kind === 'direction' || !options.some((o) => o.id === text)) && (
          <option value="" disabled={field.kind !== 'direction'}>
            {options.length === 0 ? 'none available' : 'choose…'}
          </option>
        )}
        {options.map((o) => (
          <option key={o.id} value={o.id}>
            {o.label}
          </option>
        ))}
      </select>
    );
  } else if (field.kind === 'integer' || field.kind === 'number') {
    control = (
      <input
        {...common}
        type="number"
        inputMode={field.kind === 'integer' ? 'numeric' : 'decimal'}
        min={field.min}
        max={field.max}
        step={field.kind === 'integer' ? 1 : 'any'}
        placeholder={field.optional && field.initial === '' ? 'auto' : undefined}
        value={text}
        onChange={(e) => onChange(e.target.value)}
      />
    );
  } else {
    control = <input {...common} type="text" maxLength={60} value={text} placeholder={field.optional ? 'optional' : undefined} onChange={(e) => onChange(e.target.value)} />;
  }
  return (
    <div className="field" data-testid={id}>
      <label htmlFor={id}>{field.label}</label>
      {control}
      {hint}
      {errorLine}
    </div>
  );
}

function bounds(f: FieldSpec): string {
  if (f.min === undefined && f.max === undefined) return '';
  const lo = f.min === undefined ? '' : `${f.minExclusive ? '>' : '≥'} ${f.min}`;
  const hi = f.max === undefined ? '' : `≤ ${f.max}`;
  return ` (${[lo, hi].filter(Boolean).join(', ')})`;
}
