/**
 * Shared set-up of the rooms integration tests: the real server on port 0 over a real engine
 * worker and a fresh database (embedded PGlite in a temporary directory by default, or a scratch
 * PostgreSQL database: ./support/databases.ts), real socket.io-clients, and a recorder that
 * waits on events (never on fixed sleeps).
 */
import { join } from 'node:path';
import { env } from '../../lib/env';
import type { ServerToClientEvents } from '../../lib/protocol/events';
import type { RoomSnapshot } from '../../lib/protocol/rooms';
import { io, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import type { ClientSocket } from '../../lib/realtime/client-socket';
import { createRoom, joinRoom } from '../../lib/realtime/room-client';
import { startServer, type RunningServer } from '../../server/app';
import { openDatabase, type Database } from '../../server/db/open-database';
import { createEngineClient } from '../../server/inference/engine-client';
import type { EngineClient } from '../../server/inference/engine-protocol';
import { BUILTIN_RANDOM_DCGAN_ID } from '../../server/inference/model-registry';
import type { Logger } from '../../server/logger';
import type { DatabaseFixture } from './support/databases';
import { makeTempDir } from './support/temp-dir';

export const MODEL = BUILTIN_RANDOM_DCGAN_ID;
export const LATENT_DIM = 64;
const WAIT_MS = 5_000;

type EventName = keyof ServerToClientEvents;
type Payload<E extends EventName> = Parameters<ServerToClientEvents[E]>[0];

/** A connected client that records every server event it receives, in order. */
export interface TestClient {
  socket: ClientSocket;
  events: { name: EventName; payload: unknown }[];
  /** Recorded payloads of one event. */
  seen<E extends EventName>(name: E): Payload<E>[];
  /** Resolves with the first payload of `name` (already recorded or future) matching `match`. */
  waitFor<E extends EventName>(name: E, match?: (p: Payload<E>) => boolean): Promise<Payload<E>>;
  clear(): void;
}

const EVENTS: EventName[] = [
  'room:member-joined',
  'room:member-left',
  'room:snapshot',
  'latent:state',
  'bookmark:saved',
  'frame',
  'presence:pointer',
  'direction:progress',
  'direction:added',
  'direction:failed',
];

export class Harness {
  /** Scratch space of the test; the default (PGlite) database lives in it, at `dbDir`. */
  readonly tmp = makeTempDir('rooms');
  engine!: EngineClient;
  database!: Database;
  server!: RunningServer;
  private clients: TestClient[] = [];
  /** Everything the server logged, at debug level, as text (tests check tokens never appear). */
  readonly logText: string[] = [];
  private readonly logger: Logger = (() => {
    const at = (level: string) => (msg: string, extra?: unknown) => {
      this.logText.push(`${level} ${msg} ${extra instanceof Error ? `${extra.message} ${extra.stack ?? ''}` : JSON.stringify(extra) ?? ''}`);
    };
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  })();

  /** The database's target (a directory or a postgres:// URL), kept across restarts. */
  private db: { target: string; dispose(): Promise<void> } | undefined;

  /** `fixture`: the database kind to run on (./support/databases.ts); PGlite in `dbDir` by default. */
  constructor(readonly fixture?: DatabaseFixture) {}

  get dbDir(): string {
    return join(this.tmp.dir, 'db');
  }

  get kind(): DatabaseFixture['kind'] {
    return this.fixture?.kind ?? 'pglite';
  }

  async start(): Promise<void> {
    this.engine ??= await createEngineClient({ backend: env().TF_BACKEND });
    this.db ??= this.fixture ? await this.fixture.create() : { target: this.dbDir, dispose: async () => undefined };
    this.database = await openDatabase(this.db.target);
    this.server = await startServer({ port: 0, engine: this.engine, database: this.database, logger: this.logger });
  }

  /** Closes the server and the database, keeping the data directory and the engine. */
  async stopServer(): Promise<void> {
    for (const c of this.clients) c.socket.disconnect();
    this.clients = [];
    await this.server.close();
    await this.database.close();
  }

  async dispose(): Promise<void> {
    if (this.server) await this.stopServer().catch(() => undefined);
    await this.engine?.close();
    await this.db?.dispose();
    this.tmp.remove();
  }

  /** A connected client; `options` (e.g. a short reconnection delay) go to socket.io-client. */
  async client(options: Partial<ManagerOptions & SocketOptions> = {}): Promise<TestClient> {
    const socket: ClientSocket = io(this.server.url, { autoConnect: false, transports: ['websocket', 'polling'], ...options });
    const events: TestClient['events'] = [];
    const waiters: { name: EventName; match: (p: never) => boolean; resolve(p: unknown): void }[] = [];
    for (const name of EVENTS) {
      socket.on(name, (payload: unknown) => {
        events.push({ name, payload });
        for (const w of [...waiters]) {
          if (w.name === name && w.match(payload as never)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve(payload);
          }
        }
      });
    }
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
      socket.connect();
    });
    const client: TestClient = {
      socket,
      events,
      seen: <E extends EventName>(name: E) => events.filter((e) => e.name === name).map((e) => e.payload as Payload<E>),
      waitFor: <E extends EventName>(name: E, match: (p: Payload<E>) => boolean = () => true) => {
        const found = events.find((e) => e.name === name && match(e.payload as Payload<E>));
        if (found) return Promise.resolve(found.payload as Payload<E>);
        return new Promise<Payload<E>>((resolve, reject) => {
          const waiter = { name, match: match as (p: never) => boolean, resolve: resolve as (p: unknown) => void };
          waiters.push(waiter);
          setTimeout(() => {
            if (!waiters.includes(waiter)) return;
            waiters.splice(waiters.indexOf(waiter), 1);
            reject(new Error(`timed out waiting for ${name}`));
          }, WAIT_MS);
        });
      },
      clear: () => void events.splice(0),
    };
    this.clients.push(client);
    return client;
  }

  /** A new room: its id and tokens. */
  async room(model: string = MODEL): Promise<{ roomId: string; editorToken: string; viewerToken: string }> {
    const c = await this.client();
    const res = await createRoom(c.socket, model);
    c.socket.disconnect();
    if (!res.ok) throw new Error(`room:create failed: ${res.error}`);
    return res.data;
  }

  /** A client joined to the room (editor unless a viewer token is given). */
  async member(roomId: string, token: string, name: string): Promise<TestClient & { snapshot: RoomSnapshot }> {
    const c = await this.client();
    const res = await joinRoom(c.socket, { roomId, token, name });
    if (!res.ok) throw new Error(`room:join failed: ${res.error} ${res.message ?? ''}`);
    return Object.assign(c, { snapshot: res.data });
  }
}

/** Float32 rounding of a vector, as the room stores it. */
export function f32(values: ArrayLike<number>): number[] {
  return Array.from(Float32Array.from(values as number[]));
}

export function vector(fill: (i: number) => number): number[] {
  return f32(Array.from({ length: LATENT_DIM }, (_, i) => fill(i)));
}
