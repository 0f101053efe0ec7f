/**
 * Nothing acked is lost when the server is killed (SPEC R3). The real server without Next.js
 * (server/api-entry.ts: API, Socket.IO, engine worker) runs as a child process on a database of
 * its own: embedded PGlite in a temporary data directory, then a scratch PostgreSQL database.
 * Real socket.io clients drive ops and bookmark saves (with idempotency keys) into two rooms;
 * the server is `kill -9`ed at a random moment (mostly under load, sometimes while it starts and
 * recovers), started again, and:
 *   - every join answers a version at least the highest acked, with every acked bookmark;
 *   - every acked op is in the op log at its version with its z, every acked bookmark by id with
 *     its z, which is the z of the state at the version it captured;
 *   - a save retried with the key of one that was never acked makes at most one bookmark;
 *   - the database passes amcheck (bt_index_check with heapallindexed on every index,
 *     verify_heapam on every table) and our own checks: each op log is contiguous from 0,
 *     rooms.state/version is the state of a logged version (and the latest after a clean stop),
 *     every bookmark's room exists.
 * DURABILITY_KILLS sets the number of kills per database (the full run is 200).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { amcheck } from '@electric-sql/pglite/contrib/amcheck';
import pg from 'pg';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { env } from '../../lib/env';
import { mulberry32, seededNormal } from '../../lib/latent/random';
import type { ClientSocket } from '../../lib/realtime/client-socket';
import { createRoom, joinRoom, sendOp } from '../../lib/realtime/room-client';
import { API_READY_LINE } from '../../server/api-ready';
import { describeOnEachDatabase } from './support/databases';
import { saveBookmarkWith } from './support/room-requests';
import { makeTempDir } from './support/temp-dir';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const KILLS = env().DURABILITY_KILLS;
const SEED = 20261203;
const ROOMS = 2;
const LATENT_DIM = 64;
/** Requests each client keeps in flight while the server runs. */
const IN_FLIGHT = 6;
/** One request in this many is a bookmark save. */
const BOOKMARK_EVERY = 6;
/** Longest run under load before the kill, ms (the kill moment is uniform in 0…this). */
const MAX_LOAD_MS = 400;
/** Share of kills that hit the server while it starts (recovery, migrations, model loading). */
const STARTUP_KILL_SHARE = 0.1;
/** Integrity checks run after this many kills, and after the last. */
const CHECK_EVERY = 50;
const START_TIMEOUT_MS = 90_000;

const f32 = (v: ArrayLike<number>) => Array.from(Float32Array.from(v as number[]));
const zOfSeed = (seed: number) => f32(seededNormal(seed, LATENT_DIM));
const sameZ = (a: ArrayLike<number>, b: ArrayLike<number>) => JSON.stringify(f32(a)) === JSON.stringify(f32(b));

/** Raw SQL on the database while the server is down (PGlite in this process, or node-postgres). */
interface Inspector {
  rows<T>(text: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

async function inspect(kind: 'pglite' | 'postgres', target: string): Promise<Inspector> {
  if (kind === 'pglite') {
    const db = await PGlite.create(target, { extensions: { amcheck } });
    return { rows: async <T,>(text: string, params: unknown[] = []) => (await db.query<T>(text, params)).rows, close: () => db.close() };
  }
  const client = new pg.Client({ connectionString: target });
  await client.connect();
  return { rows: async <T,>(text: string, params: unknown[] = []) => (await client.query(text, params)).rows as T[], close: () => client.end() };
}

interface Ledger {
  /** roomId → version → z of every acked op. */
  ops: Map<string, Map<number, number[]>>;
  /** Acked bookmarks: id → room, key and z. */
  bookmarks: Map<string, { roomId: string; requestId: string; z: number[]; version: number }>;
  /** Keys of saves sent but never acked: retried after the restart, and at most one row each. */
  unacked: Map<string, { roomId: string }>;
}

describeOnEachDatabase('durability: kill -9', (fixture) => {
  const tmp = makeTempDir('durability');
  const modelDir = join(tmp.dir, 'models'); // empty: the engine has its built-in model only, and starts fast
  mkdirSync(modelDir, { recursive: true });
  let db: { target: string; dispose(): Promise<void> };
  let child: ChildProcess | undefined;

  // A test run stopped early must not leave a server behind.
  const killChild = () => child?.kill('SIGKILL');
  process.once('exit', killChild);
  beforeAll(async () => {
    db = await fixture.create();
  });
  afterAll(async () => {
    killChild();
    process.off('exit', killChild);
    await db?.dispose();
    tmp.remove();
  });

  /** Spawns the server; resolves with its URL once it listens (`onSpawn` may kill it before). */
  function startServer(): { child: ChildProcess; ready: Promise<string | undefined> } {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'server/api-entry.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        // PGlite: the server's database is DATA_DIR/db, the fixture's directory.
        DATA_DIR: fixture.kind === 'pglite' ? dirname(db.target) : tmp.dir,
        DATABASE_URL: fixture.kind === 'postgres' ? db.target : '',
        MODEL_DIR: modelDir,
        LOG_LEVEL: 'warn',
        RATE_LIMIT_OPS_BURST: '100000',
        RATE_LIMIT_OPS_PER_S: '100000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const ready = new Promise<string | undefined>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`the server did not start in ${START_TIMEOUT_MS} ms:\n${err}`)), START_TIMEOUT_MS);
      proc.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith(API_READY_LINE));
        if (line) {
          clearTimeout(timer);
          resolve(line.slice(API_READY_LINE.length).trim());
        }
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (signal === 'SIGKILL') resolve(undefined);
        else reject(new Error(`the server exited (${code ?? signal}) before it was ready:\n${err}`));
      });
    });
    return { child: proc, ready };
  }

  async function kill(proc: ChildProcess): Promise<void> {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  }

  async function connect(url: string): Promise<ClientSocket> {
    const socket: ClientSocket = io(url, { transports: ['websocket'], reconnection: false, autoConnect: false });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
      socket.connect();
    });
    return socket;
  }

  /** Our consistency checks and amcheck, on the stopped server's database. */
  async function checkDatabase(ledger: Ledger, rooms: { roomId: string }[], opts: { clean: boolean }): Promise<void> {
    const q = await inspect(fixture.kind, db.target);
    try {
      await q.rows('create extension if not exists amcheck');
      const indexes = await q.rows<{ name: string }>(
        `select c.relname as name from pg_index i join pg_class c on c.oid = i.indexrelid join pg_class t on t.oid = i.indrelid
         join pg_namespace n on n.oid = t.relnamespace join pg_am a on a.oid = c.relam where n.nspname = 'public' and a.amname = 'btree'`,
      );
      expect(indexes.length).toBeGreaterThanOrEqual(8);
      for (const { name } of indexes) await q.rows(`select bt_index_check($1::regclass, true)`, [name]);
      const tables = await q.rows<{ name: string }>(`select tablename as name from pg_tables where schemaname = 'public'`);
      for (const { name } of tables) {
        const corrupt = await q.rows(`select * from verify_heapam($1::regclass)`, [name]);
        expect({ table: name, corrupt }).toEqual({ table: name, corrupt: [] });
      }
      await q.rows('drop extension amcheck');

      for (const { roomId } of rooms) {
        const [log] = await q.rows<{ n: number; lo: number; hi: number }>(
          'select count(*)::int as n, min(version) as lo, max(version) as hi from room_ops where room_id = $1',
          [roomId],
        );
        expect({ roomId, contiguous: log!.lo === 0 && log!.n === log!.hi + 1 }).toEqual({ roomId, contiguous: true });
        const [room] = await q.rows<{ version: number; matches: boolean }>(
          `select r.version, r.state = o.op -> 'state' as matches from rooms r join room_ops o on o.room_id = r.id and o.version = r.version where r.id = $1`,
          [roomId],
        );
        expect(room?.matches).toBe(true);
        expect(room!.version).toBeLessThanOrEqual(log!.hi);
        if (opts.clean) expect(room!.version).toBe(log!.hi);

        const acked = ledger.ops.get(roomId)!;
        const rows = await q.rows<{ version: number; kind: string; z: number[] }>(
          `select version, op ->> 'kind' as kind, op -> 'state' -> 'z' as z from room_ops where room_id = $1 and version = any($2::int[])`,
          [roomId, [...acked.keys()]],
        );
        const found = new Map(rows.map((r) => [r.version, r]));
        for (const [version, z] of acked) {
          const row = found.get(version);
          expect({ roomId, version, kind: row?.kind, z: row && sameZ(row.z, z) }).toEqual({ roomId, version, kind: 'random', z: true });
        }
      }
      const marks = await q.rows<{ id: string; room_id: string; request_id: string | null; z: number[]; state_z: number[] | null }>(
        `select b.id, b.room_id, b.request_id, b.z, o.op -> 'state' -> 'z' as state_z from bookmarks b
         left join room_ops o on o.room_id = b.room_id and o.version = b.version`,
      );
      const byId = new Map(marks.map((m) => [m.id, m]));
      for (const [id, b] of ledger.bookmarks) {
        const row = byId.get(id);
        expect({ id, room: row?.room_id, key: row?.request_id, z: row && sameZ(row.z, b.z) }).toEqual({ id, room: b.roomId, key: b.requestId, z: true });
      }
      // Every bookmark names a logged state of its room, and has the z of that state.
      for (const m of marks) expect({ id: m.id, matches: m.state_z !== null && sameZ(m.z, m.state_z) }).toEqual({ id: m.id, matches: true });
      const keys = await q.rows<{ request_id: string; n: number }>(
        'select request_id, count(*)::int as n from bookmarks where request_id is not null group by room_id, request_id having count(*) > 1',
      );
      expect(keys).toEqual([]);
      const orphans = await q.rows('select b.id from bookmarks b left join rooms r on r.id = b.room_id where b.room_id is not null and r.id is null');
      expect(orphans).toEqual([]);
    } finally {
      await q.close();
    }
  }

  it(`R3: ${KILLS} kills at random moments lose no acked op or bookmark, and leave a database that passes its integrity checks`, async () => {
    const rand = mulberry32(SEED + (fixture.kind === 'postgres' ? 1 : 0));
    const ledger: Ledger = { ops: new Map(), bookmarks: new Map(), unacked: new Map() };
    const t0 = Date.now();
    let seed = 1;
    let key = 0;
    let sentOps = 0;
    let ackedOps = 0;
    let startupKills = 0;
    const rooms: { roomId: string; editorToken: string }[] = [];

    for (let k = 0; k < KILLS; k++) {
      const server = startServer();
      if (k > 0 && rand() < STARTUP_KILL_SHARE) {
        // Somewhere in start-up: the database recovering or migrating, models loading, listening.
        await Promise.race([server.ready, new Promise((r) => setTimeout(r, rand() * 3_000))]);
        await kill(server.child);
        await server.ready.catch(() => undefined);
        startupKills += 1;
        continue;
      }
      const url = await server.ready;
      if (!url) throw new Error('the server died before it was ready');
      if (rooms.length === 0) {
        const s = await connect(url);
        for (let i = 0; i < ROOMS; i++) {
          const res = await createRoom(s, 'dcgan-mnist-random');
          if (!res.ok) throw new Error(res.error);
          rooms.push(res.data);
          ledger.ops.set(res.data.roomId, new Map());
        }
        s.disconnect();
      }

      const sockets = await Promise.all(rooms.map(() => connect(url)));
      // After the restart: everything acked is there.
      for (const [i, room] of rooms.entries()) {
        const joined = await joinRoom(sockets[i]!, { roomId: room.roomId, token: room.editorToken, name: `ed${i}` });
        if (!joined.ok) throw new Error(`join failed: ${joined.error}`);
        const acked = ledger.ops.get(room.roomId)!;
        const top = Math.max(0, ...acked.keys());
        expect(joined.data.version).toBeGreaterThanOrEqual(top);
        if (joined.data.version === top && top > 0) expect(sameZ(joined.data.z, acked.get(top)!)).toBe(true);
        const have = new Set(joined.data.bookmarks.map((b) => b.id));
        for (const [id, b] of ledger.bookmarks) if (b.roomId === room.roomId) expect(have.has(id)).toBe(true);
      }
      // Retry the saves whose ack never came: one bookmark each, whether or not the first one committed.
      for (const [requestId, { roomId }] of [...ledger.unacked]) {
        const i = rooms.findIndex((r) => r.roomId === roomId);
        const res = await saveBookmarkWith(sockets[i]!, { name: 'retried', requestId });
        if (!res.ok) throw new Error(`retry refused: ${res.error}`);
        ledger.unacked.delete(requestId);
        ledger.bookmarks.set(res.data.id, { roomId, requestId, z: res.data.z, version: res.data.version });
      }

      // Load, and the kill at a random moment of it.
      let running = true;
      const drivers = sockets.map(async (socket, i) => {
        const roomId = rooms[i]!.roomId;
        const lane = async () => {
          while (running) {
            if (rand() < 1 / BOOKMARK_EVERY) {
              const requestId = `k${k}-${key++}-${fixture.kind}`;
              ledger.unacked.set(requestId, { roomId });
              const res = await saveBookmarkWith(socket, { name: 'under load', requestId }).catch(() => undefined);
              if (res?.ok) {
                ledger.unacked.delete(requestId);
                ledger.bookmarks.set(res.data.id, { roomId, requestId, z: res.data.z, version: res.data.version });
              }
            } else {
              const s = seed++;
              sentOps += 1;
              const res = await sendOp(socket, { kind: 'random', seed: s }).catch(() => undefined);
              if (res?.ok) {
                ackedOps += 1;
                ledger.ops.get(roomId)!.set(res.data.version, zOfSeed(s));
              } else if (res && !res.ok) throw new Error(`op refused: ${res.error}`);
            }
          }
        };
        await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
      });
      await new Promise((r) => setTimeout(r, rand() * MAX_LOAD_MS));
      await kill(server.child);
      running = false;
      // Requests in flight at the kill fail when their sockets close; acks that arrived count.
      for (const s of sockets) s.disconnect();
      await Promise.all(drivers);

      if ((k + 1) % CHECK_EVERY === 0) await checkDatabase(ledger, rooms, { clean: false });
    }

    // A clean start and stop after the last kill: recovery, then the rooms' snapshots catch up.
    const server = startServer();
    const url = await server.ready;
    if (!url) throw new Error('the server died before it was ready');
    const sockets = await Promise.all(rooms.map(() => connect(url)));
    for (const [i, room] of rooms.entries()) {
      const joined = await joinRoom(sockets[i]!, { roomId: room.roomId, token: room.editorToken, name: 'last' });
      expect(joined.ok).toBe(true);
    }
    for (const [requestId, { roomId }] of [...ledger.unacked]) {
      const res = await saveBookmarkWith(sockets[rooms.findIndex((r) => r.roomId === roomId)]!, { name: 'retried', requestId });
      if (!res.ok) throw new Error(`retry refused: ${res.error}`);
      ledger.unacked.delete(requestId);
      ledger.bookmarks.set(res.data.id, { roomId, requestId, z: res.data.z, version: res.data.version });
    }
    const stopped = new Promise<number | null>((r) => server.child.once('exit', (code) => r(code)));
    server.child.kill('SIGTERM');
    expect(await stopped).toBe(0);
    for (const s of sockets) s.disconnect();
    await checkDatabase(ledger, rooms, { clean: true });

    const seconds = (Date.now() - t0) / 1000;
    console.log(
      `[durability ${fixture.kind}] ${KILLS} kills (${startupKills} during start-up) in ${seconds.toFixed(1)} s: ` +
        `${sentOps} ops sent, ${ackedOps} acked, ${ledger.bookmarks.size} bookmarks acked, all present; integrity checks passed`,
    );
    expect(ackedOps).toBeGreaterThan(0);
    expect(ledger.bookmarks.size).toBeGreaterThan(0);
  }, 60 * 60_000);
});
