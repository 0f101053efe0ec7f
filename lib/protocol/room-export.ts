/**
 * The room export format (SPEC X1, X2): what `GET /api/rooms/:id/export` answers and
 * `POST /api/rooms/import` takes. One JSON document holds a room's state, its whole op log (the
 * state after every op, so the log replays without re-resolving any bookmark or direction) and
 * its bookmarks with their provenance. The schema here checks shapes and bounds; the server
 * checks the rest against the model it has (server/rooms/room-export.ts).
 */
import { z } from 'zod';
import {
  ItemIdSchema,
  LatentOpSchema,
  LatentVectorSchema,
  MAX_CLASSES,
  MAX_STEP,
  PSI_MAX,
  PSI_MIN,
  TagsSchema,
  VersionSchema,
  type Bookmark,
  type HistoryEntry,
  type LatentOp,
  type LatentStateFields,
} from './rooms';

export const ROOM_EXPORT_FORMAT = 'latentroom-room';
export const ROOM_EXPORT_FORMAT_VERSION = 1;
/** Largest import body, bytes: about 12,000 ops of a 64-value model (each state ~700 bytes of JSON). */
export const ROOM_IMPORT_MAX_BYTES = 8 * 1024 * 1024;
/** Bookmarks an import may carry. */
export const ROOM_IMPORT_MAX_BOOKMARKS = 10_000;

const classLabel = z.number().int().min(0).max(MAX_CLASSES - 1).nullable();
const psi = z.number().min(PSI_MIN).max(PSI_MAX);
/** Direction weights: id → weight (each bounded like a `weight` op's). */
const weights = z.record(ItemIdSchema, z.number().min(-MAX_STEP).max(MAX_STEP)).refine((w) => Object.keys(w).length <= 256, 'at most 256 direction weights');
const isoTime = z.iso.datetime({ offset: true });

/** One state: z, psi, class and direction weights. */
export const ExportedStateSchema = z.strictObject({ z: LatentVectorSchema, psi, classLabel, weights });

/** Kinds of log rows: every op kind, and `create` (version 0). */
const LOG_KINDS = ['create', 'set', 'nudge', 'lerp', 'slerp', 'sum', 'random', 'psi', 'class', 'weight', 'steer', 'undo', 'redo', 'revert'] as const;
// Compile-time check that LOG_KINDS is exactly the op kinds plus 'create'.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const LOG_KINDS_MATCH: Same<(typeof LOG_KINDS)[number], LatentOp['kind'] | 'create'> = true;
void LOG_KINDS_MATCH;

/** One row of the op log: the op (absent on version 0, kind `create`) and the state it produced. */
export const ExportedLogEntrySchema = z.strictObject({
  version: VersionSchema,
  kind: z.enum(LOG_KINDS),
  by: z.string().min(1).max(64),
  byName: z.string().max(100).nullable(),
  at: isoTime,
  op: LatentOpSchema.optional(),
  state: ExportedStateSchema,
  /** Where the exported room came from (informational: an import records its own origin). */
  origin: z.unknown().optional(),
});

export const ExportedBookmarkSchema = z.strictObject({
  id: z.string().min(1).max(64),
  name: z.string().trim().min(1).max(60),
  tags: TagsSchema,
  z: LatentVectorSchema,
  classLabel,
  psi,
  modelId: z.string().min(1).max(100),
  weightsHash: z.string().max(128).nullable(),
  roomId: z.string().max(64).nullable(),
  version: VersionSchema,
  createdBy: z.string().max(100),
  createdAt: isoTime,
});

/**
 * A room export. @example { format: 'latentroom-room', formatVersion: 1, exportedAt: '…',
 * room: { id, name, modelId, createdAt, version: 12, z, psi, classLabel, weights }, log: [...13 rows],
 * bookmarks: [...], model: { id: 'dcgan-mnist', weightsHash: '9f2c…' } }
 */
export const RoomExportSchema = z.strictObject({
  format: z.literal(ROOM_EXPORT_FORMAT),
  formatVersion: z.literal(ROOM_EXPORT_FORMAT_VERSION),
  exportedAt: isoTime.optional(),
  room: z.strictObject({
    id: z.string().max(64).optional(),
    name: z.string().trim().min(1).max(100),
    modelId: z.string().min(1).max(100),
    createdAt: isoTime.optional(),
    version: VersionSchema,
    ...ExportedStateSchema.shape,
  }),
  log: z.array(ExportedLogEntrySchema).min(1),
  bookmarks: z.array(ExportedBookmarkSchema).max(ROOM_IMPORT_MAX_BOOKMARKS),
  model: z.strictObject({ id: z.string().min(1).max(100), weightsHash: z.string().max(128).nullable() }),
});
export type RoomExportInput = z.input<typeof RoomExportSchema>;

/** A room export as the server writes it. */
export interface RoomExport {
  format: typeof ROOM_EXPORT_FORMAT;
  formatVersion: typeof ROOM_EXPORT_FORMAT_VERSION;
  exportedAt: string;
  room: LatentStateFields & { id: string; name: string; modelId: string; createdAt: string };
  log: (Omit<HistoryEntry, keyof LatentStateFields> & { version: number; op?: LatentOp; state: Omit<LatentStateFields, 'version'>; origin?: unknown })[];
  bookmarks: Bookmark[];
  /** The model and the hash of its weights on the exporting server (null: none, or not loaded). */
  model: { id: string; weightsHash: string | null };
}

/** `POST /api/rooms/import` answer (201): the new room's tokens, shown once. */
export interface RoomImportResponse {
  ok: true;
  roomId: string;
  editorToken: string;
  viewerToken: string;
  /** True when this server's weights of the model differ from the exporting server's. */
  weightsChanged: boolean;
}
