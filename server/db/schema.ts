/**
 * The one database schema, in drizzle's pg-core dialect: it serves both the embedded PGlite
 * database (default, under DATA_DIR) and a PostgreSQL server (DATABASE_URL=postgres://...).
 * Migrations in ./migrations are generated from this file with `npm run db:generate`.
 *
 * First cut of ARCHITECTURE.md "Persistence". Latent vectors are `real[]` (float4, the precision
 * the engine computes in); their length is checked against the model's latent size by the code
 * that writes them, not by the database.
 */
import {
  type AnyPgColumn,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

/** `imported`: a TF.js model uploaded through the import API (server/import), not trained here. */
export const modelFamily = pgEnum('model_family', ['vae', 'dcgan', 'wgan', 'wgan-gp', 'cgan', 'vae-gan', 'imported']);
export const jobStatus = pgEnum('job_status', ['queued', 'running', 'succeeded', 'failed', 'cancelled']);
export const memberRole = pgEnum('member_role', ['owner', 'editor', 'viewer']);

/** A generative model the engine can load: shipped, trained here or imported. */
export const models = pgTable('models', {
  /** Stable slug, also the folder name under MODEL_DIR, e.g. `dcgan-mnist`. */
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  family: modelFamily('family').notNull(),
  latentDim: integer('latent_dim').notNull(),
  /** Number of classes for conditional models, null otherwise. */
  numClasses: integer('num_classes'),
  dataset: text('dataset').notNull(),
  /** Checkpoint location relative to MODEL_DIR. */
  path: text('path').notNull(),
  /** The checkpoint's card: training command, seed, steps, time, metrics. */
  card: jsonb('card').$type<Record<string, unknown>>().notNull().default({}),
  createdAt: createdAt(),
});

export const trainingJobs = pgTable(
  'training_jobs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    family: modelFamily('family').notNull(),
    /** Full training configuration (data set, hyper-parameters, seed). */
    config: jsonb('config').$type<Record<string, unknown>>().notNull(),
    status: jobStatus('status').notNull().default('queued'),
    /** Last reported progress: step, losses, images/s. */
    progress: jsonb('progress').$type<Record<string, unknown>>(),
    /** The model this job produced, once it has a checkpoint. */
    modelId: text('model_id').references(() => models.id, { onDelete: 'set null' }),
    error: text('error'),
    createdAt: createdAt(),
    startedAt: timestamp('started_at', { withTimezone: true }),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('training_jobs_status_idx').on(t.status)],
);

/** A direction in a model's Z space (an attribute found by a classifier gradient, PCA, ...). */
export const directions = pgTable(
  'directions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    modelId: text('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** How it was found, e.g. `classifier-gradient`, `pca`, `difference-of-means`. */
    method: text('method').notNull(),
    vector: real('vector').array().notNull(),
    meta: jsonb('meta').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: createdAt(),
  },
  (t) => [index('directions_model_idx').on(t.modelId)],
);

/** A room: a shared exploration of one model. Its live state is owned by the room registry. */
export const rooms = pgTable('rooms', {
  /** Short random id used in room URLs. */
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  modelId: text('model_id')
    .notNull()
    .references(() => models.id, { onDelete: 'restrict' }),
  /** Last flushed snapshot of the authoritative latent state. */
  state: jsonb('state').$type<Record<string, unknown>>().notNull().default({}),
  /** Server-assigned version of `state`; equals the version of the last applied op. */
  version: integer('version').notNull().default(0),
  createdAt: createdAt(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/**
 * A saved latent point with its provenance: the state it names (z, class, psi), the model and
 * the hash of the weights that render it, the room and version it was captured at (the op log
 * up to that version is how it was reached), who saved it and when.
 */
export const bookmarks = pgTable(
  'bookmarks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    modelId: text('model_id')
      .notNull()
      .references(() => models.id, { onDelete: 'cascade' }),
    roomId: text('room_id').references(() => rooms.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** 0 to 8 short labels. */
    tags: text('tags').array().notNull().default([]),
    z: real('z').array().notNull(),
    classLabel: integer('class_label'),
    /** Truncation psi the frame was decoded with (frames decode psi · z). */
    psi: real('psi').notNull().default(1),
    /** SHA-256 of the model's weights when saved; null for a model without a weights file. */
    weightsHash: text('weights_hash'),
    /** The room version whose state this is (0 for a bookmark made outside a room). */
    version: integer('version').notNull().default(0),
    /** Display name of the member who saved it. */
    createdBy: text('created_by'),
    /** The client's idempotency key of `bookmark:save`: a retry with it returns this row. */
    requestId: text('request_id'),
    /** The bookmark this one copies (a branch copies its source room's bookmarks). */
    copiedFrom: uuid('copied_from').references((): AnyPgColumn => bookmarks.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [
    index('bookmarks_room_idx').on(t.roomId),
    // NULLs are distinct in a unique index: bookmarks saved without a key never collide.
    uniqueIndex('bookmarks_room_request_idx').on(t.roomId, t.requestId),
  ],
);

export const roomMembers = pgTable(
  'room_members',
  {
    roomId: text('room_id')
      .notNull()
      .references(() => rooms.id, { onDelete: 'cascade' }),
    /** Stable member identity chosen at first join (not a socket id). */
    memberId: text('member_id').notNull(),
    displayName: text('display_name').notNull(),
    role: memberRole('role').notNull(),
    joinedAt: timestamp('joined_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.memberId] })],
);

/**
 * Capability tokens grant a role in a room. Only a hash of the token is stored: a database
 * leak does not leak access.
 */
export const capabilityTokens = pgTable(
  'capability_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    roomId: text('room_id')
      .notNull()
      .references(() => rooms.id, { onDelete: 'cascade' }),
    /** Hex SHA-256 of the token. */
    tokenHash: text('token_hash').notNull().unique(),
    role: memberRole('role').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('capability_tokens_room_idx').on(t.roomId)],
);

/** The op log of a room, in the order the server applied them: replay, undo, branch. */
export const roomOps = pgTable(
  'room_ops',
  {
    roomId: text('room_id')
      .notNull()
      .references(() => rooms.id, { onDelete: 'cascade' }),
    /** The room version this op produced. */
    version: integer('version').notNull(),
    memberId: text('member_id').notNull(),
    /** The member's display name when it sent the op (history and provenance show it). */
    memberName: text('member_name'),
    op: jsonb('op').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.roomId, t.version] })],
);
