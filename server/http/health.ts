/**
 * `GET /api/health`: what the server runs on and whether its parts answer. Served by the custom
 * server rather than an App Router route because it reads the server's own engine client and
 * database, which live in this process's module graph, not in the bundles Next.js builds.
 */
import type { Health } from '../../lib/protocol/health';
import type { Database } from '../db/open-database';
import type { EngineClient } from '../inference/engine-protocol';
import type { Logger } from '../logger';

/** A busy engine worker must not hang the health check. */
export const HEALTH_ENGINE_TIMEOUT_MS = 5_000;

export interface HealthDeps {
  engine: Pick<EngineClient, 'info' | 'models'>;
  database: Pick<Database, 'kind' | 'ping'>;
  logger: Logger;
  version: string;
}

export async function collectHealth(deps: HealthDeps): Promise<Health> {
  const { info } = deps.engine;
  const [models, dbOk] = await Promise.all([
    withTimeout(deps.engine.models(), HEALTH_ENGINE_TIMEOUT_MS).then(
      (m) => ({ ok: true as const, list: m }),
      (err: unknown) => {
        deps.logger.warn('health: engine models() failed', err);
        return { ok: false as const, list: [] };
      },
    ),
    deps.database.ping(),
  ]);
  return {
    ok: models.ok && dbOk,
    engine: {
      backend: info.backend,
      tfBackend: info.tfBackend,
      skipped: info.skipped.map((s) => ({ backend: s.backend, reason: s.reason })),
      customKernels: [...info.customKernels],
    },
    models: models.list.map((m) => ({ id: m.id, family: m.family, latentDim: m.latentDim })),
    database: { kind: deps.database.kind, ok: dbOk },
    version: deps.version,
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
