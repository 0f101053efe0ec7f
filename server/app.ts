/**
 * Starts the one HTTP server of Latentroom: `/api/health`, Socket.IO and (optionally) the
 * Next.js App Router handler on the same port. Every dependency is passed in, so integration
 * tests start exactly this on port 0 with a real engine client and a temporary database.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HEALTH_PATH } from '../lib/protocol/health';
import { APP_VERSION } from '../lib/version';
import type { Database } from './db/open-database';
import type { DirectionsService } from './directions/service';
import { handleBookmarksApi } from './http/bookmarks';
import { collectHealth } from './http/health';
import { sendJson } from './http/respond';
import { handleDirectionsApi } from './http/directions';
import { handleImportApi } from './http/import';
import { createModelsApi } from './http/models';
import type { PointsService } from './points/service';
import { handleRoomsApi } from './http/rooms';
import { handleTrainingApi, type TrainingEvents } from './http/training';
import type { ImportService } from './import/service';
import type { EngineClient } from './inference/engine-protocol';
import { silentLogger, type Logger } from './logger';
import { corkWritesPerTick } from './realtime/cork-per-tick';
import { createRealtimeServer, type RealtimeCluster, type RealtimeLimits, type RealtimeServer } from './realtime/create-realtime-server';
import type { RoomRegistry } from './rooms/registry';
import type { JobManager } from './training/jobs';

export interface StartServerOptions {
  /** 0 picks a free port; the chosen one is in the returned `url`. */
  port: number;
  host?: string;
  engine: EngineClient;
  database: Database;
  /** Training jobs: serves /api/training-jobs. Omitted: that API answers 404. */
  training?: { jobs: JobManager; events: TrainingEvents };
  /** Model import: serves /api/models/import. Omitted: that API answers 404. */
  imports?: ImportService;
  /**
   * Direction discovery: serves /api/models/:id/directions* and /api/direction-jobs*, and the
   * rooms' `direction:*` events. Omitted: that API answers 404 and rooms refuse those events.
   */
  directions?: DirectionsService;
  /**
   * The models API (/api/models, cards, point clouds, latent images): where the cards live and
   * the point-cloud service. Omitted: /api/models answers from the engine alone, without cards or points.
   */
  models?: { modelDir: string; points?: PointsService };
  logger?: Logger;
  /** Rate limits, payload cap, allowed origins; unset fields take DEFAULT_REALTIME_LIMITS. */
  limits?: Partial<RealtimeLimits>;
  /**
   * Serve the Next.js app from `dir` (dev: compile on demand; otherwise the `.next` build).
   * Omitted: only the API and Socket.IO are served, other paths answer 404.
   */
  next?: { dev: boolean; dir: string };
  /** Cluster mode (server/cluster/start-node.ts): Redis adapter, leases, forwarding. Omitted: one process. */
  cluster?: RealtimeCluster;
}

export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  url: string;
  port: number;
  io: RealtimeServer;
  /** The room registry (tests inspect loading and eviction). */
  rooms: RoomRegistry;
  /**
   * Stops accepting, disconnects sockets, waits for the rooms' pending op-log writes and renders,
   * closes Next.js. The injected engine and database stay open.
   */
  close(): Promise<void>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export async function startServer(opts: StartServerOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const logger = opts.logger ?? silentLogger;
  const healthDeps = { engine: opts.engine, database: opts.database, logger, version: APP_VERSION };
  const modelsApi = createModelsApi({
    engine: opts.engine,
    logger,
    ...(opts.models ? { modelDir: opts.models.modelDir } : {}),
    ...(opts.models?.points ? { points: opts.models.points } : {}),
  });

  // Set once Next.js is prepared; requests that come earlier wait for it.
  let web: Promise<{ handle: Handler; close(): Promise<void> } | undefined> = Promise.resolve(undefined);

  const httpServer = createServer((req, res) => {
    void route(req, res).catch((err: unknown) => {
      logger.error(`${req.method} ${req.url} failed`, err);
      if (!res.headersSent) sendJson(res, 500, { ok: false, error: 'internal' });
      else res.end();
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === HEALTH_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        sendJson(res, 405, { ok: false, error: 'method-not-allowed' });
        return;
      }
      const health = await collectHealth(healthDeps);
      sendJson(res, health.ok ? 200 : 503, health);
      return;
    }
    if (opts.training && (await handleTrainingApi(req, res, path ?? '/', opts.training.jobs, opts.training.events))) return;
    if (opts.directions && (await handleDirectionsApi(req, res, path ?? '/', opts.directions))) return;
    if (await handleBookmarksApi(req, res, path ?? '/', { rooms, engine: opts.engine })) return;
    if (await handleRoomsApi(req, res, path ?? '/', { rooms, engine: opts.engine })) return;
    if (opts.imports && (await handleImportApi(req, res, path ?? '/', opts.imports))) return;
    if (await modelsApi(req, res, path ?? '/')) return;
    const app = await web;
    if (app) await app.handle(req, res);
    else sendJson(res, 404, { ok: false, error: 'not-found' });
  }

  // Each connection's writes of one event-loop turn leave in one syscall (frame fan-out).
  httpServer.on('connection', corkWritesPerTick);

  // Socket.IO claims /socket.io/ requests and upgrades; everything else falls through to `route`.
  const { io, rooms, stop: stopRealtime } = createRealtimeServer(httpServer, {
    engine: opts.engine,
    database: opts.database,
    logger,
    version: APP_VERSION,
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.cluster ? { cluster: opts.cluster } : {}),
    ...(opts.directions ? { directions: opts.directions } : {}),
  });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port, host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  if (opts.next) {
    web = prepareNext({ ...opts.next, hostname: host, port, httpServer });
    try {
      await web;
    } catch (err) {
      await closeHttp();
      throw err;
    }
  }

  async function closeHttp(): Promise<void> {
    await new Promise<void>((resolve) => {
      // io.close() also closes httpServer; its callback waits for open connections to end.
      void io.close(() => resolve());
      httpServer.closeAllConnections();
    });
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    io,
    rooms,
    close: () =>
      (closing ??= (async () => {
        stopRealtime();
        await closeHttp();
        await rooms.settle();
        const app = await web.catch(() => undefined);
        await app?.close();
      })()),
  };
}

async function prepareNext(opts: {
  dev: boolean;
  dir: string;
  hostname: string;
  port: number;
  httpServer: ReturnType<typeof createServer>;
}): Promise<{ handle: Handler; close(): Promise<void> }> {
  // Loaded on demand: API-only servers (integration tests) never pay for Next.js.
  const { default: next } = await import('next');
  const app = next({ dev: opts.dev, dir: opts.dir, hostname: opts.hostname, port: opts.port, httpServer: opts.httpServer });
  await app.prepare();
  const handle = app.getRequestHandler();
  return { handle: (req, res) => handle(req, res), close: () => app.close() };
}
