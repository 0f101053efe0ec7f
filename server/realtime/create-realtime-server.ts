/**
 * The Socket.IO server, attached to the one HTTP server that also serves Next.js. Dependencies
 * are injected so integration tests can start the real thing on port 0; handlers are registered
 * per domain from ./handlers.
 */
import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type {
  ClientToServerEvents,
  InterServerEvents,
  ServerToClientEvents,
  SocketData,
} from '../../lib/protocol/events';
import type { EngineClient } from '../inference/engine-protocol';
import type { Logger } from '../logger';
import { registerServerHandlers } from './handlers/server.handlers';

export type RealtimeServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type RealtimeSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface RealtimeDeps {
  /** Only `info` is read on the realtime thread; tensor work stays in the engine worker. */
  engine: Pick<EngineClient, 'info'>;
  logger: Logger;
  /** Application version reported at hello. */
  version: string;
}

/** Largest inbound message. Latent vectors are small; frames go the other way. */
const MAX_INBOUND_BYTES = 64 * 1024;

export function createRealtimeServer(httpServer: HttpServer, deps: RealtimeDeps): RealtimeServer {
  const io: RealtimeServer = new Server(httpServer, {
    serveClient: false,
    maxHttpBufferSize: MAX_INBOUND_BYTES,
  });
  io.on('connection', (socket) => {
    socket.data.greeted = false;
    deps.logger.debug(`socket ${socket.id} connected`);
    registerServerHandlers(socket, deps);
    socket.on('disconnect', (reason) => deps.logger.debug(`socket ${socket.id} disconnected: ${reason}`));
  });
  return io;
}
