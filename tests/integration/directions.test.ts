/**
 * Direction discovery through the real server (port 0, real engine worker, real directions
 * worker, embedded database) and real socket.io-clients: the REST API (jobs, their event
 * stream, the list, export/import bit for bit, bad input refused with nothing created) and the
 * room events of SPEC D1–D7 with two members of one room and one of another room of the same
 * model. Small scoring sizes keep it to seconds; full-size figures are bench:directions'.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env } from '../../lib/env';
import type { ServerToClientEvents } from '../../lib/protocol/events';
import { DirectionAttributesAnswerSchema, type DirectionJobView, type DirectionRecord, type DirectionsExport } from '../../lib/protocol/directions';
import { io } from 'socket.io-client';
import type { ClientSocket } from '../../lib/realtime/client-socket';
import { createRoom, joinRoom, saveBookmark, sendOp } from '../../lib/realtime/room-client';
import { startServer } from '../../server/app';
import { createDirectionsService, type DirectionsService } from '../../server/directions/service';
import { BUILTIN_RANDOM_DCGAN_ID } from '../../server/inference/model-registry';
import { Harness, type TestClient } from './rooms-harness';

const MODEL = 'dcgan-mnist';
const SCORING = { samples: 4, span: 2, seed: 3 };
const LONG_MS = 90_000;

class DirectionsHarness extends Harness {
  directions!: DirectionsService;
  override async start(): Promise<void> {
    await super.start();
    // Restart the server with the directions service mounted (the base start has none).
    await this.server.close();
    this.directions = createDirectionsService({ database: this.database, engine: this.engine, modelDir: env().MODEL_DIR, backend: env().TF_BACKEND, logger: silent });
    this.server = await startServer({ port: 0, engine: this.engine, database: this.database, directions: this.directions, logger: silent });
  }
  override async dispose(): Promise<void> {
    await this.directions?.close();
    await super.dispose();
  }
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const h = new DirectionsHarness();
beforeAll(() => h.start());
afterAll(() => h.dispose());

type EventName = keyof ServerToClientEvents;
type Payload<E extends EventName> = Parameters<ServerToClientEvents[E]>[0];

/** The first event `name` matching `match`, already recorded or to come, within `ms`. */
function waitEvent<E extends EventName>(c: TestClient, name: E, match: (p: Payload<E>) => boolean = () => true, ms = LONG_MS): Promise<Payload<E>> {
  const seen = c.seen(name).find(match);
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${name}`)), ms);
    const on = (p: Payload<E>) => {
      if (!match(p)) return;
      clearTimeout(timer);
      (c.socket.off as (n: string, f: unknown) => void)(name, on);
      resolve(p);
    };
    (c.socket.on as (n: string, f: unknown) => void)(name, on);
  });
}

async function api(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${h.server.url}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function listed(modelId = MODEL): Promise<DirectionRecord[]> {
  const r = await api('GET', `/api/models/${modelId}/directions`);
  expect(r.status).toBe(200);
  return r.body['directions'] as DirectionRecord[];
}

/** Reads a job's event stream to its end. */
async function jobEvents(id: string): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${h.server.url}/api/direction-jobs/${id}/events`);
  expect(res.headers.get('content-type')).toBe('text/event-stream');
  const text = await res.text();
  return text.split('\n\n').filter((b) => b.startsWith('data: ')).map((b) => JSON.parse(b.slice(6)) as Record<string, unknown>);
}

type Discover = (req: unknown) => Promise<{ ok: boolean; data?: { jobId: string }; error?: string; message?: string }>;
const discover = (c: TestClient): Discover => (req) => c.socket.timeout(10_000).emitWithAck('direction:discover', req as never) as never;

describe('REST: POST /api/models/:id/directions, jobs and their events', () => {
  it('runs a PCA job: 202 with the job, progress then done on its event stream, the directions listed with scores', async () => {
    const r = await api('POST', `/api/models/${MODEL}/directions`, { method: 'pca', params: { components: 2, samples: 200 }, scoring: SCORING, name: 'rest pca' });
    expect(r.status).toBe(202);
    const job = r.body['job'] as DirectionJobView;
    expect(job).toMatchObject({ modelId: MODEL, method: 'pca', name: 'rest pca', roomId: null });
    const events = await jobEvents(job.id);
    expect(events[0]).toMatchObject({ type: 'job' });
    expect(events.some((e) => e['type'] === 'progress')).toBe(true);
    const last = events[events.length - 1]!;
    expect(last['type']).toBe('done');
    const done = (await api('GET', `/api/direction-jobs/${job.id}`)).body['job'] as DirectionJobView;
    expect(done.status).toBe('succeeded');
    expect(done.progress).toEqual({ done: done.progress!.total, total: done.progress!.total });
    expect(done.result!.directions.map((d) => d.name)).toEqual(['rest pca pc1', 'rest pca pc2']);
    const list = await listed();
    const ours = list.filter((d) => d.name.startsWith('rest pca'));
    expect(ours).toHaveLength(2);
    expect(ours[0]!.scores).toMatchObject({ classifier: 'classifier-mnist', samples: 4, span: 2 });
    expect(Object.keys(ours[0]!.scores.flipRate!)).toHaveLength(10);
    expect(ours[0]!.scores.method!['explainedVariance']).toBeGreaterThan(0);
  });

  it('runs a linear boundary on a digit: the held-out accuracy in its scores, the digit as its target', async () => {
    const r = await api('POST', `/api/models/${MODEL}/directions`, { method: 'linear-boundary', params: { attribute: '7', samples: 300, extremes: 0.1 }, scoring: SCORING });
    expect(r.status).toBe(202);
    const events = await jobEvents((r.body['job'] as DirectionJobView).id);
    const done = events[events.length - 1]!['job'] as DirectionJobView;
    expect(done.status).toBe('succeeded');
    const [d] = done.result!.directions;
    expect(d).toMatchObject({ name: '7 (boundary)', method: 'linear-boundary' });
    expect(d!.scores.target).toBe('7');
    expect(d!.scores.heldOutAccuracy).toBeGreaterThan(0.5);
    expect(d!.scores.method!['perSide']).toBe(30);
  });

  it('refuses bad input with the reason and creates nothing: 400s, 404s, 415, 413', async () => {
    const before = (await listed()).length;
    const cases: [unknown, number, RegExp][] = [
      [{ method: 'magic', params: {} }, 400, /method/],
      [{ method: 'linear-boundary', params: {} }, 400, /attribute/],
      [{ method: 'linear-boundary', params: { attribute: 'smile' } }, 400, /unknown attribute "smile".*0, 1, 2/],
      [{ method: 'linear-boundary', params: { attribute: '7', samples: 'NaN' } }, 400, /samples/],
      ['{"method":"linear-boundary","params":{"attribute":"7","extremes":1e999}}', 400, /extremes/],
      [{ method: 'sefa', params: { components: 3, extra: 1 } }, 400, /extra|unrecognized/i],
      [{ method: 'sefa', params: { components: 65 } }, 400, /components/],
      [{ method: 'pca', params: { source: 'encoded' } }, 400, /encoder/],
      [{ method: 'centroid-difference', params: { positive: ['nope'], negative: ['00000000-0000-4000-8000-000000000000'] } }, 404, /unknown bookmark "nope"/],
      [{ method: 'conditional', params: { direction: '00000000-0000-4000-8000-000000000000', conditions: ['00000000-0000-4000-8000-000000000001'] } }, 404, /unknown direction/],
      ['{"method":', 400, /not valid JSON/],
    ];
    for (const [body, status, message] of cases) {
      const r = await api('POST', `/api/models/${MODEL}/directions`, body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(String(r.body['error']), JSON.stringify(body)).toMatch(message);
    }
    // A model without a classifier (the built-in random DCGAN has no data set) for a method that needs one.
    const noClassifier = await api('POST', `/api/models/${BUILTIN_RANDOM_DCGAN_ID}/directions`, { method: 'classifier-gradient', params: { attribute: '7' } });
    expect(noClassifier.status).toBe(400);
    expect(String(noClassifier.body['error'])).toMatch(/no classifier/);
    expect((await api('POST', '/api/models/no-such-model/directions', { method: 'sefa' })).status).toBe(404);
    expect((await api('GET', '/api/direction-jobs/not-a-job')).status).toBe(404);
    const wrongType = await fetch(`${h.server.url}/api/models/${MODEL}/directions`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
    expect(wrongType.status).toBe(415);
    const huge = await api('POST', `/api/models/${MODEL}/directions`, { method: 'sefa', name: 'x'.repeat(20_000) });
    expect(huge.status).toBe(413);
    expect((await listed()).length).toBe(before);
    expect((await listed(BUILTIN_RANDOM_DCGAN_ID)).length).toBe(0);
  });

  it('GET .../directions/attributes: what the classifier scores, for the form and the steer; none without a classifier; 404 for an unknown model', async () => {
    const r = await api('GET', `/api/models/${MODEL}/directions/attributes`);
    expect(r.status).toBe(200);
    expect(DirectionAttributesAnswerSchema.parse(r.body).attributes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const none = await api('GET', `/api/models/${BUILTIN_RANDOM_DCGAN_ID}/directions/attributes`);
    expect(none).toEqual({ status: 200, body: { ok: true, attributes: [] } });
    expect((await api('GET', '/api/models/no-such-model/directions/attributes')).status).toBe(404);
    expect((await api('POST', `/api/models/${MODEL}/directions/attributes`, {})).status).toBe(405);
  });

  it('export and import: the imported vectors are the exported ones bit for bit; a bad file imports nothing', async () => {
    const exported = (await api('GET', `/api/models/${MODEL}/directions/export`)).body as unknown as DirectionsExport;
    expect(exported).toMatchObject({ format: 'latentroom-directions', formatVersion: 1, modelId: MODEL });
    expect(exported.weightsHash).toMatch(/^[0-9a-f]{64}$/);
    expect(exported.directions.length).toBeGreaterThan(0);
    const imported = await api('POST', `/api/models/${MODEL}/directions/import`, exported);
    expect(imported.status).toBe(201);
    const again = (await api('GET', `/api/models/${MODEL}/directions/export`)).body as unknown as DirectionsExport;
    const n = exported.directions.length;
    expect(again.directions).toHaveLength(2 * n);
    for (let i = 0; i < n; i++) {
      const a = new Uint32Array(Float32Array.from(exported.directions[i]!.vector).buffer);
      const b = new Uint32Array(Float32Array.from(again.directions[n + i]!.vector).buffer);
      expect(Array.from(b)).toEqual(Array.from(a));
      expect(again.directions[n + i]!.name).toBe(exported.directions[i]!.name);
    }
    const count = (await listed()).length;
    const bad: [unknown, RegExp][] = [
      [{ ...exported, format: 'other' }, /format/],
      [{ ...exported, weightsHash: 'f'.repeat(64) }, /other weights/],
      [{ ...exported, directions: [...exported.directions, { ...exported.directions[0]!, vector: [1, 2, 3] }] }, /directions\[\d+\]\.vector is not a finite vector of 64/],
      [{ ...exported, directions: [{ ...exported.directions[0]!, vector: exported.directions[0]!.vector.map(() => 1e39) }] }, /not a finite vector/],
    ];
    for (const [body, message] of bad) {
      const r = await api('POST', `/api/models/${MODEL}/directions/import`, body);
      expect(r.status).toBe(400);
      expect(String(r.body['error'])).toMatch(message);
    }
    expect((await listed()).length).toBe(count);
  });
});

describe('rooms: direction:discover, progress, added, failed, steer (SPEC D1–D7)', () => {
  let a: TestClient & { snapshot: import('../../lib/protocol/rooms').RoomSnapshot };
  let b: typeof a;
  let viewer: typeof a;
  let other: typeof a;

  beforeAll(async () => {
    const room = await h.room(MODEL);
    a = await h.member(room.roomId, room.editorToken, 'Ada');
    b = await h.member(room.roomId, room.editorToken, 'Bo');
    viewer = await h.member(room.roomId, room.viewerToken, 'Vi');
    const second = await h.room(MODEL);
    other = await h.member(second.roomId, second.editorToken, 'Oz');
  });

  it('D1 D2 D3 D4: a SeFa job from a room: the requester is acked its job, members see progress, every live room of the model gets the directions with scores, and nudging along one changes the shared frame', async () => {
    // D4: the snapshot lists the model's stored directions with their scores (those of the REST tests).
    expect(a.snapshot.directions.length).toBeGreaterThan(0);
    expect(a.snapshot.directions[0]!.scores?.classifier).toBe('classifier-mnist');
    const res = await discover(a)({ method: 'sefa', params: { components: 2 }, name: 'room sefa', scoring: SCORING });
    expect(res.ok).toBe(true);
    const jobId = res.data!.jobId;
    const progress = await waitEvent(b, 'direction:progress', (p) => p.jobId === jobId);
    expect(progress.method).toBe('sefa');
    expect(progress.done).toBeLessThanOrEqual(progress.total);
    const added = await waitEvent(b, 'direction:added', (p) => p.direction.name === 'room sefa 1');
    await waitEvent(b, 'direction:added', (p) => p.direction.name === 'room sefa 2');
    expect(added.direction).toMatchObject({ method: 'sefa' });
    expect(added.direction.scores).toMatchObject({ classifier: 'classifier-mnist', samples: 4 });
    expect(added.direction.scores!.method!['eigenvalue']).toBeGreaterThan(0);
    expect(typeof added.direction.createdAt).toBe('string');
    expect((added.direction as unknown as Record<string, unknown>)['vector']).toBeUndefined();
    // The requester and the member of another room of the same model get it too; progress stays in the asking room.
    await waitEvent(a, 'direction:added', (p) => p.direction.id === added.direction.id);
    await waitEvent(other, 'direction:added', (p) => p.direction.id === added.direction.id);
    expect(other.seen('direction:progress').filter((p) => p.jobId === jobId)).toHaveLength(0);
    expect((h.directions.get(jobId)).status).toBe('succeeded');

    // Nudging along the new direction at once: acked, broadcast, and a new frame that differs.
    const v0 = a.snapshot.version;
    const before = await waitEvent(b, 'frame', (f) => f.version >= v0, 30_000);
    const nudged = await sendOp(b.socket, { kind: 'nudge', direction: { direction: added.direction.id }, amount: 3 });
    expect(nudged.ok).toBe(true);
    const version = (nudged as { data: { version: number } }).data.version;
    const state = await waitEvent(a, 'latent:state', (s) => s.version === version, 30_000);
    expect(state.weights[added.direction.id]).toBe(3);
    const after = await waitEvent(a, 'frame', (f) => f.version === version, 30_000);
    expect(Buffer.from(after.data as Uint8Array).equals(Buffer.from(before.data as Uint8Array))).toBe(false);
  });

  it('D1: viewers are forbidden; bad payloads, unknown attributes and unknown ids are refused and start nothing', async () => {
    const count = (await listed()).length;
    expect(await discover(viewer)({ method: 'sefa' })).toMatchObject({ ok: false, error: 'forbidden' });
    expect(await discover(a)({ method: 'sefa', params: { components: 'two' } })).toMatchObject({ ok: false, error: 'bad-request' });
    expect(await discover(a)({ method: 'linear-boundary', params: { attribute: 'smile' } })).toMatchObject({ ok: false, error: 'bad-request' });
    expect(await discover(a)({ method: 'centroid-difference', params: { positive: ['00000000-0000-4000-8000-000000000000'], negative: ['00000000-0000-4000-8000-000000000001'] } })).toMatchObject({ ok: false, error: 'not-found' });
    const outsider = await h.client();
    expect(await discover(outsider)({ method: 'sefa' })).toMatchObject({ ok: false, error: 'not-joined' });
    expect((await listed()).length).toBe(count);
  });

  it('D5: a job that fails tells the asking room why, and stores nothing', async () => {
    // A direction conditioned on a copy of itself: nothing is left once it is projected out.
    const [first] = await listed();
    const exported = (await api('GET', `/api/models/${MODEL}/directions/export`)).body as unknown as DirectionsExport;
    const copy = exported.directions.find((d) => d.name === first!.name)!;
    const imported = await api('POST', `/api/models/${MODEL}/directions/import`, { ...exported, directions: [{ ...copy, name: 'copy' }] });
    const copyId = (imported.body['directions'] as DirectionRecord[])[0]!.id;
    await waitEvent(b, 'direction:added', (p) => p.direction.id === copyId);
    const count = (await listed()).length;
    const res = await discover(a)({ method: 'conditional', params: { direction: first!.id, conditions: [copyId] }, scoring: SCORING });
    expect(res.ok).toBe(true);
    const failed = await waitEvent(b, 'direction:failed', (p) => p.jobId === res.data!.jobId);
    expect(failed.message).toMatch(/span/);
    expect((await listed()).length).toBe(count);
  });

  it('D3: a centroid difference of bookmarks, a classifier gradient and a conditional direction, from the room', async () => {
    const saved1 = await saveBookmark(a.socket, 'one');
    await sendOp(a.socket, { kind: 'random', seed: 99 });
    const saved2 = await saveBookmark(a.socket, 'two');
    expect(saved1.ok && saved2.ok).toBe(true);
    const id1 = (saved1 as { data: { id: string } }).data.id;
    const id2 = (saved2 as { data: { id: string } }).data.id;
    const res = await discover(a)({ method: 'centroid-difference', params: { positive: [id2], negative: [id1] }, name: 'one to two', scoring: SCORING });
    expect(res.ok).toBe(true);
    const added = await waitEvent(b, 'direction:added', (p) => p.direction.name === 'one to two');
    expect(added.direction.method).toBe('centroid-difference');
    // Its stored vector is z(two) − z(one): a sum op one + d lands on two.
    const sum = await sendOp(b.socket, { kind: 'sum', terms: [{ ref: { bookmark: id1 }, weight: 1 }, { ref: { direction: added.direction.id }, weight: 1 }] });
    const state = await waitEvent(a, 'latent:state', (s) => s.version === (sum as { data: { version: number } }).data.version);
    const two = (saved2 as { data: { z: number[] } }).data.z;
    state.z.forEach((x, i) => expect(x).toBeCloseTo(two[i]!, 4));

    // The centroid direction with a classifier-gradient direction projected out.
    const grad = await discover(a)({ method: 'classifier-gradient', params: { attribute: '3', samples: 8 }, scoring: SCORING });
    expect(grad.ok).toBe(true);
    const gradient = await waitEvent(b, 'direction:added', (p) => p.direction.name === '3 (gradient)');
    expect(gradient.direction.scores!.target).toBe('3');
    const cond = await discover(a)({ method: 'conditional', params: { direction: added.direction.id, conditions: [gradient.direction.id] }, scoring: SCORING });
    expect(cond.ok).toBe(true);
    const conditional = await waitEvent(b, 'direction:added', (p) => p.direction.method === 'conditional');
    expect(conditional.direction.name).toBe('one to two ⊥ 3 (gradient)');
    expect(conditional.direction.scores!.method!['conditions']).toBe(1);
  });

  it('D7: direction:steer moves the room toward a digit through the op path: acked with its version, broadcast as a steer state, undoable; clients cannot forge steer ops', async () => {
    const res = await a.socket.timeout(60_000).emitWithAck('direction:steer', { attribute: '7', steps: 20, stepSize: 0.2 });
    expect(res.ok).toBe(true);
    const data = (res as { data: { version: number; steps: number; value: number; reached: boolean } }).data;
    expect(data.steps).toBeLessThanOrEqual(20);
    expect(data.value).toBeGreaterThan(0);
    const seenByB = await waitEvent(b, 'latent:state', (s) => s.version === data.version);
    expect(seenByB).toMatchObject({ kind: 'steer', weights: {} });
    const undo = await sendOp(b.socket, { kind: 'undo' });
    const undone = await waitEvent(a, 'latent:state', (s) => s.version === (undo as { data: { version: number } }).data.version);
    const previous = a.seen('latent:state').find((s) => s.version === data.version - 1);
    expect(previous).toBeDefined();
    expect(undone.z).toEqual(previous!.z);
    expect(await viewer.socket.timeout(10_000).emitWithAck('direction:steer', { attribute: '7' })).toMatchObject({ ok: false, error: 'forbidden' });
    expect(await a.socket.timeout(10_000).emitWithAck('direction:steer', { attribute: 'smile' })).toMatchObject({ ok: false, error: 'bad-request' });
    expect(await a.socket.timeout(10_000).emitWithAck('direction:steer', { attribute: '7', steps: 0 })).toMatchObject({ ok: false, error: 'bad-request' });
    const forged = await sendOp(a.socket, { kind: 'steer', z: a.snapshot.z, attribute: '7', steps: 1 });
    expect(forged).toMatchObject({ ok: false, error: 'bad-request' });
  });
});

describe('a server without the directions service', () => {
  it('refuses direction:* with a clear reason and does not serve the API', async () => {
    // The harness's database (opening another embedded one costs seconds).
    const bare = await startServer({ port: 0, engine: h.engine, database: h.database, logger: silent });
    const socket: ClientSocket = io(bare.url, { transports: ['websocket'] });
    try {
      expect((await fetch(`${bare.url}/api/models/${MODEL}/directions`)).status).toBe(404);
      const room = await createRoom(socket, MODEL);
      expect(room.ok).toBe(true);
      const { roomId, editorToken } = (room as { data: { roomId: string; editorToken: string } }).data;
      expect((await joinRoom(socket, { roomId, token: editorToken, name: 'Ed' })).ok).toBe(true);
      const res = await socket.timeout(10_000).emitWithAck('direction:discover', { method: 'sefa' });
      expect(res).toMatchObject({ ok: false, error: 'bad-request', message: 'directions are not enabled on this server' });
    } finally {
      socket.disconnect();
      await bare.close();
    }
  });
});
