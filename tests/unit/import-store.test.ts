/**
 * The imported model on disk (server/import/store.ts) and the attribute classifier path of the
 * job: an import is stored under fixed names and loads back decoding the same pixels; a stored
 * copy that was tampered with (weights, or a manifest path pointing out) does not load; a taken
 * id leaves nothing behind; a classifier must take the generator's images and give one vector.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { checkUpload } from '../../server/import/check';
import { ImportError } from '../../server/import/errors';
import { runImportJob, type ImportJobOutput } from '../../server/import/job';
import { importedCard, loadImportedModel, writeImportedModel } from '../../server/import/store';
import { buildFashionDecoder, nodeFileFiles, saveArtifacts, type FixtureFile } from '../fixtures/import/fashion-mnist-vae-decoder';

await tf.setBackend('cpu');
const dir = mkdtempSync(join(tmpdir(), 'latentroom-import-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const decoder = buildFashionDecoder();
const files = nodeFileFiles(await saveArtifacts(decoder));

async function job(model: FixtureFile[], fields: Record<string, string>, classifier: FixtureFile[] = []): Promise<ImportJobOutput> {
  return runImportJob(await checkUpload({ model, classifier, fields: { name: 'decoder', ...fields } }), 'cpu');
}

/** A classifier of `shape` images with `outputs` outputs (softmax). */
async function classifierFiles(shape: number[], outputs: number): Promise<FixtureFile[]> {
  const c = tf.sequential();
  c.add(tf.layers.flatten({ inputShape: shape }));
  c.add(tf.layers.dense({ units: outputs, activation: 'softmax' }));
  const f = nodeFileFiles(await saveArtifacts(c));
  c.dispose();
  return f;
}

describe('store', () => {
  it('writes fixed names atomically and loads back decoding the same pixels', async () => {
    const out = await job(files, {});
    const card = importedCard('fashion', out, { status: 'not-requested' });
    await writeImportedModel(dir, card, out);
    expect(readdirSync(dir)).toEqual(['fashion']);
    expect(readdirSync(join(dir, 'fashion')).sort()).toEqual(['card.json', 'model.json', 'samples.png', 'weights.bin']);
    const before = tf.memory().numTensors;
    const { model } = await loadImportedModel(join(dir, 'fashion'));
    const z = tf.tensor2d([[0.5, -1]]);
    const mine = tf.tidy(() => Array.from(model.decode(z).dataSync()));
    const theirs = tf.tidy(() => Array.from((decoder.predict(z) as tf.Tensor).dataSync()));
    expect(mine).toEqual(theirs);
    z.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('a taken id is a 409 and leaves no temporary folder', async () => {
    const out = await job(files, {});
    const err = await writeImportedModel(dir, importedCard('fashion', out, { status: 'not-requested' }), out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportError);
    expect((err as ImportError).status).toBe(409);
    expect(readdirSync(dir)).toEqual(['fashion']);
  });

  it('tampered copies do not load: other weights, or a manifest path that points out', async () => {
    const out = await job(files, {});
    for (const [id, tamper, message] of [
      ['weights', (d: string) => writeFileSync(join(d, 'weights.bin'), Buffer.alloc(readFileSync(join(d, 'weights.bin')).length)), /SHA-256 .* does not match the card/],
      ['path', (d: string) => writeFileSync(join(d, 'model.json'), readFileSync(join(d, 'model.json'), 'utf8').replace('"paths":["weights.bin"]', '"paths":["../fashion/weights.bin"]')), /has a '\.\.' segment/],
    ] as const) {
      await writeImportedModel(dir, importedCard(`tampered-${id}`, out, { status: 'not-requested' }), out);
      tamper(join(dir, `tampered-${id}`));
      await expect(loadImportedModel(join(dir, `tampered-${id}`))).rejects.toThrow(message);
    }
  });
});

describe('the attribute classifier', () => {
  it('is checked against the generator, run on the first grid, and stored beside it', async () => {
    const out = await job(files, { classifierLabels: 'top, trouser, bag' }, await classifierFiles([28, 28, 1], 3));
    expect(out.classifier).toMatchObject({ outputs: 3, labels: ['top', 'trouser', 'bag'], format: 'layers-model' });
    expect(out.tensorsLeaked).toBe(0);
    const card = importedCard('with-classifier', out, { status: 'not-requested' });
    expect(card).toMatchObject({ networks: ['generator', 'classifier'], classifier: { outputs: 3, labels: ['top', 'trouser', 'bag'] } });
    await writeImportedModel(dir, card, out);
    expect(readdirSync(join(dir, 'with-classifier', 'classifier')).sort()).toEqual(['model.json', 'weights.bin']);
    expect(existsSync(join(dir, 'with-classifier', 'card.json'))).toBe(true);
  });

  it.each([
    ['another image size', [32, 32, 1], 3, {}, /the classifier's input \[batch, 32, 32, 1\] does not take the generator's images \[batch, 28, 28, 1\]/],
    ['labels that do not match its outputs', [28, 28, 1], 3, { classifierLabels: 'a, b' }, /classifierLabels has 2 names but the classifier has 3 outputs/],
  ] as const)('is refused for %s', async (_what, shape, outputs, fields, message) => {
    const err = await job(files, fields, await classifierFiles([...shape], outputs)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportError);
    expect((err as Error).message).toMatch(message);
  });

  it('classifierLabels without a classifier is a 400', async () => {
    await expect(job(files, { classifierLabels: 'a' })).rejects.toMatchObject({ status: 400, message: 'classifierLabels is given but no classifier files are' });
  });
});
