/** The `latent:*` domain: ops on the room's latent state (SPEC O1–O9, E3–E5). */
import { LatentOpSchema, type LatentOpResponse } from '../../../lib/protocol/rooms';
import { handleRequest, RequestError } from '../ack';
import type { RealtimeContext, RealtimeSocket } from '../create-realtime-server';
import { joinedRoom } from './room.handlers';

export function registerLatentHandlers(socket: RealtimeSocket, ctx: RealtimeContext): void {
  socket.on(
    'latent:op',
    handleRequest('latent:op', LatentOpSchema, ctx.deps.logger, async (op): Promise<LatentOpResponse> => {
      const { room, memberId } = joinedRoom(socket, ctx, 'editor');
      if (op.kind === 'steer') throw new RequestError('bad-request', 'steer ops come from direction:steer'); // SPEC D7
      return { version: await room.apply(op, memberId) };
    }),
  );
}
