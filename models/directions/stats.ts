/**
 * Correlations for the direction scores, in float64.
 *
 * Within-group (pooled) correlation: when every latent is moved along a direction by the same
 * steps t, the factor's level differs from latent to latent for reasons that have nothing to do
 * with the step. Centring t and the values within each latent first (the pooled within-group
 * correlation of analysis of covariance) leaves only what the step explains: 1 when every
 * latent's factor moves linearly with t, 0 when the step does nothing to it.
 *
 * Circular-linear correlation (Mardia 1976, Biometrika 63; Mardia & Jupp 2000 §11.2.1) of a
 * linear variable t with an angle θ: with r_tc = corr(t, cos θ), r_ts = corr(t, sin θ),
 * r_cs = corr(cos θ, sin θ),
 *   R² = (r_tc² + r_ts² − 2 r_tc r_ts r_cs) / (1 − r_cs²),   R ∈ [0, 1]
 * the multiple correlation of t regressed on (cos θ, sin θ): how well the angle is a function of
 * t along a circle. It has no sign (an angle has no "up"). Used for the cyclic rotation factor.
 */

/** Pearson correlation of two equal-length series; 0 when either is constant. */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (b.length !== n) throw new RangeError(`length mismatch: ${a.length} vs ${b.length}`);
  if (n < 2) return 0;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]! - ma;
    const y = b[i]! - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** `values` with each group's mean subtracted (groups: consecutive runs of `groupSize`). */
export function centreWithinGroups(values: ArrayLike<number>, groupSize: number): Float64Array {
  const out = Float64Array.from(values as ArrayLike<number>);
  for (let g = 0; g < out.length; g += groupSize) {
    let m = 0;
    for (let i = g; i < g + groupSize; i++) m += out[i]!;
    m /= groupSize;
    for (let i = g; i < g + groupSize; i++) out[i]! -= m;
  }
  return out;
}

/**
 * The pooled within-group correlation of `t` and `v` (consecutive runs of `groupSize` belong to
 * one latent).
 */
export function withinGroupCorrelation(t: ArrayLike<number>, v: ArrayLike<number>, groupSize: number): number {
  return pearson(centreWithinGroups(t, groupSize), centreWithinGroups(v, groupSize));
}

/**
 * Within-group regression slope of `v` on `t` (Σ t′v′ / Σ t′², both centred per group): how
 * much v changes per unit of t, on average within a latent.
 */
export function withinGroupSlope(t: ArrayLike<number>, v: ArrayLike<number>, groupSize: number): number {
  const tc = centreWithinGroups(t, groupSize);
  const vc = centreWithinGroups(v, groupSize);
  let stv = 0;
  let stt = 0;
  for (let i = 0; i < tc.length; i++) {
    stv += tc[i]! * vc[i]!;
    stt += tc[i]! * tc[i]!;
  }
  return stt > 0 ? stv / stt : 0;
}

/** Mardia's circular-linear correlation R of linear `t` with angles `theta` (radians), in [0, 1]. */
export function circularLinearCorrelation(t: ArrayLike<number>, theta: ArrayLike<number>): number {
  const cos = Float64Array.from(theta as ArrayLike<number>, Math.cos);
  const sin = Float64Array.from(theta as ArrayLike<number>, Math.sin);
  return circularFromParts(t, cos, sin);
}

function circularFromParts(t: ArrayLike<number>, cos: ArrayLike<number>, sin: ArrayLike<number>): number {
  const rtc = pearson(t, cos);
  const rts = pearson(t, sin);
  const rcs = pearson(cos, sin);
  const denom = 1 - rcs * rcs;
  if (!(denom > 1e-12)) return Math.min(1, Math.max(Math.abs(rtc), Math.abs(rts)));
  const r2 = (rtc * rtc + rts * rts - 2 * rtc * rts * rcs) / denom;
  return Math.sqrt(Math.min(1, Math.max(0, r2)));
}

/** The circular-linear correlation with t, cos θ and sin θ each centred within groups first. */
export function withinGroupCircularCorrelation(t: ArrayLike<number>, theta: ArrayLike<number>, groupSize: number): number {
  const cos = centreWithinGroups(Float64Array.from(theta as ArrayLike<number>, Math.cos), groupSize);
  const sin = centreWithinGroups(Float64Array.from(theta as ArrayLike<number>, Math.sin), groupSize);
  return circularFromParts(centreWithinGroups(t, groupSize), cos, sin);
}
