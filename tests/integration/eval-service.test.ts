/**
 * Evaluation after training, as the service runs it (server/training/evaluation.ts): the real
 * `npm run eval` in a child process on a copy of the shipped MNIST conditional GAN (a reduced
 * protocol, written with --write), its JSON line parsed, the card rewritten with the figures and
 * nothing else changed, the grids written under the data directory; a closed queue kills its
 * running evaluation and leaves the card as it was; and the CLI's refusals. (The likelihood
 * figures of VAEs are covered on a small VAE by tests/unit/eval-evaluate.test.ts.)
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ModelCard } from '../../models/common/checkpoint';
import { silentLogger } from '../../server/logger';
import { createEvaluationQueue } from '../../server/training/evaluation';
import { makeTempDir } from './support/temp-dir';

const tmp = makeTempDir('eval');
afterAll(() => tmp.remove());
const modelDir = path.join(tmp.dir, 'models');
const dataDir = path.join(tmp.dir, 'data');
const SMALL = ['--samples', '100', '--truncations', 'psi=1,radius=1', '--iw-k', '2', '--write'];

function copyModel(id: string): string {
  const dir = path.join(modelDir, id);
  cpSync(path.join('models/pretrained/cgan-mnist'), dir, { recursive: true });
  return dir;
}

const readCard = (dir: string) => JSON.parse(readFileSync(path.join(dir, 'card.json'), 'utf8')) as ModelCard;

describe('evaluation after training', () => {
  it('evaluates a model in a child process and stores the figures in its card', async () => {
    const dir = copyModel('cgan-mnist');
    const before = readCard(dir);
    const evaluated: ModelCard[] = [];
    const queue = createEvaluationQueue({ modelDir, dataDir, backend: 'wasm', logger: silentLogger, extraArgs: SMALL, onEvaluated: (c) => void evaluated.push(c) });
    queue.enqueue('cgan-mnist');
    await queue.idle();
    expect(evaluated).toHaveLength(1);
    const after = readCard(dir);
    expect(evaluated[0]).toEqual(after);
    // Only the metrics changed.
    expect({ ...after, metrics: {} }).toEqual({ ...before, metrics: {} });
    const summary = after.metrics['summary'] as Record<string, number | string>;
    expect(summary['features']).toBe('domain (classifier-mnist)');
    for (const key of ['fid', 'fidFloor', 'precision', 'recall', 'inceptionScore', 'classAccuracy', 'classAccuracyFloor']) expect(Number.isFinite(summary[key]), key).toBe(true);
    expect(summary['classAccuracyFloor']).toBe(0.985); // the classifier's held-out accuracy
    const evaluation = after.metrics['evaluation'] as { protocol: { samples: number; truncations: string[] }; settings: unknown[]; weightsHash: string; command: string };
    expect(evaluation.protocol).toMatchObject({ samples: 100, truncations: ['psi=1', 'radius=1'] });
    expect(evaluation.settings).toHaveLength(2);
    expect(evaluation.weightsHash).toBe(before.weightsHash);
    expect(evaluation.command).toMatch(/^npm run eval -- --model cgan-mnist /);
    for (const f of ['samples-psi-1.png', 'samples-radius-1.png']) expect(existsSync(path.join(dataDir, 'eval', 'cgan-mnist', f)), f).toBe(true);
    await queue.close();
  });

  it('kills a running evaluation on close and leaves the card alone', async () => {
    const dir = copyModel('cgan-mnist-2');
    const before = readFileSync(path.join(dir, 'card.json'), 'utf8');
    const queue = createEvaluationQueue({ modelDir, dataDir, backend: 'wasm', logger: silentLogger, extraArgs: SMALL });
    queue.enqueue('cgan-mnist-2');
    const t0 = Date.now();
    await queue.close();
    await queue.idle();
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(readFileSync(path.join(dir, 'card.json'), 'utf8')).toBe(before);
  });

  it('npm run eval refuses unknown models and flags with the reason', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(process.execPath, ['--import', 'tsx', 'server/cli/eval.ts', ...args], { env: { ...process.env, TF_BACKEND: 'wasm' } }, (err, _out, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
        );
      });
    const cases: [string[], RegExp][] = [
      [['--model', 'no-such-model', '--model-dir', modelDir], /unknown model no-such-model: .* holds no model/],
      [['--model', 'cgan-mnist', '--truncations', 'psi=5'], /psi must be in \[0, 2\]/],
      [['--model', 'cgan-mnist', '--colour', 'red'], /unknown flag --colour/],
    ];
    // In parallel: each is mostly tsx's start-up.
    const results = await Promise.all(cases.map(([args]) => run(args)));
    results.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(' ')).toBe(2);
      expect(r.stderr).toMatch(cases[i]![1]);
    });
  });
});
