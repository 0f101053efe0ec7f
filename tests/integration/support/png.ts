/**
 * Reads back the PNGs this project writes (server/rooms/encode-frame.ts: 8-bit grey or RGB,
 * one IDAT stream, row filters None and Up), so tests can compare a frame's pixels exactly.
 */
import { inflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface DecodedPng {
  width: number;
  height: number;
  /** PNG colour type: 0 grey, 2 RGB. */
  colorType: number;
  channels: 1 | 3;
  pixels: Uint8Array;
}

export function readPng(data: Uint8Array): DecodedPng {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (!buf.subarray(0, 8).equals(SIGNATURE)) throw new Error('not a PNG: bad signature');
  let at = 8;
  let width = 0;
  let height = 0;
  let colorType = -1;
  const idat: Buffer[] = [];
  while (at < buf.length) {
    const len = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const body = buf.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = body.readUInt32BE(0);
      height = body.readUInt32BE(4);
      colorType = body[9]!;
    } else if (type === 'IDAT') idat.push(body);
    at += 12 + len;
  }
  if (colorType !== 0 && colorType !== 2) throw new Error(`unexpected PNG colour type ${colorType}`);
  const channels = colorType === 0 ? 1 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    if (filter !== 0 && filter !== 2) throw new Error(`unexpected PNG filter ${filter}`);
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x]!;
      pixels[y * stride + x] = filter === 2 && y > 0 ? (v + pixels[(y - 1) * stride + x]!) & 0xff : v;
    }
  }
  return { width, height, colorType, channels, pixels };
}
