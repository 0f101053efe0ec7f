/**
 * The one typed, validated view of the process environment. Nothing else reads `process.env`.
 * Every variable is listed, with a comment, in `.env.example`.
 */
import { z } from 'zod';

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** `https://example.org,http://localhost:3001` → exact origins (scheme, host, port; no path). */
const OriginListSchema = z
  .string()
  .default('')
  .transform((v, ctx) => {
    const origins: string[] = [];
    for (const item of v.split(',').map((s) => s.trim()).filter(Boolean)) {
      let origin: string | undefined;
      try {
        const url = new URL(item);
        if ((url.protocol === 'http:' || url.protocol === 'https:') && url.origin === item.replace(/\/$/, '').toLowerCase()) origin = url.origin;
      } catch {
        // reported below
      }
      if (origin) origins.push(origin);
      else ctx.addIssue({ code: 'custom', message: `"${item}" is not an origin like https://example.org or http://localhost:3001` });
    }
    return origins;
  });

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Port of the HTTP server (Next.js and Socket.IO). 0 picks a free port. */
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** Interface to listen on. */
  HOST: z.string().default('127.0.0.1'),
  /** Directory for the embedded database and other runtime data. */
  DATA_DIR: z.string().default('./data'),
  /** Directory of model checkpoints (the shipped pretrained models live under models/pretrained). */
  MODEL_DIR: z.string().default('./models/pretrained'),
  /** Empty: embedded database under DATA_DIR. `postgres://...`: that PostgreSQL server. */
  DATABASE_URL: z.string().default(''),
  /** Force one TF.js backend instead of the ladder tensorflow-gpu → tensorflow → wasm → cpu. */
  TF_BACKEND: z.enum(BACKEND_NAMES).optional(),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  /** Most latents the engine decodes in one call (dynamic batching across rooms; 1 turns it off). */
  DECODE_MAX_BATCH: z.coerce.number().int().min(1).max(1024).default(32),
  /** Longest an idle engine waits for more decode requests to batch, ms (0: the same turn's only). */
  DECODE_MAX_WAIT_MS: z.coerce.number().min(0).max(1000).default(0),
  /** Per-socket budget of acked requests (ops, joins, bookmarks): sustained rate per second. */
  RATE_LIMIT_OPS_PER_S: z.coerce.number().positive().max(100_000).default(60),
  /** Per-socket budget of acked requests: burst (token-bucket capacity). */
  RATE_LIMIT_OPS_BURST: z.coerce.number().int().min(1).max(100_000).default(120),
  /** Largest inbound Socket.IO message, bytes; a larger one closes the connection. */
  MAX_PAYLOAD_BYTES: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
  /**
   * Browser origins allowed to open a socket besides the server's own (comma-separated, exact
   * origins). Empty: same origin only.
   */
  ALLOWED_ORIGINS: OriginListSchema,
  /**
   * Cluster mode (server/cluster): empty runs one self-contained process. `redis://host:6379`
   * joins this node to the others on that Redis (Socket.IO Redis Streams adapter, room leases,
   * op forwarding); needs DATABASE_URL on PostgreSQL, shared by every node.
   */
  REDIS_URL: z.string().default(''),
  /** Name of this node in leases and logs; empty: host name, pid and a random suffix. */
  CLUSTER_NODE_ID: z.string().regex(/^[A-Za-z0-9._-]{0,64}$/, 'letters, digits, . _ - (at most 64)').default(''),
  /** Prefix of every Redis key, channel, stream and queue of one deployment (several may share a Redis). */
  CLUSTER_PREFIX: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (1 to 64)').default('latentroom'),
  /** A room lease's time to live, ms; the owner renews it every third of that. A dead node's rooms move after at most this. */
  ROOM_LEASE_MS: z.coerce.number().int().min(500).max(60_000).default(3000),
  /** `local`: frames decode in this process's engine worker. `queue`: on inference workers fed by BullMQ (needs REDIS_URL). */
  INFERENCE_MODE: z.enum(['local', 'queue']).default('local'),
  /** Queue mode: a decode not answered within this many ms is issued again (a worker died holding it). */
  DECODE_DEADLINE_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  /** Inference worker: decode jobs taken at once (the engine batches those that wait together). */
  INFERENCE_CONCURRENCY: z.coerce.number().int().min(1).max(1024).default(32),
  /** `local`: training jobs run in child processes of this node. `queue`: on training workers fed by BullMQ (needs REDIS_URL). */
  TRAINING_MODE: z.enum(['local', 'queue']).default('local'),
  /** 0: serve only /api and Socket.IO, no Next.js pages (a realtime-only node; the cluster tests). */
  SERVE_APP: z
    .enum(['0', '1', 'false', 'true'])
    .default('1')
    .transform((v) => v === '1' || v === 'true'),
  /** Tests: a PostgreSQL server whose `test` database the repository tests may create databases from. */
  TEST_DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/test'),
  /** Tests: the Redis server the cluster tests and bench:cluster use (each run under its own key prefix). */
  TEST_REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  /**
   * Tests: how many times tests/integration/durability-kill.test.ts kills the server with
   * SIGKILL, per database. The default keeps the test to a few minutes; the issue's full run is 200.
   */
  DURABILITY_KILLS: z.coerce.number().int().min(1).max(10_000).default(10),
  /** Tests: `1` turns "service unreachable, skipped" into a failure (CI sets it). */
  REQUIRE_SERVICES: z
    .enum(['', '0', '1', 'false', 'true'])
    .default('')
    .transform((v) => v === '1' || v === 'true'),
});

export type Env = z.infer<typeof EnvSchema>;

let cached: Env | undefined;

/** Parses the environment once; a bad value fails fast with the variable's name. */
export function env(): Env {
  if (cached) return cached;
  const parsed = EnvSchema.safeParse(process.env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new Error(`Invalid environment:\n${lines.join('\n')}`);
  }
  cached = parsed.data;
  return cached;
}

/** For tests: parse a given record instead of process.env. */
export function parseEnv(record: Record<string, string | undefined>): Env {
  return EnvSchema.parse(record);
}
