/**
 * A small SVG line chart (loss curves, the truncation sweep): a few series on shared axes, with
 * min/max labels, a legend, and a text summary for screen readers. No chart library: these are
 * a few hundred points at most.
 */
export interface Series {
  name: string;
  color: string;
  points: [number, number][];
}

/** viewBox sizes: the SVG scales uniformly to its width, so text keeps its proportions. */
const FULL = { w: 560, h: 200 };
const SMALL = { w: 300, h: 150 };
const PAD = { l: 44, r: 10, t: 10, b: 24 };

function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.01 || a >= 1e5)) return v.toExponential(1);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

export function LineChart({
  series: raw,
  label,
  xLabel,
  xTicks,
  testId,
  small = false,
}: {
  series: Series[];
  label: string;
  xLabel?: string;
  xTicks?: { x: number; text: string }[];
  testId?: string;
  /** A shorter chart without a legend (one series in a grid of charts). */
  small?: boolean;
}) {
  const { w: W, h: H } = small ? SMALL : FULL;
  const series = raw.map((s) => ({ ...s, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)) }));
  const all = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (all.length === 0) return <p className="muted small">No data yet.</p>;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const sx = (x: number) => PAD.l + ((x - x0) / (x1 - x0 || 1)) * (W - PAD.l - PAD.r);
  const sy = (y: number) => PAD.t + (1 - (y - y0) / (y1 - y0)) * (H - PAD.t - PAD.b);
  const summary = series.map((s) => `${s.name}: ${s.points.length ? fmt(s.points[s.points.length - 1]![1]) : 'none'}`).join(', ');
  return (
    <figure className={small ? 'chart chart-small' : 'chart'} data-testid={testId}>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${label}. Latest: ${summary}`}>
        <line x1={PAD.l} y1={H - PAD.b} x2={W - PAD.r} y2={H - PAD.b} className="axis" />
        <line x1={PAD.l} y1={PAD.t} x2={PAD.l} y2={H - PAD.b} className="axis" />
        <text x={PAD.l - 6} y={PAD.t + 4} textAnchor="end" className="tick">
          {fmt(y1)}
        </text>
        <text x={PAD.l - 6} y={H - PAD.b} textAnchor="end" className="tick">
          {fmt(y0)}
        </text>
        {(xTicks ?? [
          { x: x0, text: fmt(x0) },
          { x: x1, text: fmt(x1) },
        ]).map((t) => (
          <text key={`${t.x}-${t.text}`} x={sx(t.x)} y={H - 6} textAnchor={t.x === x1 && x1 !== x0 ? 'end' : t.x === x0 ? 'start' : 'middle'} className="tick">
            {t.text}
          </text>
        ))}
        {xLabel && (
          <text x={(W + PAD.l) / 2} y={H - 6} textAnchor="middle" className="tick muted-tick">
            {xLabel}
          </text>
        )}
        {series.map((s) => (
          <g key={s.name}>
            <polyline fill="none" stroke={s.color} strokeWidth={2} vectorEffect="non-scaling-stroke" points={s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')} />
            {s.points.length <= 12 && s.points.map(([x, y]) => <circle key={x} cx={sx(x)} cy={sy(y)} r={3} fill={s.color} />)}
          </g>
        ))}
      </svg>
      {!small && <figcaption className="legend">
        {series.map((s) => (
          <span key={s.name}>
            <span className="swatch" style={{ background: s.color }} aria-hidden="true" /> {s.name}
          </span>
        ))}
      </figcaption>}
    </figure>
  );
}
