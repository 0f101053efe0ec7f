/**
 * model.json's weight manifest against the uploaded shard files: which files it may name, how many
 * bytes each weight takes, and whether the shards hold exactly those bytes.
 *
 * TF.js lays weights out group by group: a group's weights, in manifest order, are concatenated
 * and cut into its shard files, also in order (tfjs-core io/weights_loader). So for each group the
 * sum of (elements of shape × bytes of dtype) over its weights must equal the sum of its shards'
 * sizes: a manifest that claims more (or fewer) bytes than it uploads is refused here, before any
 * weight is decoded.
 *
 * The result is what TF.js is then given, from memory: the topology object, the flattened weight
 * specs (rebuilt from known fields only) and one buffer of weight data. Paths are gone from it.
 */
import { badRequest, formatBytes, tooLarge } from './errors';
import { isRecord } from './json';
import { MAX_SHARDS, MAX_WEIGHT_BYTES, MAX_WEIGHT_ELEMENTS, MAX_WEIGHT_RANK, MAX_WEIGHTS } from './limits';
import { resolveManifestPath } from './paths';

export type ModelFormat = 'layers-model' | 'graph-model';
export type WeightDtype = 'float32' | 'int32' | 'bool';
export type QuantizationDtype = 'uint8' | 'uint16' | 'float16';

/** One weight as TF.js's decodeWeights reads it. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: WeightDtype;
  quantization?: { dtype: QuantizationDtype; scale?: number; min?: number };
  group?: 'model' | 'optimizer';
}

/** A model as TF.js may see it: no path, no file name. */
export interface ModelArtifactsIn {
  format: ModelFormat;
  modelTopology: Record<string, unknown>;
  weightSpecs: WeightSpec[];
  weightData: Uint8Array;
  /** Graph models: the signature (inputs and outputs by name), when the converter wrote one. */
  signature?: Record<string, unknown>;
  generatedBy?: string;
  convertedBy?: string;
}

export interface ManifestLimits {
  maxShards: number;
  maxWeightBytes: number;
  maxWeights: number;
}

export const DEFAULT_MANIFEST_LIMITS: ManifestLimits = { maxShards: MAX_SHARDS, maxWeightBytes: MAX_WEIGHT_BYTES, maxWeights: MAX_WEIGHTS };

const DTYPE_BYTES: Record<WeightDtype, number> = { float32: 4, int32: 4, bool: 1 };
const QUANTIZED_BYTES: Record<QuantizationDtype, number> = { uint8: 1, uint16: 2, float16: 2 };

/** Elements of `shape`, or a 400 if the shape is not a list of small non-negative integers. */
export function shapeElements(shape: unknown, what: string): number {
  if (!Array.isArray(shape)) throw badRequest(`${what}: shape is not a list`);
  if (shape.length > MAX_WEIGHT_RANK) throw badRequest(`${what}: shape [${shape.slice(0, 8).join(', ')}${shape.length > 8 ? ', …' : ''}] has rank ${shape.length}, more than ${MAX_WEIGHT_RANK}`);
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) throw badRequest(`${what}: shape [${shape.join(', ')}] holds ${JSON.stringify(d)}, not a non-negative integer`);
    n *= d;
    if (n > MAX_WEIGHT_ELEMENTS) throw badRequest(`${what}: shape [${shape.join(', ')}] is absurd: more than ${MAX_WEIGHT_ELEMENTS} elements in one weight`);
  }
  return n;
}

function weightSpec(raw: unknown, where: string): { spec: WeightSpec; bytes: number } {
  if (!isRecord(raw)) throw badRequest(`${where} is not an object`);
  const name = raw['name'];
  if (typeof name !== 'string' || name.length === 0 || name.length > 512) throw badRequest(`${where}: name must be a string of 1 to 512 characters`);
  const what = `weight "${name}"`;
  const elements = shapeElements(raw['shape'], what);
  const dtype = raw['dtype'];
  if (dtype === 'string' || dtype === 'complex64') throw badRequest(`${what}: dtype ${dtype} is not supported (float32, int32 and bool are)`);
  if (dtype !== 'float32' && dtype !== 'int32' && dtype !== 'bool') throw badRequest(`${what}: unknown dtype ${JSON.stringify(dtype)}`);
  const spec: WeightSpec = { name, shape: [...(raw['shape'] as number[])], dtype };
  let bytesPer = DTYPE_BYTES[dtype];
  const q = raw['quantization'];
  if (q !== undefined && q !== null) {
    if (!isRecord(q)) throw badRequest(`${what}: quantization is not an object`);
    const qd = q['dtype'];
    if (qd !== 'uint8' && qd !== 'uint16' && qd !== 'float16') throw badRequest(`${what}: unknown quantization dtype ${JSON.stringify(qd)}`);
    if (dtype !== 'float32' && !(dtype === 'int32' && qd !== 'float16')) throw badRequest(`${what}: ${qd} quantization of ${dtype} weights is not supported`);
    spec.quantization = { dtype: qd };
    for (const k of ['scale', 'min'] as const) {
      const v = q[k];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw badRequest(`${what}: quantization ${k} must be a finite number`);
      spec.quantization[k] = v;
    }
    if (qd !== 'float16' && (spec.quantization.scale === undefined || spec.quantization.min === undefined)) {
      throw badRequest(`${what}: ${qd} quantization needs scale and min`);
    }
    bytesPer = QUANTIZED_BYTES[qd];
  }
  const group = raw['group'];
  if (group === 'model' || group === 'optimizer') spec.group = group;
  return { spec, bytes: elements * bytesPer };
}

/** The model format named by model.json, or read from the topology's shape when absent. */
export function modelFormat(json: Record<string, unknown>, file: string): ModelFormat {
  const format = json['format'];
  const topology = json['modelTopology'];
  if (!isRecord(topology)) throw badRequest(`${file} has no modelTopology object (a weights-only file cannot be imported)`);
  if (format === 'layers-model' || format === 'graph-model') return format;
  if (format !== undefined && format !== null) throw badRequest(`${file}: unknown format ${JSON.stringify(format)} (layers-model and graph-model are read)`);
  if (Array.isArray(topology['node'])) return 'graph-model';
  if (typeof topology['class_name'] === 'string' || isRecord(topology['model_config'])) return 'layers-model';
  throw badRequest(`${file}: the topology is neither a layers model (class_name) nor a graph model (node list)`);
}

/**
 * Checks model.json's manifest against `files` (the upload, by path) and gathers the artifacts
 * TF.js will load. `modelJsonName` is model.json's own path in the upload: manifest paths are
 * relative to its directory. Returns the artifacts and the shard files used, in order.
 */
export function readManifest(
  json: Record<string, unknown>,
  modelJsonName: string,
  modelJsonDir: string,
  files: ReadonlyMap<string, Uint8Array>,
  limits: ManifestLimits = DEFAULT_MANIFEST_LIMITS,
): { artifacts: ModelArtifactsIn; shards: string[] } {
  const format = modelFormat(json, modelJsonName);
  if (json['modelInitializer'] !== undefined && json['modelInitializer'] !== null) {
    throw badRequest(`${modelJsonName}: models with an initializer graph (modelInitializer, for hash tables) are not supported`);
  }
  const manifest = json['weightsManifest'];
  if (!Array.isArray(manifest)) throw badRequest(`${modelJsonName} has no weightsManifest list`);

  const specs: WeightSpec[] = [];
  const shards: string[] = [];
  const names = new Set<string>();
  let totalBytes = 0;
  let shardBytesTotal = 0;
  // Path counting first: a manifest listing ten thousand shards is refused before anything else.
  const pathCount = manifest.reduce((n: number, g: unknown) => n + (isRecord(g) && Array.isArray(g['paths']) ? g['paths'].length : 0), 0);
  if (pathCount > limits.maxShards) throw tooLarge(`${modelJsonName} names ${pathCount} weight files, more than the ${limits.maxShards} allowed`);
  const weightCount = manifest.reduce((n: number, g: unknown) => n + (isRecord(g) && Array.isArray(g['weights']) ? g['weights'].length : 0), 0);
  if (weightCount > limits.maxWeights) throw tooLarge(`${modelJsonName} lists ${weightCount} weights, more than the ${limits.maxWeights} allowed`);

  manifest.forEach((group: unknown, gi) => {
    const where = `${modelJsonName}: weightsManifest[${gi}]`;
    if (!isRecord(group) || !Array.isArray(group['paths']) || !Array.isArray(group['weights'])) {
      throw badRequest(`${where} must be an object with paths and weights lists`);
    }
    let groupBytes = 0;
    group['weights'].forEach((w: unknown, wi: number) => {
      const { spec, bytes } = weightSpec(w, `${where}.weights[${wi}]`);
      if (names.has(spec.name)) throw badRequest(`${where}: weight "${spec.name}" is listed twice`);
      names.add(spec.name);
      specs.push(spec);
      groupBytes += bytes;
      totalBytes += bytes;
      if (totalBytes > limits.maxWeightBytes) {
        throw tooLarge(`${modelJsonName}: the weights take more than ${formatBytes(limits.maxWeightBytes)} (shape × dtype, summed), the limit`);
      }
    });
    let shardBytes = 0;
    for (const p of group['paths'] as unknown[]) {
      if (typeof p !== 'string') throw badRequest(`${where}: a path is not a string`);
      const file = resolveManifestPath(p, modelJsonDir);
      const data = files.get(file);
      if (!data) throw badRequest(`${where}: weight file ${JSON.stringify(p)} is not in the upload`);
      if (shards.includes(file)) throw badRequest(`${where}: weight file ${JSON.stringify(p)} is named twice`);
      shards.push(file);
      shardBytes += data.length;
      shardBytesTotal += data.length;
      if (shardBytesTotal > limits.maxWeightBytes) throw tooLarge(`${modelJsonName}: the weight files hold more than ${formatBytes(limits.maxWeightBytes)}, the limit`);
    }
    if (shardBytes !== groupBytes) {
      throw badRequest(
        `${where}: the weights need ${groupBytes} bytes (shape × dtype, summed over ${group['weights'].length} weights) ` +
          `but its ${group['paths'].length} file(s) hold ${shardBytes} bytes`,
      );
    }
  });

  const weightData = new Uint8Array(shardBytesTotal);
  let offset = 0;
  for (const s of shards) {
    const data = files.get(s)!;
    weightData.set(data, offset);
    offset += data.length;
  }

  const signature = json['signature'];
  const artifacts: ModelArtifactsIn = {
    format,
    modelTopology: json['modelTopology'] as Record<string, unknown>,
    weightSpecs: specs,
    weightData,
    ...(format === 'graph-model' && isRecord(signature) ? { signature } : {}),
    ...(typeof json['generatedBy'] === 'string' ? { generatedBy: (json['generatedBy'] as string).slice(0, 200) } : {}),
    ...(typeof json['convertedBy'] === 'string' ? { convertedBy: (json['convertedBy'] as string).slice(0, 200) } : {}),
  };
  return { artifacts, shards };
}

/** The one weight file of a stored model (./store.ts). */
export const STORED_WEIGHTS = 'weights.bin';

/**
 * model.json for the stored copy (see ./store.ts): the same topology and specs, one weight file
 * under a fixed name. Training config, user metadata and the original paths are dropped.
 */
export function storedModelJson(a: ModelArtifactsIn, weightsFile: string): Record<string, unknown> {
  return {
    format: a.format,
    ...(a.generatedBy ? { generatedBy: a.generatedBy } : {}),
    ...(a.convertedBy ? { convertedBy: a.convertedBy } : {}),
    modelTopology: a.modelTopology,
    ...(a.signature ? { signature: a.signature } : {}),
    weightsManifest: [{ paths: [weightsFile], weights: a.weightSpecs }],
  };
}
