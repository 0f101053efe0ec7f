import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  POSITION_MAX,
  POSITION_MIN,
  SCALE_MAX,
  SCALE_MIN,
  SHAPE_CLASS_NAMES,
  SHAPES_COUNT,
  SHAPES_FACTOR_NAMES,
  SHAPES_HELD_OUT_COUNT,
  generateShapes,
  hueToRgb,
  loadShapesSplit,
  renderShape,
  type ShapeFactors,
} from '../../models/datasets/shapes';
import { loadImageFolder, loadImageFolderSplit } from '../../models/datasets/image-folder';
import { DATASET_SPECS, describeDataset, loadDataset, parseDatasetSpec } from '../../models/datasets/index';
import { datasetBatches } from '../../models/datasets/dataset-tensors';
import { splitIndices } from '../../models/datasets/split';

const SQUARE = 0;
const CIRCLE = 1;
const TRIANGLE = 2;
const CROSS = 3;

function sameBytes(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/**
 * Shape descriptors of one RGB image whose colour is `hue` (coverage = pixel / colour): area in
 * px², centroid, J/A² (polar second moment over area squared: circle 1/2π, square 1/6,
 * equilateral triangle √3/9, plus sign 29/150), and |C30|/A^2.5, |C40|/A^3 (complex moments ∫z³,
 * ∫z⁴ about the centroid: zero unless the shape has 3-fold, resp. 4-fold (or 2-fold), symmetry).
 */
function descriptors(img: Float32Array, size: number, hue: number) {
  const rgb = hueToRgb(hue);
  const colour = rgb[0] + rgb[1] + rgb[2];
  const w = new Float64Array(size * size);
  let a = 0;
  let mx = 0;
  let my = 0;
  for (let p = 0; p < size * size; p++) {
    w[p] = (img[p * 3]! + img[p * 3 + 1]! + img[p * 3 + 2]!) / colour;
    a += w[p]!;
    mx += w[p]! * ((p % size) + 0.5);
    my += w[p]! * (Math.floor(p / size) + 0.5);
  }
  mx /= a;
  my /= a;
  let j = 0;
  let c3re = 0;
  let c3im = 0;
  let c4re = 0;
  let c4im = 0;
  for (let p = 0; p < size * size; p++) {
    const x = (p % size) + 0.5 - mx;
    const y = Math.floor(p / size) + 0.5 - my;
    // z² = (x² - y², 2xy); z³ = z²·z; z⁴ = z²·z²
    const z2re = x * x - y * y;
    const z2im = 2 * x * y;
    j += w[p]! * (x * x + y * y);
    c3re += w[p]! * (z2re * x - z2im * y);
    c3im += w[p]! * (z2re * y + z2im * x);
    c4re += w[p]! * (z2re * z2re - z2im * z2im);
    c4im += w[p]! * (2 * z2re * z2im);
  }
  return {
    area: a,
    cx: mx,
    cy: my,
    j: j / (a * a),
    c3: Math.hypot(c3re, c3im) / a ** 2.5,
    c4: Math.hypot(c4re, c4im) / a ** 3,
  };
}

function imageOf(ds: { images: Float32Array; imageShape: [number, number, number] }, i: number): Float32Array {
  const [h, w, c] = ds.imageShape;
  return ds.images.subarray(i * h * w * c, (i + 1) * h * w * c);
}

const MID: ShapeFactors = { shape: SQUARE, scale: 0.7, rotation: 0.3, x: 0.5, y: 0.5, hue: 0.4 };

describe('shapes', () => {
  it('same seed gives identical bytes; another seed differs; the first n images do not depend on the count', () => {
    const a = generateShapes({ size: 32, count: 300, seed: 7 });
    const b = generateShapes({ size: 32, count: 300, seed: 7 });
    const c = generateShapes({ size: 32, count: 300, seed: 8 });
    const prefix = generateShapes({ size: 32, count: 100, seed: 7 });
    expect(sameBytes(a.images, b.images)).toBe(true);
    expect(sameBytes(a.labels!, b.labels!)).toBe(true);
    for (const k of SHAPES_FACTOR_NAMES) expect(sameBytes(a.factors![k]!, b.factors![k]!)).toBe(true);
    expect(sameBytes(a.images, c.images)).toBe(false);
    expect(sameBytes(a.factors!['hue']!, c.factors!['hue']!)).toBe(false);
    expect(sameBytes(prefix.images, a.images.subarray(0, prefix.images.length))).toBe(true);
  });

  it('carries labels, class names and every factor, each in [0, 1] and covering it', () => {
    const ds = generateShapes({ size: 32, count: 2000, seed: 1 });
    expect(ds.name).toBe('shapes32');
    expect(ds.imageShape).toEqual([32, 32, 3]);
    expect(ds.images.length).toBe(2000 * 32 * 32 * 3);
    expect(ds.numClasses).toBe(4);
    expect(ds.classNames).toEqual([...SHAPE_CLASS_NAMES]);
    const perClass = [0, 0, 0, 0];
    for (const l of ds.labels!) perClass[l]!++;
    for (const n of perClass) expect(n).toBeGreaterThan(400); // ~500 each
    expect(Object.keys(ds.factors!).sort()).toEqual([...SHAPES_FACTOR_NAMES].sort());
    for (const k of SHAPES_FACTOR_NAMES) {
      const f = ds.factors![k]!;
      expect(f.length).toBe(2000);
      const lo = Math.min(...f);
      const hi = Math.max(...f);
      expect(lo).toBeGreaterThanOrEqual(0);
      expect(hi).toBeLessThanOrEqual(1);
      expect(lo).toBeLessThan(0.01);
      expect(hi).toBeGreaterThan(0.99);
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of ds.images) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    expect(lo).toBe(0);
    expect(hi).toBe(1);
  });

  it('keeps every shape inside the image: the border pixels are black at 32 and 64 px', () => {
    for (const size of [32, 64] as const) {
      const ds = generateShapes({ size, count: 1000, seed: 3 });
      // The extremes too: the largest triangle, turned, in each corner.
      for (let i = 0; i < ds.count + 4; i++) {
        const img =
          i < ds.count
            ? imageOf(ds, i)
            : renderShape(size, { shape: TRIANGLE, scale: 1, rotation: 0.5, x: i % 2, y: i >= ds.count + 2 ? 1 : 0, hue: 0 });
        let border = 0;
        for (let t = 0; t < size; t++) {
          for (const [x, y] of [[t, 0], [t, size - 1], [0, t], [size - 1, t]] as const) {
            for (let c = 0; c < 3; c++) border = Math.max(border, img[(y * size + x) * 3 + c]!);
          }
        }
        expect(border).toBe(0);
      }
    }
  });

  it('draws each class as that shape: moments match the geometry, and the classes differ', () => {
    const size = 64;
    const d = [SQUARE, CIRCLE, TRIANGLE, CROSS].map((shape) => descriptors(renderShape(size, { ...MID, shape }), size, MID.hue));
    // Equal area at equal scale, and the area is the scale's square.
    const side = size * (SCALE_MIN + (SCALE_MAX - SCALE_MIN) * MID.scale);
    for (const s of d) expect(s.area / (side * side)).toBeCloseTo(1, 1);
    // Centred where x, y say.
    const centre = size * (POSITION_MIN + (POSITION_MAX - POSITION_MIN) * 0.5);
    for (const s of d) {
      expect(Math.abs(s.cx - centre)).toBeLessThan(0.05);
      expect(Math.abs(s.cy - centre)).toBeLessThan(0.05);
    }
    // Second moments: square 1/6, circle 1/(2π), triangle √3/9, cross 29/150 (pixel sampling
    // adds 1/12 px² per px² of area: tolerance 2 %).
    const expected = [1 / 6, 1 / (2 * Math.PI), Math.sqrt(3) / 9, 29 / 150];
    d.forEach((s, k) => expect(Math.abs(s.j / expected[k]! - 1)).toBeLessThan(0.02));
    // Only the triangle has 3-fold symmetry; the circle alone has no 4-fold moment.
    expect(d[TRIANGLE]!.c3).toBeGreaterThan(0.01);
    for (const k of [SQUARE, CIRCLE, CROSS]) expect(d[k]!.c3).toBeLessThan(d[TRIANGLE]!.c3 / 20);
    expect(d[CIRCLE]!.c4).toBeLessThan(d[SQUARE]!.c4 / 20);
    expect(d[CIRCLE]!.c4).toBeLessThan(d[CROSS]!.c4 / 20);
    // And the images themselves differ a lot pairwise.
    const imgs = [SQUARE, CIRCLE, TRIANGLE, CROSS].map((shape) => renderShape(size, { ...MID, shape }));
    for (let a = 0; a < 4; a++) {
      for (let b = a + 1; b < 4; b++) {
        let diff = 0;
        for (let p = 0; p < imgs[a]!.length; p++) diff += Math.abs(imgs[a]![p]! - imgs[b]![p]!);
        // In px² of coverage: the closest pair (circle, square of equal area) differ by ~0.2 of the area.
        const colour = hueToRgb(MID.hue).reduce((x, y) => x + y);
        expect(diff / colour).toBeGreaterThan(0.1 * side * side);
      }
    }
  });

  it('in the generated set, the shape statistics separate the classes too (32 px, all poses)', () => {
    const ds = generateShapes({ size: 32, count: 2000, seed: 5 });
    const sums = Array.from({ length: 4 }, () => ({ j: 0, c3: 0, c4: 0, n: 0 }));
    for (let i = 0; i < ds.count; i++) {
      const s = descriptors(imageOf(ds, i), 32, ds.factors!['hue']![i]!);
      const acc = sums[ds.labels![i]!]!;
      acc.j += s.j;
      acc.c3 += s.c3;
      acc.c4 += s.c4;
      acc.n++;
    }
    const mean = sums.map((s) => ({ j: s.j / s.n, c3: s.c3 / s.n, c4: s.c4 / s.n }));
    expect(mean[CIRCLE]!.j).toBeLessThan(mean[SQUARE]!.j);
    expect(mean[SQUARE]!.j).toBeLessThan(mean[CROSS]!.j);
    for (const k of [SQUARE, CIRCLE, CROSS]) expect(mean[k]!.c3).toBeLessThan(mean[TRIANGLE]!.c3 / 4);
    expect(mean[CIRCLE]!.c4).toBeLessThan(mean[SQUARE]!.c4 / 3);
    expect(mean[CIRCLE]!.c4).toBeLessThan(mean[CROSS]!.c4 / 3);
  });

  it('rotation turns the polygons, is periodic over its range, and does nothing to a circle', () => {
    const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
    for (const shape of [SQUARE, TRIANGLE, CROSS]) {
      const at = (rotation: number) => renderShape(64, { ...MID, shape, rotation });
      expect(maxDiff(at(0), at(0.25))).toBeGreaterThan(0.5);
      expect(maxDiff(at(0.1), at(0.6))).toBeGreaterThan(0.5);
      // One full symmetry period is the same image (up to the last supersample).
      expect(maxDiff(at(0), at(1))).toBeLessThan(0.05);
    }
    const circle = (rotation: number) => renderShape(64, { ...MID, shape: CIRCLE, rotation });
    expect(maxDiff(circle(0), circle(0.37))).toBeLessThan(0.05);
  });

  it('colours a shape with its hue and moves it with x and y', () => {
    for (const hue of [0, 0.25, 0.5, 0.75, 1]) {
      const img = renderShape(32, { ...MID, hue });
      const rgb = hueToRgb(hue);
      const c = (16 * 32 + 16) * 3; // inside the shape, fully covered
      expect([img[c], img[c + 1], img[c + 2]].map((v) => v!.toFixed(5))).toEqual(rgb.map((v) => v.toFixed(5)));
    }
    hueToRgb(0).forEach((v, c) => expect(v).toBeCloseTo([1, 0.1, 0.1][c]!, 12)); // red
    const left = descriptors(renderShape(64, { ...MID, x: 0.1 }), 64, MID.hue);
    const right = descriptors(renderShape(64, { ...MID, x: 0.9 }), 64, MID.hue);
    expect(right.cx - left.cx).toBeCloseTo(64 * (POSITION_MAX - POSITION_MIN) * 0.8, 1);
    expect(right.cy).toBeCloseTo(left.cy, 1);
  });

  it('rejects factors outside [0, 1] and unknown classes', () => {
    expect(() => renderShape(32, { ...MID, scale: 1.01 })).toThrow(/scale/);
    expect(() => renderShape(32, { ...MID, hue: Number.NaN })).toThrow(/hue/);
    expect(() => renderShape(32, { ...MID, shape: 4 })).toThrow(/shape/);
    expect(() => generateShapes({ size: 48 as 32 })).toThrow(/32, 64/);
  });

  it('splits 10,000 images into 9,000 training and 1,000 held out, disjoint, fixed', () => {
    const { train, heldOut } = loadShapesSplit({ size: 32 });
    expect(train.count).toBe(SHAPES_COUNT - SHAPES_HELD_OUT_COUNT);
    expect(heldOut.count).toBe(SHAPES_HELD_OUT_COUNT);
    expect(train.labels!.length).toBe(train.count);
    expect(heldOut.factors!['x']!.length).toBe(heldOut.count);
    const idx = splitIndices(SHAPES_COUNT, SHAPES_HELD_OUT_COUNT, 0x4c52_0003);
    const seen = new Set([...idx.train, ...idx.heldOut]);
    expect(seen.size).toBe(SHAPES_COUNT);
    // The held-out images are the full set's images at those indices, factors included.
    const all = generateShapes({ size: 32 });
    for (const i of [0, 17, 999]) {
      const src = idx.heldOut[i]!;
      expect(sameBytes(imageOf(heldOut, i), imageOf(all, src))).toBe(true);
      expect(heldOut.factors!['rotation']![i]).toBe(all.factors!['rotation']![src]);
      expect(heldOut.labels![i]).toBe(all.labels![src]);
    }
    const again = loadShapesSplit({ size: 32, count: 500 });
    const other = loadShapesSplit({ size: 32, count: 500, splitSeed: 99 });
    expect(again.heldOut.count).toBe(50);
    expect(sameBytes(again.heldOut.images, loadShapesSplit({ size: 32, count: 500 }).heldOut.images)).toBe(true);
    expect(sameBytes(again.heldOut.images, other.heldOut.images)).toBe(false);
  });
});

describe('image folder', () => {
  let root: string;
  const GREEN = { r: 0, g: 255, b: 0 };
  const BLUE = { r: 0, g: 0, b: 255 };
  const RED = { r: 255, g: 0, b: 0 };

  /** A w × h RGB image, coloured by column (or by row when `byRow`): fn(t) for t = x or y. */
  function raw(w: number, h: number, colour: (x: number, y: number) => { r: number; g: number; b: number }) {
    const data = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const c = colour(x, y);
        data.set([c.r, c.g, c.b], (y * w + x) * 3);
      }
    }
    return sharp(data, { raw: { width: w, height: h, channels: 3 } });
  }
  /** 96 × 64: red | green | blue | red, 16/32/32/16 px wide: a centre crop shows green | blue only. */
  const wide = () => raw(96, 64, (x) => (x < 16 || x >= 80 ? RED : x < 48 ? GREEN : BLUE));
  /** 40 × 100: red band, green, blue, red band (30/20/20/30 rows): the centre crop is green over blue. */
  const tall = () => raw(40, 100, (_x, y) => (y < 30 || y >= 70 ? RED : y < 50 ? GREEN : BLUE));

  async function folder(name: string, files: Record<string, Buffer | Promise<Buffer>>): Promise<string> {
    const dir = join(root, name);
    await mkdir(dir, { recursive: true });
    for (const [file, data] of Object.entries(files)) {
      await mkdir(join(dir, file, '..'), { recursive: true });
      await writeFile(join(dir, file), await data);
    }
    return dir;
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'latentroom-datasets-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('loads PNG, JPEG and WebP, centre-cropped (not squashed) to 32 px RGB, in sorted order', async () => {
    const dir = await folder('good', {
      'a-wide.png': wide().png().toBuffer(),
      'b-tall.jpg': tall().jpeg({ quality: 95, chromaSubsampling: '4:4:4' }).toBuffer(),
      'c-wide.webp': wide().webp({ lossless: true }).toBuffer(),
      '.DS_Store': Buffer.from('ignored'),
    });
    const ds = await loadImageFolder(dir);
    expect(ds.name).toBe('folder:good');
    expect(ds.count).toBe(3);
    expect(ds.imageShape).toEqual([32, 32, 3]);
    expect(ds.labels).toBeUndefined();
    const px = (i: number, x: number, y: number) => Array.from(imageOf(ds, i).subarray((y * 32 + x) * 3, (y * 32 + x) * 3 + 3));
    for (const i of [0, 2]) {
      // Wide: left half green, right half blue; the red side bands were cropped away.
      expect(px(i, 4, 16)).toEqual([0, 1, 0]);
      expect(px(i, 27, 16)).toEqual([0, 0, 1]);
      // (Lanczos reaches 1 px into the cropped-away band: a squashed image would be red 5 px deep.)
      for (let y = 0; y < 32; y++) {
        for (let x = 0; x < 32; x++) expect(px(i, x, y)[0]).toBeLessThan(x >= 2 && x < 30 ? 2.5 / 255 : 0.1);
      }
    }
    // Tall (JPEG: approximately): top half green, bottom half blue, no red.
    const top = px(1, 16, 4);
    const bottom = px(1, 16, 27);
    expect(top[1]).toBeGreaterThan(0.9);
    expect(top[0]! + top[2]!).toBeLessThan(0.15);
    expect(bottom[2]).toBeGreaterThan(0.9);
    expect(bottom[0]! + bottom[1]!).toBeLessThan(0.15);
    for (let y = 0; y < 32; y++) expect(px(1, 16, y)[0]).toBeLessThan(0.1);
  });

  it('loads grey at 28 and 64 px, with one channel', async () => {
    const dir = await folder('grey', { 'w.png': wide().png().toBuffer() });
    for (const size of [28, 64] as const) {
      const ds = await loadImageFolder(dir, { size, channels: 1 });
      expect(ds.imageShape).toEqual([size, size, 1]);
      expect(ds.images.length).toBe(size * size);
      const g = (x: number) => ds.images[Math.floor(size / 2) * size + x]!;
      // libvips' b-w is luminance, gamma-encoded: green 0.7152 → 0.862, blue 0.0722 → 0.298.
      expect(g(2)).toBeCloseTo(0.862, 1);
      expect(g(size - 3)).toBeCloseTo(0.298, 1);
      expect(g(size - 3)).toBeLessThan(0.33);
    }
  });

  it('flattens alpha onto black and turns a grey PNG into three equal channels', async () => {
    const dir = await folder('alpha-grey', {
      'a-rgba.png': sharp({ create: { width: 40, height: 40, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.5 } } }).png().toBuffer(),
      'b-grey.png': sharp({ create: { width: 40, height: 40, channels: 3, background: { r: 100, g: 100, b: 100 } } }).toColourspace('b-w').png().toBuffer(),
    });
    expect((await sharp(join(dir, 'b-grey.png')).metadata()).channels).toBe(1);
    const ds = await loadImageFolder(dir);
    const first = (i: number) => Array.from(imageOf(ds, i).subarray(0, 3)).map((v) => Math.round(v * 255));
    expect(first(0)).toEqual([128, 0, 0]);
    expect(first(1)).toEqual([100, 100, 100]);
  });

  it('labels a folder of class folders by sorted folder name; splits a folder 90/10, seeded', async () => {
    const files: Record<string, Promise<Buffer>> = {};
    for (let i = 0; i < 12; i++) files[`${i % 2 ? 'dogs' : 'cats'}/${String(i).padStart(2, '0')}.png`] = (i % 2 ? tall() : wide()).png().toBuffer();
    const dir = await folder('classes', files);
    const ds = await loadImageFolder(dir);
    expect(ds.classNames).toEqual(['cats', 'dogs']);
    expect(ds.numClasses).toBe(2);
    expect(Array.from(ds.labels!)).toEqual([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1]);
    const { train, heldOut } = await loadImageFolderSplit(dir);
    expect([train.count, heldOut.count]).toEqual([11, 1]);
    expect(train.labels!.length).toBe(11);
    expect(heldOut.classNames).toEqual(['cats', 'dogs']);
  });

  it('follows a symbolic link inside the folder but refuses one leading out, naming it', async () => {
    const outside = await folder('outside', { 'secret.png': wide().png().toBuffer() });
    const inside = await folder('links-in', { 'real.png': wide().png().toBuffer() });
    await symlink(join(inside, 'real.png'), join(inside, 'alias.png'));
    expect((await loadImageFolder(inside)).count).toBe(2);

    const dir = await folder('links-out', { 'ok.png': wide().png().toBuffer() });
    await symlink(join(outside, 'secret.png'), join(dir, 'escape.png'));
    await expect(loadImageFolder(dir)).rejects.toThrow(/escape\.png: a symbolic link to .*outside the image folder/);
    const dirLink = await folder('links-dir', {});
    await symlink(outside, join(dirLink, 'cls'));
    await expect(loadImageFolder(dirLink)).rejects.toThrow(/cls: a symbolic link .*outside/);
  });

  const BAD: [string, () => Promise<Record<string, Buffer | Promise<Buffer>>>, RegExp][] = [
    ['an empty folder', async () => ({}), /holds no images/],
    ['a zero-byte file', async () => ({ 'a.png': wide().png().toBuffer(), 'zero.png': Buffer.alloc(0) }), /zero\.png: empty file/],
    ['a text file renamed .png', async () => ({ 'a.png': wide().png().toBuffer(), 'notes.png': Buffer.from('just text\n') }), /notes\.png: not a PNG, JPEG or WebP/],
    ['an unsupported type', async () => ({ 'a.png': wide().png().toBuffer(), 'readme.txt': Buffer.from('hi') }), /readme\.txt: unsupported file type/],
    ['a GIF named .png', async () => ({ 'anim.png': wide().gif().toBuffer() }), /anim\.png: not a PNG, JPEG or WebP/],
    [
      'a truncated PNG',
      async () => {
        const png = await wide().png().toBuffer();
        return { 'a.png': png, 'cut.png': png.subarray(0, Math.floor(png.length / 2)) };
      },
      /cut\.png: cannot load this image/,
    ],
    [
      'a corrupt JPEG',
      async () => {
        const jpg = Buffer.from(await tall().jpeg().toBuffer());
        jpg.fill(0x55, 200, jpg.length - 2); // keep the signature, scramble the rest
        return { 'bad.jpg': jpg };
      },
      /bad\.jpg: cannot load this image/,
    ],
    ['a too-small image', async () => ({ 'a.png': wide().png().toBuffer(), 'tiny.png': raw(40, 20, () => RED).png().toBuffer() }), /tiny\.png: 40×20 px, smaller than 32 px/],
    ['files beside class folders', async () => ({ 'loose.png': wide().png().toBuffer(), 'cls/a.png': wide().png().toBuffer() }), /loose\.png: .*mixes files and subfolders/],
  ];
  for (const [what, files, error] of BAD) {
    it(`rejects ${what} with an error naming it`, async () => {
      const dir = await folder(`bad-${what.replace(/\W+/g, '-')}`, await files());
      await expect(loadImageFolder(dir)).rejects.toThrow(error);
    });
  }

  it('rejects a folder over the file or byte cap, and a folder that does not exist', async () => {
    const dir = await folder('caps', { '1.png': wide().png().toBuffer(), '2.png': wide().png().toBuffer(), '3.png': wide().png().toBuffer() });
    await expect(loadImageFolder(dir, { maxFiles: 2 })).rejects.toThrow(/more than 2 images/);
    expect((await loadImageFolder(dir, { maxFiles: 3 })).count).toBe(3);
    await expect(loadImageFolder(dir, { maxTotalBytes: 400 })).rejects.toThrow(/more than 400 bytes .*passed at .*[12]\.png/);
    await expect(loadImageFolder(join(root, 'nope'))).rejects.toThrow(/nope: cannot open it as a folder/);
    await expect(loadImageFolder(dir, { size: 48 as 32 })).rejects.toThrow(/size must be one of 28, 32, 64/);
  });
});

describe('dataset registry', () => {
  it('names unknown data sets with the valid ones', async () => {
    await expect(loadDataset('cifar10')).rejects.toThrow(/unknown data set "cifar10"; valid: mnist, shapes32, shapes64, folder:<path>/);
    expect(() => describeDataset('shapes48')).toThrow(/valid: mnist/);
    expect(DATASET_SPECS).toContain('mnist');
  });

  it('loads MNIST in [0, 1] with int32 labels, 9,000 / 1,000', async () => {
    const { train, heldOut } = await loadDataset('mnist');
    expect([train.count, heldOut.count]).toEqual([9000, 1000]);
    expect(train.imageShape).toEqual([28, 28, 1]);
    expect(train.labels).toBeInstanceOf(Int32Array);
    expect(train.numClasses).toBe(10);
    expect(train.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(Math.min(...train.images.subarray(0, 784 * 50))).toBe(0);
    expect(Math.max(...train.images.subarray(0, 784 * 50))).toBe(1);
    expect(describeDataset('mnist')).toEqual({ name: 'mnist', imageShape: [28, 28, 1], numClasses: 10 });
  });

  it('loads shapes32 and parses folder names with size and channels', async () => {
    const { train, heldOut } = await loadDataset('shapes32');
    expect([train.count, heldOut.count, train.numClasses]).toEqual([9000, 1000, 4]);
    expect(describeDataset('shapes64')).toEqual({ name: 'shapes64', imageShape: [64, 64, 3], numClasses: 4 });
    expect(parseDatasetSpec('folder:/data/x:y')).toEqual({ kind: 'folder', path: '/data/x:y', size: 32, channels: 3 });
    expect(parseDatasetSpec('folder64-grey:/d')).toEqual({ kind: 'folder', path: '/d', size: 64, channels: 1 });
    expect(parseDatasetSpec('folder:/d', { size: 28, channels: 1 })).toEqual({ kind: 'folder', path: '/d', size: 28, channels: 1 });
    expect(describeDataset('folder:/d')).toBeUndefined();
    expect(() => parseDatasetSpec('folder48:/d')).toThrow(/size must be one of 28, 32, 64/);
    expect(() => parseDatasetSpec('folder64:/d', { size: 32 })).toThrow(/size 64 in the name but 32/);
    expect(() => parseDatasetSpec('folder:')).toThrow(/no folder path/);
    expect(() => parseDatasetSpec('mnist', { size: 32 })).toThrow(/folder:<path> data sets only/);
  });
});

describe('datasetBatches', () => {
  it('yields seeded batches of tensors with int32 labels, reshuffled every epoch', () => {
    const ds = generateShapes({ size: 32, count: 100, seed: 2 });
    const before = tf.memory().numTensors;
    const seen: number[][] = [];
    for (const b of datasetBatches(ds, 32, 11, { epochs: 2 })) {
      expect(b.images.shape).toEqual([32, 32, 32, 3]);
      expect(b.labels!.dtype).toBe('int32');
      const i0 = b.indices[0]!;
      expect(b.labels!.dataSync()[0]).toBe(ds.labels![i0]);
      expect(sameBytes(b.images.dataSync().subarray(0, 32 * 32 * 3), imageOf(ds, i0))).toBe(true);
      seen.push(Array.from(b.indices));
      b.images.dispose();
      b.labels!.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(seen.length).toBe(6); // 3 full batches per epoch, the partial one dropped
    const epoch0 = seen.slice(0, 3).flat();
    expect(new Set(epoch0).size).toBe(96);
    expect(seen[3]).not.toEqual(seen[0]);
    const again = [...datasetBatches(ds, 32, 11, { epochs: 1 })].map((b) => {
      tf.dispose([b.images, b.labels!]);
      return Array.from(b.indices);
    });
    expect(again).toEqual(seen.slice(0, 3));
    expect(() => datasetBatches(ds, 101, 1)).toThrow(/batchSize/);
  });
});
