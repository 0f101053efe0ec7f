/** The `server:*` domain: the hello handshake (SPEC H1, H2). */
import { HelloRequestSchema, PROTOCOL_VERSION, type HelloResponse } from '../../../lib/protocol/events';
import { handleRequest, RequestError } from '../ack';
import type { RealtimeDeps, RealtimeSocket } from '../create-realtime-server';

export function registerServerHandlers(socket: RealtimeSocket, deps: RealtimeDeps): void {
  socket.on(
    'server:hello',
    handleRequest('server:hello', HelloRequestSchema, deps.logger, (req): HelloResponse => {
      if (req.protocolVersion !== PROTOCOL_VERSION) {
        throw new RequestError(
          'protocol-mismatch',
          `server speaks protocol ${PROTOCOL_VERSION}, client ${req.protocolVersion}: reload the page`,
        );
      }
      socket.data.greeted = true;
      return {
        protocolVersion: PROTOCOL_VERSION,
        serverVersion: deps.version,
        engineBackend: deps.engine.info.backend,
        serverTime: Date.now(),
      };
    }),
  );
}
