/**
 * The one typed, validated view of the process environment. Nothing else reads `process.env`.
 * Every variable is listed, with a comment, in `.env.example`.
 */
import { z } from 'zod';

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

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
  /** Tests: a PostgreSQL server whose `test` database the repository tests may create databases from. */
  TEST_DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/test'),
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
