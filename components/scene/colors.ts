/**
 * Colours of the point cloud: a qualitative palette for classes, a perceptual ramp for scores.
 * Written into the colour attribute in place (no allocation per call).
 */
import type { PointCloud } from '@/lib/points/format';

/** Tableau-like qualitative palette, readable on the dark scene background. */
export const CLASS_COLORS = [
  '#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f',
  '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac',
  '#86bcb6', '#d37295',
] as const;

/**
 * three.js treats vertex colours as linear and encodes its output as sRGB: palette colours
 * (sRGB) are decoded first, or every point would render washed out.
 */
function srgbToLinear(c: number): number {
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

function hexToRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [srgbToLinear(((n >> 16) & 255) / 255), srgbToLinear(((n >> 8) & 255) / 255), srgbToLinear((n & 255) / 255)];
}

const CLASS_RGB = CLASS_COLORS.map(hexToRgb);

/** Viridis at 5 stops (sRGB), interpolated in linear light. */
const RAMP_SRGB: [number, number, number][] = [
  [0.267, 0.005, 0.329],
  [0.231, 0.322, 0.545],
  [0.129, 0.569, 0.549],
  [0.369, 0.788, 0.384],
  [0.993, 0.906, 0.144],
];
const RAMP = RAMP_SRGB.map((c) => c.map(srgbToLinear) as [number, number, number]);

export function rampColor(t: number, out: Float32Array, offset: number): void {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(x));
  const f = x - i;
  const a = RAMP[i]!;
  const b = RAMP[i + 1]!;
  out[offset] = a[0] + (b[0] - a[0]) * f;
  out[offset + 1] = a[1] + (b[1] - a[1]) * f;
  out[offset + 2] = a[2] + (b[2] - a[2]) * f;
}

export function classColor(label: number): string {
  return CLASS_COLORS[((label % CLASS_COLORS.length) + CLASS_COLORS.length) % CLASS_COLORS.length]!;
}

/** CSS gradient of the score ramp, for the legend. */
export const RAMP_CSS = `linear-gradient(90deg, ${RAMP_SRGB.map(([r, g, b]) => `rgb(${Math.round(r * 255)} ${Math.round(g * 255)} ${Math.round(b * 255)})`).join(', ')})`;

/**
 * Fills `out` (count × 3) with each point's colour: by class, by a named score (rescaled to its
 * range in the cloud), or by |z|.
 */
export function fillColors(cloud: PointCloud, colorBy: string, out: Float32Array): void {
  const { count, latentDim, scores } = cloud.header;
  if (colorBy === 'class' && cloud.labels) {
    for (let i = 0; i < count; i++) {
      const c = CLASS_RGB[cloud.labels[i]! % CLASS_RGB.length]!;
      out[i * 3] = c[0];
      out[i * 3 + 1] = c[1];
      out[i * 3 + 2] = c[2];
    }
    return;
  }
  const s = scores.findIndex((x) => x.name === colorBy);
  let min = Infinity;
  let max = -Infinity;
  const value = (i: number): number => {
    if (s >= 0) return cloud.scores[i * scores.length + s]!;
    let n = 0;
    for (let j = 0; j < latentDim; j++) n += cloud.latents[i * latentDim + j]! ** 2;
    return Math.sqrt(n);
  };
  for (let i = 0; i < count; i++) {
    const v = value(i);
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max > min ? max - min : 1;
  for (let i = 0; i < count; i++) rampColor((value(i) - min) / span, out, i * 3);
}
