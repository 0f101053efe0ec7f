/**
 * The rooms' database access: room rows, hashed capability tokens, the op log and bookmarks.
 * The op log is the source of truth: row 0 holds the initial state, every later row the op and
 * the state it produced, so a room reloads (undo history included) without re-resolving any
 * bookmark or direction an op referred to. Every CHECKPOINT_EVERY versions a row also carries
 * the undo stack, so a load reads from the last checkpoint on, not the whole session.
 * `rooms.state`/`version` mirror the latest row once the room goes idle (evicted) or the server
 * stops: a convenience for reading rooms, never what a load trusts.
 */
import { and, asc, desc, eq, gt, gte, isNull, lt, lte, max, or, sql } from 'drizzle-orm';
import type { Bookmark, HistoryEntry, LatentOp, LatentOpKind, Role } from '../../lib/protocol/rooms';
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

/**
 * Where a room came from, recorded in its first log row (SPEC O15, J7, X2): a branch of another
 * room at a version, a bookmark's state, or an imported export of a room.
 */
export type RoomOrigin =
  | { room: string; version: number }
  | { bookmark: string }
  | { import: { roomId: string; modelId: string; weightsHash: string | null } };

/** One row of the op log as stored in room_ops.op. */
export interface StoredOp {
  kind: LatentOpKind | 'create';
  op?: LatentOp;
  state: StoredState;
  /** The undo stack after this op (oldest first), on checkpoint rows only. */
  undo?: StoredState[];
  /** The redo stack after this op (oldest first), on checkpoint rows written since redo exists. */
  redo?: StoredState[];
  /** On the first row (version 0) of a room that did not start from a random z. */
  origin?: RoomOrigin;
}

/** One row of a room's log as it is read back (history, provenance, export). */
export interface LogRow {
  version: number;
  memberId: string;
  memberName: string | null;
  createdAt: Date;
  entry: StoredOp;
}

/** A bookmark row to write (save, branch copy, import). */
export interface NewBookmark {
  /** Chosen by the database when absent. */
  id?: string;
  roomId: string;
  modelId: string;
  name: string;
  tags: string[];
  z: number[];
  classLabel: number | null;
  psi: number;
  weightsHash: string | null;
  version: number;
  createdBy: string;
  requestId?: string;
  copiedFrom?: string;
  createdAt?: Date;
}

/** A stored bookmark and the one it copies, if any (provenance follows copies to the original). */
export type StoredBookmark = Bookmark & { copiedFrom: string | null };

/** float32, and +0 for -0: what the room holds (SPEC O9); real columns come back as decimals. */
function f32(x: number): number {
  return Math.fround(x) + 0;
}

type BookmarkRow = typeof schema.bookmarks.$inferSelect;

export function toBookmark(row: BookmarkRow): StoredBookmark {
  return {
    id: row.id,
    name: row.name,
    tags: row.tags,
    z: row.z.map(f32),
    classLabel: row.classLabel,
    psi: f32(row.psi),
    modelId: row.modelId,
    weightsHash: row.weightsHash,
    roomId: row.roomId,
    version: row.version,
    createdBy: row.createdBy ?? '',
    createdAt: row.createdAt.toISOString(),
    copiedFrom: row.copiedFrom,
  };
}

/** The wire form of a stored bookmark (without the copy link). */
export function publicBookmark(b: StoredBookmark): Bookmark {
  const { copiedFrom: _copiedFrom, ...bookmark } = b;
  return bookmark;
}

/** A history entry (SPEC O14) of a log row. */
export function toHistoryEntry(row: Pick<LogRow, 'version' | 'memberId' | 'memberName' | 'createdAt'> & { kind: StoredOp['kind']; state: StoredState }): HistoryEntry {
  return {
    version: row.version,
    kind: row.kind,
    by: row.memberId,
    byName: row.memberName,
    at: row.createdAt.toISOString(),
    z: row.state.z,
    psi: row.state.psi,
    classLabel: row.state.classLabel,
    weights: { ...row.state.weights },
  };
}

/** One op of a provenance chain (SPEC B4): which room, version, kind, who, when. */
export interface ProvenanceOp {
  roomId: string;
  version: number;
  kind: StoredOp['kind'];
  by: string;
  byName: string | null;
  at: string;
}

/** Rooms a provenance chain may cross (branches of branches...), a guard against cycles. */
const MAX_PROVENANCE_ROOMS = 64;

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
  bookmarks: Bookmark[];
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

    /**
     * Creates a room in one transaction: its row, its hashed tokens, its log and its bookmarks.
     * A new room's log is one row (version 0: `initial`, and where it came from); an imported
     * room brings its whole log (`log`, versions 0…n, the last row's state is the room's).
     */
    async createRoom(room: {
      id: string;
      name: string;
      modelId: string;
      tokens: { hash: string; role: Role }[];
      initial?: LatentSnapshot;
      origin?: RoomOrigin;
      log?: { version: number; memberId: string; memberName: string | null; createdAt?: Date; entry: StoredOp }[];
      /** Bookmarks of the new room (a branch's copies, an import's); `roomId` is set here. */
      bookmarks?: Omit<NewBookmark, 'roomId'>[];
    }): Promise<Bookmark[]> {
      let log = room.log;
      if (!log) {
        if (!room.initial) throw new Error('createRoom needs an initial state or a log');
        const entry: StoredOp = { kind: 'create', state: toStored(room.initial), ...(room.origin ? { origin: room.origin } : {}) };
        log = [{ version: 0, memberId: 'server', memberName: null, entry }];
      }
      const last = log[log.length - 1];
      if (!last || log[0]?.version !== 0 || last.version !== log.length - 1) throw new Error('a room log must hold versions 0…n');
      const rows = log;
      return db.transaction(async (tx) => {
        await tx.insert(schema.rooms).values({ id: room.id, name: room.name, modelId: room.modelId, state: { ...last.entry.state }, version: last.version });
        await tx.insert(schema.capabilityTokens).values(room.tokens.map((t) => ({ roomId: room.id, tokenHash: t.hash, role: t.role })));
        // Chunks keep each INSERT's parameter count well under PostgreSQL's 65,535.
        for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
          await tx.insert(schema.roomOps).values(
            rows.slice(i, i + INSERT_CHUNK).map((r) => ({
              roomId: room.id,
              version: r.version,
              memberId: r.memberId,
              memberName: r.memberName,
              op: { ...r.entry },
              ...(r.createdAt ? { createdAt: r.createdAt } : {}),
            })),
          );
        }
        const marks = room.bookmarks ?? [];
        const saved: Bookmark[] = [];
        for (let i = 0; i < marks.length; i += INSERT_CHUNK) {
          const inserted = await tx
            .insert(schema.bookmarks)
            .values(marks.slice(i, i + INSERT_CHUNK).map((b) => bookmarkValues({ ...b, roomId: room.id })))
            .returning();
          saved.push(...inserted.map((r) => publicBookmark(toBookmark(r))));
        }
        return saved;
      });
    },

    /** The room's name, model and creation time, or undefined for an unknown room. */
    async roomInfo(roomId: string): Promise<{ id: string; name: string; modelId: string; createdAt: Date } | undefined> {
      const [row] = await db
        .select({ id: schema.rooms.id, name: schema.rooms.name, modelId: schema.rooms.modelId, createdAt: schema.rooms.createdAt })
        .from(schema.rooms)
        .where(eq(schema.rooms.id, roomId));
      return row;
    },

    /**
     * The room, its whole log and its bookmarks as of one moment (one repeatable-read
     * transaction: a bookmark saved meanwhile is either in with its version's op, or not at all).
     */
    async exportSnapshot(roomId: string): Promise<{ room: { id: string; name: string; modelId: string; createdAt: Date }; log: LogRow[]; bookmarks: StoredBookmark[] } | undefined> {
      return db.transaction(
        async (tx) => {
          const [room] = await tx
            .select({ id: schema.rooms.id, name: schema.rooms.name, modelId: schema.rooms.modelId, createdAt: schema.rooms.createdAt })
            .from(schema.rooms)
            .where(eq(schema.rooms.id, roomId));
          if (!room) return undefined;
          const log = await tx
            .select({
              version: schema.roomOps.version,
              memberId: schema.roomOps.memberId,
              memberName: schema.roomOps.memberName,
              createdAt: schema.roomOps.createdAt,
              op: schema.roomOps.op,
            })
            .from(schema.roomOps)
            .where(eq(schema.roomOps.roomId, roomId))
            .orderBy(asc(schema.roomOps.version));
          const bookmarks = await tx
            .select()
            .from(schema.bookmarks)
            .where(eq(schema.bookmarks.roomId, roomId))
            .orderBy(asc(schema.bookmarks.createdAt), asc(schema.bookmarks.id));
          return {
            room,
            log: log.map((r) => ({ version: r.version, memberId: r.memberId, memberName: r.memberName, createdAt: r.createdAt, entry: r.op as unknown as StoredOp })),
            bookmarks: bookmarks.map(toBookmark),
          };
        },
        { isolationLevel: 'repeatable read', accessMode: 'read only' },
      );
    },

    /** A models row (for a model the engine no longer has loaded). */
    async modelRow(id: string): Promise<{ id: string; name: string; family: string } | undefined> {
      const [row] = await db.select({ id: schema.models.id, name: schema.models.name, family: schema.models.family }).from(schema.models).where(eq(schema.models.id, id));
      return row;
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
        .select()
        .from(schema.bookmarks)
        .where(eq(schema.bookmarks.roomId, roomId))
        .orderBy(asc(schema.bookmarks.createdAt), asc(schema.bookmarks.id));
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
        bookmarks: bookmarks.map((b) => publicBookmark(toBookmark(b))),
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
    appendOps(roomId: string, entries: { version: number; memberId: string; memberName?: string | null; entry: StoredOp }[]): Promise<void> {
      if (entries.length === 0) return Promise.resolve();
      const rows = entries.map((e) => ({ roomId, version: e.version, memberId: e.memberId, memberName: e.memberName ?? null, op: { ...e.entry } }));
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

    /**
     * Stores a bookmark. With a `requestId`, a second insert with the same key in the same room
     * creates nothing and answers the first bookmark (`created: false`), whichever process or
     * connection made it (the unique index bookmarks_room_request_idx decides, SPEC B3).
     */
    async insertBookmark(b: NewBookmark): Promise<{ bookmark: Bookmark; created: boolean }> {
      const [row] = await db
        .insert(schema.bookmarks)
        .values(bookmarkValues(b))
        .onConflictDoNothing({ target: [schema.bookmarks.roomId, schema.bookmarks.requestId] })
        .returning();
      if (row) return { bookmark: publicBookmark(toBookmark(row)), created: true };
      const existing = b.requestId === undefined ? undefined : await this.findBookmarkByRequest(b.roomId, b.requestId);
      if (!existing) throw new Error('bookmark insert returned no row');
      return { bookmark: existing, created: false };
    },

    /** The bookmark saved in the room with this idempotency key, if any. */
    async findBookmarkByRequest(roomId: string, requestId: string): Promise<Bookmark | undefined> {
      const [row] = await db
        .select()
        .from(schema.bookmarks)
        .where(and(eq(schema.bookmarks.roomId, roomId), eq(schema.bookmarks.requestId, requestId)));
      return row && publicBookmark(toBookmark(row));
    },

    /** A bookmark by id (a uuid; the caller checks the form), with the bookmark it copies. */
    async getBookmark(id: string): Promise<StoredBookmark | undefined> {
      const [row] = await db.select().from(schema.bookmarks).where(eq(schema.bookmarks.id, id));
      return row && toBookmark(row);
    },

    /** Every bookmark of the room, oldest first. */
    async roomBookmarks(roomId: string): Promise<StoredBookmark[]> {
      const rows = await db
        .select()
        .from(schema.bookmarks)
        .where(eq(schema.bookmarks.roomId, roomId))
        .orderBy(asc(schema.bookmarks.createdAt), asc(schema.bookmarks.id));
      return rows.map(toBookmark);
    },

    /** The state the room had at `version`, from its op log; undefined if the log has no such row. */
    async stateAt(roomId: string, version: number): Promise<StoredState | undefined> {
      const [row] = await db
        .select({ state: sql<StoredState>`${schema.roomOps.op} -> 'state'` })
        .from(schema.roomOps)
        .where(and(eq(schema.roomOps.roomId, roomId), eq(schema.roomOps.version, version)));
      return row?.state;
    },

    /**
     * Log entries with the state each op produced (SPEC O14), newest first: versions below
     * `before` (all when absent), at most `limit`. Reads only the states, not the checkpoints'
     * undo stacks.
     */
    async history(roomId: string, opts: { before?: number; limit: number }): Promise<HistoryEntry[]> {
      const rows = await db
        .select({
          version: schema.roomOps.version,
          memberId: schema.roomOps.memberId,
          memberName: schema.roomOps.memberName,
          createdAt: schema.roomOps.createdAt,
          kind: sql<StoredOp['kind']>`${schema.roomOps.op} ->> 'kind'`,
          state: sql<StoredState>`${schema.roomOps.op} -> 'state'`,
        })
        .from(schema.roomOps)
        .where(and(eq(schema.roomOps.roomId, roomId), opts.before === undefined ? undefined : lt(schema.roomOps.version, opts.before)))
        .orderBy(desc(schema.roomOps.version))
        .limit(opts.limit);
      return rows.map((r) => toHistoryEntry({ ...r, createdAt: new Date(r.createdAt) }));
    },

    /**
     * The ops that led to `version` of the room (SPEC B4), oldest first: its log up to that
     * version and, for a branch, the source room's log up to the branch point before it, and so
     * on. At most `limit` ops, the newest ones (closest to the bookmark); `truncated` says
     * whether older ones were left out.
     */
    async provenance(roomId: string, version: number, limit: number): Promise<{ ops: ProvenanceOp[]; truncated: boolean; origin?: RoomOrigin }> {
      const chain: ProvenanceOp[][] = [];
      let taken = 0;
      let at: { room: string; version: number } | undefined = { room: roomId, version };
      let origin: RoomOrigin | undefined;
      let truncated = false;
      for (let hops = 0; at && hops < MAX_PROVENANCE_ROOMS; hops++) {
        const room = at.room;
        const rows: { version: number; memberId: string; memberName: string | null; createdAt: Date | string; kind: StoredOp['kind']; origin: RoomOrigin | null }[] =
          await db
            .select({
              version: schema.roomOps.version,
              memberId: schema.roomOps.memberId,
              memberName: schema.roomOps.memberName,
              createdAt: schema.roomOps.createdAt,
              kind: sql<StoredOp['kind']>`${schema.roomOps.op} ->> 'kind'`,
              origin: sql<RoomOrigin | null>`${schema.roomOps.op} -> 'origin'`,
            })
            .from(schema.roomOps)
            .where(and(eq(schema.roomOps.roomId, room), lte(schema.roomOps.version, at.version)))
            .orderBy(desc(schema.roomOps.version))
            .limit(limit - taken + 1);
        const kept = rows.slice(0, limit - taken);
        taken += kept.length;
        chain.push(kept.map((r) => ({ roomId: room, version: r.version, kind: r.kind, by: r.memberId, byName: r.memberName, at: new Date(r.createdAt).toISOString() })).reverse());
        if (rows.length > kept.length) {
          truncated = true;
          break;
        }
        const first = rows[rows.length - 1];
        origin = first?.version === 0 ? (first.origin ?? undefined) : undefined;
        at = origin && 'room' in origin ? { room: origin.room, version: origin.version } : undefined;
        if (at && taken >= limit) {
          truncated = true;
          break;
        }
      }
      return { ops: chain.reverse().flat(), truncated, ...(origin ? { origin } : {}) };
    },

    /** A member's row at join: first join kept, last seen and display name updated. */
    async memberJoined(roomId: string, m: { memberId: string; name: string; role: Role }): Promise<void> {
      const now = new Date();
      await db
        .insert(schema.roomMembers)
        .values({ roomId, memberId: m.memberId, displayName: m.name, role: m.role, joinedAt: now, lastSeenAt: now })
        .onConflictDoUpdate({
          target: [schema.roomMembers.roomId, schema.roomMembers.memberId],
          set: { displayName: m.name, role: m.role, lastSeenAt: now },
        });
    },

    /** The member left or dropped: its last-seen time. */
    async memberLeft(roomId: string, memberId: string): Promise<void> {
      await db
        .update(schema.roomMembers)
        .set({ lastSeenAt: new Date() })
        .where(and(eq(schema.roomMembers.roomId, roomId), eq(schema.roomMembers.memberId, memberId)));
    },
  };
}

/** Rows per multi-row INSERT when a room is created with a whole log or many bookmarks. */
const INSERT_CHUNK = 500;

function bookmarkValues(b: NewBookmark): typeof schema.bookmarks.$inferInsert {
  return {
    ...(b.id ? { id: b.id } : {}),
    roomId: b.roomId,
    modelId: b.modelId,
    name: b.name,
    tags: b.tags,
    z: b.z,
    classLabel: b.classLabel,
    psi: b.psi,
    weightsHash: b.weightsHash,
    version: b.version,
    createdBy: b.createdBy,
    requestId: b.requestId ?? null,
    copiedFrom: b.copiedFrom ?? null,
    ...(b.createdAt ? { createdAt: b.createdAt } : {}),
  };
}
