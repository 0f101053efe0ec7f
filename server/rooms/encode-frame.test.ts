/** PNG frames: valid chunks and CRCs, lossless 8-bit pixels, and the size/time figures quoted in encode-frame.ts. */
import { crc32, inflateSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodePng, toBytes } from './encode-frame';

function chunks(png: Buffer): { type: string; body: Buffer }[] {
  const out: { type: string; body: Buffer }[] = [];
  let at = 8;
  while (at < png.length) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const body = png.subarray(at + 8, at + 8 + len);
    expect(png.readUInt32BE(at + 8 + len)).toBe(crc32(png.subarray(at + 4, at + 8 + len)));
    out.push({ type, body });
    at += 12 + len;
  }
  return out;
}

/** Undoes filter 0/2 rows. */
function unfilter(raw: Buffer, stride: number, height: number): Uint8Array {
  const px = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x]!;
      px[y * stride + x] = f === 2 && y > 0 ? (v + px[(y - 1) * stride + x]!) & 0xff : v;
    }
  }
  return px;
}

describe('encodePng', () => {
  it('round-trips any grey or RGB image through IHDR/IDAT/IEND with valid CRCs', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 12 }),
        fc.constantFrom(1 as const, 3 as const),
        fc.infiniteStream(fc.double({ min: -0.5, max: 1.5, noNaN: true })),
        (w, h, c, stream) => {
          const pixels = Float32Array.from(stream.take(w * h * c));
          const png = encodePng(pixels, w, h, c);
          expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
          const cs = chunks(png);
          expect(cs.map((x) => x.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
          const ihdr = cs[0]!.body;
          expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ihdr[8], ihdr[9]]).toEqual([w, h, 8, c === 1 ? 0 : 2]);
          expect(unfilter(inflateSync(cs[1]!.body), w * c, h)).toEqual(toBytes(pixels));
        },
      ),
    );
  });

  it('clamps to [0, 255] and maps NaN to 0', () => {
    expect(Array.from(toBytes([-1, 0, 0.5, 1, 2, NaN]))).toEqual([0, 0, 128, 255, 255, 0]);
  });

  it('rejects a pixel count that does not match the shape', () => {
    expect(() => encodePng(new Float32Array(10), 3, 3, 1)).toThrow(RangeError);
  });

  it('beats raw bytes on a smooth 28×28 digit-like image, well under 5 ms', () => {
    const pixels = new Float32Array(28 * 28);
    for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) pixels[y * 28 + x] = Math.max(0, 1 - Math.hypot(x - 14, y - 14) / 8);
    const runs = 200;
    const t0 = performance.now();
    let size = 0;
    for (let i = 0; i < runs; i++) size = encodePng(pixels, 28, 28, 1).length;
    const ms = (performance.now() - t0) / runs;
    expect(size).toBeLessThan(28 * 28); // PNG beats raw bytes here
    expect(ms).toBeLessThan(5); // generous: a loaded CI machine, not a benchmark
  });
});
