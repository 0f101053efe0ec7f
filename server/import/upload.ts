/**
 * One model's uploaded files (loose, or one zip) → the artifacts TF.js may load, or an ImportError.
 *
 *   1. names: every file name is a safe relative path (./paths.ts); a zip is read in memory with
 *      its entries checked (./zip.ts);
 *   2. model.json: the one `.json` file (or the one named model.json), capped in bytes and depth
 *      (./json.ts);
 *   3. manifest: shard count, sizes, and shape × dtype = bytes per group (./manifest.ts);
 *   4. topology: layer classes / graph ops against the allow-lists, config numbers capped
 *      (./topology.ts).
 *
 * Pure (no I/O, no TF.js): the import job runs it in its own process, and the engine runs the
 * same checks again on the stored copy before loading it.
 */
import { createHash } from 'node:crypto';
import { badRequest, formatBytes, tooLarge } from './errors';
import { isRecord, parseCappedJson } from './json';
import { MAX_MODEL_JSON_BYTES, MAX_UPLOAD_FILE_BYTES } from './limits';
import { readManifest, type ManifestLimits, type ModelArtifactsIn } from './manifest';
import { checkPath, dirOf } from './paths';
import { checkGraphTopology, checkLayersTopology, type TopologySummary } from './topology';
import { looksLikeZip, readZip, type ZipLimits } from './zip';

export interface UploadedFile {
  /** As the client named it (a multipart filename); checked before use. */
  name: string;
  bytes: Uint8Array;
}

export interface FileRecord {
  name: string;
  bytes: number;
  sha256: string;
}

export interface ValidatedModel {
  artifacts: ModelArtifactsIn;
  topology: TopologySummary;
  /** model.json's path in the upload (inside the zip, for a zip). */
  modelJson: string;
  /** model.json and the shards, as uploaded. */
  files: FileRecord[];
  /** Files of the upload the model does not use (never stored). */
  ignored: string[];
  /** The zip's name, for a zip upload. */
  zip?: string;
}

export interface UploadLimits {
  maxModelJsonBytes: number;
  zip?: ZipLimits;
  manifest?: ManifestLimits;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function pickModelJson(names: string[], what: string): string {
  const json = names.filter((n) => n.toLowerCase().endsWith('.json') && !n.startsWith('__MACOSX/'));
  if (json.length === 1) return json[0]!;
  if (json.length === 0) throw badRequest(`${what}: no model.json among the files (${names.slice(0, 10).join(', ') || 'none'})`);
  const named = json.filter((n) => n === 'model.json' || n.endsWith('/model.json'));
  if (named.length === 1) return named[0]!;
  throw badRequest(`${what}: ${json.length} .json files (${json.slice(0, 10).join(', ')}); upload one model.json per model`);
}

/**
 * Validates the files of one model (`what`: `model` or `classifier`, for messages).
 */
export async function validateUpload(
  uploaded: readonly UploadedFile[],
  what: string,
  limits: UploadLimits = { maxModelJsonBytes: MAX_MODEL_JSON_BYTES },
): Promise<ValidatedModel> {
  if (uploaded.length === 0) throw badRequest(`${what}: no files; upload model.json with its weight files, or one .zip holding them`);
  for (const f of uploaded) {
    if (f.bytes.length > MAX_UPLOAD_FILE_BYTES) throw tooLarge(`${what}: file ${JSON.stringify(f.name.slice(0, 255))} is ${formatBytes(f.bytes.length)}, more than the ${formatBytes(MAX_UPLOAD_FILE_BYTES)} limit`);
  }
  let files: Map<string, Uint8Array>;
  let zip: string | undefined;
  const zips = uploaded.filter((f) => f.name.toLowerCase().endsWith('.zip') || looksLikeZip(f.bytes));
  if (zips.length > 0) {
    if (uploaded.length > 1) throw badRequest(`${what}: upload either one zip or the loose files, not both`);
    zip = checkPath(uploaded[0]!.name, `${what}: file name`);
    files = await readZip(uploaded[0]!.bytes, zip, limits.zip);
  } else {
    files = new Map();
    for (const f of uploaded) {
      const name = checkPath(f.name, `${what}: file name`);
      if (files.has(name)) throw badRequest(`${what}: two files are named ${JSON.stringify(name)}`);
      files.set(name, f.bytes);
    }
  }

  const modelJson = pickModelJson([...files.keys()], what);
  const json = parseCappedJson(files.get(modelJson)!, modelJson, limits.maxModelJsonBytes);
  if (!isRecord(json)) throw badRequest(`${modelJson} is not a JSON object`);
  const { artifacts, shards } = readManifest(json, modelJson, dirOf(modelJson), files, limits.manifest);
  const topology = artifacts.format === 'layers-model' ? checkLayersTopology(artifacts.modelTopology, modelJson) : checkGraphTopology(artifacts.modelTopology, modelJson);

  const used = [modelJson, ...shards];
  return {
    artifacts,
    topology,
    modelJson,
    files: used.map((name) => ({ name, bytes: files.get(name)!.length, sha256: sha256(files.get(name)!) })),
    ignored: [...files.keys()].filter((n) => !used.includes(n)),
    ...(zip ? { zip } : {}),
  };
}
