/**
 * The hostile corpus (tests/fixtures/import/corpus.ts) through the import's checks in this
 * process: every case is refused with its status and a message that names the problem. The same
 * corpus goes through the real HTTP API in tests/integration/import-api.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { checkUpload } from '../../server/import/check';
import { ImportError } from '../../server/import/errors';
import { runImportJob } from '../../server/import/job';
import { hostileCorpus, tinyGenerator, type BaseModel, type HostileCase } from '../fixtures/import/corpus';

await tf.setBackend('cpu');
const base: BaseModel = await tinyGenerator();
const dir = mkdtempSync(join(tmpdir(), 'latentroom-import-corpus-'));
const sentinel = join(dir, 'sentinel.bin');
writeFileSync(sentinel, base.weights);
const cases: HostileCase[] = hostileCorpus(base, sentinel);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function attempt(c: HostileCase): Promise<ImportError> {
  try {
    const checked = await checkUpload({ model: c.model, classifier: [], fields: { name: c.id, ...c.fields } });
    await runImportJob(checked, 'cpu');
  } catch (err) {
    if (err instanceof ImportError) return err;
    throw err;
  }
  throw new Error(`${c.id} was imported`);
}

describe('the valid base model', () => {
  it('imports (so each hostile case fails for its own reason)', async () => {
    const checked = await checkUpload({ model: base.files, classifier: [], fields: { name: 'tiny' } });
    const out = await runImportJob(checked, 'cpu');
    expect(out.generator.io).toMatchObject({ latentDim: 4, imageShape: [4, 4, 1], outputRange: 'tanh' });
    expect(out.tensorsLeaked).toBe(0);
  });
});

describe('the hostile corpus', () => {
  it('has a case for every hostile input the issue lists', () => {
    const ids = cases.map((c) => c.id);
    for (const id of ['path-dotdot', 'path-absolute', 'path-backslash', 'path-percent', 'zip-symlink', 'zip-slip', 'zip-bomb-ratio', 'zip-bomb-total', 'too-many-shards', 'oversized-total', 'bytes-short', 'shape-absurd', 'json-deep', 'json-huge', 'layer-unknown']) {
      expect(ids).toContain(id);
    }
  });

  it.each(cases.map((c) => [c.id, c] as const))('%s is refused with its status and message', async (_id, c) => {
    const err = await attempt(c);
    expect({ id: c.id, status: err.status }).toEqual({ id: c.id, status: c.status });
    expect(err.message).toMatch(c.message);
  });
});
