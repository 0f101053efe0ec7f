/**
 * The room registry: the only place rooms are created (in the database) and loaded (in memory).
 * Load-or-create and eviction run under a per-room lock, so two members joining an unloaded
 * room at once share one Room, and a join racing the last member's leave waits for the evicted
 * room to settle its writes before loading it again. (After tldraw's socketio-server-example
 * `rooms.ts`.)
 */
import { randomInt } from 'node:crypto';
import { seededNormal } from '../../lib/latent/random';
import type { Member, Role } from '../../lib/protocol/rooms';
import type { EngineClient, ModelSummary } from '../inference/engine-protocol';
import type { Logger } from '../logger';
import { RequestError } from '../realtime/ack';
import { Room, type ModelShape, type RenderFrame, type RoomOutbox } from './room';
import type { LatentSnapshot } from './room-state';
import type { NewBookmark, RoomStore, StoredOp } from './room-store';
import { hashToken, newRoomId, newToken } from './tokens';
import { keyedLock } from './keyed-lock';

export interface RoomRegistryDeps {
  store: RoomStore;
  engine: Pick<EngineClient, 'models'>;
  /** Broadcast paths of a room, by id. */
  outbox(roomId: string): RoomOutbox;
  renderFrame: RenderFrame;
  logger: Logger;
}

export type RoomRegistry = ReturnType<typeof createRoomRegistry>;

/** The tokens of a new room (the only time they exist in clear). */
export interface NewRoomTokens {
  roomId: string;
  editorToken: string;
  viewerToken: string;
}

/** A room to create from an export (server/rooms/room-export.ts checked it against the model). */
export interface RoomImport {
  name: string;
  modelId: string;
  /** Versions 0…n; the first row records where it came from. */
  log: { version: number; memberId: string; memberName: string | null; createdAt: Date; entry: StoredOp }[];
  bookmarks: Omit<NewBookmark, 'roomId'>[];
}

export function createRoomRegistry(deps: RoomRegistryDeps) {
  const rooms = new Map<string, Room>();
  let models: Promise<ModelSummary[]> | undefined;

  /** Runs `fn` after every earlier holder of this room's lock has finished. */
  const withLock = keyedLock();

  async function modelShape(modelId: string): Promise<ModelSummary & ModelShape> {
    // Models load once in the engine; a failed listing is retried on the next call.
    const list = () =>
      (models ??= deps.engine.models().catch((err: unknown) => {
        models = undefined;
        throw err;
      }));
    let model = (await list()).find((m) => m.id === modelId);
    if (!model) {
      // The engine may have loaded a model since the list was read (a training job ended, a model
      // was imported): ask once more before calling the id unknown.
      models = undefined;
      model = (await list()).find((m) => m.id === modelId);
    }
    if (!model) throw new RequestError('not-found', `no model ${modelId}`);
    return { ...model, imageShape: model.imageShape ?? [1, 1, 1] };
  }

  /** A fresh room id and its two tokens, clear and hashed. */
  function mint() {
    const roomId = newRoomId();
    const editorToken = newToken();
    const viewerToken = newToken();
    return {
      tokens: { roomId, editorToken, viewerToken },
      hashes: [
        { hash: hashToken(editorToken), role: 'editor' as const },
        { hash: hashToken(viewerToken), role: 'viewer' as const },
      ],
    };
  }

  /** The state a bookmark names, as a room's first state (SPEC J7). */
  async function bookmarkState(bookmarkId: string, model: ModelSummary & ModelShape): Promise<LatentSnapshot> {
    const b = await deps.store.getBookmark(bookmarkId);
    if (!b) throw new RequestError('not-found', 'no such bookmark');
    if (b.modelId !== model.id) throw new RequestError('bad-request', `that bookmark is of model ${b.modelId}, not ${model.id}`);
    if (b.z.length !== model.latentDim) throw new RequestError('bad-request', `that bookmark has ${b.z.length} values; the model takes ${model.latentDim}`);
    const classLabel = model.numClasses ? (b.classLabel !== null && b.classLabel < model.numClasses ? b.classLabel : 0) : null;
    return { z: Float32Array.from(b.z), psi: b.psi, classLabel, weights: {} };
  }

  return {
    /** The rooms' database access, for the read paths of the HTTP API (bookmarks, export). */
    store: deps.store,

    /** The engine's summary of a loaded model (not-found otherwise). */
    model: modelShape,

    /**
     * Creates a room with a random initial z, or at a bookmark's state (`from`, SPEC J7); returns
     * its tokens (the only time they exist in clear).
     */
    async create(modelId: string, name: string | undefined, from?: { bookmark: string }): Promise<NewRoomTokens> {
      const model = await modelShape(modelId);
      await deps.store.ensureModel(model);
      const initial: LatentSnapshot = from
        ? await bookmarkState(from.bookmark, model)
        : // A conditional model needs a class from the start: the first one.
          { z: seededNormal(randomInt(0, 2 ** 32), model.latentDim), psi: 1, classLabel: model.numClasses ? 0 : null, weights: {} };
      const { tokens, hashes } = mint();
      await deps.store.createRoom({
        id: tokens.roomId,
        name: name ?? 'Untitled room',
        modelId,
        initial,
        ...(from ? { origin: { bookmark: from.bookmark } } : {}),
        tokens: hashes,
      });
      return tokens;
    },

    /**
     * A new room of the same model whose first state is `room`'s state at `version`, with copies
     * of its bookmarks; its log's first row records the source room and version (SPEC O15).
     */
    async branch(room: Room, version: number, name: string | undefined): Promise<NewRoomTokens> {
      const state = await room.stateAt(version);
      const source = await deps.store.roomInfo(room.id);
      const bookmarks = await deps.store.roomBookmarks(room.id);
      const { tokens, hashes } = mint();
      await deps.store.createRoom({
        id: tokens.roomId,
        name: name ?? `${source?.name ?? 'Untitled room'} (branch at ${version})`,
        modelId: room.modelId,
        initial: state,
        origin: { room: room.id, version },
        tokens: hashes,
        bookmarks: bookmarks.map(({ id, roomId: _roomId, copiedFrom: _copiedFrom, createdAt, ...b }) => ({ ...b, copiedFrom: id, createdAt: new Date(createdAt) })),
      });
      return tokens;
    },

    /** Creates a room from a checked export: its log and bookmarks as they were (SPEC X2). */
    async importRoom(plan: RoomImport): Promise<NewRoomTokens> {
      const model = await modelShape(plan.modelId);
      await deps.store.ensureModel(model);
      const { tokens, hashes } = mint();
      await deps.store.createRoom({ id: tokens.roomId, name: plan.name, modelId: plan.modelId, log: plan.log, bookmarks: plan.bookmarks, tokens: hashes });
      return tokens;
    },

    /** The token's id and role in the room; undefined for an unknown room or a dead token. */
    authorize(roomId: string, token: string): Promise<{ tokenId: string; role: Role } | undefined> {
      return deps.store.findToken(roomId, hashToken(token));
    },

    isTokenLive(tokenId: string): Promise<boolean> {
      return deps.store.isTokenLive(tokenId);
    },

    /** Revokes the room's `role` link and mints its replacement (SPEC J6). */
    async revoke(roomId: string, role: Role): Promise<{ token: string; tokenId: string; revoked: string[] }> {
      const token = newToken();
      const { revoked, tokenId } = await deps.store.rotateToken(roomId, role, hashToken(token));
      return { token, tokenId, revoked };
    },

    /**
     * Loads the room if needed (under its lock) and adds the member. `socketId`, the member's
     * socket, is for cluster mode (server/cluster), where the room may live on another node.
     */
    join(roomId: string, member: { memberId: string; name: string; role: Role; socketId?: string }): Promise<{ room: Room; member: Member }> {
      return withLock(roomId, async () => {
        let room = rooms.get(roomId);
        if (!room) {
          const loaded = await deps.store.loadRoom(roomId);
          if (!loaded) throw new RequestError('unauthorized', 'no such room or token');
          const model = await modelShape(loaded.modelId);
          room = new Room(loaded, model, { store: deps.store, outbox: deps.outbox(roomId), renderFrame: deps.renderFrame, logger: deps.logger });
          rooms.set(roomId, room);
        }
        const added = room.addMember(member.memberId, member.name, member.role);
        // The member's row (first join, last seen) is a record, not state: a failed write is logged.
        await deps.store.memberJoined(roomId, member).catch((err: unknown) => deps.logger.warn(`room ${roomId}: could not write member ${member.memberId}`, err));
        return { room, member: added };
      });
    },

    /** Removes the member; the last one out evicts the room once its writes and renders settle. */
    leave(roomId: string, memberId: string): Promise<boolean> {
      return withLock(roomId, async () => {
        const room = rooms.get(roomId);
        if (!room || !room.removeMember(memberId)) return false;
        await deps.store.memberLeft(roomId, memberId).catch((err: unknown) => deps.logger.warn(`room ${roomId}: could not write member ${memberId}`, err));
        if (room.members.size === 0) {
          await room.settle();
          rooms.delete(roomId);
        }
        return true;
      });
    },

    /**
     * Drops a room from memory without writing anything: this node lost the right to write it
     * (cluster mode, server/cluster: its lease went to another node). Its members stay members
     * of the room, now served by the new owner.
     */
    forget(roomId: string): Room | undefined {
      const room = rooms.get(roomId);
      rooms.delete(roomId);
      return room;
    },

    get(roomId: string): Room | undefined {
      return rooms.get(roomId);
    },

    /** Ids of the rooms in memory (tests check eviction with it). */
    loadedIds(): string[] {
      return [...rooms.keys()];
    },

    /** Waits for every lock holder and every room's writes and renders (shutdown). */
    async settle(): Promise<void> {
      await withLock.settle();
      await Promise.all([...rooms.values()].map((r) => r.settle()));
    },
  };
}
