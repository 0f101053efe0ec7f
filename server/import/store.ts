/**
 * Imported models on disk, beside the trained ones, so that the engine's registry scan finds both:
 *
 *   MODEL_DIR/<id>/card.json              ImportedModelCard (family `imported`)
 *   MODEL_DIR/<id>/model.json             the validated topology and weight specs, naming weights.bin
 *   MODEL_DIR/<id>/weights.bin            the uploaded shards, concatenated in manifest order
 *   MODEL_DIR/<id>/samples.png            the first sample grid (8 × 8)
 *   MODEL_DIR/<id>/classifier/model.json  the attribute classifier, when one was uploaded
 *   MODEL_DIR/<id>/classifier/weights.bin
 *
 * Every name is fixed here; nothing from the upload names a file. A model is written to a
 * temporary sibling (`<id>.tmp-…`, which the registry skips) and renamed into place, so a failed
 * or interrupted import leaves no partial folder under its id.
 *
 * Loading (for the engine) reads the same fixed names, checks the weights' SHA-256 against the
 * card, and runs the upload's static checks again before TF.js sees the files.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ImportedModel, loadTfModel, type ImportedIo } from '../../models/imported/imported-model';
import { MODEL_ID } from '../training/spec';
import { ImportError } from './errors';
import type { ImportJobOutput } from './job';
import { MAX_MODEL_JSON_BYTES, MAX_WEIGHT_BYTES } from './limits';
import { STORED_WEIGHTS } from './manifest';
import { validateUpload } from './upload';

export const IMPORTED_FAMILY = 'imported';
export const SAMPLES_FILE = 'samples.png';
const CARD_FILE = 'card.json';
const MODEL_FILE = 'model.json';
const CLASSIFIER_DIR = 'classifier';

const dim = z.number().int().min(1).max(65536);
const ImportedIoSchema: z.ZodType<ImportedIo> = z.strictObject({
  latentDim: dim,
  latentInput: z.number().int().min(0).max(1),
  latentShape: z.array(dim).min(1).max(3),
  classInput: z.enum(['none', 'concat', 'onehot', 'label']),
  numClasses: dim.nullable(),
  classSlot: z.strictObject({ index: z.number().int().min(0).max(1), shape: z.array(dim).max(1), dtype: z.enum(['float32', 'int32']) }).optional(),
  layout: z.enum(['nhwc', 'nchw', 'hw', 'flat']),
  imageShape: z.tuple([dim, dim, z.union([z.literal(1), z.literal(3)])]),
  outputRange: z.enum(['tanh', 'sigmoid']),
  channelOrder: z.enum(['rgb', 'bgr']),
});

const FileRecordSchema = z.object({ name: z.string(), bytes: z.number(), sha256: z.string() });
const PartSchema = z.object({
  format: z.enum(['layers-model', 'graph-model']),
  files: z.array(FileRecordSchema),
  zip: z.string().optional(),
  ignored: z.array(z.string()),
  generatedBy: z.string().optional(),
  convertedBy: z.string().optional(),
  layers: z.number().int(),
  kinds: z.array(z.string()),
  parameters: z.number().int(),
  weightsHash: z.string(),
});

/** card.json of an imported model. The fields the registry's checkpoint reader needs come first. */
export const ImportedModelCardSchema = z.object({
  format: z.literal(1),
  id: MODEL_ID,
  name: z.string(),
  family: z.literal(IMPORTED_FAMILY),
  /** The data set named for evaluation, or `unspecified`. */
  dataset: z.string(),
  imageShape: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
  latentDim: z.number().int().positive(),
  numClasses: z.number().int().nullable(),
  classNames: z.array(z.string()).optional(),
  /** How the model is wired (models/imported ImportedIo): what the engine needs to decode. */
  config: z.object({ io: ImportedIoSchema }),
  networks: z.array(z.string()),
  /** SHA-256 of weights.bin: what a bookmark records to reproduce a frame. */
  weightsHash: z.string().regex(/^[0-9a-f]{64}$/),
  command: z.string(),
  source: z.string().optional(),
  createdAt: z.string(),
  metrics: z.record(z.string(), z.unknown()),
  /**
   * Whether evaluation on `dataset` was asked for: `queued` (the service's evaluation queue runs
   * `npm run eval`, which adds `metrics.summary` and `metrics.evaluation` when done) or `pending`
   * (nothing queued it). The figures themselves are in `metrics`.
   */
  evaluation: z.object({ status: z.enum(['not-requested', 'queued', 'pending']), dataset: z.string().optional(), note: z.string().optional() }),
  generator: PartSchema.extend({ outputRangeFrom: z.enum(['form', 'last layer']) }),
  classifier: PartSchema.extend({ outputs: z.number().int(), labels: z.array(z.string()).optional() }).optional(),
  sampleGrid: z.object({ file: z.literal(SAMPLES_FILE), seed: z.number().int(), rows: z.number().int(), cols: z.number().int() }),
  /** Wall time of one image in the first sample grid (batch of 64) during the import, ms. */
  decodeMsPerImage: z.number(),
  backend: z.string(),
});

export type ImportedModelCard = z.infer<typeof ImportedModelCardSchema>;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** Is the card in `dir` an imported model's? (A cheap look at the family, for the registry's scan.) */
export function isImportedCard(card: { family: string }): boolean {
  return card.family === IMPORTED_FAMILY;
}

/** The card an import job's output becomes. */
export function importedCard(id: string, out: ImportJobOutput, evaluation: ImportedModelCard['evaluation']): ImportedModelCard {
  const { options, generator, classifier } = out;
  const part = (p: ImportJobOutput['generator'] | NonNullable<ImportJobOutput['classifier']>) => ({
    format: p.format,
    files: p.files,
    ...(p.zip ? { zip: p.zip } : {}),
    ignored: p.ignored,
    ...(p.generatedBy ? { generatedBy: p.generatedBy } : {}),
    ...(p.convertedBy ? { convertedBy: p.convertedBy } : {}),
    layers: p.topology.count,
    kinds: p.topology.kinds,
    parameters: p.parameters,
    weightsHash: sha256(p.weights),
  });
  return {
    format: 1,
    id,
    name: options.name,
    family: IMPORTED_FAMILY,
    dataset: options.dataset ?? 'unspecified',
    imageShape: [...generator.io.imageShape],
    latentDim: generator.io.latentDim,
    numClasses: generator.io.numClasses,
    ...(options.classNames ? { classNames: options.classNames } : {}),
    config: { io: generator.io },
    networks: classifier ? ['generator', 'classifier'] : ['generator'],
    weightsHash: sha256(generator.weights),
    command: 'POST /api/models/import',
    ...(options.source ? { source: options.source } : {}),
    createdAt: new Date().toISOString(),
    metrics: {},
    evaluation,
    generator: { ...part(generator), outputRangeFrom: generator.outputRangeFrom },
    ...(classifier ? { classifier: { ...part(classifier), outputs: classifier.outputs, ...(classifier.labels ? { labels: classifier.labels } : {}) } } : {}),
    sampleGrid: { file: SAMPLES_FILE, seed: out.samples.seed, rows: out.samples.rows, cols: out.samples.cols },
    decodeMsPerImage: Math.round(out.decodeMsPerImage * 1000) / 1000,
    backend: out.backend,
  };
}

/**
 * Writes the model under `modelDir/<card.id>` atomically. A 409 if the folder exists; on any
 * failure nothing is left behind.
 */
export async function writeImportedModel(modelDir: string, card: ImportedModelCard, out: ImportJobOutput): Promise<string> {
  const dir = path.join(path.resolve(modelDir), card.id);
  if (existsSync(dir)) throw new ImportError(409, `a model with id ${card.id} exists already`);
  await mkdir(path.dirname(dir), { recursive: true });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  try {
    await mkdir(tmp);
    await writeFile(path.join(tmp, MODEL_FILE), out.generator.modelJson);
    await writeFile(path.join(tmp, STORED_WEIGHTS), out.generator.weights);
    await writeFile(path.join(tmp, SAMPLES_FILE), out.samples.png);
    if (out.classifier) {
      await mkdir(path.join(tmp, CLASSIFIER_DIR));
      await writeFile(path.join(tmp, CLASSIFIER_DIR, MODEL_FILE), out.classifier.modelJson);
      await writeFile(path.join(tmp, CLASSIFIER_DIR, STORED_WEIGHTS), out.classifier.weights);
    }
    // The card last: a folder without one is not a model to the registry.
    await writeFile(path.join(tmp, CARD_FILE), `${JSON.stringify(card, null, 2)}\n`);
    if (existsSync(dir)) throw new ImportError(409, `a model with id ${card.id} exists already`);
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
  return dir;
}

/** Removes a stored imported model (the service's rollback when the engine cannot load it). */
export async function removeImportedModel(modelDir: string, id: string): Promise<void> {
  MODEL_ID.parse(id);
  await rm(path.join(path.resolve(modelDir), id), { recursive: true, force: true });
}

function readCapped(file: string, max: number): Uint8Array {
  const size = statSync(file).size;
  if (size > max) throw new Error(`${file} is larger than ${max} bytes`);
  return readFileSync(file);
}

/** Reads and checks the card of an imported model folder. */
export function readImportedCard(dir: string): ImportedModelCard {
  const raw: unknown = JSON.parse(new TextDecoder().decode(readCapped(path.join(dir, CARD_FILE), 1024 * 1024)));
  const parsed = ImportedModelCardSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`${path.join(dir, CARD_FILE)}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

/**
 * Loads the imported model stored in `dir` (the engine's registry calls this): hash check, the
 * upload's static checks again, then TF.js from memory.
 */
export async function loadImportedModel(dir: string): Promise<{ card: ImportedModelCard; model: ImportedModel }> {
  const card = readImportedCard(dir);
  const modelJson = readCapped(path.join(dir, MODEL_FILE), MAX_MODEL_JSON_BYTES);
  const weights = readCapped(path.join(dir, STORED_WEIGHTS), MAX_WEIGHT_BYTES);
  const hash = sha256(weights);
  if (hash !== card.weightsHash) throw new Error(`${path.join(dir, STORED_WEIGHTS)}: SHA-256 ${hash} does not match the card's ${card.weightsHash}`);
  let validated;
  try {
    validated = await validateUpload(
      [
        { name: MODEL_FILE, bytes: modelJson },
        { name: STORED_WEIGHTS, bytes: weights },
      ],
      'stored model',
    );
  } catch (err) {
    throw new Error(`${dir}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const tfModel = await loadTfModel(validated.artifacts);
  return { card, model: new ImportedModel(tfModel, card.config.io) };
}
