/**
 * The `room:*` and `bookmark:*` domains: create, join, leave, revoke, history, branch, bookmarks,
 * and membership on disconnect and on a recovered reconnect (SPEC J1–J7, O14, O15, B1–B3, P1, R1).
 */
import { randomBytes } from 'node:crypto';
import { PROTOCOL_VERSION } from '../../../lib/protocol/events';
import {
  BookmarkSaveRequestSchema,
  EmptyRequestSchema,
  RoomBranchRequestSchema,
  RoomCreateRequestSchema,
  RoomHistoryRequestSchema,
  RoomJoinRequestSchema,
  RoomRevokeRequestSchema,
  type Bookmark,
  type RoomCreateResponse,
  type RoomHistoryResponse,
  type RoomRevokeResponse,
  type RoomSnapshot,
} from '../../../lib/protocol/rooms';
import type { Room } from '../../rooms/room';
import { handleRequest, RequestError } from '../ack';
import { roomChannel, type RealtimeContext, type RealtimeSocket } from '../create-realtime-server';

/** The socket's room and membership, or not-joined / forbidden (SPEC E3). */
export function joinedRoom(socket: RealtimeSocket, ctx: RealtimeContext, need: 'member' | 'editor'): { room: Room; memberId: string } {
  const m = socket.data.membership;
  const room = m && ctx.rooms.get(m.roomId);
  if (!m || !room || !room.members.has(m.memberId)) throw new RequestError('not-joined', 'join a room first');
  if (need === 'editor' && m.role !== 'editor') throw new RequestError('forbidden', 'viewers cannot change the room');
  return { room, memberId: m.memberId };
}

async function leaveRoom(socket: RealtimeSocket, ctx: RealtimeContext): Promise<void> {
  const m = socket.data.membership;
  if (!m) return;
  if (await ctx.rooms.leave(m.roomId, m.memberId)) {
    ctx.io.to(roomChannel(m.roomId)).except(socket.id).emit('room:member-left', { memberId: m.memberId });
  }
}

export function registerRoomHandlers(socket: RealtimeSocket, ctx: RealtimeContext): void {
  const { logger } = ctx.deps;

  socket.on(
    'room:create',
    handleRequest('room:create', RoomCreateRequestSchema, logger, (req): Promise<RoomCreateResponse> => ctx.rooms.create(req.modelId, req.name, req.from)),
  );

  socket.on(
    'room:join',
    handleRequest('room:join', RoomJoinRequestSchema, logger, async (req): Promise<RoomSnapshot> => {
      if (req.protocolVersion !== PROTOCOL_VERSION) {
        throw new RequestError('protocol-mismatch', `server speaks protocol ${PROTOCOL_VERSION}, client ${req.protocolVersion}: reload the page`);
      }
      if (socket.data.membership) throw new RequestError('bad-request', 'already in a room: leave it first');
      const grant = await ctx.rooms.authorize(req.roomId, req.token);
      if (!grant) throw new RequestError('unauthorized', 'no such room or token');
      const { role, tokenId } = grant;
      const memberId = `m_${randomBytes(6).toString('base64url')}`;
      const { room, member } = await ctx.rooms.join(req.roomId, { memberId, name: req.name, role, socketId: socket.id });
      if (socket.disconnected) {
        await ctx.rooms.leave(req.roomId, memberId);
        throw new RequestError('not-joined', 'disconnected while joining');
      }
      socket.data.membership = { roomId: req.roomId, memberId, name: req.name, role, tokenId };
      await socket.join(roomChannel(req.roomId));
      socket.to(roomChannel(req.roomId)).emit('room:member-joined', member);
      const frame = room.latestFrame;
      if (frame) ctx.sendFrame(socket, req.roomId, frame);
      return room.snapshot(memberId, role);
    }),
  );

  socket.on(
    'room:leave',
    handleRequest('room:leave', EmptyRequestSchema, logger, async () => {
      const m = socket.data.membership;
      if (!m) throw new RequestError('not-joined', 'not in a room');
      await leaveRoom(socket, ctx);
      socket.data.membership = undefined;
      await socket.leave(roomChannel(m.roomId));
      return {};
    }),
  );

  socket.on(
    'room:revoke',
    handleRequest('room:revoke', RoomRevokeRequestSchema, logger, async (req): Promise<RoomRevokeResponse> => {
      const { room } = joinedRoom(socket, ctx, 'editor');
      const { token, tokenId, revoked } = await ctx.rooms.revoke(room.id, req.role);
      const dead = new Set(revoked);
      // The requester keeps its seat when it revoked its own link: it now holds the new one.
      if (socket.data.membership && dead.has(socket.data.membership.tokenId)) socket.data.membership.tokenId = tokenId;
      for (const id of ctx.io.sockets.adapter.rooms.get(roomChannel(room.id)) ?? []) {
        const other = ctx.io.sockets.sockets.get(id);
        // disconnect(true) ends the session: a revoked socket cannot come back by recovery.
        if (other && other !== socket && other.data.membership && dead.has(other.data.membership.tokenId)) other.disconnect(true);
      }
      return { token };
    }),
  );

  socket.on(
    'room:history',
    handleRequest('room:history', RoomHistoryRequestSchema, logger, async (req): Promise<RoomHistoryResponse> => {
      const { room } = joinedRoom(socket, ctx, 'member');
      return { entries: await room.readHistory(req) };
    }),
  );

  socket.on(
    'room:branch',
    handleRequest('room:branch', RoomBranchRequestSchema, logger, (req): Promise<RoomCreateResponse> => {
      const { room } = joinedRoom(socket, ctx, 'editor');
      return ctx.rooms.branch(room, req.version, req.name);
    }),
  );

  socket.on(
    'bookmark:save',
    handleRequest('bookmark:save', BookmarkSaveRequestSchema, logger, (req): Promise<Bookmark> => {
      const { room, memberId } = joinedRoom(socket, ctx, 'editor');
      return room.saveBookmark(req, memberId);
    }),
  );

  // The membership stays in socket.data: connection-state recovery restores it (SPEC R1).
  socket.on('disconnect', () => {
    void leaveRoom(socket, ctx).catch((err: unknown) => logger.error('leave on disconnect failed', err));
  });
}

/** A socket restored by connection-state recovery re-enters its room and gets a snapshot (R1). */
export async function resumeMembership(socket: RealtimeSocket, ctx: RealtimeContext): Promise<void> {
  const m = socket.data.membership;
  if (!m) return;
  try {
    // A link revoked while this socket was away does not let it back in (SPEC J6).
    if (!(await ctx.rooms.isTokenLive(m.tokenId))) {
      socket.data.membership = undefined;
      socket.disconnect(true);
      return;
    }
    const { room, member } = await ctx.rooms.join(m.roomId, { memberId: m.memberId, name: m.name, role: m.role, socketId: socket.id });
    if (socket.disconnected) {
      await ctx.rooms.leave(m.roomId, m.memberId);
      return;
    }
    socket.to(roomChannel(m.roomId)).emit('room:member-joined', member);
    socket.emit('room:snapshot', room.snapshot(m.memberId, m.role));
    const frame = room.latestFrame;
    if (frame) ctx.sendFrame(socket, m.roomId, frame);
  } catch (err) {
    socket.data.membership = undefined;
    await socket.leave(roomChannel(m.roomId));
    ctx.deps.logger.warn(`could not resume membership in room ${m.roomId}`, err instanceof RequestError ? err.message : err);
  }
}
