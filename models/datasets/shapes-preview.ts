/**
 * Writes a preview grid of shapes images, or times the generator.
 *
 *   npx tsx models/datasets/shapes-preview.ts                 # docs/datasets/shapes32.png (8 × 8)
 *   npx tsx models/datasets/shapes-preview.ts --size 64       # docs/datasets/shapes64.png
 *   npx tsx models/datasets/shapes-preview.ts --bench         # time 10,000 images at 32 and 64 px
 *
 * The grid shows the first 64 images of SHAPES_SEED (the project's images), 1 px grey gutters.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { generateShapes, SHAPES_COUNT, type ShapesSize } from './shapes';

const GRID = 8;
const GUTTER_PX = 1;
const GUTTER_GREY = 64;

/** A `GRID` × `GRID` RGB grid (uint8) of the first GRID² images of a 3-channel data set. */
export function gridPixels(images: Float32Array, size: number): { data: Uint8Array; side: number } {
  const side = GRID * size + (GRID + 1) * GUTTER_PX;
  const data = new Uint8Array(side * side * 3).fill(GUTTER_GREY);
  for (let n = 0; n < GRID * GRID; n++) {
    const ox = GUTTER_PX + (n % GRID) * (size + GUTTER_PX);
    const oy = GUTTER_PX + Math.floor(n / GRID) * (size + GUTTER_PX);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let c = 0; c < 3; c++) {
          const v = images[((n * size + y) * size + x) * 3 + c]!;
          data[((oy + y) * side + ox + x) * 3 + c] = Math.round(v * 255);
        }
      }
    }
  }
  return { data, side };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const sizeArg = args.indexOf('--size');
  const size = (sizeArg >= 0 ? Number(args[sizeArg + 1]) : 32) as ShapesSize;
  if (args.includes('--bench')) {
    for (const s of [32, 64] as const) {
      generateShapes({ size: s, count: 200 }); // warm up the JIT
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      generateShapes({ size: s, count: SHAPES_COUNT });
      const cpu = process.cpuUsage(cpu0);
      const wall = (performance.now() - t0) / 1000;
      // CPU time as well: on a shared machine the wall time includes waiting for a core.
      console.log(`shapes${s}: ${SHAPES_COUNT} images in ${wall.toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU`);
    }
    return;
  }
  const { images } = generateShapes({ size, count: GRID * GRID });
  const { data, side } = gridPixels(images, size);
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  const out = join(root, 'docs', 'datasets', `shapes${size}.png`);
  mkdirSync(dirname(out), { recursive: true });
  await sharp(data, { raw: { width: side, height: side, channels: 3 } }).png().toFile(out);
  console.log(`wrote ${out} (${side}×${side})`);
}

await main();
