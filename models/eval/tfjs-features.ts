/**
 * A feature extractor from a TF.js model a user supplies (`npm run eval -- --features
 * <dir>/model.json`): Inception-v3 cut at pool3 gives the classic FID (Heusel et al. 2017); any
 * image network in the TF.js format (layers-model or graph-model) works the same way.
 *
 * The files are untrusted (ARCHITECTURE.md, "Imported model files"): model.json is parsed and
 * checked before TF.js sees it — every weight path is a plain relative path that stays inside the
 * model's folder (no `..`, no absolute path, no symbolic link out of it), every weight spec has a
 * known dtype and a shape of non-negative integers, and the shard files hold exactly the bytes
 * the specs describe — and the model is then handed to TF.js from memory (tf.io.fromMemory),
 * never by a path taken from the manifest.
 *
 * Images go in as they are in the project ([0, 1], NHWC): grey images are repeated to three
 * channels for an RGB network, resized bilinearly to the network's input side (the model's own
 * input shape, or `inputSize` when it leaves it open; 299 for Inception-v3), then mapped to the
 * network's input range (default [−1, 1], Inception's). Outputs of rank 4 are averaged over
 * their spatial axes (a convolutional trunk's global pool), rank 2 are used as they are.
 *
 * Cost: Inception-v3 is about 5.7 GFLOP per 299×299 image; on this project's 2-core machine with
 * the wasm backend that is of the order of a second per image, hours for an evaluation.
 */
import { lstatSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import type { FeatureExtractor } from './features';

/** Largest model.json read. */
export const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;
/** Largest total of weight files read (Inception-v3 is about 92 MB as float32). */
export const MAX_WEIGHT_BYTES = 1024 * 1024 * 1024;
const FEATURE_BATCH = 32;

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1 };
const QUANTIZED_BYTES: Record<string, number> = { uint8: 1, uint16: 2, float16: 2 };

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; [key: string]: unknown };
}

export interface TfjsFeatureOptions {
  /** Input side when the model leaves it open. Default 299. */
  inputSize?: number;
  /** Input range the network expects. Default [−1, 1]. */
  range?: readonly [number, number];
}

function fail(file: string, message: string): never {
  throw new Error(`${file}: ${message}`);
}

/** The weight file `rel` of a model in `dir`, checked to be a regular file inside `dir`. */
function weightFile(dir: string, rel: unknown, file: string): string {
  if (typeof rel !== 'string' || rel === '' || rel.includes('\0') || rel.includes('\\')) fail(file, `weight path ${JSON.stringify(rel)} is not a plain relative path`);
  if (path.isAbsolute(rel) || /^[a-z]+:/i.test(rel)) fail(file, `weight path ${JSON.stringify(rel)} is absolute or a URL`);
  const normal = path.posix.normalize(rel);
  if (normal === '..' || normal.startsWith('../') || normal.split('/').includes('..')) fail(file, `weight path ${JSON.stringify(rel)} leaves the model's folder`);
  const full = path.join(dir, normal);
  let st;
  try {
    st = lstatSync(full);
  } catch {
    fail(file, `weight file ${JSON.stringify(rel)} does not exist`);
  }
  if (!st.isFile()) fail(file, `weight file ${JSON.stringify(rel)} is not a regular file`);
  const real = realpathSync(full);
  const root = realpathSync(dir);
  if (!real.startsWith(root + path.sep)) fail(file, `weight file ${JSON.stringify(rel)} leaves the model's folder`);
  return full;
}

function specBytes(spec: WeightSpec, file: string): number {
  if (typeof spec?.name !== 'string') fail(file, 'a weight has no name');
  if (!Array.isArray(spec.shape) || !spec.shape.every((d) => Number.isInteger(d) && d >= 0 && d < 2 ** 31)) fail(file, `weight ${spec.name} has a bad shape`);
  const size = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.quantization !== undefined) {
    const q = QUANTIZED_BYTES[String(spec.quantization?.dtype)];
    if (!q || !(spec.dtype in DTYPE_BYTES)) fail(file, `weight ${spec.name}: unsupported quantization ${JSON.stringify(spec.quantization?.dtype)}`);
    return size * q;
  }
  const b = DTYPE_BYTES[spec.dtype];
  if (!b) fail(file, `weight ${spec.name}: unsupported dtype ${JSON.stringify(spec.dtype)}`);
  return size * b;
}

/**
 * Reads and checks a TF.js model.json and its weight files: the artifacts to hand to
 * tf.io.fromMemory, and which loader they need.
 */
export function readTfjsArtifacts(modelJson: string): { artifacts: tf.io.ModelArtifacts; kind: 'layers-model' | 'graph-model' } {
  const file = path.resolve(modelJson);
  const dir = path.dirname(file);
  const size = statSync(file).size;
  if (size > MAX_MODEL_JSON_BYTES) fail(file, `larger than ${MAX_MODEL_JSON_BYTES} bytes`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    fail(file, `not JSON (${(err as Error).message})`);
  }
  const topology = json['modelTopology'];
  if (typeof topology !== 'object' || topology === null) fail(file, 'no modelTopology object');
  const format = json['format'];
  const kind =
    format === 'layers-model' || format === 'graph-model'
      ? format
      : format === undefined
        ? 'node' in topology ? 'graph-model' : 'layers-model'
        : fail(file, `unknown format ${JSON.stringify(format)}`);
  const manifest = json['weightsManifest'];
  if (!Array.isArray(manifest)) fail(file, 'no weightsManifest array');
  const specs: WeightSpec[] = [];
  const files: string[] = [];
  let expected = 0;
  for (const group of manifest as { paths?: unknown; weights?: unknown }[]) {
    if (!Array.isArray(group?.paths) || !Array.isArray(group.weights)) fail(file, 'a weightsManifest group lacks paths or weights');
    for (const p of group.paths) files.push(weightFile(dir, p, file));
    for (const w of group.weights as WeightSpec[]) {
      expected += specBytes(w, file);
      specs.push(w);
    }
  }
  if (expected > MAX_WEIGHT_BYTES) fail(file, `weights of ${expected} bytes exceed ${MAX_WEIGHT_BYTES}`);
  const sizes = files.map((f) => statSync(f).size);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total !== expected) fail(file, `the weight files hold ${total} bytes, the weight specs describe ${expected}`);
  const data = new Uint8Array(total);
  let offset = 0;
  for (const f of files) {
    const buf = readFileSync(f);
    data.set(buf, offset);
    offset += buf.length;
  }
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: topology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: specs as tf.io.WeightsManifestEntry[],
    weightData: data.buffer,
    format: kind,
  };
  for (const key of ['generatedBy', 'convertedBy'] as const) if (typeof json[key] === 'string') artifacts[key] = json[key];
  if (json['signature'] && typeof json['signature'] === 'object') artifacts.signature = json['signature'] as object;
  return { artifacts, kind };
}

/** Loads a user's TF.js model as a feature extractor (see the header). */
export async function loadTfjsFeatureExtractor(modelJson: string, opts: TfjsFeatureOptions = {}): Promise<FeatureExtractor> {
  const { artifacts, kind } = readTfjsArtifacts(modelJson);
  const handler = tf.io.fromMemory(artifacts);
  const model: tfl.LayersModel | GraphModel = kind === 'graph-model' ? await loadGraphModel(handler) : await tfl.loadLayersModel(handler);
  const inputShape = (model.inputs[0]?.shape ?? []) as (number | null)[];
  if (inputShape.length !== 4) {
    model.dispose();
    throw new Error(`${modelJson}: the model's input is [${inputShape.join(', ')}], not an image batch [B, h, w, c]`);
  }
  const open = (v: number | null | undefined) => v === null || v === undefined || v < 0;
  const side = opts.inputSize ?? 299;
  const H = open(inputShape[1]) ? side : inputShape[1]!;
  const W = open(inputShape[2]) ? side : inputShape[2]!;
  const C = open(inputShape[3]) ? 3 : inputShape[3]!;
  const [lo, hi] = opts.range ?? [-1, 1];
  const run = (x: tf.Tensor4D): tf.Tensor => {
    const out = model.predict(x) as tf.Tensor | tf.Tensor[];
    return Array.isArray(out) ? out[0]! : out;
  };
  // The width of the features: one probe image.
  const dim = tf.tidy(() => {
    const y = run(tf.zeros([1, H, W, C]));
    return y.rank === 4 ? y.shape[3]! : y.size;
  });
  return {
    kind: 'tfjs',
    name: modelJson,
    description: `FID on the features of ${path.basename(path.dirname(path.resolve(modelJson)))}/${path.basename(modelJson)} (a user-supplied TF.js ${kind}, ${dim} units, inputs ${H}×${W}×${C} in [${lo}, ${hi}]): Inception FID only if that model is Inception-v3 at pool3`,
    dim,
    features(images, count, imageShape) {
      const [h, w, c] = imageShape;
      const px = h * w * c;
      if (images.length !== count * px) throw new Error(`expected ${count} images of ${h}×${w}×${c}`);
      const out = new Float32Array(count * dim);
      for (let start = 0; start < count; start += FEATURE_BATCH) {
        const n = Math.min(FEATURE_BATCH, count - start);
        const f = tf.tidy(() => {
          let x: tf.Tensor4D = tf.tensor4d(images.subarray(start * px, (start + n) * px), [n, h, w, c]);
          if (c === 1 && C === 3) x = tf.tile(x, [1, 1, 1, 3]);
          else if (c === 3 && C === 1) x = tf.mean(x, 3, true);
          else if (c !== C) throw new Error(`the feature model takes ${C} channels, the images have ${c}`);
          if (h !== H || w !== W) x = tf.image.resizeBilinear(x, [H, W]);
          x = tf.add(tf.mul(x, hi - lo), lo);
          const y = run(x);
          return y.rank === 4 ? tf.mean(y, [1, 2]) : tf.reshape(y, [n, -1]);
        });
        out.set(f.dataSync(), start * dim);
        f.dispose();
      }
      return out;
    },
    dispose: () => model.dispose(),
  };
}
