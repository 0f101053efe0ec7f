/**
 * POST /api/models/import on the real server (port 0, a real engine worker on a temporary model
 * directory, an embedded database), with real socket.io clients for rooms:
 *
 *   - a model written outside this project (tfjs-examples' fashion-mnist-vae decoder, saved with
 *     TF.js's own save) imports, is stored under fixed names, is listed by the engine, and a room
 *     on it streams frames that are that decoder's own output;
 *   - the same network as a graph model, and as converter shards in a zip, import too;
 *   - imported models come back after a restart (a new engine on the same directory);
 *   - every case of the hostile corpus is refused with its status and message, and leaves no file,
 *     no temporary folder and no row behind; a path to a real file outside the upload is never
 *     followed;
 *   - the import's time and memory limits stop a job that exceeds them.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env } from '../../lib/env';
import { seededNormal } from '../../lib/latent/random';
import { sendOp } from '../../lib/realtime/room-client';
import { startServer } from '../../server/app';
import * as schema from '../../server/db/schema';
import { openDatabase } from '../../server/db/open-database';
import { ImportError } from '../../server/import/errors';
import { createImportService, type ImportService } from '../../server/import/service';
import type { ImportedModelCard } from '../../server/import/store';
import { createEngineClient } from '../../server/inference/engine-client';
import { toBytes } from '../../server/rooms/encode-frame';
import { readPng } from './support/png';
import { hostileCorpus, tinyGenerator, type BaseModel } from '../fixtures/import/corpus';
import {
  browserDownloadFiles,
  buildFashionDecoder,
  graphModelFiles,
  nodeFileFiles,
  saveArtifacts,
  shardedFiles,
  type FixtureFile,
} from '../fixtures/import/fashion-mnist-vae-decoder';
import { makeZip } from '../fixtures/import/zip-writer';
import { Harness } from './rooms-harness';

/** The rooms harness, with the engine on a model directory of its own and the import API mounted. */
class ImportHarness extends Harness {
  readonly modelDir = join(this.tmp.dir, 'models');
  imports!: ImportService;

  override async start(): Promise<void> {
    mkdirSync(this.modelDir, { recursive: true });
    this.engine ??= await createEngineClient({ backend: env().TF_BACKEND, modelDir: this.modelDir });
    this.database = await openDatabase(this.dbDir);
    this.imports = createImportService({ modelDir: this.modelDir, database: this.database, engine: this.engine, backend: env().TF_BACKEND, logger: silent });
    this.server = await startServer({ port: 0, engine: this.engine, database: this.database, imports: this.imports });
  }
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const h = new ImportHarness();
let decoder: tf.LayersModel;
let artifacts: tf.io.ModelArtifacts;
let base: BaseModel;

beforeAll(async () => {
  await tf.setBackend('cpu');
  decoder = buildFashionDecoder();
  artifacts = await saveArtifacts(decoder);
  base = await tinyGenerator();
  await h.start();
});
afterAll(async () => {
  decoder?.dispose();
  await h.dispose();
});

type ImportResponse = { status: number; body: { ok: true; model: ImportedModelCard } | { ok: false; error: string } };

async function post(model: FixtureFile[], fields: Record<string, string>, classifier: FixtureFile[] = []): Promise<ImportResponse> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  for (const f of model) form.append('model', new Blob([f.bytes as Uint8Array<ArrayBuffer>]), f.name);
  for (const f of classifier) form.append('classifier', new Blob([f.bytes as Uint8Array<ArrayBuffer>]), f.name);
  const res = await fetch(`${h.server.url}/api/models/import`, { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as ImportResponse['body'] };
}

async function imported(model: FixtureFile[], fields: Record<string, string>): Promise<ImportedModelCard> {
  const res = await post(model, fields);
  if (!res.body.ok) throw new Error(`import failed: ${res.status} ${res.body.error}`);
  expect(res.status).toBe(201);
  return res.body.model;
}


function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const storedFiles = () => readdirSync(h.modelDir).sort();

describe('an external generator: the fashion-mnist-vae decoder', () => {
  let card: ImportedModelCard;

  it('imports from the files TF.js saved: 201 with its card, stored under fixed names, loaded by the engine', async () => {
    card = await imported(browserDownloadFiles(artifacts), { name: 'Fashion-MNIST VAE decoder', id: 'fashion-vae-decoder', source: 'tfjs-examples/fashion-mnist-vae model.js decoder()' });
    expect(card).toMatchObject({
      id: 'fashion-vae-decoder',
      family: 'imported',
      latentDim: 2,
      imageShape: [28, 28, 1],
      numClasses: null,
      dataset: 'unspecified',
      evaluation: { status: 'not-requested' },
      config: { io: { layout: 'flat', outputRange: 'sigmoid', channelOrder: 'rgb', classInput: 'none' } },
      generator: { format: 'layers-model', outputRangeFrom: 'last layer', kinds: ['Dense'], parameters: 2 * 512 + 512 + 512 * 784 + 784 },
      sampleGrid: { file: 'samples.png', rows: 8, cols: 8 },
    });
    expect(card.generator.files.map((f) => f.name)).toEqual(['model.json', 'model.weights.bin']);

    const dir = join(h.modelDir, card.id);
    expect(readdirSync(dir).sort()).toEqual(['card.json', 'model.json', 'samples.png', 'weights.bin']);
    const stored = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { weightsManifest: { paths: string[] }[] };
    expect(stored.weightsManifest).toHaveLength(1);
    expect(stored.weightsManifest[0]!.paths).toEqual(['weights.bin']);
    expect(Buffer.compare(readFileSync(join(dir, 'weights.bin')), Buffer.from(browserDownloadFiles(artifacts)[1]!.bytes))).toBe(0);

    const grid = readPng(readFileSync(join(dir, 'samples.png')));
    expect(grid).toMatchObject({ width: 8 * 28, height: 8 * 28, channels: 1 });
    const served = await fetch(`${h.server.url}/api/models/${card.id}/samples.png`);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await served.arrayBuffer())).toEqual(readFileSync(join(dir, 'samples.png')));

    const [row] = await h.database.db.select().from(schema.models);
    expect(row).toMatchObject({ id: card.id, family: 'imported', latentDim: 2, name: 'Fashion-MNIST VAE decoder', path: card.id });
    const listed = (await h.engine.models()).find((m) => m.id === card.id);
    expect(listed).toMatchObject({ family: 'imported', latentDim: 2, imageShape: [28, 28, 1], weightsHash: card.weightsHash });
  });

  it('a room on it streams frames to every member, and each frame is the decoder’s own output for the room’s z', async () => {
    const { roomId, editorToken, viewerToken } = await h.room(card.id);
    const a = await h.member(roomId, editorToken, 'Ada');
    const b = await h.member(roomId, viewerToken, 'Bo');
    expect(a.snapshot.z).toHaveLength(2);
    expect(await sendOp(a.socket, { kind: 'random', seed: 42 })).toEqual({ ok: true, data: { version: 1 } });
    for (const m of [a, b]) {
      const frame = await m.waitFor('frame', (f) => f.version === 1);
      expect(frame).toMatchObject({ width: 28, height: 28, channels: 1, format: 'png' });
      const png = readPng(frame.data as Uint8Array);
      // The engine's decode of that z, byte for byte...
      const { pixels } = await h.engine.decode(card.id, seededNormal(42, 2), 1);
      expect(png.pixels).toEqual(toBytes(pixels));
      // ...and the external decoder's own predict (cpu here, wasm in the engine): within a grey level.
      const theirs = tf.tidy(() => (decoder.predict(tf.tensor2d(seededNormal(42, 2), [1, 2])) as tf.Tensor).dataSync());
      expect(maxDiff(png.pixels, toBytes(theirs))).toBeLessThanOrEqual(1);
    }
  });

  it('the same network as a graph model, and as converter shards in a zip, decodes the same images', async () => {
    const graph = await imported(graphModelFiles(decoder), { name: 'decoder (graph model)' });
    expect(graph.generator).toMatchObject({ format: 'graph-model', kinds: ['BiasAdd', 'Const', 'Identity', 'MatMul', 'Placeholder', 'Relu', 'Sigmoid'] });
    const zipped = await imported([{ name: 'decoder.zip', bytes: makeZip(shardedFiles(artifacts, 500_000).map((f) => ({ name: `decoder/${f.name}`, data: f.bytes }))) }], { name: 'decoder (shards in a zip)' });
    expect(zipped.generator).toMatchObject({ zip: 'decoder.zip', files: [{ name: 'decoder/model.json' }, { name: 'decoder/group1-shard1of4.bin' }, { name: 'decoder/group1-shard2of4.bin' }, { name: 'decoder/group1-shard3of4.bin' }, { name: 'decoder/group1-shard4of4.bin' }] });
    const z = Float32Array.from([0.3, -1.2, 2, 0.5]);
    const reference = await h.engine.decode(card.id, z.slice(), 2);
    for (const id of [graph.id, zipped.id]) {
      const { pixels, shape } = await h.engine.decode(id, z.slice(), 2);
      expect(shape).toEqual([2, 28, 28, 1]);
      expect(maxDiff(pixels, reference.pixels)).toBeLessThan(1e-5);
    }
  });

  it('a conditional model (class as a label input) imports; its room starts on class 0 and frames follow the class', async () => {
    const z = tf.input({ shape: [8], name: 'z' });
    const label = tf.input({ shape: [1], name: 'label' });
    const emb = tf.layers.flatten().apply(tf.layers.embedding({ inputDim: 3, outputDim: 4 }).apply(label)) as tf.SymbolicTensor;
    const hidden = tf.layers.dense({ units: 64, activation: 'tanh' }).apply(tf.layers.concatenate().apply([z, emb])) as tf.SymbolicTensor;
    const gen = tf.model({ inputs: [z, label], outputs: tf.layers.reshape({ targetShape: [8, 8, 1] }).apply(hidden) as tf.SymbolicTensor });
    const cond = await imported(nodeFileFiles(await saveArtifacts(gen)), { name: 'conditional', numClasses: '3', classInput: 'label', classNames: 'a, b, c' });
    gen.dispose();
    expect(cond).toMatchObject({ numClasses: 3, classNames: ['a', 'b', 'c'], latentDim: 8, config: { io: { classInput: 'label', latentInput: 0 } } });
    const { roomId, editorToken } = await h.room(cond.id);
    const a = await h.member(roomId, editorToken, 'Ada');
    expect(a.snapshot).toMatchObject({ numClasses: 3, classLabel: 0 });
    await sendOp(a.socket, { kind: 'random', seed: 9 });
    await sendOp(a.socket, { kind: 'class', classLabel: 2 });
    const frame = await a.waitFor('frame', (f) => f.version === 2);
    const { pixels } = await h.engine.decode(cond.id, seededNormal(9, 8), 1, Int32Array.of(2));
    expect((readPng(frame.data as Uint8Array)).pixels).toEqual(toBytes(pixels));
    const other = await h.engine.decode(cond.id, seededNormal(9, 8), 1, Int32Array.of(0));
    expect(toBytes(other.pixels)).not.toEqual(toBytes(pixels));
  });

  it('an id that is taken is a 409 and changes nothing', async () => {
    const before = storedFiles();
    const res = await post(nodeFileFiles(artifacts), { name: 'again', id: 'fashion-vae-decoder' });
    expect(res).toMatchObject({ status: 409, body: { ok: false, error: 'a model with id fashion-vae-decoder exists already; choose another id' } });
    expect(storedFiles()).toEqual(before);
  });

  it('imported models come back after a restart: a new engine on the same directory decodes them the same', async () => {
    const z = seededNormal(5, 2);
    const before = await h.engine.decode(card.id, z.slice(), 1);
    const engine = await createEngineClient({ backend: env().TF_BACKEND, modelDir: h.modelDir });
    try {
      const ids = (await engine.models()).map((m) => m.id);
      for (const f of storedFiles()) expect(ids).toContain(f);
      const after = await engine.decode(card.id, z.slice(), 1);
      expect(Array.from(after.pixels)).toEqual(Array.from(before.pixels));
    } finally {
      await engine.close();
    }
  });
});

describe('the hostile corpus through the API', () => {
  it('every case is refused with its status and message, leaving no file, folder or row behind', async () => {
    const sentinelDir = join(h.tmp.dir, 'outside');
    mkdirSync(sentinelDir);
    // A real file with exactly the bytes the manifest wants: following the path would succeed.
    const sentinel = join(sentinelDir, 'weights.bin');
    writeFileSync(sentinel, base.weights);
    const files = storedFiles();
    const rows = await h.database.db.select({ id: schema.models.id }).from(schema.models);
    const results: { id: string; status: number; error: string }[] = [];
    for (const c of hostileCorpus(base, sentinel)) {
      const res = await post(c.model, { name: c.id, ...c.fields });
      results.push({ id: c.id, status: res.status, error: res.body.ok ? 'imported!' : res.body.error });
    }
    for (const [i, c] of hostileCorpus(base, sentinel).entries()) {
      expect({ id: results[i]!.id, status: results[i]!.status }).toEqual({ id: c.id, status: c.status });
      expect(results[i]!.error).toMatch(c.message);
    }
    expect(storedFiles()).toEqual(files);
    expect(await h.database.db.select({ id: schema.models.id }).from(schema.models)).toEqual(rows);
  });

  it('a body that is not multipart is a 415, one declared larger than the limit a 413 before it is read', async () => {
    const json = await fetch(`${h.server.url}/api/models/import`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(json.status).toBe(415);
    const big = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${h.server.url}/api/models/import`, {
        method: 'POST',
        headers: { 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(1024 * 1024 * 1024) },
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.write('--x\r\n');
    });
    expect(big.status).toBe(413);
    expect(big.body).toMatch(/the upload is 1024 MiB, more than the 145 MiB limit/);
  });
});

describe('limits of the import job', () => {
  it('a job past its time limit is stopped: a 422 naming the limit, nothing stored', async () => {
    const quick = createImportService({ modelDir: h.modelDir, database: h.database, engine: h.engine, backend: env().TF_BACKEND, logger: silent, limits: { timeMs: 300 } });
    const before = storedFiles();
    const err = await quick.import({ model: nodeFileFiles(artifacts), classifier: [], fields: { name: 'slow' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportError);
    expect(err).toMatchObject({ status: 422, message: 'the import took longer than 0.3 s and was stopped (the time limit of an import)' });
    expect(storedFiles()).toEqual(before);
  });

  it('a model whose activations outgrow the memory limit is refused, the server unharmed', async () => {
    // Small, consistent weights; 64 images of 2048 × 2048 inside: 1 GiB per activation.
    const m = tf.sequential();
    m.add(tf.layers.dense({ units: 4, activation: 'tanh', inputShape: [2] }));
    m.add(tf.layers.reshape({ targetShape: [2, 2, 1] }));
    for (let i = 0; i < 2; i++) m.add(tf.layers.upSampling2d({ size: [32, 32] }));
    for (let i = 0; i < 2; i++) m.add(tf.layers.averagePooling2d({ poolSize: 32 }));
    const files = nodeFileFiles(await saveArtifacts(m));
    m.dispose();
    const tight = createImportService({ modelDir: h.modelDir, database: h.database, engine: h.engine, backend: env().TF_BACKEND, logger: silent, limits: { memoryBytes: 768 * 1024 * 1024 } });
    const before = storedFiles();
    const err = await tight.import({ model: files, classifier: [], fields: { name: 'memory hog', outputRange: 'tanh' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportError);
    expect((err as ImportError).status).toBe(422);
    expect((err as ImportError).message).toMatch(/more memory than an import may use/);
    expect(storedFiles()).toEqual(before);
    expect((await fetch(`${h.server.url}/api/health`)).status).toBe(200);
  });
});
