/**
 * An imported model that names a data set is evaluated like a trained one: the import service
 * queues it on the evaluation queue (server/training/evaluation.ts), `npm run eval` runs in its
 * own process on the stored folder (a reduced protocol here), and its figures land in card.json
 * and in the models row, the rest of the card untouched and still loadable.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { eq } from 'drizzle-orm';
import { afterAll, expect, it } from 'vitest';
import { openDatabase } from '../../server/db/open-database';
import * as schema from '../../server/db/schema';
import { createImportService } from '../../server/import/service';
import { loadImportedModel, type ImportedModelCard } from '../../server/import/store';
import { createEngineClient } from '../../server/inference/engine-client';
import { silentLogger } from '../../server/logger';
import { createEvaluationQueue } from '../../server/training/evaluation';
import { buildFashionDecoder, nodeFileFiles, saveArtifacts } from '../fixtures/import/fashion-mnist-vae-decoder';
import { makeTempDir } from './support/temp-dir';

const tmp = makeTempDir('import-eval');
const modelDir = path.join(tmp.dir, 'models');
mkdirSync(modelDir);
const SMALL = ['--samples', '100', '--truncations', 'psi=1', '--iw-k', '2', '--write'];

await tf.setBackend('cpu');
const decoder = buildFashionDecoder();
const files = nodeFileFiles(await saveArtifacts(decoder));
decoder.dispose();

const engine = await createEngineClient({ backend: 'wasm', modelDir });
const database = await openDatabase(path.join(tmp.dir, 'db'));
afterAll(async () => {
  await engine.close();
  await database.close();
  tmp.remove();
});

it('an import naming a data set is queued, evaluated by npm run eval, and its figures stored', async () => {
  const queue = createEvaluationQueue({
    modelDir,
    dataDir: path.join(tmp.dir, 'data'),
    backend: 'wasm',
    logger: silentLogger,
    extraArgs: SMALL,
    onEvaluated: async (card) => {
      await database.db.update(schema.models).set({ card: card as unknown as Record<string, unknown> }).where(eq(schema.models.id, card.id));
    },
  });
  const imports = createImportService({ modelDir, database, engine, backend: 'wasm', logger: silentLogger, evaluations: queue });
  const card = await imports.import({ model: files, classifier: [], fields: { name: 'decoder', id: 'decoder', dataset: 'mnist' } });
  expect(card).toMatchObject({ dataset: 'mnist', evaluation: { status: 'queued', dataset: 'mnist' }, metrics: {} });

  await queue.idle();
  const stored = JSON.parse(readFileSync(path.join(modelDir, 'decoder', 'card.json'), 'utf8')) as ImportedModelCard;
  const summary = stored.metrics['summary'] as Record<string, number | string>;
  expect(summary['features']).toBe('domain (classifier-mnist)');
  for (const key of ['fid', 'fidFloor', 'precision', 'recall', 'inceptionScore']) expect(Number.isFinite(summary[key]), key).toBe(true);
  expect((stored.metrics['evaluation'] as { weightsHash: string }).weightsHash).toBe(card.weightsHash);
  // Everything but the metrics as the import wrote it, and the folder still loads.
  expect({ ...stored, metrics: {} }).toEqual({ ...card, metrics: {} });
  const { model } = await loadImportedModel(path.join(modelDir, 'decoder'));
  model.dispose();
  const [row] = await database.db.select().from(schema.models).where(eq(schema.models.id, 'decoder'));
  expect((row!.card['metrics'] as { summary: unknown }).summary).toEqual(summary);
  await queue.close();
});
