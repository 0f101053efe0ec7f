/**
 * `npm run sample`: N PNG files and a manifest that reproduces them, and clear errors for what
 * cannot be sampled. Runs the real command in a child process, on the shipped MNIST VAE.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir } from './support/temp-dir';

const tmp = makeTempDir('sample');
afterAll(() => tmp.remove());

function sample(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'server/cli/sample.ts', ...args], { encoding: 'utf8', env: { ...process.env, TF_BACKEND: 'wasm' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.slice(-2000) };
}

describe('npm run sample', () => {
  it('writes N PNGs and a manifest with the latents, psi and seed; the same seed gives the same files', () => {
    const out = path.join(tmp.dir, 'a');
    const r = sample('--model', 'vae-mnist', '--count', '5', '--psi', '0.7', '--seed', '9', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['0000.png', '0001.png', '0002.png', '0003.png', '0004.png', 'manifest.json']);
    const manifest = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ model: 'vae-mnist', count: 5, seed: 9, psi: 0.7, classes: null, trained: true });
    expect(manifest['weightsHash']).toMatch(/^[0-9a-f]{64}$/);
    const latents = manifest['latents'] as number[][];
    expect(latents).toHaveLength(5);
    expect(latents[0]).toHaveLength(16);

    const again = path.join(tmp.dir, 'b');
    expect(sample('--model', 'vae-mnist', '--count', '5', '--psi', '0.7', '--seed', '9', '--out', again).status).toBe(0);
    for (const f of ['0000.png', '0004.png']) expect(readFileSync(path.join(again, f)).equals(readFileSync(path.join(out, f)))).toBe(true);
    const other = path.join(tmp.dir, 'c');
    expect(sample('--model', 'vae-mnist', '--count', '1', '--seed', '10', '--out', other).status).toBe(0);
    expect(readFileSync(path.join(other, '0000.png')).equals(readFileSync(path.join(out, '0000.png')))).toBe(false);
  });

  it('refuses what cannot be sampled, with the reason', () => {
    const out = path.join(tmp.dir, 'bad');
    const cases: [string[], RegExp][] = [
      [['--model', 'no-such-model', '--out', out], /unknown model "no-such-model"; loaded: .*vae-mnist/],
      [['--model', 'vae-mnist', '--class', '3', '--out', out], /not conditional/],
      [['--model', 'vae-mnist', '--count', '0', '--out', out], /--count must be in/],
      [['--model', 'vae-mnist', '--psi', 'x', '--out', out], /--psi must be a number/],
      [['--model', 'vae-mnist'], /--out <dir> is required/],
      [['--model', 'vae-mnist', '--out', out, '--colour', 'red'], /unknown flag --colour/],
    ];
    for (const [args, message] of cases) {
      const r = sample(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
