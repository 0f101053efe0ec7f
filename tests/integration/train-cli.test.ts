/**
 * `npm run train` (server/cli/train.ts) as a user runs it: a real child process, a tiny DCGAN on
 * MNIST. The finished model folder has its sample grid and last losses also when the command is
 * run again after the job is complete (it then resumes at its last step and takes no step: the
 * runner draws that step's grid again, the same bytes as the job saved, and keeps the
 * checkpoint's losses).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = mkdtempSync(path.join(tmpdir(), 'train-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ARGS = [
  '--import', 'tsx', 'server/cli/train.ts', '--family', 'dcgan', '--dataset', 'mnist', '--steps', '4', '--batch-size', '8',
  '--seed', '3', '--id', 'tiny', '--set', 'filters=2', '--set', 'latentDim=8', '--set', 'ema=0.9',
  '--sample-every', '2', '--checkpoint-every', '2', '--progress-every', '2', '--out', path.join(root, 'out'),
];
const train = () => run(process.execPath, ARGS, { env: { ...process.env, DATA_DIR: path.join(root, 'data'), TF_BACKEND: 'wasm' } });

describe('npm run train', () => {
  it('writes the model with its sample grid and losses, and again when re-run on a finished job', async () => {
    const first = await train();
    expect(first.stdout).toMatch(/done: tiny \(4 steps/);
    const modelDir = path.join(root, 'out', 'tiny');
    const grid = readFileSync(path.join(modelDir, 'samples.png'));
    const jobGrid = readFileSync(path.join(root, 'data', 'jobs', 'cli-tiny', 'samples', 'step-0000004.png'));
    expect(grid.equals(jobGrid)).toBe(true);
    const card = JSON.parse(readFileSync(path.join(modelDir, 'card.json'), 'utf8'));
    expect(card.networks).toEqual(['generatorEma']);
    expect(Object.keys(card.losses)).toEqual(['d', 'g']);

    rmSync(modelDir, { recursive: true });
    const again = await train();
    expect(again.stdout).toMatch(/resuming at step 4 of 4/);
    expect(existsSync(path.join(modelDir, 'samples.png'))).toBe(true);
    expect(readFileSync(path.join(modelDir, 'samples.png')).equals(jobGrid)).toBe(true);
    // It took no step, so the last losses are the checkpoint's.
    expect(JSON.parse(readFileSync(path.join(modelDir, 'card.json'), 'utf8')).losses).toEqual(card.losses);
  });
});
