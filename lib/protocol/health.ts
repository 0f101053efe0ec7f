/**
 * The JSON body of `GET /api/health`, shared by the server that builds it and the status panel
 * that reads it (which parses it: a response is input like any other).
 */
import { z } from 'zod';

export const HealthSchema = z.object({
  /** True when the engine answered and the database round trip succeeded. */
  ok: z.boolean(),
  engine: z.object({
    backend: z.string(),
    tfBackend: z.string(),
    skipped: z.array(z.object({ backend: z.string(), reason: z.string() })),
    customKernels: z.array(z.string()),
  }),
  models: z.array(z.object({ id: z.string(), family: z.string(), latentDim: z.number() })),
  database: z.object({
    kind: z.enum(['pglite', 'postgres']),
    ok: z.boolean(),
  }),
  version: z.string(),
});

/** @example { ok: true, engine: { backend: 'wasm', ... }, models: [], database: { kind: 'pglite', ok: true }, version: '0.1.0' } */
export type Health = z.infer<typeof HealthSchema>;

export const HEALTH_PATH = '/api/health';
