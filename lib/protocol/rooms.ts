/**
 * The room protocol: schemas of every room, latent, bookmark, frame and presence payload. The
 * TS types are inferred from the schemas, so what the server parses is what the client sends.
 * Rules (J, O, E, B, F, P, R) are in ./SPEC.md; docs/protocol.md walks through a session.
 */
import { z } from 'zod';
import type { DirectionScores } from './directions';

/** Largest latent size any room may use; a room checks vectors against its model's own size. */
export const MAX_LATENT_DIM = 1024;
/** Terms allowed in one weighted sum. */
export const MAX_SUM_TERMS = 16;
/** Range of the truncation psi (0: the mean image; 1: z unchanged; above 1: exaggerated). */
export const PSI_MIN = 0;
export const PSI_MAX = 2;
/** Largest |amount| of a nudge and |weight| of a sum term, in z units. */
export const MAX_STEP = 100;
/** Undo depth kept per room (the op log keeps everything; this bounds memory). */
export const UNDO_DEPTH = 100;
/** Largest class label an op may name; a room checks it against its model's own classes. */
export const MAX_CLASSES = 1024;
/** Largest number of gradient steps of one `direction:steer` (./directions.ts). */
export const MAX_STEER_STEPS = 200;
/** Tags a bookmark may carry, and the length of each (rule B2). */
export const MAX_BOOKMARK_TAGS = 8;
export const MAX_TAG_LENGTH = 24;
/** Entries `room:history` answers per request: default and largest (rule O14). */
export const HISTORY_DEFAULT_LIMIT = 100;
export const HISTORY_MAX_LIMIT = 500;
/** Presence pointers are relayed at most this often per member (about 30 Hz). */
export const POINTER_INTERVAL_MS = 33;

/** A room id: 12 url-safe characters from 72 random bits (ids are not secrets; tokens are). */
export const RoomIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,32}$/, 'invalid room id');
/** A capability token: 43 base64url characters (256 random bits). */
export const TokenSchema = z.string().regex(/^[A-Za-z0-9_-]{22,128}$/, 'invalid token');
/** Id of a bookmark or direction. */
export const ItemIdSchema = z.string().min(1).max(64);
/** A bookmark id: a uuid (random: the permalink is the capability to read that bookmark). */
export const BookmarkIdSchema = z.uuid('invalid bookmark id');
/**
 * A client-made idempotency key (a uuid, or 8 to 64 url-safe characters): a retried request
 * with the same key in the same room has the first one's effect and answer (rule B3).
 */
export const RequestIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'requestId must be 8 to 64 url-safe characters (a uuid is fine)');
/** A room version (0 is the room's first state). */
export const VersionSchema = z.number().int().min(0).max(2 ** 31 - 1);

/**
 * A latent vector on the wire: a JSON array of finite numbers (zod rejects NaN and ±Infinity,
 * which JSON cannot carry anyway). Its length is checked against the room's model (rule E4).
 * @example [0.12, -1.5, 0.33, ...]
 */
export const LatentVectorSchema = z.array(z.number()).min(1).max(MAX_LATENT_DIM);

export const RoleSchema = z.enum(['editor', 'viewer']);
/** `editor` may send ops and save bookmarks; `viewer` only watches (rule E3). */
export type Role = z.infer<typeof RoleSchema>;

/**
 * `room:create` request. `from: { bookmark }` starts the room at that bookmark's state (z, psi,
 * class; rule J7) instead of a random z: "open in a new room" on a permalink page.
 * @example { modelId: 'dcgan-mnist-random', name: 'Lab' }
 * @example { modelId: 'cgan-mnist', from: { bookmark: '1c6e8a2e-...' } }
 */
export const RoomCreateRequestSchema = z.strictObject({
  modelId: z.string().min(1).max(100),
  name: z.string().trim().min(1).max(100).optional(),
  from: z.strictObject({ bookmark: BookmarkIdSchema }).optional(),
});
export type RoomCreateRequest = z.infer<typeof RoomCreateRequestSchema>;

/**
 * `room:create` answer. The tokens are shown once: the server keeps only their SHA-256.
 * @example { roomId: 'q3V_x9kLm2Ab', editorToken: 'Yw...43 chars', viewerToken: 'c1...' }
 */
export interface RoomCreateResponse {
  roomId: string;
  editorToken: string;
  viewerToken: string;
}

/** `room:join` request. @example { roomId, token, name: 'Ada', protocolVersion: 3 } */
export const RoomJoinRequestSchema = z.strictObject({
  roomId: RoomIdSchema,
  token: TokenSchema,
  name: z.string().trim().min(1).max(40),
  protocolVersion: z.number().int().nonnegative(),
});
export type RoomJoinRequest = z.infer<typeof RoomJoinRequestSchema>;

/** `room:revoke` request: which link to revoke. @example { role: 'viewer' } */
export const RoomRevokeRequestSchema = z.strictObject({ role: z.enum(['editor', 'viewer']) });
export type RoomRevokeRequest = z.infer<typeof RoomRevokeRequestSchema>;

/** `room:revoke` answer: the new token for that role (shown once). */
export interface RoomRevokeResponse {
  token: string;
}

/** A member of a room as the others see it. @example { memberId: 'm_4f..', name: 'Ada', color: '#e6194b', role: 'editor' } */
export interface Member {
  memberId: string;
  name: string;
  /** CSS colour, unique among the current members while the palette lasts. */
  color: string;
  role: Role;
}

/**
 * A named latent point saved in a room, with its provenance (rules B1, B2): everything needed to
 * render its image again (z, class, psi, the model and the hash of its weights) and where it came
 * from (the room and the version it captured; the permalink API lists the ops up to it).
 * @example { id: '1c6e8a2e-…', name: 'a seven', tags: ['digits'], z: [...], classLabel: null, psi: 1,
 *   modelId: 'dcgan-mnist', weightsHash: '9f2c…', roomId: 'q3V_x9kLm2Ab', version: 12,
 *   createdBy: 'Ada', createdAt: '2026-12-03T09:15:02.120Z' }
 */
export interface Bookmark {
  /** A uuid: unguessable, so the permalink `/api/bookmarks/:id` is the capability to read it. */
  id: string;
  name: string;
  /** 0 to 8 tags, each 1 to 24 characters, trimmed. */
  tags: string[];
  /** Float32 values (rule O9). */
  z: number[];
  classLabel: number | null;
  psi: number;
  modelId: string;
  /** SHA-256 of the model's weights when saved; null for a model without a weights file. */
  weightsHash: string | null;
  /** The room it was saved in (null for one made outside a room). */
  roomId: string | null;
  /** The room version whose state it captured. */
  version: number;
  /** Display name of the member who saved it. */
  createdBy: string;
  /** ISO 8601. */
  createdAt: string;
}

/** The authoritative latent state of a room at one version. */
export interface LatentStateFields {
  /** Server-assigned; +1 per applied op. */
  version: number;
  /** Float32 values (rule O9). */
  z: number[];
  psi: number;
  /** Class of a conditional model; null for unconditional ones. */
  classLabel: number | null;
  /**
   * The active direction weights: stored direction id → how far (in z units, along its unit
   * vector) the room has moved along it since z was last replaced (rule O11). z already holds
   * their effect; a direction at 0 is absent. The sliders of every member show these.
   */
  weights: Record<string, number>;
}

/** A stored direction of the room's model, as listed in the join snapshot. */
export interface DirectionInfo {
  id: string;
  name: string;
  /** How it was found, e.g. `classifier-gradient`, `pca`. */
  method: string;
  /** What moving along it changes (./directions.ts, SPEC D4); absent for directions stored without. */
  scores?: DirectionScores;
  /** When it was stored (ISO 8601). */
  createdAt?: string;
}

/**
 * Everything a member needs to render the room: answer of `room:join`, and `room:snapshot`
 * after a recovered reconnect (rule R1).
 */
export interface RoomSnapshot extends LatentStateFields {
  roomId: string;
  modelId: string;
  latentDim: number;
  /** Number of classes of a conditional model (`class` ops take 0 … numClasses − 1); null otherwise. */
  numClasses: number | null;
  /** Shape of one frame, [height, width, channels]. */
  imageShape: [number, number, number];
  /** The model's stored directions (for `nudge`, `weight` and `sum` references). */
  directions: DirectionInfo[];
  bookmarks: Bookmark[];
  members: Member[];
  /** The receiving member's own id and role. */
  memberId: string;
  role: Role;
}

/**
 * A vector an op refers to: a saved bookmark, a stored direction, an inline vector, or the
 * room's current z.
 * @example { bookmark: '1c6e...' } · { direction: 'b2...' } · { vector: [...] } · { current: true }
 */
export const VectorRefSchema = z.union([
  z.strictObject({ bookmark: ItemIdSchema }),
  z.strictObject({ direction: ItemIdSchema }),
  z.strictObject({ vector: LatentVectorSchema }),
  z.strictObject({ current: z.literal(true) }),
]);
export type VectorRef = z.infer<typeof VectorRefSchema>;

const unitInterval = z.number().min(0).max(1);
const step = z.number().min(-MAX_STEP).max(MAX_STEP);

/**
 * One edit of the room's latent state (rules O1–O8). The server applies ops in arrival order.
 * @example { kind: 'nudge', direction: { direction: 'smile' }, amount: 0.5 }
 * @example { kind: 'sum', terms: [{ ref: { bookmark: 'a' }, weight: 1 }, { ref: { bookmark: 'b' }, weight: -1 }, { ref: { bookmark: 'c' }, weight: 1 }] }
 */
export const LatentOpSchema = z.discriminatedUnion('kind', [
  /** Replace z. */
  z.strictObject({ kind: z.literal('set'), z: LatentVectorSchema }),
  /** z + amount · direction / |direction|. */
  z.strictObject({ kind: z.literal('nudge'), direction: VectorRefSchema, amount: step }),
  /** z = lerp(from, to, t). */
  z.strictObject({ kind: z.literal('lerp'), from: VectorRefSchema, to: VectorRefSchema, t: unitInterval }),
  /** z = slerp(from, to, t). */
  z.strictObject({ kind: z.literal('slerp'), from: VectorRefSchema, to: VectorRefSchema, t: unitInterval }),
  /** z = Σ weight · ref. */
  z.strictObject({
    kind: z.literal('sum'),
    terms: z.array(z.strictObject({ ref: VectorRefSchema, weight: step })).min(1).max(MAX_SUM_TERMS),
  }),
  /** z = standard normal sample from a 32-bit seed (lib/latent/random.ts), the same everywhere. */
  z.strictObject({ kind: z.literal('random'), seed: z.number().int().min(0).max(0xffffffff) }),
  /** Set the truncation psi; z itself is unchanged, frames decode mean + psi (z - mean). */
  z.strictObject({ kind: z.literal('psi'), psi: z.number().min(PSI_MIN).max(PSI_MAX) }),
  /** Set the class of a conditional model; z is unchanged. */
  z.strictObject({ kind: z.literal('class'), classLabel: z.number().int().min(0).max(MAX_CLASSES - 1) }),
  /**
   * Set the active weight of a stored direction d to `weight`: z moves by
   * (weight − its current weight) · d/|d|. Two members dragging one slider both land on a
   * position, not a sum of deltas.
   */
  z.strictObject({ kind: z.literal('weight'), direction: ItemIdSchema, weight: step }),
  /** Restore the state before the last op not yet undone. */
  z.strictObject({ kind: z.literal('undo') }),
  /**
   * The result of a `direction:steer` (SPEC D7): z replaced by the latent the directions worker
   * steered toward `attribute` in `steps` gradient steps, applied like `set`. Only the server
   * makes these; a client's `latent:op` of this kind is refused.
   */
  z.strictObject({
    kind: z.literal('steer'),
    z: LatentVectorSchema,
    attribute: z.string().min(1).max(60),
    steps: z.number().int().min(0).max(MAX_STEER_STEPS),
  }),
  /** Re-apply the state the last undo left (rule O12); any other op empties the redo stack. */
  z.strictObject({ kind: z.literal('redo') }),
  /** Set the whole state (z, psi, class, weights) to the one the room had at `version` (rule O13). */
  z.strictObject({ kind: z.literal('revert'), version: VersionSchema }),
]);
export type LatentOp = z.infer<typeof LatentOpSchema>;
export type LatentOpKind = LatentOp['kind'];

/** Answer to `latent:op`: the version the op produced. @example { version: 42 } */
export interface LatentOpResponse {
  version: number;
}

/**
 * Broadcast `latent:state`: the new state after each applied op, to every member (sender too).
 * @example { version: 42, z: [...], psi: 1, classLabel: null, weights: { 'b2..': 1.5 }, by: 'm_4f..', kind: 'weight' }
 */
export interface LatentStateBroadcast extends LatentStateFields {
  /** Member whose op produced this version. */
  by: string;
  kind: LatentOpKind;
}

/** A bookmark tag: trimmed, 1 to 24 characters. */
export const TagSchema = z.string().trim().min(1, 'a tag must not be empty').max(MAX_TAG_LENGTH, `a tag has at most ${MAX_TAG_LENGTH} characters`);
/** 0 to 8 distinct tags (duplicates after trimming are dropped). */
export const TagsSchema = z
  .array(TagSchema)
  .max(MAX_BOOKMARK_TAGS, `at most ${MAX_BOOKMARK_TAGS} tags`)
  .transform((tags) => [...new Set(tags)]);

/**
 * `bookmark:save` request: names the room's current state (rules B1, B2). `requestId` makes it
 * idempotent (B3): a retry with the same key returns the same bookmark and creates nothing.
 * @example { name: 'a seven', tags: ['digits', 'thin'], requestId: '8b0e2f0c-6a1d-4a43-9d1e-5b7f0e1c2d3a' }
 */
export const BookmarkSaveRequestSchema = z.strictObject({
  name: z.string().trim().min(1).max(60),
  tags: TagsSchema.optional(),
  requestId: RequestIdSchema.optional(),
});
export type BookmarkSaveRequest = z.input<typeof BookmarkSaveRequestSchema>;

/**
 * `room:history` request (rule O14): entries with versions below `before` (default: all),
 * newest first, at most `limit`.
 * @example { limit: 50 } · { before: 120, limit: 100 }
 */
export const RoomHistoryRequestSchema = z.strictObject({
  before: VersionSchema.optional(),
  limit: z.number().int().min(1).max(HISTORY_MAX_LIMIT).default(HISTORY_DEFAULT_LIMIT),
});
export type RoomHistoryRequest = z.input<typeof RoomHistoryRequestSchema>;

/** One applied op of the log and the state it produced (version 0: kind `create`, the first state). */
export interface HistoryEntry extends LatentStateFields {
  kind: LatentOpKind | 'create';
  /** Member id of the sender (`server` for the first state), as in `latent:state`. */
  by: string;
  /** The sender's display name when known. */
  byName: string | null;
  /** ISO 8601. */
  at: string;
}

/** `room:history` answer, newest first. */
export interface RoomHistoryResponse {
  entries: HistoryEntry[];
}

/**
 * `room:branch` request (rule O15, editors): a new room of the same model starting at this
 * room's state at `version`. @example { version: 12, name: 'Lab, the sevens' }
 */
export const RoomBranchRequestSchema = z.strictObject({
  version: VersionSchema,
  name: z.string().trim().min(1).max(100).optional(),
});
export type RoomBranchRequest = z.infer<typeof RoomBranchRequestSchema>;

/** `room:leave` request (no fields). */
export const EmptyRequestSchema = z.strictObject({});

/**
 * Broadcast `frame`, volatile: the decoded image of one state version (rules F1, F2).
 * `data` is a PNG (8-bit grey or RGB); see server/rooms/encode-frame.ts for why PNG.
 */
export interface FrameBroadcast {
  version: number;
  width: number;
  height: number;
  channels: number;
  format: 'png';
  /** ArrayBuffer in the browser, Buffer (a Uint8Array) in Node. */
  data: ArrayBuffer | Uint8Array;
}

/** Pointer coordinates are in the scene's own units; this only bounds them. */
const coordinate = z.number().min(-1e6).max(1e6);

/**
 * `presence:pointer`, fire-and-forget (rule P2): where a member points in the scene, and the
 * latent under the pointer (their probe).
 * @example { x: 0.2, y: -1.3, probe: [...] }
 */
export const PointerSchema = z.strictObject({
  x: coordinate,
  y: coordinate,
  z: coordinate.optional(),
  probe: LatentVectorSchema.optional(),
});
export type Pointer = z.infer<typeof PointerSchema>;

/** Relayed pointer of another member. */
export interface PointerBroadcast extends Pointer {
  memberId: string;
}
