/**
 * Training jobs end to end, each in its own child process as the service runs them: events in
 * step order, a checkpoint and a model card on disk, the model loading into the engine's
 * registry, a SIGKILLed job resuming from its checkpoint to exactly the weights of a job that
 * never stopped, divergence stopping a job with its last good checkpoint kept, and bad specs
 * refused with their reason.
 *
 * Models are the real families at a small width (8 filters, batch 16) so that a job takes
 * seconds on the cpu-only machines.
 */
import { getPriority } from 'node:os';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { readCard } from '../../models/common/checkpoint';
import { initEngine } from '../../server/inference/engine';
import { loadTrainedModel } from '../../server/inference/model-registry';
import type { TrainEvent } from '../../server/training/runner';
import { startTrainingProcess, TRAINING_NICENESS } from '../../server/training/training-client';
import { validateJobSpec } from '../../server/training/jobs';
import { makeTempDir } from './support/temp-dir';

const tmp = makeTempDir('training');
afterAll(() => tmp.remove());
beforeAll(async () => {
  await initEngine('wasm');
});

const SPEC = {
  family: 'dcgan',
  dataset: 'mnist',
  modelId: 'tiny-dcgan',
  config: { filters: 8 },
  steps: 30,
  batchSize: 16,
  seed: 5,
  progressEvery: 5,
  sampleEvery: 10,
  checkpointEvery: 10,
  command: 'test',
};

/** Runs a job to its end in a child process; `onEvent` may kill it. */
async function run(spec: object, name: string, onEvent?: (e: TrainEvent, kill: () => void) => void, root = tmp.dir) {
  const events: TrainEvent[] = [];
  let niceness: number | undefined;
  const jobDir = path.join(root, 'jobs', name);
  const modelDir = path.join(tmp.dir, 'models', name);
  const proc = startTrainingProcess({ spec, jobDir, modelDir, backend: 'wasm', fresh: false }, (e) => {
    if (e.type === 'started' && proc.pid !== undefined) niceness = getPriority(proc.pid);
    events.push(e);
    onEvent?.(e, () => proc.kill());
  });
  const last = await proc.finished;
  return { events, last, jobDir, modelDir, niceness };
}

describe('a training job', () => {
  let straight: Awaited<ReturnType<typeof run>>;

  it('streams its events in step order and writes a loadable model with its card', async () => {
    straight = await run(SPEC, 'straight');
    const { events, last, modelDir } = straight;
    expect(last.type).toBe('done');
    // Batch work below the rooms: the job runs niced.
    expect(straight.niceness).toBe(TRAINING_NICENESS);
    expect(events[0]).toMatchObject({ type: 'started', step: 0, totalSteps: 30, resumed: false, backend: 'wasm' });
    expect(events.at(-1)!.type).toBe('done');
    const steps = events.map((e) => ('step' in e ? e.step : -1));
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
    expect(events.filter((e) => e.type === 'progress').map((e) => e.step)).toEqual([5, 10, 15, 20, 25, 30]);
    expect(events.filter((e) => e.type === 'samples').map((e) => e.step)).toEqual([1, 10, 20, 30]);
    expect(events.filter((e) => e.type === 'checkpoint').map((e) => e.step)).toEqual([10, 20, 30]);
    for (const e of events) {
      if (e.type === 'progress') {
        expect(Object.keys(e.losses).sort()).toEqual(['d', 'g']);
        expect(e.imagesPerSec).toBeGreaterThan(0);
      }
      if (e.type === 'samples') expect([...e.png.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]); // "PNG"
    }

    const dir = path.join(modelDir, 'tiny-dcgan');
    const card = await readCard(dir);
    expect(card).toMatchObject({ id: 'tiny-dcgan', family: 'dcgan', dataset: 'mnist', steps: 30, batchSize: 16, seed: 5, command: 'test', weightsDtype: 'float16', networks: ['generator'] });
    const model = loadTrainedModel(dir);
    const before = tf.memory().numTensors;
    const x = tf.tidy(() => model.decode(tf.randomNormal([2, 64]) as tf.Tensor2D));
    expect(x.shape).toEqual([2, 28, 28, 1]);
    x.dispose();
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });

  it('killed mid-training (SIGKILL), resumes from its checkpoint and ends with the same weights as a job that never stopped', async () => {
    let killedAt = -1;
    const first = await run(SPEC, 'killed', (e, kill) => {
      if (e.type === 'progress' && e.step === 15) {
        killedAt = e.step;
        kill();
      }
    });
    expect(killedAt).toBe(15);
    expect(first.last).toMatchObject({ type: 'failed', crashed: true });
    expect((await readCard(path.join(first.jobDir, 'checkpoint'))).steps).toBe(10);

    const second = await run(SPEC, 'killed');
    expect(second.events[0]).toMatchObject({ type: 'started', step: 10, resumed: true });
    expect(second.last.type).toBe('done');
    const resumedBin = await readFile(path.join(second.modelDir, 'tiny-dcgan', 'weights.bin'));
    const straightBin = await readFile(path.join(straight.modelDir, 'tiny-dcgan', 'weights.bin'));
    expect(resumedBin.equals(straightBin)).toBe(true);
  });

  it('stops on a diverging loss, names the step and keeps the last good checkpoint', async () => {
    const { events, last, jobDir } = await run({ ...SPEC, modelId: 'diverges', config: { filters: 8, lr: 1 }, steps: 400, checkpointEvery: 2 }, 'diverges');
    expect(last.type).toBe('failed');
    const failed = last as Extract<TrainEvent, { type: 'failed' }>;
    expect(failed.error).toMatch(/loss \w+ is (NaN|-?Infinity|[-\d.e+]+) at step \d+: training diverged/);
    expect(failed.lastGoodStep).not.toBeNull();
    expect((await readCard(path.join(jobDir, 'checkpoint'))).steps).toBe(failed.lastGoodStep);
    expect(events.some((e) => e.type === 'done')).toBe(false);
  });

  it('stops with "disk full" when the checkpoint volume is full, before writing', async (ctx) => {
    // A 1 MiB tmpfs stands for a full disk; mounting needs root (the CI machine runs as root).
    const mnt = path.join(tmp.dir, 'full');
    mkdirSync(mnt);
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]).status === 0;
    if (!mounted) {
      ctx.skip('cannot mount a tmpfs here (not root): the full-disk case was not run');
      return;
    }
    try {
      const { last } = await run({ ...SPEC, modelId: 'full' }, 'full', undefined, mnt);
      expect(last).toMatchObject({ type: 'failed', step: 10, lastGoodStep: null });
      expect((last as { error: string }).error).toMatch(/disk full: \d+ MiB free under .*full.*need 64 MiB for a checkpoint/);
    } finally {
      spawnSync('umount', [mnt]);
    }
  });

  it('refuses bad specs with the reason, before anything runs', async () => {
    const bad: [object, RegExp][] = [
      [{ ...SPEC, family: 'gpt' }, /unknown family "gpt"/],
      [{ ...SPEC, dataset: 'cifar' }, /cifar/],
      [{ ...SPEC, config: { filterz: 8 } }, /filterz/],
      [{ ...SPEC, config: { latentDim: 0 } }, /latentDim/],
      [{ ...SPEC, steps: 0 }, /steps/],
      [{ ...SPEC, batchSize: 1.5 }, /batchSize/],
      [{ ...SPEC, modelId: '../escape' }, /model id/],
      [{ ...SPEC, extra: 1 }, /extra/],
    ];
    for (const [spec, message] of bad) expect(() => validateJobSpec(spec), JSON.stringify(spec)).toThrow(message);
    // The runner refuses the same spec on its own (the CLI path has no submit step).
    const { last, events } = await run({ ...SPEC, family: 'gpt' }, 'refused');
    expect(last).toMatchObject({ type: 'failed', error: expect.stringMatching(/unknown family/) as unknown });
    expect(events.map((e) => e.type)).toEqual(['failed']);
  });
});
