/**
 * The import job: what runs in the import's own process (./job-worker.ts), under its time and
 * memory limits, once per upload, after ./check.ts has passed the upload (options, names, zip,
 * JSON, manifest, topology: all before TF.js is even loaded). Output is everything the service
 * stores, or an ImportError.
 *
 *   2. the generator loaded from memory (models/imported), its wiring worked out from its
 *      input and output shapes and the options;
 *   3. the first sample grid (8 × 8, seeded like a trained model's), which must be finite;
 *   4. the optional attribute classifier: same checks, its input must be the generator's image,
 *      its output one vector, and it must run on the grid's images;
 *   5. everything TF.js allocated is disposed, and counted.
 */
import * as tf from '@tensorflow/tfjs-core';
import { seededNormal } from '../../lib/latent/random';
import { ImportedModel, IoError, loadTfModel, modelInputs, probeOutputShape, resolveInputs, resolveOutput, type ImportedIo, type TfModel } from '../../models/imported/imported-model';
import { describeDataset } from '../../models/datasets/index';
import { sampleGridOf } from '../training/runner';
import { badRequest, ImportError, isMemoryError, unusable } from './errors';
import { MAX_IMAGE_SIDE } from './limits';
import { STORED_WEIGHTS, storedModelJson } from './manifest';
import type { CheckedUpload } from './check';
import type { ImportOptions } from './options';
import type { TopologySummary } from './topology';
import type { FileRecord, ValidatedModel } from './upload';

/** Seed of the first sample grid's latents (the same for every imported model). */
export const IMPORT_GRID_SEED = 1;

export interface ImportedPart {
  format: 'layers-model' | 'graph-model';
  /** model.json as stored: the validated topology and specs, naming STORED_WEIGHTS only. */
  modelJson: string;
  /** The weight bytes, all shards in manifest order. */
  weights: Uint8Array;
  files: FileRecord[];
  ignored: string[];
  zip?: string;
  topology: TopologySummary;
  generatedBy?: string;
  convertedBy?: string;
  parameters: number;
}

export interface ImportJobOutput {
  options: ImportOptions;
  generator: ImportedPart & { io: ImportedIo; outputRangeFrom: 'form' | 'last layer' };
  classifier?: ImportedPart & { outputs: number; labels?: string[] };
  samples: { png: Uint8Array; seed: number; rows: number; cols: number };
  decodeMsPerImage: number;
  backend: string;
  /** tf.memory().numTensors after the job minus before: 0 unless something leaked. */
  tensorsLeaked: number;
}

function part(v: ValidatedModel): ImportedPart {
  return {
    format: v.artifacts.format,
    modelJson: JSON.stringify(storedModelJson(v.artifacts, STORED_WEIGHTS)),
    weights: v.artifacts.weightData,
    files: v.files,
    ignored: v.ignored,
    ...(v.zip ? { zip: v.zip } : {}),
    topology: v.topology,
    ...(v.artifacts.generatedBy ? { generatedBy: v.artifacts.generatedBy } : {}),
    ...(v.artifacts.convertedBy ? { convertedBy: v.artifacts.convertedBy } : {}),
    parameters: v.artifacts.weightSpecs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0),
  };
}

/** Index of the first image of `count` N(0, I) latents (the grid's) whose raw output is not finite. */
function firstNonFinite(tfModel: TfModel, io: ImportedIo, count: number): number | undefined {
  const raw = tf.tidy(() => {
    const z = tf.tensor2d(seededNormal(IMPORT_GRID_SEED, count * io.latentDim), [count, io.latentDim]);
    const classes = io.numClasses ? (tf.tensor1d(Int32Array.from({ length: count }, (_, i) => Math.floor(i / 8) % io.numClasses!), 'int32') as tf.Tensor1D) : undefined;
    return tf.cast(tfModel.run(modelInputs(io, z, classes)), 'float32').dataSync() as Float32Array;
  });
  const i = raw.findIndex((v) => !Number.isFinite(v));
  return i < 0 ? undefined : Math.floor((i / raw.length) * count);
}

/** TF.js's own errors while loading or running an uploaded model, said as an import error. */
function tfError(stage: string, err: unknown): ImportError {
  if (err instanceof ImportError) return err;
  if (err instanceof IoError) return unusable(err.message);
  const message = err instanceof Error ? err.message : String(err);
  if (isMemoryError(message)) {
    return unusable(`${stage}: the model needs more memory than an import may use (${message})`);
  }
  return unusable(`${stage}: ${message.split('\n')[0]!.slice(0, 500)}`);
}

async function loadOrExplain(v: ValidatedModel, what: string): Promise<TfModel> {
  try {
    return await loadTfModel(v.artifacts);
  } catch (err) {
    throw tfError(`TF.js could not load the ${what}`, err);
  }
}

/** Loads the checked upload with TF.js and makes its first sample grid (the engine must be initialised). */
export async function runImportJob(checked: CheckedUpload, backend: string): Promise<ImportJobOutput> {
  const { options, generatorFiles, classifierFiles } = checked;
  const tensorsBefore = tf.memory().numTensors;
  const tfModel = await loadOrExplain(generatorFiles, 'model');
  let model: ImportedModel | undefined;
  let classifier: TfModel | undefined;
  let result: Omit<ImportJobOutput, 'tensorsLeaked'>;
  try {
    const hints = {
      ...(options.latentDim !== undefined ? { latentDim: options.latentDim } : {}),
      ...(options.latentInput !== undefined ? { latentInput: options.latentInput } : {}),
      ...(options.numClasses !== undefined ? { numClasses: options.numClasses } : {}),
      ...(options.classInput !== undefined ? { classInput: options.classInput } : {}),
      ...(options.layout !== undefined ? { layout: options.layout } : {}),
      ...(options.imageShape !== undefined ? { imageShape: options.imageShape } : {}),
      ...(options.outputRange !== undefined ? { outputRange: options.outputRange } : {}),
      ...(options.channelOrder !== undefined ? { channelOrder: options.channelOrder } : {}),
    };
    let io: ImportedIo;
    try {
      const inputs = resolveInputs(tfModel, hints);
      const probe = probeOutputShape(tfModel, inputs);
      if (probe.dtype !== 'float32' && probe.dtype !== 'int32') throw new IoError(`the model's output has dtype ${probe.dtype}, not numbers`);
      io = { ...inputs, ...resolveOutput(probe.shape, tfModel.finalActivation, hints, MAX_IMAGE_SIDE) };
    } catch (err) {
      throw tfError('the model does not run as a generator', err);
    }
    model = new ImportedModel(tfModel, io);

    if (options.dataset) {
      const shape = describeDataset(options.dataset)!.imageShape;
      if (shape.join() !== io.imageShape.join()) {
        throw badRequest(`dataset ${options.dataset} has ${shape.join('×')} images but the model makes ${io.imageShape.join('×')}: it cannot be evaluated on it`);
      }
    }

    let grid: ReturnType<typeof sampleGridOf>;
    const t0 = performance.now();
    try {
      grid = sampleGridOf(model, IMPORT_GRID_SEED);
    } catch (err) {
      throw tfError('the first sample grid failed', err);
    }
    const decodeMsPerImage = (performance.now() - t0) / (grid.rows * grid.cols);
    // The raw output, before the [0, 1] clip (which some backends apply to NaN without a trace).
    const bad = firstNonFinite(tfModel, io, grid.rows * grid.cols);
    if (bad !== undefined) throw unusable(`the model's output holds NaN or infinite values (image ${bad} of the first sample grid, for N(0, I) latents)`);

    let classifierPart: ImportJobOutput['classifier'];
    if (classifierFiles) {
      classifier = await loadOrExplain(classifierFiles, 'classifier');
      const outputs = checkClassifier(classifier, io, grid.images, grid.rows * grid.cols);
      if (options.classifierLabels && options.classifierLabels.length !== outputs) {
        throw badRequest(`classifierLabels has ${options.classifierLabels.length} names but the classifier has ${outputs} outputs`);
      }
      classifierPart = { ...part(classifierFiles), outputs, ...(options.classifierLabels ? { labels: options.classifierLabels } : {}) };
    }

    result = {
      options,
      generator: { ...part(generatorFiles), io, outputRangeFrom: options.outputRange ? 'form' : 'last layer' },
      ...(classifierPart ? { classifier: classifierPart } : {}),
      samples: { png: grid.png, seed: IMPORT_GRID_SEED, rows: grid.rows, cols: grid.cols },
      decodeMsPerImage,
      backend,
    };
  } finally {
    // After a failure inside the backend (a wasm memory fault) disposal may fail too; the
    // original error is the one to report, and this process ends with the job anyway.
    try {
      (model ?? tfModel).dispose();
      classifier?.dispose();
    } catch (err) {
      console.error(`import job: disposing the models failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { ...result, tensorsLeaked: tf.memory().numTensors - tensorsBefore };
}

/** The classifier takes the generator's images and gives one vector per image; returns its length. */
function checkClassifier(c: TfModel, io: ImportedIo, images: Float32Array, count: number): number {
  if (c.inputs.length !== 1) throw unusable(`the classifier takes ${c.inputs.length} inputs; it must take the generator's images only`);
  const want = io.imageShape;
  const got = c.inputs[0]!.shape;
  if (!got || got.length !== 3 || got.some((d, i) => d !== null && d !== want[i])) {
    throw unusable(`the classifier's input [batch, ${(got ?? []).map((d) => d ?? '?').join(', ')}] does not take the generator's images [batch, ${want.join(', ')}]`);
  }
  let shape: number[];
  let finite: boolean;
  try {
    ({ shape, finite } = tf.tidy(() => {
      const out = c.run([tf.tensor4d(images, [count, ...want])]);
      return { shape: [...out.shape], finite: (out.dataSync() as Float32Array).every(Number.isFinite) };
    }));
  } catch (err) {
    throw tfError('the classifier does not run on the generator images', err);
  }
  if (shape.length !== 2) throw unusable(`the classifier's output [${shape.join(', ')}] is not one vector per image`);
  if (!finite) throw unusable("the classifier's output holds NaN or infinite values on the first sample grid");
  return shape[1]!;
}
