'use client';

/**
 * "Steer toward": moves the room's latent toward (or away from) one attribute of the model's
 * classifier, as `direction:steer` (SPEC D7). The server applies it as a `steer` op, so every
 * member sees the new z; the ack's figures (steps taken, the attribute's value, reached or not)
 * are shown here. Nothing is sent unless the schema accepts it; a refusal changes nothing.
 */
import { useState } from 'react';
import type { DirectionSteerResponse } from '@/lib/protocol/directions';
import { useExplorer } from '@/components/providers/explorer-provider';
import { DirectionField } from './direction-field';
import { buildSteerRequest, initialSteerValues, notSentMessage, STEER_FIELDS, type FormValues } from './direction-forms';

export function SteerTowardForm({ disabledReason, attributes }: { disabledReason: string | null; attributes: readonly string[] }) {
  const steerToward = useExplorer((s) => s.steerToward);
  const [edited, setEdited] = useState<FormValues | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [sending, setSending] = useState(false);
  const [result, setResult] = useState<{ ok: true; attribute: string; sign: number; data: DirectionSteerResponse } | { ok: false; message: string } | null>(null);
  const values = edited ?? initialSteerValues(attributes);
  const noClassifier = attributes.length === 0;
  const reason = disabledReason ?? (noClassifier ? 'This model has no classifier for its images, so there is no attribute to steer toward.' : null);

  const change = (key: string, value: string | string[]) => {
    setEdited({ ...values, [key]: value });
    setErrors(({ [key]: _fixed, ...rest }) => rest);
  };

  async function submit() {
    setResult(null);
    const built = buildSteerRequest(values);
    if (!built.ok) {
      setErrors(built.errors);
      return;
    }
    setErrors({});
    setSending(true);
    const res = await steerToward(built.request);
    setSending(false);
    setResult(res.ok ? { ok: true, attribute: built.request.attribute, sign: built.request.sign ?? 1, data: res.data } : { ok: false, message: res.message ?? res.error });
  }

  return (
    <form
      className="stack direction-tool"
      aria-label="steer toward an attribute"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      {reason && (
        <p className="hint" data-testid="steer-disabled">
          {reason}
        </p>
      )}
      <fieldset className="plain-fieldset stack" disabled={reason !== null}>
        <div className="param-grid">
          {STEER_FIELDS.map((f) => (
            <DirectionField
              key={f.key}
              field={f}
              idPrefix="steer"
              value={values[f.key] ?? f.initial}
              error={errors[f.key]}
              onChange={(v) => change(f.key, v)}
              attributes={attributes}
              bookmarks={[]}
              directions={[]}
            />
          ))}
          <fieldset className="field">
            <legend>Way</legend>
            <div className="segmented" role="radiogroup" aria-label="toward or away">
              {(
                [
                  ['1', 'toward'],
                  ['-1', 'away'],
                ] as const
              ).map(([v, label]) => (
                <label key={v} className={values['sign'] === v ? 'on' : undefined}>
                  <input type="radio" name="steer-sign" value={v} checked={values['sign'] === v} onChange={() => change('sign', v)} />
                  {label}
                </label>
              ))}
            </div>
          </fieldset>
        </div>
        {Object.keys(errors).length > 0 && (
          <p className="field-error" role="alert" data-testid="steer-invalid">
            {notSentMessage(errors, STEER_FIELDS)}
          </p>
        )}
        <div className="row wrap">
          <button type="submit" className="btn btn-primary" data-testid="steer-submit" disabled={sending}>
            {sending ? 'Steering…' : values['sign'] === '-1' ? `Steer away from ${values['attribute'] || '…'}` : `Steer toward ${values['attribute'] || '…'}`}
          </button>
          {result?.ok && (
            <span className={result.data.reached ? 'good-text small' : 'muted small'} data-testid="steer-result" aria-live="polite">
              {result.sign < 0 ? 'Steered away: ' : 'Steered: '}the image {result.data.reached ? 'now reads as' : 'does not read as'} “{result.attribute}” (value {result.data.value.toFixed(2)}) after {result.data.steps} step
              {result.data.steps === 1 ? '' : 's'} · v{result.data.version}
            </span>
          )}
        </div>
        {result && !result.ok && (
          <p className="banner banner-bad" role="alert" data-testid="steer-error">
            The server refused the steer: {result.message}
          </p>
        )}
      </fieldset>
    </form>
  );
}
