/**
 * Checkpoints: a family instance's networks (and, for training checkpoints, its optimisers) on
 * disk, with a model card.
 *
 *   <dir>/card.json       ModelCard: family, data set, config, seed, steps, wall time, metrics,
 *                         the command that reproduces it, a SHA-256 of weights.bin
 *   <dir>/weights.json    manifest: one entry per weight (network role, name, shape, dtype,
 *                         byte offset), in each network's `weights` order
 *   <dir>/weights.bin     the values, back to back, little-endian
 *   <dir>/optimizer.json  training checkpoints only: optimiser slots per role, same layout,
 *   <dir>/optimizer.bin   so that a resumed job continues with the same Adam moments
 *
 * Shipped models store float16 weights (half the bytes; the generators lose nothing visible at
 * 8-bit output), training checkpoints float32 (resume must be exact). Weights are matched by role
 * and name on load, and every shape is checked, so a checkpoint of another architecture fails
 * with the first mismatch named instead of loading garbage.
 *
 * A checkpoint is written to a sibling temporary directory and renamed over the old one: a crash
 * mid-write leaves the previous checkpoint intact (rename is atomic within a file system).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { FamilyInstance, FamilyName, ImageShape } from './family';

export const CHECKPOINT_FORMAT = 1;

export interface ModelCard {
  format: typeof CHECKPOINT_FORMAT;
  id: string;
  name: string;
  family: FamilyName;
  dataset: string;
  imageShape: ImageShape;
  latentDim: number;
  numClasses: number | null;
  classNames?: string[];
  /** The family's parsed config (seed included). */
  config: Record<string, unknown>;
  seed: number;
  batchSize: number;
  /** Steps trained. */
  steps: number;
  /** Wall time of training, ms (summed over resumed runs). */
  wallMs: number;
  /** TF.js backend it was trained on. */
  backend: string;
  /** The command that reproduces it. */
  command: string;
  /** Last losses logged. */
  losses: Record<string, number>;
  /** Evaluation results, when evaluated. */
  metrics: Record<string, unknown>;
  /** Network roles stored in weights.bin. */
  networks: string[];
  weightsDtype: 'float32' | 'float16';
  /** SHA-256 (hex) of weights.bin. */
  weightsHash: string;
  createdAt: string;
}

interface ManifestEntry {
  role: string;
  name: string;
  shape: number[];
  dtype: 'float32' | 'float16';
  offset: number;
}

/** Largest checkpoint file this loader reads (a shipped model is a few MB). */
export const MAX_CHECKPOINT_BYTES = 256 * 1024 * 1024;

// ---- float16 ---------------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 binary32 → binary16 bits, round to nearest even, with overflow to ±Inf. */
export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf, NaN
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign; // underflow to ±0
    mant |= 0x800000;
    const shift = 14 - e;
    const half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    return sign | (rest > mid || (rest === mid && half & 1) ? half + 1 : half);
  }
  const half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  return sign | (rest > 0x1000 || (rest === 0x1000 && half & 1) ? half + 1 : half);
}

/** binary16 bits → number. */
export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

// ---- packing ---------------------------------------------------------------------------------

export interface Packed {
  manifest: ManifestEntry[];
  bin: Buffer;
}

/** Weights in one binary file and its manifest (offsets into it), as float32 or float16. */
export function pack(items: { role: string; name: string; values: Float32Array; shape: number[] }[], dtype: 'float32' | 'float16'): Packed {
  const bytesPer = dtype === 'float16' ? 2 : 4;
  const total = items.reduce((n, it) => n + it.values.length * bytesPer, 0);
  const bin = Buffer.alloc(total);
  const manifest: ManifestEntry[] = [];
  let offset = 0;
  for (const it of items) {
    manifest.push({ role: it.role, name: it.name, shape: it.shape, dtype, offset });
    if (dtype === 'float32') {
      for (let i = 0; i < it.values.length; i++) bin.writeFloatLE(it.values[i]!, offset + 4 * i);
    } else {
      for (let i = 0; i < it.values.length; i++) bin.writeUInt16LE(toHalf(it.values[i]!), offset + 2 * i);
    }
    offset += it.values.length * bytesPer;
  }
  return { manifest, bin };
}

function unpack(entry: ManifestEntry, bin: Buffer, file: string): Float32Array {
  const n = entry.shape.reduce((a, b) => a * b, 1);
  const bytesPer = entry.dtype === 'float16' ? 2 : 4;
  if (!Number.isInteger(entry.offset) || entry.offset < 0 || entry.offset + n * bytesPer > bin.length) {
    throw new Error(`${file}: weight ${entry.role}/${entry.name} lies outside the file`);
  }
  const out = new Float32Array(n);
  if (entry.dtype === 'float32') {
    for (let i = 0; i < n; i++) out[i] = bin.readFloatLE(entry.offset + 4 * i);
  } else {
    for (let i = 0; i < n; i++) out[i] = fromHalf(bin.readUInt16LE(entry.offset + 2 * i));
  }
  return out;
}

function networkItems(instance: FamilyInstance, roles: readonly string[]) {
  return roles.flatMap((role) => {
    const net = instance.networks[role];
    if (!net) throw new Error(`no network with role ${role}`);
    return net.weights.map((w) => {
      const v = w.read();
      return { role, name: w.originalName, shape: [...v.shape], values: Float32Array.from(v.dataSync() as Float32Array) };
    });
  });
}

/**
 * Adam keeps β1^t and β2^t as running products; setWeights recomputes them as powers, which
 * differ in the last bits, so a resumed run would drift from an uninterrupted one. They are
 * saved and restored as they are.
 */
const ADAM_POWERS = ['accBeta1', 'accBeta2'] as const;

async function optimizerItems(instance: FamilyInstance) {
  const items: { role: string; name: string; values: Float32Array; shape: number[] }[] = [];
  for (const [role, opt] of Object.entries(instance.optimizers)) {
    const named = await opt.getWeights();
    named.forEach((nt, i) => {
      // Slot order is what setWeights restores by; names are kept for reading the file only.
      items.push({ role, name: `${i}:${nt.name}`, shape: [...nt.tensor.shape], values: Float32Array.from(nt.tensor.dataSync() as Float32Array) });
    });
    // getWeights hands out the iterations scalar as a new tensor; the slots are the optimiser's own.
    if (named[0]) named[0].tensor.dispose();
    for (const key of ADAM_POWERS) {
      const v = (opt as unknown as Record<string, tf.Variable | undefined>)[key];
      if (v instanceof tf.Variable) items.push({ role, name: `@${key}`, shape: [], values: Float32Array.from(v.dataSync() as Float32Array) });
    }
  }
  return items;
}

// ---- writing ---------------------------------------------------------------------------------

export interface SaveOptions {
  /** Network roles to store; default all of the instance's networks. */
  roles?: readonly string[];
  dtype?: 'float32' | 'float16';
  /** Also store the optimisers (training checkpoints, for resume). */
  optimizers?: boolean;
}

/** Writes the checkpoint atomically (temporary sibling, then rename). Returns the final card. */
export async function saveCheckpoint(
  dir: string,
  instance: FamilyInstance,
  card: Omit<ModelCard, 'format' | 'networks' | 'weightsDtype' | 'weightsHash'>,
  opts: SaveOptions = {},
): Promise<ModelCard> {
  const roles = opts.roles ?? Object.keys(instance.networks);
  const dtype = opts.dtype ?? 'float32';
  const weights = pack(networkItems(instance, roles), dtype);
  const full: ModelCard = {
    ...card,
    format: CHECKPOINT_FORMAT,
    networks: [...roles],
    weightsDtype: dtype,
    weightsHash: createHash('sha256').update(weights.bin).digest('hex'),
  };
  await replaceDirAtomically(dir, async (tmp) => {
    await writeFile(path.join(tmp, 'weights.bin'), weights.bin);
    await writeFile(path.join(tmp, 'weights.json'), JSON.stringify(weights.manifest));
    if (opts.optimizers) {
      const o = pack(await optimizerItems(instance), 'float32');
      await writeFile(path.join(tmp, 'optimizer.bin'), o.bin);
      await writeFile(path.join(tmp, 'optimizer.json'), JSON.stringify(o.manifest));
    }
    await writeFile(path.join(tmp, 'card.json'), `${JSON.stringify(full, null, 2)}\n`);
  });
  return full;
}

/**
 * Fills a temporary sibling of `dir` with `write`, then swaps it in: the old folder is moved
 * aside, the new one in, then the old dropped, so at every instant one complete folder exists
 * under `dir` or its `.old-` sibling (both skipped by the model registry). On failure the
 * temporary folder is removed and `dir` is untouched.
 */
export async function replaceDirAtomically(dir: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const target = path.resolve(dir);
  await mkdir(path.dirname(target), { recursive: true });
  const stamp = `${process.pid}-${Date.now()}`;
  const tmp = `${target}.tmp-${stamp}`;
  const old = `${target}.old-${stamp}`;
  await mkdir(tmp, { recursive: true });
  try {
    await write(tmp);
    let hadOld = false;
    try {
      await rename(target, old);
      hadOld = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await rename(tmp, target);
    if (hadOld) await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

// ---- reading ---------------------------------------------------------------------------------

function parseManifest(text: string, file: string): ManifestEntry[] {
  const raw: unknown = JSON.parse(text);
  if (!Array.isArray(raw)) throw new Error(`${file}: not a weight manifest`);
  return raw.map((e: unknown, i) => {
    const m = e as Partial<ManifestEntry>;
    if (
      typeof m?.role !== 'string' ||
      typeof m.name !== 'string' ||
      !Array.isArray(m.shape) ||
      !m.shape.every((d) => Number.isInteger(d) && d >= 0 && d < 1e8) ||
      (m.dtype !== 'float32' && m.dtype !== 'float16') ||
      typeof m.offset !== 'number'
    ) {
      throw new Error(`${file}: entry ${i} is malformed`);
    }
    return m as ManifestEntry;
  });
}

function readCappedSync(file: string): Buffer {
  const buf = readFileSync(file);
  if (buf.length > MAX_CHECKPOINT_BYTES) throw new Error(`${file} is larger than ${MAX_CHECKPOINT_BYTES} bytes`);
  return buf;
}

function checkCard(card: ModelCard, file: string): ModelCard {
  if (card.format !== CHECKPOINT_FORMAT) throw new Error(`${file}: unknown checkpoint format ${String(card.format)}`);
  for (const key of ['id', 'family', 'dataset', 'latentDim', 'imageShape', 'config', 'networks'] as const) {
    if (card[key] === undefined) throw new Error(`${file}: missing ${key}`);
  }
  return card;
}

/** Reads and checks card.json of a checkpoint directory (a small file: read synchronously). */
export async function readCard(dir: string): Promise<ModelCard> {
  return readCardSync(dir);
}

/** readCard, synchronously (start-up of an engine host). */
export function readCardSync(dir: string): ModelCard {
  const file = path.join(dir, 'card.json');
  return checkCard(JSON.parse(readCappedSync(file).toString('utf8')) as ModelCard, file);
}

/** Loads the networks of a checkpoint (no optimisers), synchronously. */
export function loadWeightsSync(dir: string, instance: FamilyInstance, card: ModelCard = readCardSync(dir)): ModelCard {
  const wFile = path.join(dir, 'weights.bin');
  const bin = readCappedSync(wFile);
  const hash = createHash('sha256').update(bin).digest('hex');
  if (hash !== card.weightsHash) throw new Error(`${wFile}: SHA-256 ${hash} does not match the card's ${card.weightsHash}`);
  assign(instance, parseManifest(readCappedSync(path.join(dir, 'weights.json')).toString('utf8'), wFile), bin, wFile, card.networks);
  return card;
}

function assign(instance: FamilyInstance, manifest: ManifestEntry[], bin: Buffer, file: string, roles: readonly string[]): void {
  const byKey = new Map(manifest.map((e) => [`${e.role}\u0000${e.name}`, e]));
  tf.tidy(() => {
    for (const role of roles) {
      const net = instance.networks[role];
      if (!net) throw new Error(`${file}: the model has no network ${role}`);
      for (const w of net.weights) {
        const entry = byKey.get(`${role}\u0000${w.originalName}`);
        if (!entry) throw new Error(`${file}: no weight ${role}/${w.originalName}`);
        const shape = w.shape as number[];
        if (entry.shape.length !== shape.length || entry.shape.some((d, i) => d !== shape[i])) {
          throw new Error(`${file}: ${role}/${w.originalName} has shape [${entry.shape}], the model wants [${shape}]`);
        }
        w.write(tf.tensor(unpack(entry, bin, file), shape, 'float32'));
      }
    }
  });
}

/**
 * Loads a checkpoint's weights into `instance` (built by the family from card.config). With
 * `optimizers`, also restores the optimiser slots (training resume); the instance must then have
 * taken no step yet.
 */
export async function loadCheckpointInto(dir: string, instance: FamilyInstance, opts: { optimizers?: boolean } = {}): Promise<ModelCard> {
  const card = loadWeightsSync(dir, instance);
  if (opts.optimizers) {
    const oFile = path.join(dir, 'optimizer.bin');
    const obin = readCappedSync(oFile);
    const omanifest = parseManifest(readCappedSync(path.join(dir, 'optimizer.json')).toString('utf8'), oFile);
    for (const [role, opt] of Object.entries(instance.optimizers)) {
      const entries = omanifest.filter((e) => e.role === role && !e.name.startsWith('@'));
      const named = entries.map((e) => ({ name: e.name.slice(e.name.indexOf(':') + 1), tensor: tf.tensor(unpack(e, obin, oFile), e.shape, 'float32') }));
      // setWeights keeps (as variables) what it is given, except the iterations scalar.
      await opt.setWeights(named);
      named.forEach((n) => {
        if (!n.tensor.isDisposed) n.tensor.dispose();
      });
      for (const e of omanifest.filter((x) => x.role === role && x.name.startsWith('@'))) {
        const v = (opt as unknown as Record<string, tf.Variable | undefined>)[e.name.slice(1)];
        if (v instanceof tf.Variable) tf.tidy(() => v.assign(tf.scalar(unpack(e, obin, oFile)[0]!)));
      }
    }
  }
  return card;
}
