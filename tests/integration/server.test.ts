/**
 * The real server on port 0: a real engine client (worker thread), a fresh embedded database,
 * real socket.io-clients. Rules: lib/protocol/SPEC.md.
 */
import { join } from 'node:path';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { env } from '../../lib/env';
import { PROTOCOL_VERSION } from '../../lib/protocol/events';
import { HealthSchema } from '../../lib/protocol/health';
import { createClientSocket, hello, type ClientSocket } from '../../lib/realtime/client-socket';
import { APP_VERSION } from '../../lib/version';
import { startServer, type RunningServer } from '../../server/app';
import { openDatabase, type Database } from '../../server/db/open-database';
import { createEngineClient } from '../../server/inference/engine-client';
import type { EngineClient } from '../../server/inference/engine-protocol';
import { makeTempDir } from './support/temp-dir';

let tmp: ReturnType<typeof makeTempDir>;
let engine: EngineClient;
let database: Database;
let server: RunningServer;
const clients: ClientSocket[] = [];

async function connectedClient(): Promise<ClientSocket> {
  const socket = createClientSocket(server.url, { autoConnect: false });
  clients.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
    socket.connect();
  });
  return socket;
}

beforeAll(async () => {
  tmp = makeTempDir('server');
  engine = await createEngineClient({ backend: env().TF_BACKEND });
  database = await openDatabase(join(tmp.dir, 'db'));
  server = await startServer({ port: 0, engine, database });
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server?.close();
  await engine?.close();
  await database?.close();
  tmp?.remove();
});

describe('HTTP', () => {
  it('listens on the free port it was given 0 for', () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('GET /api/health reports the engine backend, its models and a live database', async () => {
    const res = await fetch(`${server.url}/api/health`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const health = HealthSchema.parse(await res.json());
    expect(health.ok).toBe(true);
    expect(health.engine.backend).toBe(engine.info.backend);
    expect(health.engine.tfBackend).toBe(engine.info.tfBackend);
    expect(health.engine.customKernels).toEqual(engine.info.customKernels);
    expect(health.models).toEqual(
      (await engine.models()).map((m) => ({ id: m.id, family: m.family, latentDim: m.latentDim })),
    );
    expect(health.database).toEqual({ kind: 'pglite', ok: true });
    expect(health.version).toBe(APP_VERSION);
  });

  it('GET /api/health says not ok (503) once the database is gone', async () => {
    const tmpDb = makeTempDir('server-db-gone');
    const db = await openDatabase(join(tmpDb.dir, 'db'));
    const other = await startServer({ port: 0, engine, database: db });
    try {
      await db.close();
      const res = await fetch(`${other.url}/api/health`);
      expect(res.status).toBe(503);
      const health = HealthSchema.parse(await res.json());
      expect(health.ok).toBe(false);
      expect(health.database).toEqual({ kind: 'pglite', ok: false });
    } finally {
      await other.close();
      tmpDb.remove();
    }
  });

  it('answers 405 to other methods on /api/health and 404 elsewhere without the web app', async () => {
    const post = await fetch(`${server.url}/api/health`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const missing = await fetch(`${server.url}/nowhere`);
    expect(missing.status).toBe(404);
  });
});

describe('Socket.IO', () => {
  it('H1: two real clients connect and each gets the typed hello ack', async () => {
    const [a, b] = await Promise.all([connectedClient(), connectedClient()]);
    const [resA, resB] = await Promise.all([hello(a), hello(b)]);
    for (const res of [resA, resB]) {
      expect(res).toMatchObject({
        ok: true,
        data: { protocolVersion: PROTOCOL_VERSION, serverVersion: APP_VERSION, engineBackend: engine.info.backend },
      });
      if (res.ok) expect(Math.abs(res.data.serverTime - Date.now())).toBeLessThan(60_000);
    }
    const sockets = await server.io.fetchSockets();
    expect(sockets.filter((s) => s.data.greeted).map((s) => s.id).sort()).toEqual([a.id, b.id].sort());
  });

  it('H2: a client with another protocol version gets protocol-mismatch and is not greeted', async () => {
    const socket = await connectedClient();
    const res = await hello(socket, PROTOCOL_VERSION + 1);
    expect(res).toMatchObject({ ok: false, error: 'protocol-mismatch' });
    const [serverSide] = await server.io.in(socket.id ?? '').fetchSockets();
    expect(serverSide?.data.greeted).toBe(false);
  });

  it('E1: a malformed payload is acked bad-request and the connection stays usable', async () => {
    const socket = await connectedClient();
    // Bypass the typed contract on purpose: this is what a hostile or stale client can send.
    const raw = socket as unknown as Socket;
    for (const payload of [undefined, null, 42, 'hello', { protocolVersion: 'one' }, { protocolVersion: -1 }]) {
      expect(await raw.timeout(5_000).emitWithAck('server:hello', payload)).toMatchObject({
        ok: false,
        error: 'bad-request',
      });
    }
    expect(await hello(socket)).toMatchObject({ ok: true });
  });
});
