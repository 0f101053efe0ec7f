/**
 * Weight byte accounting and topology allow-lists (server/import/manifest.ts, topology.ts) on the
 * cases the corpus does not single out: quantized weights, several groups, shared shard files,
 * graph constants and nested models.
 */
import { describe, expect, it } from 'vitest';
import { readManifest } from '../../server/import/manifest';
import { checkGraphTopology, checkLayersTopology } from '../../server/import/topology';

const topology = { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'd', units: 2, activation: 'tanh' } }] } };
const bytes = (n: number) => new Uint8Array(n);

function manifest(groups: { paths: string[]; weights: Record<string, unknown>[] }[], files: Record<string, number>) {
  return readManifest({ format: 'layers-model', modelTopology: topology, weightsManifest: groups }, 'model.json', '', new Map(Object.entries(files).map(([k, n]) => [k, bytes(n)])));
}

describe('weight byte accounting', () => {
  it('counts quantized weights at their stored width', () => {
    const q = { dtype: 'uint8', scale: 0.1, min: -1 };
    const { artifacts } = manifest([{ paths: ['w.bin'], weights: [{ name: 'k', shape: [3, 5], dtype: 'float32', quantization: q }, { name: 'b', shape: [5], dtype: 'float32', quantization: { dtype: 'float16' } }] }], { 'w.bin': 15 + 10 });
    expect(artifacts.weightData.length).toBe(25);
    expect(artifacts.weightSpecs[0]).toEqual({ name: 'k', shape: [3, 5], dtype: 'float32', quantization: q });
    expect(() => manifest([{ paths: ['w.bin'], weights: [{ name: 'k', shape: [3, 5], dtype: 'float32', quantization: { dtype: 'uint8' } }] }], { 'w.bin': 15 })).toThrow(/uint8 quantization needs scale and min/);
  });

  it('checks each group against its own shards, concatenating groups in order', () => {
    const groups = [
      { paths: ['a1.bin', 'a2.bin'], weights: [{ name: 'k', shape: [4, 4], dtype: 'float32' }] },
      { paths: ['b.bin'], weights: [{ name: 'b', shape: [4], dtype: 'int32' }] },
    ];
    const { artifacts, shards } = manifest(groups, { 'a1.bin': 40, 'a2.bin': 24, 'b.bin': 16 });
    expect(shards).toEqual(['a1.bin', 'a2.bin', 'b.bin']);
    expect(artifacts.weightData.length).toBe(80);
    // The same total, split across groups differently: group 0 is 4 bytes short.
    expect(() => manifest(groups, { 'a1.bin': 40, 'a2.bin': 20, 'b.bin': 20 })).toThrow(/weightsManifest\[0\]: the weights need 64 bytes .* hold 60 bytes/);
  });

  it('refuses a shard named twice and a weight listed twice', () => {
    expect(() => manifest([{ paths: ['w.bin', 'w.bin'], weights: [{ name: 'k', shape: [2], dtype: 'float32' }] }], { 'w.bin': 4 })).toThrow(/"w\.bin" is named twice/);
    expect(() => manifest([{ paths: ['w.bin'], weights: [{ name: 'k', shape: [1], dtype: 'float32' }, { name: 'k', shape: [1], dtype: 'float32' }] }], { 'w.bin': 8 })).toThrow(/weight "k" is listed twice/);
  });

  it('drops paths and unknown fields from what TF.js is given', () => {
    const { artifacts } = manifest([{ paths: ['./w.bin'], weights: [{ name: 'k', shape: [1], dtype: 'float32', extra: 'x', group: 'model' }] }], { 'w.bin': 4 });
    expect(artifacts.weightSpecs).toEqual([{ name: 'k', shape: [1], dtype: 'float32', group: 'model' }]);
    expect(JSON.stringify(artifacts)).not.toContain('w.bin');
  });
});

describe('topology allow-lists', () => {
  it('names an unknown layer inside a nested model', () => {
    const nested = {
      class_name: 'Model',
      config: {
        name: 'outer',
        layers: [
          { class_name: 'InputLayer', config: { name: 'in', batch_input_shape: [null, 4] } },
          { class_name: 'Sequential', config: { name: 'inner', layers: [{ class_name: 'Lambda', config: { name: 'code', function: 'lambda x: x' } }] } },
        ],
      },
    };
    expect(() => checkLayersTopology(nested, 'model.json')).toThrow(/layer "inner" \(a nested Sequential\): layer "code" has class "Lambda", which this server does not load/);
  });

  it('summarises the layers it accepted', () => {
    expect(checkLayersTopology({ model_config: topology }, 'model.json')).toEqual({ count: 1, kinds: ['Dense'] });
  });

  it('caps the shapes written in a graph (a Const of 10^10 zeros)', () => {
    const graph = { node: [{ name: 'c', op: 'Const', attr: { value: { tensor: { dtype: 'DT_FLOAT', tensorShape: { dim: [{ size: '100000' }, { size: '100000' }] } } } } }] };
    expect(() => checkGraphTopology(graph, 'model.json')).toThrow(/node "c": a tensor shape is absurd/);
  });

  it('refuses random and stateful graph ops', () => {
    for (const op of ['RandomStandardNormal', 'HashTableV2', 'TensorArrayV3', 'Enter', 'StatefulPartitionedCall', 'PyFunc']) {
      expect(() => checkGraphTopology({ node: [{ name: 'n', op }] }, 'model.json')).toThrow(`uses op "${op}"`);
    }
  });
});
