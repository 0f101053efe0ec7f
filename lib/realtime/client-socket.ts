/**
 * The typed Socket.IO client (generics reversed from the server's). Used by the browser and by
 * the integration tests, so both speak through the same code.
 */
import { io, type Socket } from 'socket.io-client';
import {
  PROTOCOL_VERSION,
  type ClientToServerEvents,
  type HelloResponse,
  type Result,
  type ServerToClientEvents,
} from '../protocol/events';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** How long a hello may take before the client treats the server as unresponsive. */
export const HELLO_TIMEOUT_MS = 5_000;

/** @param url the server's base URL; omitted in the browser (same origin). */
export function createClientSocket(url?: string, opts: { autoConnect?: boolean } = {}): ClientSocket {
  const options = { autoConnect: opts.autoConnect ?? true, transports: ['websocket', 'polling'] };
  return url === undefined ? io(options) : io(url, options);
}

/** Sends `server:hello` (SPEC H1) and resolves with the server's ack. */
export async function hello(socket: ClientSocket, protocolVersion = PROTOCOL_VERSION): Promise<Result<HelloResponse>> {
  return socket.timeout(HELLO_TIMEOUT_MS).emitWithAck('server:hello', { protocolVersion });
}
