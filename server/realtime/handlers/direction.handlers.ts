/**
 * The `direction:*` domain (SPEC D1–D7): discovery jobs asked for from a room, their progress
 * and results broadcast to rooms, and the per-latent steer, whose result goes through the room's
 * normal op path (a `steer` op: acked with its version, broadcast as `latent:state`, in the op
 * log, undoable). The tensor work is the directions worker's (server/directions). In cluster mode
 * (SPEC C7, C8) a job runs on the node of the member who asked, the steer on the room's owner,
 * and stored directions reach the rooms of every node.
 */
import { DirectionDiscoverRequestSchema, DirectionSteerRequestSchema, type DirectionDiscoverResponse, type DirectionSteerResponse } from '../../../lib/protocol/directions';
import { DirectionInputError, type DirectionsService } from '../../directions/service';
import { handleRequest, RequestError } from '../ack';
import { roomChannel, type DirectionWithVector, type RealtimeContext, type RealtimeSocket } from '../create-realtime-server';
import { joinedRoom } from './room.handlers';

/** A DirectionInputError as the socket's closed error codes say it (E1, E5, E7). */
function asRequestError(err: unknown): unknown {
  if (!(err instanceof DirectionInputError)) return err;
  return new RequestError(err.status === 404 ? 'not-found' : err.status === 429 ? 'rate-limited' : 'bad-request', err.message);
}

export interface DirectionRealtime {
  register(socket: RealtimeSocket): void;
  /**
   * Makes a stored direction usable in every live room of its model that this server holds,
   * and tells their members (D3). Cluster mode calls it for directions other nodes stored.
   */
  announce(modelId: string, direction: DirectionWithVector): void;
  /** Stops listening to the service (the server is closing). */
  stop(): void;
}

/**
 * A forwarded steer may wait for the directions worker to start and load the model and its
 * classifier, then for up to MAX_STEER_STEPS gradient steps: far longer than an op.
 */
export const STEER_FORWARD_TIMEOUT_MS = 120_000;

/**
 * The directions domain of one realtime server: broadcasts the service's events to the rooms
 * concerned, and registers each socket's handlers. Without a service, requests are refused.
 */
export function createDirectionRealtime(ctx: RealtimeContext, service: DirectionsService | undefined): DirectionRealtime {
  const { io, rooms } = ctx;
  /** Rooms with a steer in flight: one at a time per room (a second is `rate-limited`). */
  const steering = new Set<string>();

  function announce(modelId: string, d: DirectionWithVector): void {
    // Every live room of the model can nudge and weight along it at once (D3).
    const { vector, ...info } = d;
    for (const id of rooms.loadedIds()) {
      const room = rooms.get(id);
      if (room?.modelId === modelId && room.addDirection({ ...info, vector })) io.to(roomChannel(id)).emit('direction:added', { direction: info });
    }
  }

  const stop = service?.listen({
    progress(job) {
      if (!job.roomId || !job.progress) return;
      io.to(roomChannel(job.roomId)).emit('direction:progress', { jobId: job.id, method: job.method, done: job.progress.done, total: job.progress.total });
    },
    added(modelId, d) {
      announce(modelId, d);
      // Cluster mode: the rooms other nodes own get it from them (C8).
      ctx.relayDirection?.(modelId, d);
    },
    failed(job) {
      if (job.roomId) io.to(roomChannel(job.roomId)).emit('direction:failed', { jobId: job.id, message: job.error ?? 'failed' });
    },
  });

  function need(): DirectionsService {
    if (!service) throw new RequestError('bad-request', 'directions are not enabled on this server');
    return service;
  }

  /**
   * The steer, on the node that owns the room (in cluster mode a member elsewhere has it
   * forwarded, C7): the room's z at request time and one steer per room at a time need the
   * room itself.
   */
  const steer = ctx.ownerRequest<DirectionSteerResponse>(
    'direction:steer',
    async (room, memberId, payload) => {
      const parsed = DirectionSteerRequestSchema.safeParse(payload);
      if (!parsed.success) throw new RequestError('bad-request', 'invalid direction:steer request');
      const req = parsed.data;
      const svc = need();
      if (steering.has(room.id)) throw new RequestError('rate-limited', 'a steer is already running in this room');
      steering.add(room.id);
      try {
        // From the room's z at request time (D7); the result replaces z like a set.
        const start = room.latest;
        const result = await svc.steer(room.modelId, start.z, start.classLabel, req);
        // The member may have left while the worker computed: then nothing is applied.
        if (!room.members.has(memberId)) throw new RequestError('not-joined', 'join a room first');
        const version = await room.apply({ kind: 'steer', z: Array.from(result.z), attribute: req.attribute, steps: result.steps }, memberId);
        return { version, steps: result.steps, value: result.value, reached: result.reached };
      } catch (err) {
        throw asRequestError(err);
      } finally {
        steering.delete(room.id);
      }
    },
    { timeoutMs: STEER_FORWARD_TIMEOUT_MS },
  );

  return {
    announce,
    stop: () => stop?.(),
    register(socket) {
      const { logger } = ctx.deps;
      socket.on(
        'direction:discover',
        handleRequest('direction:discover', DirectionDiscoverRequestSchema, logger, async (req): Promise<DirectionDiscoverResponse> => {
          const { room } = joinedRoom(socket, ctx, 'editor');
          try {
            const job = await need().submit(room.modelId, req, { roomId: room.id });
            return { jobId: job.id };
          } catch (err) {
            throw asRequestError(err);
          }
        }),
      );

      socket.on(
        'direction:steer',
        handleRequest('direction:steer', DirectionSteerRequestSchema, logger, (req): Promise<DirectionSteerResponse> => {
          const { room, memberId } = joinedRoom(socket, ctx, 'editor');
          return steer(room, memberId, req);
        }),
      );
    },
  };
}
