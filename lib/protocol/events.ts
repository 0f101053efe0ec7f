/**
 * The typed Socket.IO contract shared by the server (`new Server<ClientToServerEvents,
 * ServerToClientEvents, InterServerEvents, SocketData>`) and the browser (`Socket<
 * ServerToClientEvents, ClientToServerEvents>`). Rules are in ./SPEC.md; tests name the rule they
 * prove.
 *
 * This first cut carries only the hello handshake; the room protocol comes later and keeps this
 * shape: `domain:verb` names, requests acked with a {@link Result}, payloads parsed with zod.
 */
import { z } from 'zod';

/** Bumped on any incompatible change to the events below. Checked at hello (rule H2). */
export const PROTOCOL_VERSION = 1;

/** Closed set of errors a client can receive; internal errors are never echoed (rule E1). */
export const ERROR_CODES = ['bad-request', 'protocol-mismatch', 'internal'] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * The answer to every acked request.
 * @example { ok: true, data: { protocolVersion: 1, ... } }
 * @example { ok: false, error: 'protocol-mismatch', message: 'server speaks protocol 1' }
 */
export type Result<T> = { ok: true; data: T } | { ok: false; error: ErrorCode; message?: string };

/** Payload of `server:hello`. */
export const HelloRequestSchema = z.object({
  protocolVersion: z.number().int().nonnegative(),
});
export type HelloRequest = z.infer<typeof HelloRequestSchema>;

/** What the server says back to a hello. */
export interface HelloResponse {
  protocolVersion: number;
  /** Application version (package.json). */
  serverVersion: string;
  /** Ladder name of the TF.js backend the engine worker runs on, e.g. `'wasm'`. */
  engineBackend: string;
  /** Server clock in ms since the epoch, for latency display. */
  serverTime: number;
}

export interface ClientToServerEvents {
  /**
   * Handshake and ping: the client states its protocol version, the server acks with its own.
   * @example socket.emit('server:hello', { protocolVersion: PROTOCOL_VERSION }, (res) => ...)
   */
  'server:hello': (req: HelloRequest, ack: (res: Result<HelloResponse>) => void) => void;
}

// The room protocol will add broadcasts here (`room:member-joined`, `latent:state`, ...).
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ServerToClientEvents {}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface InterServerEvents {}

/** Per-socket data kept by the server. */
export interface SocketData {
  /** Set once the socket has completed a hello with a matching protocol version. */
  greeted: boolean;
}
