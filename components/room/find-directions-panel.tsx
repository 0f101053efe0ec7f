'use client';

/**
 * "Find directions": pick a discovery method, fill its parameters (defaults from the protocol's
 * schemas), start it as `direction:discover` (SPEC D1). The job's progress and failure come
 * from the store's `discoveries` (D2, D5); the directions it finds reach every member's sliders
 * through `direction:added` (D3). Nothing is sent unless the schema accepts it; a refusal by the
 * server is shown as it said it and changes nothing.
 */
import { useState } from 'react';
import { DIRECTION_METHODS, type DirectionMethod } from '@/lib/protocol/directions';
import { useExplorer } from '@/components/providers/explorer-provider';
import { DirectionField } from './direction-field';
import { buildDiscoverRequest, initialValues, METHOD_INFO, methodAvailability, methodFields, notSentMessage, type FormValues } from './direction-forms';

/** Fields shown at once; the rest (seeds, regularisation, scoring) under "More settings". */
const MAIN_FIELDS = new Set(['params.attribute', 'params.components', 'params.source', 'params.samples', 'params.positive', 'params.negative', 'params.direction', 'params.conditions', 'name']);

export interface FindDirectionsPanelProps {
  /** Why the form cannot be used (a viewer, not connected); null when it can. */
  disabledReason: string | null;
  attributes: readonly string[];
  family: string | undefined;
}

/** The conditional method's fields: the direction to keep, and the ones to project out of it. */
const DIRECTION = 'params.direction';
const CONDITIONS = 'params.conditions';

export function FindDirectionsPanel({ disabledReason, attributes, family }: FindDirectionsPanelProps) {
  const bookmarks = useExplorer((s) => s.room?.bookmarks ?? []);
  const directions = useExplorer((s) => s.room?.directions ?? []);
  const latentDim = useExplorer((s) => s.room?.latentDim);
  const discoveries = useExplorer((s) => s.discoveries);
  const discover = useExplorer((s) => s.discover);
  const [method, setMethod] = useState<DirectionMethod>('sefa');
  const [edits, setEdits] = useState<Partial<Record<DirectionMethod, FormValues>>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [serverError, setServerError] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const [job, setJob] = useState<{ id: string; method: DirectionMethod } | null>(null);

  const values = edits[method] ?? initialValues(method, attributes);
  const fields = methodFields(method);
  const room = { attributes, family, bookmarks: bookmarks.length, directions: directions.length };
  const unavailable = methodAvailability(method, room);
  const choices = {
    attributes,
    bookmarks: bookmarks.map((b) => ({ id: b.id, label: b.name })),
    directions: directions.map((d) => ({ id: d.id, label: d.name })),
  };
  const status = job ? discoveries[job.id] : undefined;
  const running = status !== undefined && status.error === null && (status.total === 0 || status.done < status.total);

  const change = (key: string, value: string | string[]) => {
    const next: FormValues = { ...values, [key]: value };
    // A direction is never offered as orthogonal to itself: picking it drops it from the others.
    const others = next[CONDITIONS];
    if (key === DIRECTION && Array.isArray(others)) next[CONDITIONS] = others.filter((id) => id !== value);
    setEdits((e) => ({ ...e, [method]: next }));
    setErrors(({ [key]: _fixed, ...rest }) => rest);
  };

  async function start() {
    setServerError(null);
    const built = buildDiscoverRequest(method, values, latentDim === undefined ? {} : { latentDim });
    if (!built.ok) {
      setErrors(built.errors);
      return;
    }
    setErrors({});
    setSending(true);
    const res = await discover(built.request);
    setSending(false);
    if (res.ok) setJob({ id: res.data.jobId, method });
    else setServerError(res.message ?? res.error);
  }

  const fieldList = (which: (key: string) => boolean) =>
    fields
      .filter((f) => which(f.key))
      .map((f) => (
        <DirectionField
          key={f.key}
          field={f}
          idPrefix="discover"
          value={values[f.key] ?? f.initial}
          error={errors[f.key]}
          onChange={(v) => change(f.key, v)}
          {...choices}
          directions={f.key === CONDITIONS ? choices.directions.filter((d) => d.id !== values[DIRECTION]) : choices.directions}
        />
      ));

  return (
    <form
      className="stack direction-tool"
      aria-label="find directions"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void start();
      }}
    >
      {disabledReason && (
        <p className="hint" data-testid="discover-disabled">
          {disabledReason}
        </p>
      )}
      <fieldset className="plain-fieldset stack" disabled={disabledReason !== null}>
        <div className="field">
          <label htmlFor="discover-method">Method</label>
          <select id="discover-method" data-testid="discover-method" value={method} aria-describedby="discover-method-about" onChange={(e) => setMethod(e.target.value as DirectionMethod)}>
            {DIRECTION_METHODS.map((m) => {
              const why = methodAvailability(m, room);
              return (
                <option key={m} value={m}>
                  {METHOD_INFO[m].label}
                  {why ? ' (unavailable)' : ''}
                </option>
              );
            })}
          </select>
          <span className="hint" id="discover-method-about">
            {METHOD_INFO[method].about}
          </span>
          {unavailable && <span className="field-error">This model or room cannot run it: it {unavailable}.</span>}
        </div>
        <div className="param-grid">{fieldList((k) => MAIN_FIELDS.has(k))}</div>
        <details className="more-settings">
          <summary>More settings</summary>
          <div className="param-grid">{fieldList((k) => !MAIN_FIELDS.has(k))}</div>
        </details>
        {Object.keys(errors).length > 0 && (
          <p className="field-error" role="alert" data-testid="discover-invalid">
            {notSentMessage(errors, fields)}
          </p>
        )}
        <div className="row wrap">
          <button type="submit" className="btn btn-primary" data-testid="discover-start" disabled={sending || unavailable !== null}>
            {sending ? 'Starting…' : 'Find directions'}
          </button>
          {job && <JobStatus method={job.method} status={status} running={running} />}
        </div>
        {serverError && (
          <p className="banner banner-bad" role="alert" data-testid="discover-error">
            The server refused it: {serverError}
          </p>
        )}
      </fieldset>
    </form>
  );
}

function JobStatus({ method, status, running }: { method: DirectionMethod; status: { done: number; total: number; error: string | null } | undefined; running: boolean }) {
  const label = METHOD_INFO[method].label;
  if (status?.error) {
    return (
      <span className="field-error" role="alert" data-testid="discover-status">
        {label} failed: {status.error}
      </span>
    );
  }
  if (!status || running) {
    const total = status?.total ?? 0;
    return (
      <span className="progress-line small muted" data-testid="discover-status" aria-live="polite">
        {total === 0 ? `${label} queued…` : `${label}: ${status!.done} / ${total}`}
        <progress max={total || undefined} value={total ? status!.done : undefined} aria-label={`${label} progress`} />
      </span>
    );
  }
  return (
    <span className="good-text small" data-testid="discover-status" aria-live="polite">
      {label} finished: its directions are in the list below.
    </span>
  );
}
