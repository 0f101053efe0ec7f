/**
 * The rooms' database access: room rows, hashed capability tokens, the op log and bookmarks.
 * The op log is the source of truth: row 0 holds the initial state, every later row the op and
 * the state it produced, so a room reloads (undo history included) without re-resolving any
 * bookmark or direction an op referred to. Every CHECKPOINT_EVERY versions a row also carries
 * the undo stack, so a load reads from the last checkpoint on, not the whole session.
 * `rooms.state`/`version` mirror the latest row once the room goes idle (evicted) or the server
 * stops: a convenience for reading rooms, never what a load trusts.
 */
import { and, asc, eq, gt, gte, isNull, max, or } from 'drizzle-orm';
import type { LatentOp, LatentOpKind, Role } from '../../lib/protocol/rooms';
import type { Database } from '../db/open-database';
import * as schema from '../db/schema';
import type { ModelSummary } from '../inference/engine-protocol';
import type { LatentSnapshot } from './room-state';

/** JSON form of a state in the op log and rooms.state. */
export interface StoredState {
  z: number[];
  psi: number;
  classLabel: number | null;
  /** Active direction weights; absent when there are none (and in rows written before them). */
  weights?: Record<string, number>;
}

/** One row of the op log as stored in room_ops.op. */
export interface StoredOp {
  kind: LatentOpKind | 'create';
  op?: LatentOp;
  state: StoredState;
  /** The undo stack after this op (oldest first), on checkpoint rows only. */
  undo?: StoredState[];
}

/**
 * Versions that are multiples of this carry a checkpoint. At 100 undo states of 64 floats a
 * checkpoint is ~130 KB of JSON; every 256 ops keeps that under 1 KB per op on average, and
 * bounds a load to 256 rows plus one.
 */
export const CHECKPOINT_EVERY = 256;

export interface LoadedRoom {
  id: string;
  modelId: string;
  /** Rows in version order, from the last checkpoint (version 0, kind 'create', at first). */
  log: { version: number; entry: StoredOp }[];
  bookmarks: { id: string; name: string; z: number[]; createdBy: string | null }[];
  directions: { id: string; name: string; method: string; vector: number[]; meta?: Record<string, unknown>; createdAt?: Date }[];
}

export function toStored(s: LatentSnapshot): StoredState {
  const stored: StoredState = { z: Array.from(s.z), psi: s.psi, classLabel: s.classLabel };
  if (Object.keys(s.weights).length > 0) stored.weights = { ...s.weights };
  return stored;
}

export function fromStored(s: StoredState): LatentSnapshot {
  return { z: Float32Array.from(s.z), psi: s.psi, classLabel: s.classLabel, weights: { ...s.weights } };
}

const MODEL_FAMILIES = schema.modelFamily.enumValues;

/** Not revoked and not expired. */
function live() {
  return and(
    isNull(schema.capabilityTokens.revokedAt),
    or(isNull(schema.capabilityTokens.expiresAt), gt(schema.capabilityTokens.expiresAt, new Date())),
  );
}

export type RoomStore = ReturnType<typeof createRoomStore>;

export function createRoomStore(database: Database) {
  const { db } = database;

  type OpRow = typeof schema.roomOps.$inferInsert;
  const appendQueue: { rows: OpRow[]; resolve(): void; reject(err: unknown): void }[] = [];
  let appending = false;

  async function writeAppends(): Promise<void> {
    appending = true;
    while (appendQueue.length > 0) {
      const group = appendQueue.splice(0);
      try {
        await db.insert(schema.roomOps).values(group.flatMap((g) => g.rows));
        for (const g of group) g.resolve();
      } catch (err) {
        if (group.length === 1) {
          group[0]!.reject(err);
          continue;
        }
        for (const g of group) {
          try {
            await db.insert(schema.roomOps).values(g.rows);
            g.resolve();
          } catch (own) {
            g.reject(own);
          }
        }
      }
    }
    appending = false;
  }

  return {
    /** Makes sure the engine's model has its row (rooms reference it). */
    async ensureModel(model: ModelSummary): Promise<void> {
      const family = MODEL_FAMILIES.find((f) => f === model.family);
      if (!family) throw new Error(`model family ${model.family} is not in the schema`);
      await db
        .insert(schema.models)
        .values({ id: model.id, name: model.id, family, latentDim: model.latentDim, dataset: 'unknown', path: model.id })
        .onConflictDoNothing();
    },

    async createRoom(room: {
      id: string;
      name: string;
      modelId: string;
      initial: LatentSnapshot;
      tokens: { hash: string; role: Role }[];
    }): Promise<void> {
      const state = toStored(room.initial);
      await db.transaction(async (tx) => {
        await tx.insert(schema.rooms).values({ id: room.id, name: room.name, modelId: room.modelId, state: { ...state }, version: 0 });
        await tx.insert(schema.capabilityTokens).values(room.tokens.map((t) => ({ roomId: room.id, tokenHash: t.hash, role: t.role })));
        const entry: StoredOp = { kind: 'create', state };
        await tx.insert(schema.roomOps).values({ roomId: room.id, version: 0, memberId: 'server', op: { ...entry } });
      });
    },

    /** The id and role of a live (not revoked, not expired) token of the room, if any. */
    async findToken(roomId: string, tokenHash: string): Promise<{ tokenId: string; role: Role } | undefined> {
      const [row] = await db
        .select({ id: schema.capabilityTokens.id, role: schema.capabilityTokens.role })
        .from(schema.capabilityTokens)
        .where(and(eq(schema.capabilityTokens.roomId, roomId), eq(schema.capabilityTokens.tokenHash, tokenHash), live()))
        .limit(1);
      if (!row) return undefined;
      return { tokenId: row.id, role: row.role === 'viewer' ? 'viewer' : 'editor' }; // 'owner' is an editor in protocol 1
    },

    async isTokenLive(tokenId: string): Promise<boolean> {
      const n = await db.$count(schema.capabilityTokens, and(eq(schema.capabilityTokens.id, tokenId), live()));
      return n > 0;
    },

    /** Revokes every live token of `role` in the room and stores a new one; returns the revoked ids and the new id. */
    async rotateToken(roomId: string, role: Role, newHash: string): Promise<{ revoked: string[]; tokenId: string }> {
      return db.transaction(async (tx) => {
        const revoked = await tx
          .update(schema.capabilityTokens)
          .set({ revokedAt: new Date() })
          .where(and(eq(schema.capabilityTokens.roomId, roomId), eq(schema.capabilityTokens.role, role), live()))
          .returning({ id: schema.capabilityTokens.id });
        const [row] = await tx
          .insert(schema.capabilityTokens)
          .values({ roomId, tokenHash: newHash, role })
          .returning({ id: schema.capabilityTokens.id });
        if (!row) throw new Error('token insert returned no row');
        return { revoked: revoked.map((r) => r.id), tokenId: row.id };
      });
    },

    async loadRoom(roomId: string): Promise<LoadedRoom | undefined> {
      const [room] = await db.select().from(schema.rooms).where(eq(schema.rooms.id, roomId));
      if (!room) return undefined;
      // The op log, not rooms.version (a snapshot saved when the room goes idle), says how far it goes.
      const [last] = await db
        .select({ version: max(schema.roomOps.version) })
        .from(schema.roomOps)
        .where(eq(schema.roomOps.roomId, roomId));
      const latest = last?.version ?? 0;
      const from = latest - (latest % CHECKPOINT_EVERY);
      const ops = await db
        .select({ version: schema.roomOps.version, op: schema.roomOps.op })
        .from(schema.roomOps)
        .where(and(eq(schema.roomOps.roomId, roomId), gte(schema.roomOps.version, from)))
        .orderBy(asc(schema.roomOps.version));
      const bookmarks = await db
        .select({ id: schema.bookmarks.id, name: schema.bookmarks.name, z: schema.bookmarks.z, createdBy: schema.bookmarks.createdBy })
        .from(schema.bookmarks)
        .where(eq(schema.bookmarks.roomId, roomId))
        .orderBy(asc(schema.bookmarks.createdAt));
      const directions = await db
        .select({
          id: schema.directions.id,
          name: schema.directions.name,
          method: schema.directions.method,
          vector: schema.directions.vector,
          meta: schema.directions.meta,
          createdAt: schema.directions.createdAt,
        })
        .from(schema.directions)
        .where(eq(schema.directions.modelId, room.modelId));
      return {
        id: room.id,
        modelId: room.modelId,
        log: ops.map((r) => ({ version: r.version, entry: r.op as unknown as StoredOp })),
        bookmarks,
        directions,
      };
    },

    /**
     * Appends one room's ops (consecutive versions). Group commit across rooms: a call made
     * while an INSERT is running waits for it, and every call made meanwhile, from any room,
     * goes into the next single multi-row INSERT; an idle store writes at once. No transaction
     * and no rooms update per write: on embedded PGlite an INSERT costs ~1.0 ms against ~2.6 ms
     * for BEGIN, INSERT, UPDATE rooms, COMMIT, and 10 rows in one INSERT ~2.5 ms (measured,
     * 64-float states, when PGlite still ran on the realtime thread; it now has its own,
     * server/db/pglite-worker.mjs, where the same costs bound the op log's write rate). If a merged INSERT fails, each
     * call is retried alone, so one room's bad rows never fail another room's write.
     */
    appendOps(roomId: string, entries: { version: number; memberId: string; entry: StoredOp }[]): Promise<void> {
      if (entries.length === 0) return Promise.resolve();
      const rows = entries.map((e) => ({ roomId, version: e.version, memberId: e.memberId, op: { ...e.entry } }));
      return new Promise<void>((resolve, reject) => {
        appendQueue.push({ rows, resolve, reject });
        if (!appending) void writeAppends();
      });
    },

    /** Mirrors the latest state into rooms.state/version (when a room goes idle or the server stops). */
    async saveSnapshot(roomId: string, version: number, state: StoredState): Promise<void> {
      await db
        .update(schema.rooms)
        .set({ state: { ...state }, version, updatedAt: new Date() })
        .where(eq(schema.rooms.id, roomId));
    },

    async insertBookmark(b: { roomId: string; modelId: string; name: string; z: number[]; createdBy: string }): Promise<string> {
      const [row] = await db
        .insert(schema.bookmarks)
        .values({ roomId: b.roomId, modelId: b.modelId, name: b.name, z: b.z, createdBy: b.createdBy })
        .returning({ id: schema.bookmarks.id });
      if (!row) throw new Error('bookmark insert returned no row');
      return row.id;
    },
  };
}
