/**
 * The external generator (tfjs-examples' fashion-mnist-vae decoder, saved with TF.js's own save)
 * through the validation and the ImportedModel wrapper, in this process on the cpu backend:
 * every saver layout validates, loads from memory, and decodes exactly what the decoder's own
 * predict gives; the graph-model copy agrees too; the wiring of class inputs, layouts, ranges and
 * channel orders does what it says; nothing leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ImportedModel,
  IoError,
  loadTfModel,
  probeOutputShape,
  resolveInputs,
  resolveOutput,
  toPixels,
  type ImportedIo,
  type TfModel,
} from '../../models/imported/imported-model';
import { validateUpload } from '../../server/import/upload';
import {
  browserDownloadFiles,
  buildFashionDecoder,
  FASHION_VAE,
  graphModelFiles,
  nodeFileFiles,
  saveArtifacts,
  shardedFiles,
  type FixtureFile,
} from '../fixtures/import/fashion-mnist-vae-decoder';
import { makeZip } from '../fixtures/import/zip-writer';

let decoder: tf.LayersModel;
let artifacts: tf.io.ModelArtifacts;

beforeAll(async () => {
  await tf.setBackend('cpu');
  decoder = buildFashionDecoder();
  artifacts = await saveArtifacts(decoder);
});
afterAll(() => decoder.dispose());

async function load(files: FixtureFile[]): Promise<TfModel> {
  const v = await validateUpload(files, 'model');
  return loadTfModel(v.artifacts);
}

function wire(model: TfModel, hints = {}): ImportedIo {
  const inputs = resolveInputs(model, hints);
  const { shape } = probeOutputShape(model, inputs);
  return { ...inputs, ...resolveOutput(shape, model.finalActivation, hints, 512) };
}

const Z = [
  [0, 0],
  [1.5, -0.5],
  [-2, 0.25],
];

describe('the fashion-mnist-vae decoder saved by TF.js', () => {
  for (const [layout, files] of [
    ['browser downloads (./model.weights.bin)', () => browserDownloadFiles(artifacts)],
    ['node file saver (weights.bin)', () => nodeFileFiles(artifacts)],
    ['converter shards (3 files)', () => shardedFiles(artifacts, 700_000)],
    ['a zip of the browser download', () => [{ name: 'decoder.zip', bytes: makeZip(browserDownloadFiles(artifacts).map((f) => ({ name: `decoder/${f.name}`, data: f.bytes }))) }]],
  ] as const) {
    it(`imports from ${layout} and decodes what predict gives`, async () => {
      const before = tf.memory().numTensors;
      const model = await load(files());
      const io = wire(model);
      expect(io).toMatchObject({ latentDim: FASHION_VAE.latentDim, layout: 'flat', imageShape: [28, 28, 1], outputRange: 'sigmoid', classInput: 'none' });
      const imported = new ImportedModel(model, io);
      const z = tf.tensor2d(Z);
      const mine = imported.decode(z);
      const theirs = decoder.predict(z) as tf.Tensor;
      expect(mine.shape).toEqual([3, 28, 28, 1]);
      expect(Array.from(mine.dataSync())).toEqual(Array.from(theirs.dataSync()));
      tf.dispose([z, mine, theirs]);
      imported.dispose();
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('as a hand-written graph model, decodes what the layers model does', async () => {
    const before = tf.memory().numTensors;
    const model = await load(graphModelFiles(decoder));
    expect(model.format).toBe('graph-model');
    const io = wire(model);
    expect(io).toMatchObject({ latentDim: 2, imageShape: [28, 28, 1], outputRange: 'sigmoid' });
    const imported = new ImportedModel(model, io);
    const z = tf.tensor2d(Z);
    const mine = imported.decode(z);
    const theirs = decoder.predict(z) as tf.Tensor;
    const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.reshape(mine, [3, 784]), theirs))).dataSync()[0]!);
    expect(diff).toBeLessThan(1e-6);
    tf.dispose([z, mine, theirs]);
    imported.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses a latentDim that disagrees with the input shape, naming both', async () => {
    const model = await load(nodeFileFiles(artifacts));
    expect(() => resolveInputs(model, { latentDim: 64 })).toThrow(/latentDim 64 disagrees with the model: input .* holds 2/);
    model.dispose();
  });

  it('imageShape for a flat output must hold the same number of values', () => {
    expect(() => resolveOutput([1, 784], 'sigmoid', { imageShape: [32, 32, 1] }, 512)).toThrow(/has 1024 values but the output \[batch, 784\] has 784/);
    expect(resolveOutput([1, 784], 'sigmoid', { imageShape: [14, 56, 1] }, 512).imageShape).toEqual([14, 56, 1]);
    expect(() => resolveOutput([1, 1000], 'sigmoid', {}, 512)).toThrow(/give imageShape/);
  });
});

describe('output wiring', () => {
  const base: ImportedIo = { latentDim: 1, latentInput: 0, latentShape: [1], classInput: 'none', numClasses: null, layout: 'nhwc', imageShape: [1, 2, 3], outputRange: 'sigmoid', channelOrder: 'rgb' };

  it('maps tanh output (y + 1) / 2 and clips to [0, 1]', () => {
    const px = tf.tidy(() => Array.from(toPixels({ ...base, outputRange: 'tanh', imageShape: [1, 1, 3] }, tf.tensor([[[[-1, 0, 3]]]]), 1).dataSync()));
    expect(px).toEqual([0, 0.5, 1]);
  });

  it('transposes NCHW and reverses BGR', () => {
    // [1, c=3, h=1, w=2]: channel-major values 0..5 → pixel (0,0) = [0, 2, 4], (0,1) = [1, 3, 5]
    const nchw = tf.tensor4d([0, 1, 2, 3, 4, 5].map((v) => v / 10), [1, 3, 1, 2]);
    const rgb = tf.tidy(() => Array.from(toPixels({ ...base, layout: 'nchw' }, nchw, 1).dataSync()).map((v) => Math.round(v * 10)));
    expect(rgb).toEqual([0, 2, 4, 1, 3, 5]);
    const bgr = tf.tidy(() => Array.from(toPixels({ ...base, layout: 'nchw', channelOrder: 'bgr' }, nchw, 1).dataSync()).map((v) => Math.round(v * 10)));
    expect(bgr).toEqual([4, 2, 0, 5, 3, 1]);
    nchw.dispose();
  });

  it('reads the layout from the output shape, or says which field to give', () => {
    expect(resolveOutput([1, 3, 32, 32], 'tanh', {}, 512)).toMatchObject({ layout: 'nchw', imageShape: [32, 32, 3] });
    expect(resolveOutput([1, 32, 32, 3], 'tanh', {}, 512)).toMatchObject({ layout: 'nhwc', imageShape: [32, 32, 3] });
    expect(resolveOutput([1, 28, 28], 'tanh', {}, 512)).toMatchObject({ layout: 'hw', imageShape: [28, 28, 1] });
    expect(() => resolveOutput([1, 32, 32, 4], 'tanh', {}, 512)).toThrow(/4 channels; 1 \(grey\) or 3 \(RGB\) are supported \(no alpha\)/);
    expect(() => resolveOutput([1, 1024, 1024, 3], 'tanh', {}, 512)).toThrow(/larger than 512×512/);
    expect(() => resolveOutput([1, 8, 8, 1], 'linear', {}, 512)).toThrow(/outputRange: the model's last layer has activation linear; give tanh/);
    expect(() => resolveOutput([1, 8, 8, 1], undefined, { outputRange: 'tanh' }, 512)).not.toThrow();
  });
});

describe('conditional wiring', () => {
  /** A small conditional generator: z [8] and a class as `kind` says; output [4, 4, 1] tanh. */
  function conditional(kind: 'concat' | 'onehot' | 'label', classesFirst = false): tf.LayersModel {
    const z = tf.input({ shape: kind === 'concat' ? [8 + 3] : [8], name: 'z' });
    let h: tf.SymbolicTensor = z;
    let inputs = [z];
    if (kind !== 'concat') {
      const c = tf.input({ shape: kind === 'onehot' ? [3] : [1], name: 'label' });
      const cf = kind === 'onehot' ? c : (tf.layers.flatten().apply(tf.layers.embedding({ inputDim: 3, outputDim: 4 }).apply(c)) as tf.SymbolicTensor);
      h = tf.layers.concatenate().apply([z, cf]) as tf.SymbolicTensor;
      inputs = classesFirst ? [c, z] : [z, c];
    }
    h = tf.layers.dense({ units: 16, activation: 'tanh' }).apply(h) as tf.SymbolicTensor;
    h = tf.layers.reshape({ targetShape: [4, 4, 1] }).apply(h) as tf.SymbolicTensor;
    return tf.model({ inputs, outputs: h });
  }

  for (const [kind, classesFirst] of [
    ['concat', false],
    ['onehot', false],
    ['onehot', true],
    ['label', false],
    ['label', true],
  ] as const) {
    it(`${kind}${classesFirst ? ' (class input first)' : ''}: one image per (z, class), different classes differ`, async () => {
      const gen = conditional(kind, classesFirst);
      const model = await load(nodeFileFiles(await saveArtifacts(gen)));
      const io = wire(model, { numClasses: 3, classInput: kind });
      expect(io).toMatchObject({ latentDim: 8, numClasses: 3, latentInput: classesFirst ? 1 : 0, outputRange: 'tanh', imageShape: [4, 4, 1] });
      const imported = new ImportedModel(model, io);
      const before = tf.memory().numTensors;
      const px = tf.tidy(() => {
        const z = tf.tensor2d(Array.from({ length: 3 }, () => Array.from({ length: 8 }, (_, i) => i / 8)));
        return Array.from(imported.decode(z, tf.tensor1d([0, 1, 2], 'int32')).dataSync());
      });
      expect(tf.memory().numTensors).toBe(before);
      const img = (k: number) => px.slice(k * 16, (k + 1) * 16);
      expect(img(0)).not.toEqual(img(1));
      expect(img(1)).not.toEqual(img(2));
      expect(px.every((v) => v >= 0 && v <= 1)).toBe(true);
      expect(() => tf.tidy(() => imported.decode(tf.zeros([1, 8])))).toThrow(/conditional/);
      imported.dispose();
      gen.dispose();
    });
  }

  it('a two-input model imported as unconditional asks for numClasses', async () => {
    const gen = conditional('onehot');
    const model = await load(nodeFileFiles(await saveArtifacts(gen)));
    expect(() => resolveInputs(model, {})).toThrow(IoError);
    expect(() => resolveInputs(model, {})).toThrow(/takes 2 inputs .* give numClasses and classInput/);
    model.dispose();
    gen.dispose();
  });
});
