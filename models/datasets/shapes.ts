/**
 * Shapes: a procedural data set with known generating factors, the ground truth for judging the
 * directions a model's latent space offers (does moving along d change only the hue?).
 *
 * Each image is one filled shape, lit in one colour on a black background, RGB, 32 or 64 px,
 * drawn from six factors that are sampled independently and uniformly per image:
 *
 * | factor     | where          | value in [0, 1] means                                            |
 * |------------|----------------|------------------------------------------------------------------|
 * | shape      | `labels`       | class 0..3: square, circle, triangle, cross (`classNames`)       |
 * | `scale`    | `factors`      | side of the square of the same area, linear from SCALE_MIN to    |
 * |            |                | SCALE_MAX of the image side (every shape has the same area at    |
 * |            |                | the same scale, so area says nothing about the class)            |
 * | `rotation` | `factors`      | fraction of the shape's symmetry period (SHAPE_ROTATION_PERIOD_DEG:|
 * |            |                | square and cross 90°, triangle 120°), clockwise as displayed; 0  |
 * |            |                | is upright (square and cross axis-aligned, triangle apex up)     |
 * | `x`, `y`   | `factors`      | centre, linear from POSITION_MIN to POSITION_MAX of the image    |
 * |            |                | side; x = 0 left, y = 0 top                                      |
 * | `hue`      | `factors`      | hue angle from 0° (red) to HUE_MAX_DEG (270°, violet) through    |
 * |            |                | yellow, green, cyan and blue; saturation SATURATION, value 1     |
 *
 * Identifiability. A shape rotated by its symmetry period is the same image, so rotation is
 * drawn within one period: every image has one rotation value, and the factor is cyclic (0 and 1
 * are the same image; compare rotations with cos/sin of 2π·rotation). A circle has no rotation at
 * all: its `rotation` value is drawn like the others (so the random stream does not depend on the
 * class) but has no effect on the pixels; leave circles (label 1) out when judging rotation. Hue
 * stops at 270° so that it is not cyclic (red and violet differ). The position range keeps every
 * shape at every scale and rotation wholly inside the image (the largest reach is the triangle's
 * circumradius, 0.877 × scale side), so x and y never interact with scale, and with at least
 * one pixel to spare at 32 px (0.877 × SCALE_MAX + 1/32 < POSITION_MIN): the border pixels are
 * black in every image (tested).
 *
 * Images are resolution-independent: the factors are in units of the image side, so shapes64
 * with a seed draws the shapes32 images of that seed at twice the resolution.
 *
 * Anti-aliasing: every shape is a signed distance function (exact for the circle, a max/min of
 * half-planes for the polygons, 1-Lipschitz either way). A pixel whose centre is farther than
 * half its diagonal from the edge is wholly in or out; the others, along the edges, are
 * supersampled SUPERSAMPLE × SUPERSAMPLE times, so the coverage is exact to 1/64.
 *
 * Determinism: image i's factors are draws 6i..6i+5 of mulberry32(seed) (shape, scale, rotation,
 * x, y, hue), so the first n images of a seed do not depend on the count, and a seed gives the
 * same bytes in every run (Math.cos/sin of the rotation are the one step a different JS engine
 * could round differently in the last bit).
 *
 * Speed (2-core machine shared with TF.js jobs, Node 20, one thread): 10,000 images at 32 px take
 * about 1.0 s of CPU (1.4 s wall when the machine was quiet, 2-4.5 s under a load average of 10),
 * at 64 px about 2.0 s of CPU (3.7 s wall quiet). Most of it is the supersampling of edge
 * pixels (at 4 × 4 samples: 0.4 s CPU at 32 px). `npx tsx models/datasets/shapes-preview.ts --bench`.
 *
 * No TF.js, no canvas: plain Float32Array, NHWC, values in [0, 1].
 */
import type { Dataset } from '../common/family';
import { mulberry32 } from '../common/random';
import { splitDataset } from './split';

export const SHAPE_CLASS_NAMES = ['square', 'circle', 'triangle', 'cross'] as const;
export type ShapeClass = (typeof SHAPE_CLASS_NAMES)[number];
/** Rotational symmetry period of each class in degrees; null: rotation has no effect (circle). */
export const SHAPE_ROTATION_PERIOD_DEG: Readonly<Record<ShapeClass, number | null>> = {
  square: 90,
  circle: null,
  triangle: 120,
  cross: 90,
};
/** Names of the continuous factors in `Dataset.factors`, in draw order. */
export const SHAPES_FACTOR_NAMES = ['scale', 'rotation', 'x', 'y', 'hue'] as const;
export type ShapesFactorName = (typeof SHAPES_FACTOR_NAMES)[number];

export const SHAPES_SIZES = [32, 64] as const;
export type ShapesSize = (typeof SHAPES_SIZES)[number];
export const SHAPES_CHANNELS = 3;

/** Side of the equal-area square at scale 0 and 1, as fractions of the image side. */
export const SCALE_MIN = 0.16;
export const SCALE_MAX = 0.3;
/** Range of the shape's centre, as fractions of the image side (see the header for the margin). */
export const POSITION_MIN = 0.3;
export const POSITION_MAX = 0.7;
/** Hue angle at hue = 1 (hue = 0 is red). */
export const HUE_MAX_DEG = 270;
export const SATURATION = 0.9;
/** Samples per pixel side along the edges (64 samples per edge pixel). */
export const SUPERSAMPLE = 8;

/** Default number of images, and how many of them are held out. */
export const SHAPES_COUNT = 10_000;
export const SHAPES_HELD_OUT_COUNT = 1_000;
/** Seed of the project's shapes images (what the shipped models were trained on: don't change). */
export const SHAPES_SEED = 0x4c52_0002; // "LR" + 2
/** Seed of the fixed train/held-out split of those images. */
export const SHAPES_SPLIT_SEED = 0x4c52_0003;

// Shape geometry, all for an equal-area square of side 1 (area 1).
const CIRCLE_RADIUS = 1 / Math.sqrt(Math.PI);
/** Equilateral triangle of area 1: side √(4/√3); inradius side/(2√3), circumradius twice that. */
const TRIANGLE_INRADIUS = Math.sqrt(4 / Math.sqrt(3)) / (2 * Math.sqrt(3));
const TRIANGLE_CIRCUMRADIUS = 2 * TRIANGLE_INRADIUS;
/** Plus sign spanning `a` with arms a/3 wide: area 5a²/9 = 1. */
const CROSS_HALF_SPAN = 3 / Math.sqrt(5) / 2;
const CROSS_HALF_WIDTH = CROSS_HALF_SPAN / 3;
/** Farthest any point of any shape lies from its centre (the triangle's vertices). */
export const SHAPE_MAX_REACH = TRIANGLE_CIRCUMRADIUS;
const REACH: readonly number[] = [Math.SQRT1_2, CIRCLE_RADIUS, TRIANGLE_CIRCUMRADIUS, Math.hypot(CROSS_HALF_SPAN, CROSS_HALF_WIDTH)];

/** One image's factors (the shape's class and the five continuous factors, each in [0, 1]). */
export interface ShapeFactors {
  /** Class index into SHAPE_CLASS_NAMES. */
  shape: number;
  scale: number;
  rotation: number;
  x: number;
  y: number;
  hue: number;
}

/** RGB in [0, 1] of a hue factor (HSV with saturation SATURATION and value 1). */
export function hueToRgb(hue: number): [number, number, number] {
  const h = (hue * HUE_MAX_DEG) / 60; // sector 0..4.5
  const sector = Math.min(Math.floor(h), 5);
  const f = h - sector;
  const lo = 1 - SATURATION;
  const down = 1 - SATURATION * f;
  const up = 1 - SATURATION * (1 - f);
  switch (sector) {
    case 0: return [1, up, lo];
    case 1: return [down, 1, lo];
    case 2: return [lo, 1, up];
    case 3: return [lo, down, 1];
    case 4: return [up, lo, 1];
    default: return [1, lo, down];
  }
}

function checkFactors(f: ShapeFactors): void {
  if (!(Number.isInteger(f.shape) && f.shape >= 0 && f.shape < SHAPE_CLASS_NAMES.length)) {
    throw new RangeError(`shape must be a class index in [0, ${SHAPE_CLASS_NAMES.length - 1}], got ${f.shape}`);
  }
  for (const name of SHAPES_FACTOR_NAMES) {
    const v = f[name];
    if (!(v >= 0 && v <= 1)) throw new RangeError(`factor ${name} must be in [0, 1], got ${v}`);
  }
}

/**
 * Draws one shape into `out` at `offset` (size × size × 3 values, NHWC, which must be zero: only
 * the shape's bounding box is written).
 */
export function renderShapeInto(out: Float32Array, offset: number, size: number, f: ShapeFactors): void {
  checkFactors(f);
  const side = size * (SCALE_MIN + (SCALE_MAX - SCALE_MIN) * f.scale); // equal-area square, px
  const cx = size * (POSITION_MIN + (POSITION_MAX - POSITION_MIN) * f.x);
  const cy = size * (POSITION_MIN + (POSITION_MAX - POSITION_MIN) * f.y);
  const period = SHAPE_ROTATION_PERIOD_DEG[SHAPE_CLASS_NAMES[f.shape]!] ?? 0;
  const theta = (f.rotation * period * Math.PI) / 180;
  // Image → shape frame: rotate by -theta (y grows downwards, so +theta turns clockwise on screen).
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  const [r, g, b] = hueToRgb(f.hue);

  // Signed distance in px (negative inside) of the point (u, v) in the shape's frame.
  let sdf: (u: number, v: number) => number;
  switch (f.shape) {
    case 0: {
      const h = side / 2;
      sdf = (u, v) => Math.max(Math.abs(u), Math.abs(v)) - h;
      break;
    }
    case 1: {
      const rad = side * CIRCLE_RADIUS;
      sdf = (u, v) => Math.sqrt(u * u + v * v) - rad;
      break;
    }
    case 2: {
      // Apex up (-v); outward edge normals (0, 1), (±√3/2, -1/2).
      const rho = side * TRIANGLE_INRADIUS;
      const k = Math.sqrt(3) / 2;
      sdf = (u, v) => Math.max(v, k * Math.abs(u) - 0.5 * v) - rho;
      break;
    }
    default: {
      const a = side * CROSS_HALF_SPAN;
      const w = side * CROSS_HALF_WIDTH;
      sdf = (u, v) => {
        const au = Math.abs(u);
        const av = Math.abs(v);
        return Math.min(Math.max(au - a, av - w), Math.max(au - w, av - a));
      };
    }
  }

  const reach = side * REACH[f.shape]! + 1;
  const x0 = Math.max(0, Math.floor(cx - reach));
  const x1 = Math.min(size - 1, Math.ceil(cx + reach));
  const y0 = Math.max(0, Math.floor(cy - reach));
  const y1 = Math.min(size - 1, Math.ceil(cy + reach));
  const n = SUPERSAMPLE;
  const step = 1 / n;
  for (let py = y0; py <= y1; py++) {
    for (let px = x0; px <= x1; px++) {
      const dx = px + 0.5 - cx;
      const dy = py + 0.5 - cy;
      const d = sdf(cos * dx + sin * dy, -sin * dx + cos * dy);
      let cover: number;
      if (d >= Math.SQRT1_2) continue; // wholly outside (the SDF is 1-Lipschitz)
      if (d <= -Math.SQRT1_2) cover = 1;
      else {
        let hits = 0;
        for (let sy = 0; sy < n; sy++) {
          const qy = dy + (sy + 0.5) * step - 0.5;
          for (let sx = 0; sx < n; sx++) {
            const qx = dx + (sx + 0.5) * step - 0.5;
            if (sdf(cos * qx + sin * qy, -sin * qx + cos * qy) < 0) hits++;
          }
        }
        if (hits === 0) continue;
        cover = hits / (n * n);
      }
      const o = offset + (py * size + px) * 3;
      out[o] = cover * r;
      out[o + 1] = cover * g;
      out[o + 2] = cover * b;
    }
  }
}

/** One image (size × size × 3, NHWC, [0, 1]) of the given factors. */
export function renderShape(size: number, f: ShapeFactors): Float32Array {
  const out = new Float32Array(size * size * 3);
  renderShapeInto(out, 0, size, f);
  return out;
}

export interface ShapesOptions {
  /** Image side in px (32 or 64). */
  size: ShapesSize;
  /** Number of images (default SHAPES_COUNT). */
  count?: number;
  /** Seed of the factors (default SHAPES_SEED). */
  seed?: number;
}

/** `count` images drawn from `seed`, with their class labels and factors. */
export function generateShapes(opts: ShapesOptions): Dataset {
  const { size } = opts;
  const count = opts.count ?? SHAPES_COUNT;
  const seed = opts.seed ?? SHAPES_SEED;
  if (!(SHAPES_SIZES as readonly number[]).includes(size)) {
    throw new RangeError(`shapes size must be one of ${SHAPES_SIZES.join(', ')}, got ${size}`);
  }
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`count must be a non-negative integer, got ${count}`);
  const px = size * size * SHAPES_CHANNELS;
  const images = new Float32Array(count * px);
  const labels = new Int32Array(count);
  const factors = Object.fromEntries(SHAPES_FACTOR_NAMES.map((k) => [k, new Float32Array(count)])) as Record<
    ShapesFactorName,
    Float32Array
  >;
  const rand = mulberry32(seed);
  const k = SHAPE_CLASS_NAMES.length;
  for (let i = 0; i < count; i++) {
    // Factors are stored as float32; render from the stored values so image and factor agree.
    labels[i] = Math.floor(rand() * k);
    for (const name of SHAPES_FACTOR_NAMES) factors[name][i] = rand();
    renderShapeInto(images, i * px, size, {
      shape: labels[i]!,
      scale: factors.scale[i]!,
      rotation: factors.rotation[i]!,
      x: factors.x[i]!,
      y: factors.y[i]!,
      hue: factors.hue[i]!,
    });
  }
  return {
    name: `shapes${size}`,
    imageShape: [size, size, SHAPES_CHANNELS],
    count,
    images,
    labels,
    numClasses: k,
    classNames: [...SHAPE_CLASS_NAMES],
    factors,
  };
}

/**
 * The project's fixed shapes split: SHAPES_COUNT images from SHAPES_SEED, SHAPES_HELD_OUT_COUNT of
 * them held out by SHAPES_SPLIT_SEED. Other counts and seeds are for experiments and tests.
 */
export function loadShapesSplit(
  opts: ShapesOptions & { heldOutCount?: number; splitSeed?: number },
): { train: Dataset; heldOut: Dataset } {
  const all = generateShapes(opts);
  const heldOutCount = opts.heldOutCount ?? Math.round((all.count * SHAPES_HELD_OUT_COUNT) / SHAPES_COUNT);
  return splitDataset(all, heldOutCount, opts.splitSeed ?? SHAPES_SPLIT_SEED);
}
