/**
 * Training on a training worker (SPEC C6): the job manager of a node (here, in the test process)
 * with TRAINING_MODE=queue's launcher, and a real `server/cluster/training-worker.ts` process fed
 * by the BullMQ queue. Skipped with the reason when Redis or PostgreSQL is unreachable, failing
 * instead when REQUIRE_SERVICES=1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env } from '../../lib/env';
import { createTrainingQueue, type TrainingQueue } from '../../server/cluster/training-queue';
import { openDatabase, type Database } from '../../server/db/open-database';
import { silentLogger } from '../../server/logger';
import { createJobManager, type JobManager } from '../../server/training/jobs';
import type { TrainEvent } from '../../server/training/runner';
import { probeClusterServices } from './support/cluster';
import { createScratchDatabase } from './support/postgres';
import { makeTempDir } from './support/temp-dir';

const services = await probeClusterServices();
if (!services.ok) {
  if (env().REQUIRE_SERVICES) throw new Error(`cluster tests need Redis and PostgreSQL (REQUIRE_SERVICES=1): ${services.reason}`);
  console.warn(`cluster training tests skipped: ${services.reason}`);
}

const spec = (over: object = {}) => ({
  family: 'vae',
  dataset: 'mnist',
  modelId: 'queued-vae',
  config: { filters: 8 },
  steps: 20,
  batchSize: 16,
  seed: 3,
  progressEvery: 5,
  sampleEvery: 10,
  checkpointEvery: 5,
  ...over,
});

describe.skipIf(!services.ok)('C6: training jobs on a training worker', () => {
  const prefix = `lr-test-${randomBytes(4).toString('hex')}`;
  const tmp = makeTempDir('cluster-training');
  const modelDir = join(tmp.dir, 'models');
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let database: Database;
  let queue: TrainingQueue;
  let jobs: JobManager;
  let worker: ChildProcess;
  const workerOutput: string[] = [];
  const events = new Map<string, TrainEvent[]>();

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    database = await openDatabase(scratch.url);
    worker = spawn(process.execPath, ['--import', 'tsx', 'server/cluster/training-worker.ts'], {
      env: { ...process.env, REDIS_URL: env().TEST_REDIS_URL, CLUSTER_PREFIX: prefix, CLUSTER_NODE_ID: 'trainer-1', DATA_DIR: join(tmp.dir, 'worker'), MODEL_DIR: modelDir, TF_BACKEND: 'wasm', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`training worker not ready:\n${workerOutput.join('')}`)), 60_000);
      worker.stdout!.on('data', (c: Buffer) => {
        workerOutput.push(c.toString());
        if (workerOutput.join('').includes('Training worker trainer-1 ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      worker.stderr!.on('data', (c: Buffer) => workerOutput.push(c.toString()));
    });
    queue = await createTrainingQueue({ redisUrl: env().TEST_REDIS_URL, prefix, nodeId: 'node-t', logger: silentLogger });
    jobs = createJobManager({
      database,
      dataDir: join(tmp.dir, 'node'),
      modelDir,
      backend: 'wasm',
      logger: silentLogger,
      startProcess: queue.startProcess,
      onEvent: (id, e) => events.set(id, [...(events.get(id) ?? []), e]),
    });
    await jobs.start();
  });

  afterAll(async () => {
    await jobs?.close();
    worker?.kill('SIGKILL');
    await queue?.close();
    const redis = new Redis(env().TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await database?.close();
    await scratch?.drop();
    tmp.remove();
  });

  async function until(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 90_000): Promise<void> {
    const start = Date.now();
    while (!(await check())) {
      if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}\n${workerOutput.join('').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('runs a job on the worker; its events flow back in step order and the model lands in MODEL_DIR', async () => {
    const job = await jobs.submit(spec());
    await until(async () => (await jobs.get(job.id)).status === 'succeeded', 'the job to succeed');
    const seen = events.get(job.id) ?? [];
    expect(seen.map((e) => e.type)).toEqual(expect.arrayContaining(['started', 'progress', 'samples', 'checkpoint', 'done']));
    const steps = seen.filter((e) => e.type === 'progress').map((e) => e.step);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    expect(steps.at(-1)).toBe(20);
    const samples = seen.find((e) => e.type === 'samples');
    expect(samples?.type === 'samples' && Buffer.from(samples.png.subarray(0, 4)).toString('latin1')).toBe('\x89PNG');
    expect(jobs.latestSamples(job.id)?.byteLength).toBeGreaterThan(100);
    expect(await jobs.get(job.id)).toMatchObject({ status: 'succeeded', modelId: 'queued-vae', progress: { step: 20 } });
    expect(existsSync(join(modelDir, 'queued-vae'))).toBe(true);
    expect(workerOutput.join('')).toContain(`training job ${job.id} ended: done`);
  });

  it('cancels a job running on the worker after its step', async () => {
    const job = await jobs.submit(spec({ modelId: 'queued-cancel', steps: 100_000 }));
    await until(() => (events.get(job.id) ?? []).some((e) => e.type === 'progress'), 'a progress event');
    await jobs.cancel(job.id);
    await until(async () => (await jobs.get(job.id)).status === 'cancelled', 'the job to be cancelled', 10_000);
    expect((events.get(job.id) ?? []).at(-1)?.type).toBe('cancelled');
    expect(workerOutput.join('')).toContain(`training job ${job.id} ended: cancelled`);
  });
});
