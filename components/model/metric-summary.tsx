/**
 * A model's headline figures beside the floor real images reach under the same protocol
 * (docs/evaluation.md): FID and its ratio to the floor, precision, recall, IS, class accuracy,
 * and the held-out ELBO of models with an encoder.
 */
import type { MetricsSummary } from '@/lib/protocol/models';

const fmt = (v: number | null | undefined, d = 2) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '–');

export function MetricSummary({ summary, compact = false }: { summary: MetricsSummary | undefined; compact?: boolean }) {
  if (!summary) return <p className="muted small">Not evaluated yet.</p>;
  const rows: [string, string, string, string?][] = [];
  if (summary.fid != null) rows.push(['FID', fmt(summary.fid, 1), fmt(summary.fidFloor, 1), summary.fidOverFloor != null ? `${fmt(summary.fidOverFloor, 1)}× floor` : undefined]);
  if (summary.precision != null) rows.push(['precision', fmt(summary.precision), fmt(summary.precisionFloor)]);
  if (summary.recall != null) rows.push(['recall', fmt(summary.recall), fmt(summary.recallFloor)]);
  if (!compact && summary.inceptionScore != null) rows.push(['IS', fmt(summary.inceptionScore), fmt(summary.inceptionScoreFloor)]);
  if (summary.classAccuracy != null) rows.push(['class acc.', fmt(summary.classAccuracy, 3), fmt(summary.classAccuracyFloor, 3)]);
  if (summary.elbo != null) rows.push(['ELBO', fmt(summary.elbo, 1), '', 'nats, held-out']);
  return (
    <table className={`metrics ${compact ? 'metrics-compact' : ''}`}>
      <thead>
        <tr>
          <th scope="col">metric</th>
          <th scope="col">model</th>
          <th scope="col">floor</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([name, value, floor, note]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td>
              {value}
              {note && <span className="muted small"> · {note}</span>}
            </td>
            <td className="muted">{floor}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
