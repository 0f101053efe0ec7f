/**
 * The training API on the real server (port 0, real engine worker, embedded database): submit,
 * watch the Server-Sent Events in step order, the model loaded by the engine when the job ends,
 * cancel, bad requests refused with nothing created, and a job interrupted by a server restart
 * resuming from its checkpoint.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../../server/app';
import { openDatabase, type Database } from '../../server/db/open-database';
import { createEngineClient, type LocalEngineClient } from '../../server/inference/engine-client';
import { silentLogger } from '../../server/logger';
import { startTrainingService, type TrainingService } from '../../server/training/service';
import { makeTempDir } from './support/temp-dir';

const tmp = makeTempDir('training-api');
const dataDir = path.join(tmp.dir, 'data');
const modelDir = path.join(tmp.dir, 'models');

let engine: LocalEngineClient;
let database: Database;
let training: TrainingService;
let server: RunningServer;

async function startAll(): Promise<void> {
  database = await openDatabase(path.join(dataDir, 'db'));
  training = await startTrainingService({ database, engine, dataDir, modelDir, backend: 'wasm', logger: silentLogger });
  server = await startServer({ port: 0, engine, database, training, logger: silentLogger });
}

async function stopAll(): Promise<void> {
  await server.close();
  await training.close();
  await database.close();
}

beforeAll(async () => {
  engine = await createEngineClient({ backend: 'wasm', modelDir });
  await startAll();
});
afterAll(async () => {
  await stopAll();
  await engine.close();
  tmp.remove();
});

const spec = (over: object = {}) => ({
  family: 'vae',
  dataset: 'mnist',
  modelId: 'api-vae',
  config: { filters: 8 },
  steps: 20,
  batchSize: 16,
  seed: 3,
  progressEvery: 5,
  sampleEvery: 10,
  checkpointEvery: 5,
  ...over,
});

async function post(p: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) {
  const res = await fetch(`${server.url}${p}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function get(p: string) {
  const res = await fetch(`${server.url}${p}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Reads a job's event stream to its end. */
async function events(id: string): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${server.url}/api/training-jobs/${id}/events`);
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const text = await res.text();
  return text
    .split('\n\n')
    .filter((b) => b.startsWith('data: '))
    .map((b) => JSON.parse(b.slice(6)) as Record<string, unknown>);
}

type Job = { id: string; status: string; modelId: string | null; progress: Record<string, unknown> | null; error: string | null };

async function waitFor(id: string, done: (j: Job) => boolean, timeoutMs = 120_000): Promise<Job> {
  const t0 = Date.now();
  for (;;) {
    const job = (await get(`/api/training-jobs/${id}`)).body['job'] as Job;
    if (done(job)) return job;
    if (Date.now() - t0 > timeoutMs) throw new Error(`job ${id} still ${job.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('training API', () => {
  it('runs a submitted job, streams its events in step order, and the engine serves the model it made', async () => {
    const created = await post('/api/training-jobs', spec());
    expect(created.status).toBe(201);
    const job = created.body['job'] as Job;
    expect(['queued', 'running']).toContain(job.status);

    const stream = await events(job.id);
    expect(stream[0]!['type']).toBe('job');
    const live = stream.slice(1);
    const steps = live.map((e) => e['step'] as number);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
    expect(live.at(-1)).toMatchObject({ type: 'done', modelId: 'api-vae', step: 20 });
    expect(live.filter((e) => e['type'] === 'progress').map((e) => e['step'])).toEqual([5, 10, 15, 20]);
    expect(Object.keys((live.find((e) => e['type'] === 'progress')!['losses'] as object))).toContain('kl');
    expect(typeof live.find((e) => e['type'] === 'samples')!['png']).toBe('string');

    const finished = await waitFor(job.id, (j) => j.status !== 'running');
    expect(finished).toMatchObject({ status: 'succeeded', modelId: 'api-vae' });
    expect(finished.progress).toMatchObject({ step: 20, totalSteps: 20, checkpointStep: 20 });
    const models = await engine.models();
    expect(models.find((m) => m.id === 'api-vae')).toMatchObject({ family: 'vae', trained: true, latentDim: expect.any(Number) as unknown });
    const png = await fetch(`${server.url}/api/training-jobs/${job.id}/samples.png`);
    expect(png.headers.get('content-type')).toBe('image/png');
  });

  it('cancels a running job after its step, keeping a checkpoint', async () => {
    const { body } = await post('/api/training-jobs', spec({ modelId: 'api-cancel', steps: 100_000 }));
    const id = (body['job'] as Job).id;
    await waitFor(id, (j) => ((j.progress?.['step'] as number | undefined) ?? 0) >= 5);
    const cancelled = await post(`/api/training-jobs/${id}/cancel`, {});
    expect(cancelled.status).toBe(200);
    expect((cancelled.body['job'] as Job).status).toBe('cancelled');
    const again = await post(`/api/training-jobs/${id}/cancel`, {});
    expect(again.status).toBe(400);
    expect(again.body['error']).toMatch(/is cancelled: nothing to cancel/);
  });

  it('refuses bad requests with the reason and creates no job', async () => {
    const before = ((await get('/api/training-jobs')).body['jobs'] as Job[]).length;
    const cases: [Promise<{ status: number; body: Record<string, unknown> }>, number, RegExp][] = [
      [post('/api/training-jobs', '{"family": '), 400, /not valid JSON/],
      [post('/api/training-jobs', spec(), { 'content-type': 'text/plain' }), 415, /application\/json/],
      [post('/api/training-jobs', { ...spec(), config: { filters: 8, padding: 'x'.repeat(20_000) } }), 413, /larger than/],
      [post('/api/training-jobs', spec({ family: 'transformer' })), 400, /unknown family/],
      [post('/api/training-jobs', spec({ dataset: 'imagenet' })), 400, /imagenet/],
      [post('/api/training-jobs', spec({ config: { beta: -1 } })), 400, /beta/],
      [post('/api/training-jobs', spec({ steps: -5 })), 400, /steps/],
      [post('/api/training-jobs', spec({ modelId: 'A/../../etc' })), 400, /model id/],
      [post('/api/training-jobs', spec({ family: 'cgan', dataset: 'folder:/nonexistent', config: {} })), 201, /./],
    ];
    const results = await Promise.all(cases.map(([p]) => p));
    const created: string[] = [];
    results.forEach((r, i) => {
      const [, status, message] = cases[i]!;
      expect(r.status, JSON.stringify(r.body)).toBe(status);
      if (status === 201) created.push((r.body['job'] as Job).id);
      else expect(r.body['error']).toMatch(message);
    });
    // The folder job is accepted (its images are only known once read) and fails with the reason.
    const failed = await waitFor(created[0]!, (j) => j.status === 'failed' || j.status === 'succeeded');
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/nonexistent/);
    expect(((await get('/api/training-jobs')).body['jobs'] as Job[]).length).toBe(before + 1);

    expect((await get('/api/training-jobs/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await get('/api/training-jobs/not-a-uuid')).status).toBe(404);
    expect((await post('/api/training-jobs/not-a-uuid/cancel', {})).status).toBe(404);
  });

  it('resumes a job interrupted by a server restart from its checkpoint', async () => {
    const { body } = await post('/api/training-jobs', spec({ modelId: 'api-restart', steps: 60 }));
    const id = (body['job'] as Job).id;
    await waitFor(id, (j) => ((j.progress?.['checkpointStep'] as number | undefined) ?? 0) >= 10);
    await stopAll(); // the job stops after its step and stays `running` in the database
    await startAll();
    const stream = await events(id);
    const started = stream.find((e) => e['type'] === 'started');
    expect(started).toMatchObject({ resumed: true });
    expect(started!['step'] as number).toBeGreaterThanOrEqual(10);
    expect(stream.at(-1)).toMatchObject({ type: 'done', step: 60 });
    expect((await waitFor(id, (j) => j.status !== 'running')).status).toBe('succeeded');
  });
});
