/**
 * The pages' read APIs on the real server (port 0, a real engine worker, an embedded database):
 * /api/models (cards), /api/models/:id/points (computed in a child process, cached),
 * /api/models/:id/image.png (the same PNG a room frame carries), and the bookmark permalink
 * read /api/bookmarks/:id (+ image.png). Bad input is refused with a reason.
 */
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io } from 'socket.io-client';
import { env } from '../../lib/env';
import { decodePoints, projectLatent } from '../../lib/points/format';
import { encodeLatentParam, latentImageUrl, ModelDetailSchema, ModelListSchema } from '../../lib/protocol/models';
import type { ClientSocket } from '../../lib/realtime/client-socket';
import { createRoom, joinRoom, saveBookmark, sendOp } from '../../lib/realtime/room-client';
import { PermalinkSchema } from '../../lib/realtime/bookmark-api';
import { startServer, type RunningServer } from '../../server/app';
import { openDatabase, type Database } from '../../server/db/open-database';
import { createEngineClient } from '../../server/inference/engine-client';
import type { EngineClient } from '../../server/inference/engine-protocol';
import { BUILTIN_RANDOM_DCGAN_ID } from '../../server/inference/model-registry';
import { silentLogger } from '../../server/logger';
import { createPointsService } from '../../server/points/service';
import { engineRenderer } from '../../server/rooms/render-frame';
import { makeTempDir } from './support/temp-dir';

const SHIPPED = fileURLToPath(new URL('../../models/pretrained/', import.meta.url));
const VAE = 'vae-mnist';
/** Latents sampled for the built-in GAN's cloud (the service's default is 10,000). */
const SAMPLED = 300;

const tmp = makeTempDir('models-api');
const modelDir = join(tmp.dir, 'models');
let engine: EngineClient;
let database: Database;
let server: RunningServer;

beforeAll(async () => {
  cpSync(join(SHIPPED, VAE), join(modelDir, VAE), { recursive: true });
  engine = await createEngineClient({ backend: env().TF_BACKEND, modelDir });
  database = await openDatabase(join(tmp.dir, 'db'));
  const points = createPointsService({ engine, modelDir, dataDir: join(tmp.dir, 'data'), backend: env().TF_BACKEND, logger: silentLogger, count: SAMPLED });
  server = await startServer({ port: 0, engine, database, models: { modelDir, points } });
});

afterAll(async () => {
  await server?.close();
  await database?.close();
  await engine?.close();
  tmp.remove();
});

const get = (path: string) => fetch(`${server.url}${path}`);

describe('GET /api/models', () => {
  it('lists every loaded model with the short form of its card', async () => {
    const body = ModelListSchema.parse(await (await get('/api/models')).json());
    expect(body.models.map((m) => m.id).sort()).toEqual([BUILTIN_RANDOM_DCGAN_ID, VAE].sort());
    const vae = body.models.find((m) => m.id === VAE)!;
    expect(vae.card?.metrics?.summary?.fid).toBeGreaterThan(0);
    expect(vae.card?.metrics?.evaluation).toBeUndefined(); // the list stays small
    expect(vae.hasSamples).toBe(true);
    const builtin = body.models.find((m) => m.id === BUILTIN_RANDOM_DCGAN_ID)!;
    expect(builtin).toMatchObject({ trained: false, card: null, hasSamples: false });
  });

  it('answers one model with its whole card; unknown ids are 404; writes are 405', async () => {
    const detail = ModelDetailSchema.parse(await (await get(`/api/models/${VAE}`)).json());
    expect(detail.card?.metrics?.evaluation?.settings.length).toBeGreaterThan(0);
    expect(detail.model).toMatchObject({ id: VAE, family: 'vae', latentDim: 16 });
    expect((await get('/api/models/no-such-model')).status).toBe(404);
    expect((await fetch(`${server.url}/api/models/${VAE}`, { method: 'POST' })).status).toBe(405);
    // Paths this API does not serve fall through (directions, import): not answered as models.
    expect(((await (await get(`/api/models/${VAE}/directions`)).json()) as { error: string }).error).toBe('not-found');
  });
});

describe('GET /api/models/:id/points', () => {
  it("a VAE's cloud is its encoder's means of the held-out images, with their labels and a PCA basis; computed once", async () => {
    const res = await get(`/api/models/${VAE}/points`);
    expect(res.status).toBe(200);
    const cloud = decodePoints(await res.arrayBuffer());
    expect(cloud.header).toMatchObject({ modelId: VAE, count: 1000, latentDim: 16, source: 'encoded-held-out', labels: { from: 'dataset' } });
    expect(new Set(cloud.labels).size).toBe(10);
    const p = [0, 0, 0];
    projectLatent(cloud.latents.subarray(16 * 7, 16 * 8), cloud.mean, cloud.components, p);
    for (let k = 0; k < 3; k++) expect(p[k]).toBeCloseTo(cloud.positions[7 * 3 + k]!, 3);
    const cached = readdirSync(join(tmp.dir, 'data', 'points'));
    expect(cached).toHaveLength(1);
    const again = new Uint8Array(await (await get(`/api/models/${VAE}/points`)).arrayBuffer());
    expect(Buffer.from(again).equals(Buffer.from(encodeBack(cloud)))).toBe(true);
    expect(readdirSync(join(tmp.dir, 'data', 'points'))).toEqual(cached);
  });

  it("a GAN's cloud is seeded latents labelled by the data set's classifier", async () => {
    const cloud = decodePoints(await (await get(`/api/models/${BUILTIN_RANDOM_DCGAN_ID}/points`)).arrayBuffer());
    expect(cloud.header).toMatchObject({ count: SAMPLED, latentDim: 64, source: 'sampled', labels: { from: 'classifier' } });
    expect(cloud.header.scores.map((s) => s.name)).toEqual(['confidence']);
    for (const s of cloud.scores) expect(s).toBeGreaterThanOrEqual(0.1 - 1e-6); // an argmax of 10 classes
    expect((await get('/api/models/no-such-model/points')).status).toBe(404);
  });
});

/** The bytes the server sent (decodePoints keeps views over them). */
function encodeBack(cloud: ReturnType<typeof decodePoints>): Uint8Array {
  return new Uint8Array(cloud.latents.buffer);
}

describe('GET /api/models/:id/image.png', () => {
  it('decodes a latent to the PNG a room frame of that state carries', async () => {
    const z = Array.from({ length: 16 }, (_, i) => Math.sin(i));
    const res = await get(latentImageUrl(VAE, z, 0.7));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    const frame = await engineRenderer(engine)(VAE, Float32Array.from(z), 0.7, null);
    expect(Buffer.from(await res.arrayBuffer()).equals(Buffer.from(frame.data as Uint8Array))).toBe(true);
  });

  it('refuses a wrong length, a non-finite value, bad base64, psi out of range, a class on an unconditional model', async () => {
    const bad = [
      `/api/models/${VAE}/image.png?z=${encodeLatentParam([1, 2, 3])}`,
      `/api/models/${VAE}/image.png?z=${encodeLatentParam(Array.from({ length: 16 }, (_, i) => (i === 3 ? Number.NaN : 0)))}`,
      `/api/models/${VAE}/image.png?z=not%20base64!`,
      latentImageUrl(VAE, new Array(16).fill(0), 2.5),
      latentImageUrl(VAE, new Array(16).fill(0), 1, 3),
      `/api/models/${VAE}/image.png`,
    ];
    for (const path of bad) {
      const res = await get(path);
      expect(res.status, path).toBe(400);
      expect(((await res.json()) as { error: string }).error.length).toBeGreaterThan(0);
    }
  });
});

describe('GET /api/bookmarks/:id', () => {
  it('answers a saved bookmark with its state and provenance, and its image is the frame of that state', async () => {
    const socket: ClientSocket = io(server.url, { transports: ['websocket'] });
    try {
      const created = await createRoom(socket, VAE);
      if (!created.ok) throw new Error(created.error);
      const joined = await joinRoom(socket, { roomId: created.data.roomId, token: created.data.editorToken, name: 'Ada' });
      expect(joined.ok).toBe(true);
      expect((await sendOp(socket, { kind: 'random', seed: 5 })).ok).toBe(true);
      expect((await sendOp(socket, { kind: 'psi', psi: 0.6 })).ok).toBe(true);
      const saved = await saveBookmark(socket, 'a five');
      if (!saved.ok) throw new Error(saved.error);
      expect((await sendOp(socket, { kind: 'random', seed: 6 })).ok).toBe(true); // later ops are not its provenance

      const body = PermalinkSchema.parse(await (await get(`/api/bookmarks/${saved.data.id}`)).json());
      expect(body.bookmark).toMatchObject({ id: saved.data.id, name: 'a five', psi: expect.closeTo(0.6, 6), classLabel: null, modelId: VAE, roomId: created.data.roomId, version: 2, tags: [] });
      expect(body.bookmark.z).toEqual(saved.data.z);
      expect(body.provenance.model).toMatchObject({ id: VAE, family: 'vae' });
      expect(body.provenance.ops.map((o) => o.kind)).toEqual(['create', 'random', 'psi']);

      const img = await get(`/api/bookmarks/${saved.data.id}/image.png`);
      expect(img.status).toBe(200);
      const frame = await engineRenderer(engine)(VAE, Float32Array.from(saved.data.z), body.bookmark.psi, null);
      expect(Buffer.from(await img.arrayBuffer()).equals(Buffer.from(frame.data as Uint8Array))).toBe(true);
    } finally {
      socket.disconnect();
    }
    expect((await get('/api/bookmarks/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await get('/api/bookmarks/not-a-uuid')).status).toBe(404);
    expect((await get('/api/bookmarks/00000000-0000-4000-8000-000000000000/image.png')).status).toBe(404);
  });
});

it('cache files live under DATA_DIR/points only', () => {
  expect(existsSync(join(tmp.dir, 'data', 'points'))).toBe(true);
  expect(existsSync(join(modelDir, 'points'))).toBe(false);
});
