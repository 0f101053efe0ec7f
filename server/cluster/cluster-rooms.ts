/**
 * The room registry of a cluster node: the node-local registry (server/rooms/registry.ts) for
 * the rooms whose lease this node holds, and RemoteRoom stand-ins for rooms owned elsewhere.
 *
 * - join: the room's lease decides. Free: this node takes it and loads the room from the
 *   database. Held by another node: the join goes to that node, which adds the member and
 *   answers the snapshot. Held by a node that is gone: its lease is broken and this node takes
 *   the room over.
 * - requests on a joined room from a member on a non-owner node go to the owner (the owner's
 *   methods below: ops, bookmark saves, history pages, a branch's state; and the requests other
 *   domains register through `ownerRequest`, such as a steer); its answer (or its RequestError
 *   code) becomes the ack. Ops from one node arrive at the owner in the order they were sent
 *   (one pub/sub channel) and are applied in arrival order.
 * - broadcasts: latent:state, bookmark:saved, member and direction:* events go through the
 *   Socket.IO adapter (Redis Streams) like any room broadcast; frames and pointers, which are
 *   delivered newest-wins per socket, are relayed to the other nodes (serverSideEmit) and each
 *   node delivers them to its own sockets; a direction stored on one node is relayed to the
 *   others, each adding it to the rooms it owns.
 * - ownership moves: when the owner dies or loses its lease, the next request for the room (a
 *   forwarded op, a join) routes it again; the node that takes it loads it from the database,
 *   adds its own members, sends them a fresh `room:snapshot`, and announces itself so other
 *   nodes move their members to it.
 */
import type { z } from 'zod';
import { ERROR_CODES, type ErrorCode } from '../../lib/protocol/events';
import {
  BookmarkSaveRequestSchema,
  LatentOpSchema,
  RoomHistoryRequestSchema,
  VersionSchema,
  type FrameBroadcast,
  type Member,
  type PointerBroadcast,
  type Role,
  type RoomSnapshot,
} from '../../lib/protocol/rooms';
import type { Logger } from '../logger';
import { RequestError } from '../realtime/ack';
import { roomChannel, type ClusterAttachment, type OwnerRun, type RealtimeServer, type RealtimeSocket } from '../realtime/create-realtime-server';
import type { RoomRegistry } from '../rooms/registry';
import type { ModelShape, Room } from '../rooms/room';
import { toStored } from '../rooms/room-store';
import type { LeaseOwner, RoomLeases } from './leases';
import { NodeGoneError, RpcFailed, type NodeRpc, type RpcHandler } from './node-rpc';
import { RemoteRoom } from './remote-room';
import { keyedLock } from '../rooms/keyed-lock';

/** A forwarded request gives up before the client's own 5 s request timeout (lib/realtime/room-client.ts). */
export const FORWARD_TIMEOUT_MS = 4_000;
/** Times a request is routed again after the owner moved or died, before it fails. */
const MAX_REROUTES = 4;

export interface MemberInfo {
  memberId: string;
  name: string;
  role: Role;
  /** The member's socket, on whichever node: the owner joins it to the room's channel. */
  socketId?: string;
}

/** A room request a non-owner forwards, as the owner runs it. */
interface OwnerMethod {
  /**
   * True: a member's request, refused for a member the owner does not have. False: a read of
   * what the room's members have been told (history, a past state), which the asking node has
   * already checked its member may make.
   */
  member: boolean;
  /** How long a forwarded call may take. */
  timeoutMs: number;
  /** On the owner. Arguments arrive as JSON and are parsed again; the answer goes back as JSON. */
  run(room: Room, memberId: string, args: unknown[]): Promise<unknown>;
}

/** A forwarded argument checked against its schema: the RPC is a boundary too. */
function parseArg<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new RequestError('bad-request', 'invalid forwarded request');
  return parsed.data;
}

/** The Room methods handlers call on a joined room that a RemoteRoom forwards (./remote-room.ts). */
function roomMethods(): Map<string, OwnerMethod> {
  const member = (run: OwnerMethod['run']): OwnerMethod => ({ member: true, timeoutMs: FORWARD_TIMEOUT_MS, run });
  const read = (run: OwnerMethod['run']): OwnerMethod => ({ member: false, timeoutMs: FORWARD_TIMEOUT_MS, run });
  return new Map([
    ['apply', member((room, memberId, [op]) => room.apply(parseArg(LatentOpSchema, op), memberId))],
    ['saveBookmark', member((room, memberId, [req]) => room.saveBookmark(parseArg(BookmarkSaveRequestSchema, req), memberId))],
    ['readHistory', read((room, _memberId, [opts]) => room.readHistory(parseArg(RoomHistoryRequestSchema, opts)))],
    // A LatentSnapshot's z is a Float32Array: sent as the op log stores it.
    ['stateAt', read(async (room, _memberId, [version]) => toStored(await room.stateAt(parseArg(VersionSchema, version))))],
  ]);
}

/** A frame inside an RPC answer (JSON): its PNG as base64. */
interface WireFrame extends Omit<FrameBroadcast, 'data'> {
  data: string;
}

interface JoinReply {
  member: Member;
  snapshot: RoomSnapshot;
  frame: WireFrame | null;
  modelId: string;
  model: ModelShape;
}

const toWire = (f: FrameBroadcast): WireFrame => ({ ...f, data: Buffer.from(f.data instanceof ArrayBuffer ? new Uint8Array(f.data) : f.data).toString('base64') });
const fromWire = (f: WireFrame): FrameBroadcast => ({ ...f, data: Buffer.from(f.data, 'base64') });

function failureCode(err: unknown): string | undefined {
  return err instanceof RpcFailed ? err.failure.code : undefined;
}

/** An owner's answer as this node's ack: its RequestError codes pass through, anything else is internal. */
function asRequestError(err: unknown): unknown {
  const code = failureCode(err);
  if (code && code !== 'internal' && (ERROR_CODES as readonly string[]).includes(code)) {
    return new RequestError(code as Exclude<ErrorCode, 'internal'>, err instanceof Error ? err.message : code);
  }
  return err;
}

/** Runs `fn` on the owner side and carries a RequestError back as data. */
async function asRpcResult<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof RequestError) throw new RpcFailed({ code: err.code, message: err.message });
    throw err;
  }
}

export interface ClusterRooms extends ClusterAttachment {
  rooms: RoomRegistry;
  /** RPC methods other nodes call on this one. */
  handlers: Record<string, RpcHandler>;
  /** Sends an owner's frame / a member's pointer to the other nodes. */
  relayFrame(roomId: string, frame: FrameBroadcast): void;
  relayPointer(roomId: string, pointer: PointerBroadcast): void;
  /** This node must stop writing the room (lease lost, or a write was fenced). */
  lost(roomId: string): void;
  /** Rooms this node serves through another node (tests). */
  remoteIds(): string[];
}

export function createClusterRooms(opts: {
  io: RealtimeServer;
  local: RoomRegistry;
  leases: RoomLeases;
  rpc: Pick<NodeRpc, 'call'>;
  nodeId: string;
  logger: Logger;
  /** Delivers to this node's sockets in the room, newest-wins. */
  deliverFrame(roomId: string, frame: FrameBroadcast): void;
  deliverPointer(roomId: string, pointer: PointerBroadcast): void;
}): ClusterRooms {
  const { io, local, leases, rpc, nodeId, logger } = opts;
  const remotes = new Map<string, RemoteRoom>();
  const methods = roomMethods();

  /** Join, leave and moves of one room run one at a time on this node. */
  const withLock = keyedLock();

  function localSockets(roomId: string): RealtimeSocket[] {
    const out: RealtimeSocket[] = [];
    for (const id of io.sockets.adapter.rooms.get(roomChannel(roomId)) ?? []) {
      const socket = io.sockets.sockets.get(id);
      if (socket) out.push(socket);
    }
    return out;
  }

  /** Where the room lives: here (lease held or just taken) or at the lease holder. */
  async function route(roomId: string): Promise<'local' | LeaseOwner> {
    for (;;) {
      if (leases.holds(roomId)) return 'local';
      const owner = await leases.owner(roomId);
      if (!owner) {
        if (await leases.acquire(roomId)) return 'local';
        continue; // another node took it meanwhile: ask again
      }
      // A lease in this node's name that it no longer keeps (it dropped the room): stale.
      if (owner.nodeId === nodeId) {
        await leases.breakLease(roomId, owner);
        continue;
      }
      return owner;
    }
  }

  /** Whether a failed call to `owner` means the room should be routed again. */
  async function shouldReroute(err: unknown, roomId: string, owner: LeaseOwner | undefined): Promise<boolean> {
    if (err instanceof NodeGoneError) {
      if (owner && (await leases.breakLease(roomId, owner))) logger.warn(`room ${roomId}: owner ${owner.nodeId} is gone; taking the room over`);
      return true;
    }
    if (failureCode(err) === 'moved') {
      await new Promise((r) => setTimeout(r, 20));
      return true;
    }
    return false;
  }

  /** The room is (now) owned here: load it, adding this node's members it had through a remote. */
  async function joinLocal(roomId: string, member: MemberInfo | undefined): Promise<{ room: Room; member: Member } | undefined> {
    const remote = remotes.get(roomId);
    remotes.delete(roomId);
    const loadedBefore = local.get(roomId) !== undefined;
    let joined: { room: Room; member: Member } | undefined;
    try {
      for (const m of remote?.members.values() ?? []) {
        if (m.memberId !== member?.memberId) await local.join(roomId, { memberId: m.memberId, name: m.name, role: m.role });
      }
      if (member) joined = await local.join(roomId, member);
    } catch (err) {
      if (!local.get(roomId)) await leases.release(roomId).catch(() => undefined);
      throw err;
    }
    const room = local.get(roomId);
    if (remote && room) {
      // The owner changed under these members: what they were told may be behind the op log
      // (the old owner may have written ops it never broadcast). A snapshot resets them.
      for (const socket of localSockets(roomId)) {
        const m = socket.data.membership;
        if (m && m.memberId !== member?.memberId && room.members.has(m.memberId)) socket.emit('room:snapshot', room.snapshot(m.memberId, m.role));
      }
    }
    if (!loadedBefore) io.serverSideEmit('cluster:owner', roomId, nodeId);
    return joined;
  }

  async function joinAt(owner: LeaseOwner, roomId: string, member: MemberInfo): Promise<{ room: RemoteRoom; member: Member; snapshot: RoomSnapshot }> {
    const reply = (await rpc.call(owner.nodeId, 'join', { roomId, member }, FORWARD_TIMEOUT_MS)) as JoinReply;
    let remote = remotes.get(roomId);
    if (!remote) {
      remote = new RemoteRoom(roomId, reply.modelId, reply.model, owner, forward);
      remotes.set(roomId, remote);
    }
    remote.owner = owner;
    remote.members.set(reply.member.memberId, reply.member);
    if (reply.frame) remote.offerFrame(fromWire(reply.frame));
    return { room: remote, member: reply.member, snapshot: reply.snapshot };
  }

  function join(roomId: string, member: MemberInfo): Promise<{ room: Room; member: Member }> {
    return withLock(roomId, async () => {
      for (let attempt = 0; ; attempt++) {
        const where = await route(roomId);
        if (where === 'local') return (await joinLocal(roomId, member))!;
        try {
          const joined = await joinAt(where, roomId, member);
          joined.room.keepSnapshot(joined.snapshot);
          return { room: joined.room.asRoom(), member: joined.member };
        } catch (err) {
          if (attempt < MAX_REROUTES && (await shouldReroute(err, roomId, where))) continue;
          throw asRequestError(err);
        }
      }
    });
  }

  async function leaveLocal(roomId: string, memberId: string): Promise<boolean> {
    const left = await local.leave(roomId, memberId);
    // Evicted (last member out): free the lease so the next join loads it anywhere at once.
    if (!local.get(roomId) && leases.holds(roomId)) await leases.release(roomId);
    return left;
  }

  function leave(roomId: string, memberId: string): Promise<boolean> {
    return withLock(roomId, async () => {
      if (local.get(roomId)) return leaveLocal(roomId, memberId);
      const remote = remotes.get(roomId);
      if (!remote?.members.delete(memberId)) return false;
      if (remote.members.size === 0) remotes.delete(roomId);
      if (remote.owner) {
        try {
          await rpc.call(remote.owner.nodeId, 'leave', { roomId, memberId }, FORWARD_TIMEOUT_MS);
        } catch (err) {
          // A gone owner has nothing to remove; its successor never had this member.
          if (!(err instanceof NodeGoneError) && failureCode(err) !== 'moved') logger.warn(`room ${roomId}: forwarded leave failed`, err);
        }
      }
      return true;
    });
  }

  /**
   * The owner of a room this node serves remotely died, moved, or is unknown: route it again and
   * move this node's members to wherever it lives now (here, or the new owner).
   */
  function reroute(roomId: string, from: LeaseOwner | undefined): Promise<void> {
    return withLock(roomId, async () => {
      const remote = remotes.get(roomId);
      if (!remote || (from && remote.owner && remote.owner.token !== from.token)) return; // moved already
      for (let attempt = 0; ; attempt++) {
        const where = await route(roomId);
        if (where === 'local') {
          await joinLocal(roomId, undefined);
          return;
        }
        try {
          for (const socket of localSockets(roomId)) {
            const m = socket.data.membership;
            if (!m || !remote.members.has(m.memberId)) continue;
            const joined = await joinAt(where, roomId, { memberId: m.memberId, name: m.name, role: m.role, socketId: socket.id });
            socket.emit('room:snapshot', { ...joined.snapshot, role: m.role });
          }
          return;
        } catch (err) {
          if (attempt < MAX_REROUTES && (await shouldReroute(err, roomId, where))) continue;
          throw err;
        }
      }
    });
  }

  /**
   * A room request: run here when this node owns the room (it may have taken it over since the
   * handler looked), otherwise sent to the owner; routed again if the owner is gone or moved.
   */
  async function forward(roomId: string, name: string, memberId: string | undefined, args: unknown[]): Promise<unknown> {
    const method = methods.get(name);
    if (!method) throw new Error(`${name} is not a room request`);
    if (method.member && memberId === undefined) throw new Error(`${name} needs the asking member`);
    const isMember = (members: Map<string, unknown>) => memberId === undefined || members.has(memberId);
    for (let attempt = 0; ; attempt++) {
      const room = local.get(roomId);
      if (room && leases.holds(roomId)) {
        if (!isMember(room.members)) throw new RequestError('not-joined', 'join a room first');
        return method.run(room, memberId ?? '', args);
      }
      const remote = remotes.get(roomId);
      if (!remote || !isMember(remote.members)) throw new RequestError('not-joined', 'join a room first');
      const owner = remote.owner;
      try {
        if (!owner) throw new RpcFailed({ code: 'moved' });
        return await rpc.call(owner.nodeId, 'room', { roomId, method: name, memberId, args }, method.timeoutMs);
      } catch (err) {
        if (attempt >= MAX_REROUTES) throw asRequestError(err);
        if (err instanceof NodeGoneError && err.delivered) {
          // The owner died holding this request: it may have applied it (and written it), so
          // sending it again could apply it twice. It is refused (never acked); the members
          // follow the room to its next owner for their next requests.
          void reroute(roomId, owner).catch((e: unknown) => logger.error(`room ${roomId}: could not move its members`, e));
          throw new Error(`room ${roomId}: owner ${err.nodeId} died while handling ${name}`);
        }
        if (err instanceof NodeGoneError || failureCode(err) === 'moved') {
          if (err instanceof NodeGoneError && owner) await shouldReroute(err, roomId, owner);
          await reroute(roomId, owner);
          continue;
        }
        if (failureCode(err) === 'not-joined') {
          // The owner does not know this member (it took the room over meanwhile): move the
          // members, then try once more.
          await reroute(roomId, owner);
          continue;
        }
        throw asRequestError(err);
      }
    }
  }

  /** Ownership lost: drop the room here, keep its members here as members of a remote room. */
  function lost(roomId: string): void {
    leases.forget(roomId);
    void withLock(roomId, async () => {
      const room = local.forget(roomId);
      if (!room || remotes.has(roomId)) return;
      const remote = new RemoteRoom(roomId, room.modelId, room.model, undefined, forward);
      for (const socket of localSockets(roomId)) {
        const m = socket.data.membership;
        const member = m && room.members.get(m.memberId);
        if (member) remote.members.set(member.memberId, member);
      }
      if (remote.members.size > 0) remotes.set(roomId, remote);
      logger.warn(`room ${roomId}: no longer owned here; ${remote.members.size} member(s) will follow it`);
    }).then(() => (remotes.has(roomId) ? reroute(roomId, undefined) : undefined))
      .catch((err: unknown) => logger.error(`room ${roomId}: could not move its members`, err));
  }

  const handlers: Record<string, RpcHandler> = {
    join: (payload) =>
      asRpcResult(() =>
        withLock((payload as { roomId: string }).roomId, async (): Promise<JoinReply> => {
          const { roomId, member } = payload as { roomId: string; member: MemberInfo };
          if (!leases.holds(roomId)) throw new RpcFailed({ code: 'moved' });
          const joined = (await joinLocal(roomId, member))!;
          // The member's socket joins the channel here, in the same turn as the snapshot: the
          // join goes into the adapter's stream before any later broadcast of this room, so its
          // node delivers every state after the snapshot's version (a join made by its own node
          // after this answer would miss those broadcast meanwhile).
          if (member.socketId) io.in(member.socketId).socketsJoin(roomChannel(roomId));
          const frame = joined.room.latestFrame;
          return {
            member: joined.member,
            snapshot: joined.room.snapshot(member.memberId, member.role),
            frame: frame ? toWire(frame) : null,
            modelId: joined.room.modelId,
            model: joined.room.model,
          };
        }),
      ),
    leave: (payload) => {
      const { roomId, memberId } = payload as { roomId: string; memberId: string };
      return withLock(roomId, async () => (local.get(roomId) ? leaveLocal(roomId, memberId) : false));
    },
    room: (payload) =>
      asRpcResult(async () => {
        const { roomId, method: name, memberId, args } = payload as { roomId: string; method: string; memberId?: string; args: unknown[] };
        const room = local.get(roomId);
        if (!room || !leases.holds(roomId)) throw new RpcFailed({ code: 'moved' });
        const method = methods.get(name);
        if (!method) throw new RpcFailed({ code: 'internal', message: `${name} is not forwarded` });
        if (method.member && (typeof memberId !== 'string' || !room.members.has(memberId))) throw new RequestError('not-joined', 'not a member of this room');
        return method.run(room, memberId ?? '', args);
      }),
  };

  io.on('cluster:frame', (roomId, frame) => {
    remotes.get(roomId)?.offerFrame(frame);
    opts.deliverFrame(roomId, frame);
  });
  io.on('cluster:pointer', (roomId, pointer) => opts.deliverPointer(roomId, pointer));
  io.on('cluster:owner', (roomId, owner) => {
    const remote = remotes.get(roomId);
    if (remote && remote.owner?.nodeId !== owner) {
      void reroute(roomId, remote.owner).catch((err: unknown) => logger.error(`room ${roomId}: could not follow it to ${owner}`, err));
    }
  });
  io.on('cluster:revoked', (roomId, tokenIds) => {
    const dead = new Set(tokenIds);
    for (const socket of localSockets(roomId)) {
      // disconnect(true) ends the session: a revoked socket cannot come back by recovery (J6).
      if (socket.data.membership && dead.has(socket.data.membership.tokenId)) socket.disconnect(true);
    }
  });

  const rooms: RoomRegistry = {
    ...local,
    join,
    leave,
    get: (roomId) => local.get(roomId) ?? remotes.get(roomId)?.asRoom(),
    async revoke(roomId, role) {
      const result = await local.revoke(roomId, role);
      io.serverSideEmit('cluster:revoked', roomId, result.revoked);
      return result;
    },
  };

  function ownerRequest<T>(name: string, run: OwnerRun<T>, opts?: { timeoutMs?: number }): OwnerRun<T> {
    if (methods.has(name)) throw new Error(`room request ${name} is registered twice`);
    methods.set(name, { member: true, timeoutMs: opts?.timeoutMs ?? FORWARD_TIMEOUT_MS, run: (room, memberId, [p]) => run(room, memberId, p) });
    return (room, memberId, p) => forward(room.id, name, memberId, [p]) as Promise<T>;
  }

  return {
    rooms,
    handlers,
    relayFrame: (roomId, frame) => io.serverSideEmit('cluster:frame', roomId, frame),
    relayPointer: (roomId, pointer) => io.serverSideEmit('cluster:pointer', roomId, pointer),
    ownerRequest,
    // The vector as numbers (float32 values, exact as doubles): the adapter's encoding keeps
    // plain arrays, and the receiver makes a Float32Array of them again.
    relayDirection: (modelId, { vector, ...info }) => io.serverSideEmit('cluster:direction', modelId, { ...info, vector: Array.from(vector) }),
    onDirection: (fn) =>
      io.on('cluster:direction', (modelId, { vector, ...info }) => {
        const v = Float32Array.from(vector);
        // Every node runs the same code; a malformed relay is a bug, never a client's input.
        if (!v.every(Number.isFinite)) return logger.error(`a relayed direction of ${modelId} is not finite; dropped`);
        fn(modelId, { ...info, vector: v });
      }),
    lost,
    remoteIds: () => [...remotes.keys()],
  };
}
