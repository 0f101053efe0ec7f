'use client';

/**
 * One slider per stored direction of the model: its position is the room's shared weight
 * (SPEC O11: `weight` ops land every member on the same position), with nudge buttons (`nudge`
 * along the direction). Directions found later (issue 6) bring scores, shown when present as
 * compact badges whose tooltips say what they mean (./direction-forms.ts scoreBadges).
 */
import { useState } from 'react';
import { MAX_STEP, type DirectionInfo } from '@/lib/protocol/rooms';
import { useExplorer } from '@/components/providers/explorer-provider';
import { scoreBadges } from './direction-forms';
import { useThrottledOp } from './use-throttled-op';

/** Slider range, z units along the unit direction. */
const RANGE = 5;
const NUDGE = 0.5;

export function DirectionSliders({ disabled }: { disabled: boolean }) {
  const directions = useExplorer((s) => s.room?.directions ?? []);
  const weights = useExplorer((s) => s.room?.weights ?? {});
  const steer = useExplorer((s) => s.steer);
  const send = useThrottledOp();
  const [drafts, setDrafts] = useState<Record<string, number>>({});
  const discoveries = useExplorer((s) => s.discoveries);
  const running = Object.entries(discoveries).filter(([, j]) => j.error !== null || j.done < j.total);
  const progress = running.length > 0 && (
    <ul className="discoveries small" aria-live="polite">
      {running.map(([id, j]) => (
        <li key={id} className={j.error ? 'bad-text' : 'muted'}>
          {j.error ? `${j.method}: ${j.error}` : `finding directions (${j.method})… ${j.done} / ${j.total}`}
        </li>
      ))}
    </ul>
  );

  if (directions.length === 0) {
    return progress || (
      <p className="muted small" data-testid="no-directions">
        This model has no stored directions yet. Directions found for it (classifier gradients, PCA, SeFa…) appear here for every member.
      </p>
    );
  }
  return (
    <>
    {progress}
    <ul className="direction-list">
      {directions.map((d) => {
        const shared = weights[d.id] ?? 0;
        const value = drafts[d.id] ?? shared;
        return (
          <li key={d.id} className="direction" data-testid="direction" data-direction-name={d.name}>
            <label className="slider-field">
              <span className="slider-label">
                {d.name} <span className="muted small">{d.method}</span> <output>{value.toFixed(2)}</output>
              </span>
              <input
                type="range"
                min={-RANGE}
                max={RANGE}
                step={0.05}
                value={value}
                disabled={disabled}
                onChange={(e) => {
                  const v = Math.max(-MAX_STEP, Math.min(MAX_STEP, Number(e.target.value)));
                  setDrafts((x) => ({ ...x, [d.id]: v }));
                  send({ kind: 'weight', direction: d.id, weight: v });
                }}
                onPointerUp={() => setDrafts(({ [d.id]: _done, ...rest }) => rest)}
                onKeyUp={() => setDrafts(({ [d.id]: _done, ...rest }) => rest)}
              />
            </label>
            <div className="row">
              <button type="button" className="btn btn-small" disabled={disabled} aria-label={`nudge ${d.name} by −${NUDGE}`} onClick={() => void steer({ kind: 'nudge', direction: { direction: d.id }, amount: -NUDGE })}>
                −
              </button>
              <button type="button" className="btn btn-small" disabled={disabled} aria-label={`nudge ${d.name} by +${NUDGE}`} onClick={() => void steer({ kind: 'nudge', direction: { direction: d.id }, amount: NUDGE })}>
                +
              </button>
              <ScoreBadges scores={d.scores} />
            </div>
          </li>
        );
      })}
    </ul>
    </>
  );
}

function ScoreBadges({ scores }: { scores: DirectionInfo['scores'] }) {
  const badges = scoreBadges(scores);
  if (badges.length === 0) return null;
  return (
    <ul className="score-badges" aria-label="scores" data-testid="direction-scores">
      {badges.map((b) => (
        <li key={b.key} className="score-badge" title={b.title} data-score={b.key} tabIndex={0} aria-label={`${b.text}: ${b.title}`}>
          {b.text}
        </li>
      ))}
    </ul>
  );
}
