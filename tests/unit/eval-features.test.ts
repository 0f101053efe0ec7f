/**
 * A user-supplied TF.js feature extractor (models/eval/tfjs-features.ts), with a small model
 * built and saved here in the TF.js layers format (model.json + a weight shard), standing in for
 * Inception-v3: loaded from memory after its manifest is checked, fed grey 28×28 images (repeated
 * to RGB, resized, mapped to [−1, 1]) and pooled to a vector, equal to the same pipeline run by
 * hand on the original model; manifests that point outside the folder, lie about their sizes or
 * use unknown dtypes are refused before TF.js sees them; nothing leaks.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTfjsFeatureExtractor, readTfjsArtifacts } from '../../models/eval/tfjs-features';
import { initEngine } from '../../server/inference/engine';

const tmp = mkdtempSync(path.join(tmpdir(), 'tfjs-features-'));
let model: tfl.LayersModel;
let modelJson: Record<string, unknown>;
const SIDE = 12;

/** Writes model.json (with `edit` applied) and the shard into a fresh folder; returns model.json's path. */
function writeModel(name: string, edit: (json: Record<string, unknown>) => void = () => {}): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const json = structuredClone(modelJson);
  edit(json);
  writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
  writeFileSync(path.join(dir, 'group1-shard1of1.bin'), readFileSync(path.join(tmp, 'weights.bin')));
  return path.join(dir, 'model.json');
}

beforeAll(async () => {
  await initEngine('wasm');
  model = tfl.sequential({
    layers: [
      tfl.layers.conv2d({ inputShape: [SIDE, SIDE, 3], filters: 5, kernelSize: 3, strides: 2, activation: 'relu', kernelInitializer: tfl.initializers.glorotUniform({ seed: 1 }), biasInitializer: tfl.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: 2 }) }),
      tfl.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'tanh', kernelInitializer: tfl.initializers.glorotUniform({ seed: 3 }) }),
    ],
  });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      writeFileSync(path.join(tmp, 'weights.bin'), Buffer.from(artifacts.weightData as ArrayBuffer));
      modelJson = {
        format: 'layers-model',
        generatedBy: 'test',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts.weightSpecs }],
      };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
});
afterAll(() => {
  model.dispose();
  rmSync(tmp, { recursive: true, force: true });
});

describe('loadTfjsFeatureExtractor', () => {
  it('gives the pooled outputs of the model for grey images repeated to RGB, resized and mapped to [−1, 1]', async () => {
    const extractor = await loadTfjsFeatureExtractor(writeModel('ok'));
    expect(extractor.kind).toBe('tfjs');
    expect(extractor.dim).toBe(6);
    expect(extractor.description).toMatch(/Inception FID only if/);
    const n = 5;
    const images = Float32Array.from({ length: n * 28 * 28 }, (_, i) => ((i * 7919) % 97) / 97);
    const before = tf.memory().numTensors;
    const got = extractor.features(images, n, [28, 28, 1]);
    expect(tf.memory().numTensors).toBe(before);
    const expected = tf.tidy(() => {
      const x = tf.tensor4d(images, [n, 28, 28, 1]);
      const rgb = tf.image.resizeBilinear(tf.tile(x, [1, 1, 1, 3]), [SIDE, SIDE]);
      const y = model.predict(tf.sub(tf.mul(rgb, 2), 1)) as tf.Tensor4D;
      return tf.mean(y, [1, 2]).dataSync();
    });
    expect(got).toHaveLength(n * 6);
    for (let i = 0; i < got.length; i++) expect(got[i]).toBeCloseTo(expected[i]!, 5);
    extractor.dispose();
  });

  it('refuses weight paths outside the folder, wrong sizes and unknown dtypes before loading', async () => {
    const cases: [string, (j: Record<string, unknown>) => void, RegExp][] = [
      ['up', (j) => ((j['weightsManifest'] as { paths: string[] }[])[0]!.paths = ['../weights.bin']), /leaves the model's folder/],
      ['abs', (j) => ((j['weightsManifest'] as { paths: string[] }[])[0]!.paths = [path.join(tmp, 'weights.bin')]), /absolute/],
      ['url', (j) => ((j['weightsManifest'] as { paths: string[] }[])[0]!.paths = ['http://example.org/w.bin']), /absolute or a URL/],
      ['missing', (j) => ((j['weightsManifest'] as { paths: string[] }[])[0]!.paths = ['nope.bin']), /does not exist/],
      ['size', (j) => (j['weightsManifest'] as { weights: { shape: number[] }[] }[])[0]!.weights[0]!.shape.push(2), /hold \d+ bytes, the weight specs describe \d+/],
      ['dtype', (j) => ((j['weightsManifest'] as { weights: { dtype: string }[] }[])[0]!.weights[0]!.dtype = 'complex64'), /unsupported dtype/],
      ['format', (j) => (j['format'] = 'onnx'), /unknown format/],
      ['topology', (j) => delete j['modelTopology'], /no modelTopology/],
    ];
    for (const [name, edit, message] of cases) {
      expect(() => readTfjsArtifacts(writeModel(name, edit)), name).toThrow(message);
    }
    // A symbolic link inside the folder that points out of it.
    const linked = writeModel('link', (j) => ((j['weightsManifest'] as { paths: string[] }[])[0]!.paths = ['shard.bin']));
    symlinkSync(path.join(tmp, 'weights.bin'), path.join(path.dirname(linked), 'shard.bin'));
    expect(() => readTfjsArtifacts(linked)).toThrow(/not a regular file/);
  });
});
