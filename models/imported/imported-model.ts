/**
 * A generator made elsewhere (a TF.js LayersModel or GraphModel), explored like the project's own:
 * it implements models/common/family.ts's GenerativeModel, so rooms, sampling and the engine's
 * batcher see no difference.
 *
 * What differs between generators in the wild, and how each is mapped to the contract
 * (pixels in [0, 1], NHWC, [B, h, w, c]):
 *   - latent input: [B, d], or [B, 1, 1, d] / [B, d, 1, 1] (conv-first generators): z is reshaped;
 *   - class input of conditional models: `concat` (z and the one-hot class in one input),
 *     `onehot` (a second input of numClasses values) or `label` (a second input holding the
 *     index, as an Embedding layer wants it, int32 or float32 as the input declares);
 *   - output layout: NHWC, NCHW (transposed), [B, h, w] (a channel axis added) or flat
 *     [B, h·w·c] (reshaped);
 *   - channel order RGB or BGR (reversed);
 *   - output range: tanh [-1, 1] → (y + 1) / 2, sigmoid [0, 1] as is; then clipped to [0, 1].
 *
 * The TF.js model is always loaded from memory (tf.io.fromMemory): artifacts, never a path.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import type { GenerativeModel, ImageShape } from '../common/family';

export type ImportedFormat = 'layers-model' | 'graph-model';
export type ClassInput = 'none' | 'concat' | 'onehot' | 'label';
export type OutputLayout = 'nhwc' | 'nchw' | 'hw' | 'flat';
export type OutputRange = 'tanh' | 'sigmoid';

/** What TF.js needs to build the model, in memory. */
export interface InMemoryArtifacts {
  format: ImportedFormat;
  modelTopology: Record<string, unknown>;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: Uint8Array;
  signature?: Record<string, unknown>;
}

export interface TensorSlot {
  name: string;
  /** Without the batch axis; null for a dimension the model leaves open. */
  shape: (number | null)[] | null;
  dtype: string;
}

/** A loaded TF.js model seen the same way whatever its format. */
export interface TfModel {
  readonly format: ImportedFormat;
  readonly inputs: TensorSlot[];
  readonly outputs: TensorSlot[];
  /** Activation of the output, when the model says it (last layer's activation, last op). */
  readonly finalActivation: string | undefined;
  /** Runs the model on one tensor per input, in input order; returns the first output. */
  run(inputs: tf.Tensor[]): tf.Tensor;
  dispose(): void;
}

/** How z, the class and the output are wired: everything decode needs besides the model. */
export interface ImportedIo {
  latentDim: number;
  /** Which input takes z; its shape without the batch axis. */
  latentInput: number;
  latentShape: number[];
  classInput: ClassInput;
  numClasses: number | null;
  /** The class input's index and shape without the batch axis (onehot, label). */
  classSlot?: { index: number; shape: number[]; dtype: 'float32' | 'int32' };
  layout: OutputLayout;
  imageShape: ImageShape;
  outputRange: OutputRange;
  channelOrder: 'rgb' | 'bgr';
}

function slotShape(shape: readonly (number | null)[] | undefined | null): (number | null)[] | null {
  if (!shape) return null;
  return shape.slice(1).map((d) => (d === null || d === undefined || d < 0 ? null : d));
}

function layersActivation(model: tfl.LayersModel): string | undefined {
  // The layer that produces the output, skipping shape-only layers after it.
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const layer = model.layers[i]!;
    const cls = layer.getClassName();
    if (cls === 'Reshape' || cls === 'Flatten' || cls === 'Permute' || cls === 'Dropout') continue;
    const config = layer.getConfig();
    if (cls === 'Activation' || typeof config['activation'] === 'string') return String(config['activation']);
    return undefined;
  }
  return undefined;
}

function graphActivation(model: GraphModel, topology: Record<string, unknown>): string | undefined {
  const nodes = (topology['node'] as { name: string; op: string; input?: string[] }[]) ?? [];
  const byName = new Map(nodes.map((n) => [n.name, n]));
  let name = model.outputs[0]?.name.replace(/:\d+$/, '');
  for (let hops = 0; name && hops < 8; hops++) {
    const node = byName.get(name);
    if (!node) return undefined;
    if (node.op === 'Tanh') return 'tanh';
    if (node.op === 'Sigmoid') return 'sigmoid';
    if (node.op !== 'Identity' && node.op !== 'Reshape' && node.op !== 'Transpose') return undefined;
    name = node.input?.[0]?.replace(/:\d+$/, '');
  }
  return undefined;
}

/** Loads the artifacts with TF.js (from memory) into a TfModel. */
export async function loadTfModel(a: InMemoryArtifacts): Promise<TfModel> {
  const weightData = a.weightData.slice().buffer as ArrayBuffer;
  if (a.format === 'layers-model') {
    const handler = tf.io.fromMemory({ modelTopology: a.modelTopology, weightSpecs: a.weightSpecs, weightData, format: a.format });
    const model = await tfl.loadLayersModel(handler, { strict: true });
    return {
      format: a.format,
      inputs: model.inputs.map((s) => ({ name: s.name, shape: slotShape(s.shape), dtype: s.dtype })),
      outputs: model.outputs.map((s) => ({ name: s.name, shape: slotShape(s.shape), dtype: s.dtype })),
      finalActivation: layersActivation(model),
      run: (inputs) => {
        const out = model.predictOnBatch(inputs.length === 1 ? inputs[0]! : inputs);
        return Array.isArray(out) ? out[0]! : out;
      },
      dispose: () => model.dispose(),
    };
  }
  const handler = tf.io.fromMemory({
    modelTopology: a.modelTopology,
    weightSpecs: a.weightSpecs,
    weightData,
    format: a.format,
    ...(a.signature ? { signature: a.signature } : {}),
  });
  const model = await loadGraphModel(handler);
  const names = model.inputs.map((i) => i.name);
  return {
    format: a.format,
    inputs: model.inputs.map((i) => ({ name: i.name, shape: slotShape(i.shape), dtype: i.dtype })),
    outputs: model.outputs.map((o) => ({ name: o.name, shape: slotShape(o.shape), dtype: o.dtype })),
    finalActivation: graphActivation(model, a.modelTopology),
    run: (inputs) => {
      const feed: tf.NamedTensorMap = {};
      names.forEach((n, i) => (feed[n] = inputs[i]!));
      const out = model.execute(feed);
      return Array.isArray(out) ? out[0]! : out;
    },
    dispose: () => model.dispose(),
  };
}

/** The user's answers to what the files cannot say (server/import/options.ts), all optional here. */
export interface IoHints {
  latentDim?: number;
  latentInput?: number;
  numClasses?: number;
  classInput?: 'concat' | 'onehot' | 'label';
  layout?: 'nhwc' | 'nchw' | 'flat';
  imageShape?: ImageShape;
  outputRange?: OutputRange;
  channelOrder?: 'rgb' | 'bgr';
}

/** A problem the user can fix with a form field; the message names it. */
export class IoError extends Error {
  override name = 'IoError';
}

const product = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
const fmt = (shape: readonly (number | null)[] | null) => (shape ? `[batch, ${shape.map((d) => d ?? '?').join(', ')}]` : '[unknown shape]');

/** The latent size an input shape holds: [d], [1, 1, d] or [d, 1, 1]; null if open. */
function vectorSize(shape: (number | null)[] | null): number | null | 'bad' {
  if (!shape) return null;
  if (shape.length === 1) return shape[0] ?? null;
  if (shape.length === 3) {
    const open = shape.filter((d) => d === null).length;
    const big = shape.filter((d) => d !== null && d !== 1);
    if (open === 0) return big.length <= 1 ? product(shape as number[]) : 'bad';
    if (open === 1 && big.length === 0) return null;
  }
  return 'bad';
}

/**
 * Works out the input side of the wiring from the model's inputs and the hints; the output side
 * needs an actual run (see resolveOutput). Throws IoError naming the field to give.
 */
export function resolveInputs(model: Pick<TfModel, 'inputs'>, hints: IoHints): Omit<ImportedIo, 'layout' | 'imageShape' | 'outputRange' | 'channelOrder'> {
  const { inputs } = model;
  const numClasses = hints.numClasses ?? null;
  const classInput: ClassInput = numClasses === null ? 'none' : (hints.classInput ?? 'concat');
  const wanted = classInput === 'onehot' || classInput === 'label' ? 2 : 1;
  if (inputs.length !== wanted) {
    if (inputs.length === 2 && numClasses === null) {
      throw new IoError(`the model takes 2 inputs (${inputs.map((i) => `${i.name} ${fmt(i.shape)}`).join(', ')}): if it is conditional, give numClasses and classInput (onehot or label)`);
    }
    throw new IoError(`the model takes ${inputs.length} input(s) but ${classInput === 'none' ? 'an unconditional generator takes 1 (z)' : `classInput ${classInput} needs ${wanted}`}`);
  }
  for (const i of inputs) {
    if (i.dtype !== 'float32' && i.dtype !== 'int32') throw new IoError(`input ${i.name} has dtype ${i.dtype}; float32 or int32 inputs are supported`);
  }

  let latentInput = 0;
  let classSlot: ImportedIo['classSlot'];
  if (wanted === 2) {
    const isClassSlot = (s: TensorSlot) =>
      classInput === 'onehot'
        ? s.shape?.length === 1 && s.shape[0] === numClasses
        : s.shape !== null && (s.shape.length === 0 || (s.shape.length === 1 && s.shape[0] === 1));
    const matches = [0, 1].filter((k) => isClassSlot(inputs[k]!));
    if (hints.latentInput !== undefined) latentInput = hints.latentInput;
    else if (matches.length === 1) latentInput = 1 - matches[0]!;
    else if (matches.length === 0) {
      throw new IoError(
        `classInput ${classInput}: neither input looks like a class input (${inputs.map((i) => fmt(i.shape)).join(', ')}); ` +
          (classInput === 'onehot' ? `a one-hot input has numClasses (${numClasses}) values` : 'a label input has 1 value'),
      );
    }
    const ci = 1 - latentInput;
    const cs = inputs[ci]!;
    if (!isClassSlot(cs)) throw new IoError(`input ${ci} (${cs.name} ${fmt(cs.shape)}) does not fit classInput ${classInput}`);
    classSlot = { index: ci, shape: (cs.shape ?? []) as number[], dtype: cs.dtype === 'int32' ? 'int32' : 'float32' };
    if (classInput === 'onehot' && classSlot.dtype !== 'float32') throw new IoError(`the one-hot class input ${cs.name} must be float32`);
  }

  const zSlot = inputs[latentInput]!;
  const size = vectorSize(zSlot.shape);
  if (size === 'bad') throw new IoError(`input ${zSlot.name} ${fmt(zSlot.shape)} is not a latent vector ([batch, d], [batch, 1, 1, d] or [batch, d, 1, 1])`);
  if (zSlot.dtype !== 'float32') throw new IoError(`the latent input ${zSlot.name} must be float32`);
  const extra = classInput === 'concat' ? numClasses! : 0;
  let latentDim: number;
  if (size === null) {
    if (hints.latentDim === undefined) throw new IoError(`the latent size cannot be read from input ${zSlot.name} ${fmt(zSlot.shape)}: give latentDim`);
    latentDim = hints.latentDim;
  } else {
    latentDim = size - extra;
    if (latentDim < 1) throw new IoError(`input ${zSlot.name} ${fmt(zSlot.shape)} has ${size} values, not enough for z and ${extra} one-hot classes`);
    if (hints.latentDim !== undefined && hints.latentDim !== latentDim) {
      throw new IoError(`latentDim ${hints.latentDim} disagrees with the model: input ${zSlot.name} ${fmt(zSlot.shape)} holds ${latentDim}${extra ? ` latent values after ${extra} one-hot classes` : ''}`);
    }
  }
  const latentShape = zSlot.shape && zSlot.shape.length === 3 ? zSlot.shape.map((d) => d ?? latentDim + extra) : [latentDim + extra];
  return { latentDim, latentInput, latentShape, classInput, numClasses, ...(classSlot ? { classSlot } : {}) };
}

/**
 * Works out the output side from an actual output shape (batch axis included) and the hints.
 * `maxSide` caps height and width.
 */
export function resolveOutput(
  outShape: readonly number[],
  finalActivation: string | undefined,
  hints: IoHints,
  maxSide: number,
): Pick<ImportedIo, 'layout' | 'imageShape' | 'outputRange' | 'channelOrder'> {
  const rest = outShape.slice(1);
  let layout: OutputLayout;
  let imageShape: ImageShape;
  const shown = `[batch, ${rest.join(', ')}]`;
  if (rest.length === 1 || hints.layout === 'flat') {
    const n = product(rest);
    layout = 'flat';
    if (hints.imageShape) {
      if (product(hints.imageShape) !== n) throw new IoError(`imageShape ${hints.imageShape.join('×')} has ${product(hints.imageShape)} values but the output ${shown} has ${n}`);
      imageShape = hints.imageShape;
    } else {
      const grey = Math.round(Math.sqrt(n));
      const rgb = Math.round(Math.sqrt(n / 3));
      if (grey * grey === n) imageShape = [grey, grey, 1];
      else if (3 * rgb * rgb === n) imageShape = [rgb, rgb, 3];
      else throw new IoError(`the output ${shown} is flat and not a square image: give imageShape (height,width,channels)`);
    }
  } else if (rest.length === 2) {
    layout = 'hw';
    imageShape = [rest[0]!, rest[1]!, 1];
  } else if (rest.length === 3) {
    const [a, b, c] = rest as [number, number, number];
    const chw = hints.layout === 'nchw' || (hints.layout === undefined && c !== 1 && c !== 3 && (a === 1 || a === 3));
    layout = chw ? 'nchw' : 'nhwc';
    imageShape = chw ? [b, c, a] : [a, b, c];
  } else {
    throw new IoError(`the output ${shown} is not an image ([batch, h, w, c], [batch, c, h, w], [batch, h, w] or flat)`);
  }
  const [h, w, c] = imageShape;
  if (c !== 1 && c !== 3) throw new IoError(`the output ${shown} read as ${layout} has ${c} channels; 1 (grey) or 3 (RGB) are supported${c === 4 ? ' (no alpha)' : ''}`);
  if (h > maxSide || w > maxSide) throw new IoError(`the output images are ${h}×${w}, larger than ${maxSide}×${maxSide}`);
  if (hints.imageShape && layout !== 'flat' && hints.imageShape.join() !== imageShape.join()) {
    throw new IoError(`imageShape ${hints.imageShape.join('×')} disagrees with the output ${shown} read as ${layout} (${imageShape.join('×')})`);
  }
  const detected = finalActivation === 'tanh' || finalActivation === 'sigmoid' ? finalActivation : undefined;
  const outputRange = hints.outputRange ?? detected;
  if (!outputRange) {
    throw new IoError(
      `outputRange: the model's last layer ${finalActivation ? `has activation ${finalActivation}` : 'does not say its activation'}; ` +
        'give tanh (output in [-1, 1]) or sigmoid (output in [0, 1])',
    );
  }
  const channelOrder = hints.channelOrder ?? 'rgb';
  if (channelOrder === 'bgr' && c !== 3) throw new IoError('channelOrder bgr needs 3 channels');
  return { layout, imageShape, outputRange, channelOrder };
}

/**
 * The output shape of one run on `batch` zero latents (class 0 for conditional models): graph
 * models often do not declare it, and layers models may leave dimensions open.
 */
export function probeOutputShape(model: TfModel, inputs: ReturnType<typeof resolveInputs>, batch = 2): { shape: number[]; dtype: string } {
  const io = { ...inputs, layout: 'flat', imageShape: [1, 1, 1], outputRange: 'sigmoid', channelOrder: 'rgb' } as const;
  return tf.tidy(() => {
    const classes = inputs.numClasses === null ? undefined : (tf.zeros([batch], 'int32') as tf.Tensor1D);
    const out = model.run(modelInputs({ ...io, imageShape: [1, 1, 1] }, tf.zeros([batch, inputs.latentDim]), classes));
    return { shape: [...out.shape], dtype: out.dtype };
  });
}

/** The inputs of one decode call, built from z [B, latentDim] and classes [B]. Call inside a tidy. */
export function modelInputs(io: ImportedIo, z: tf.Tensor2D, classes: tf.Tensor1D | undefined): tf.Tensor[] {
  const batch = z.shape[0];
  if (io.numClasses !== null && !classes) throw new Error(`the model is conditional: each latent needs a class in [0, ${io.numClasses})`);
  let zIn: tf.Tensor = z;
  if (io.classInput === 'concat') zIn = tf.concat([z, tf.cast(tf.oneHot(tf.cast(classes!, 'int32'), io.numClasses!), 'float32')], 1);
  const inputs: tf.Tensor[] = [];
  inputs[io.latentInput] = tf.reshape(zIn, [batch, ...io.latentShape]);
  if (io.classSlot) {
    const c = tf.cast(classes!, 'int32');
    const value = io.classInput === 'onehot' ? tf.cast(tf.oneHot(c, io.numClasses!), 'float32') : tf.cast(c, io.classSlot.dtype);
    inputs[io.classSlot.index] = tf.reshape(value, [batch, ...io.classSlot.shape]);
  }
  return inputs;
}

/** The model's raw output → pixels in [0, 1], [B, h, w, c]. Call inside a tidy. */
export function toPixels(io: ImportedIo, out: tf.Tensor, batch: number): tf.Tensor4D {
  const [h, w, c] = io.imageShape;
  let img: tf.Tensor4D;
  if (io.layout === 'nchw') img = tf.transpose(tf.reshape(out, [batch, c, h, w]), [0, 2, 3, 1]);
  else img = tf.reshape(out, [batch, h, w, c]);
  if (io.channelOrder === 'bgr') img = tf.reverse(img, -1);
  let px: tf.Tensor4D = tf.cast(img, 'float32');
  if (io.outputRange === 'tanh') px = tf.mul(tf.add(px, 1), 0.5);
  return tf.clipByValue(px, 0, 1);
}

export class ImportedModel implements GenerativeModel {
  readonly family = 'imported' as const;
  readonly latentDim: number;
  readonly numClasses: number | null;
  readonly imageShape: ImageShape;

  constructor(
    readonly tfModel: TfModel,
    readonly io: ImportedIo,
  ) {
    this.latentDim = io.latentDim;
    this.numClasses = io.numClasses;
    this.imageShape = [...io.imageShape];
  }

  decode(z: tf.Tensor2D, classes?: tf.Tensor1D): tf.Tensor4D {
    if (z.shape[1] !== this.latentDim) throw new Error(`z has ${z.shape[1]} values per latent, the model takes ${this.latentDim}`);
    return tf.tidy(() => toPixels(this.io, this.tfModel.run(modelInputs(this.io, z, classes)), z.shape[0]));
  }

  dispose(): void {
    this.tfModel.dispose();
  }
}
